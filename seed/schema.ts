// DDL of one sample on-premises ERP company schema, kept as data so other code knows the table list.
// Statements are unqualified: run them with the company schema as the default database.
import { escape, escapeId } from 'mysql2';

export interface ColumnDef {
  name: string;
  /** SQL type and attributes, e.g. "VARCHAR(20) NOT NULL". */
  type: string;
  /** Generated columns are never written by INSERTs. */
  generated?: boolean;
}

export interface TableDef {
  name: string;
  columns: ColumnDef[];
  /** CREATE TABLE statement (unqualified). */
  create: string;
  /** CREATE TRIGGER statements to run after all tables exist. */
  triggers: string[];
}

/** forbidQualified: names such as `sales price/discount` must never be split on dots. */
export const id = (name: string): string => escapeId(name, true);
const ids = (names: string[]): string => names.map(id).join(', ');
const list = (values: string[]): string => values.map((v) => escape(v)).join(',');

// Explicit collation: both MariaDB 10.11 and MySQL 8.0 know it (utf8mb4_0900_ai_ci is MySQL-only).
const CHARSET = 'DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

const D = 'DECIMAL(38,20)';
const code = (len = 20, nullable = false) => `VARCHAR(${len}) ${nullable ? 'NULL' : 'NOT NULL'}`;
const enumOf = (values: string[], def?: string) =>
  `ENUM(${list(values)}) NOT NULL${def === undefined ? '' : ` DEFAULT ${escape(def)}`}`;
const c = (name: string, type: string): ColumnDef => ({ name, type });
const created = c('created_at', 'DATETIME(3) NOT NULL');
const modified = c('modified_at', 'DATETIME(3) NOT NULL');

export const DOCUMENT_TYPES = ['Quote', 'Order', 'Invoice', 'Credit Memo'];
export const LEDGER_DOC_TYPES = ['', 'Payment', 'Invoice', 'Credit Memo', 'Finance Charge Memo', 'Reminder', 'Refund'];
export const ITEM_ENTRY_TYPES = ['Purchase', 'Sale', 'Positive Adjmt.', 'Negative Adjmt.', 'Transfer'];
export const SALES_PRICE_TABLE = 'sales price/discount';

interface Extra {
  pk?: string[];
  keys?: string[][];
  unique?: string[][];
  fks?: { cols: string[]; ref: string; refCols: string[] }[];
  engine?: 'InnoDB' | 'MyISAM';
  triggers?: string[];
}

function table(name: string, columns: ColumnDef[], extra: Extra = {}): TableDef {
  const parts = columns.map((col) => `${id(col.name)} ${col.type}`);
  if (extra.pk) parts.push(`PRIMARY KEY (${ids(extra.pk)})`);
  for (const u of extra.unique ?? []) parts.push(`UNIQUE KEY ${id(`ux_${name}_${u.join('_')}`)} (${ids(u)})`);
  for (const k of extra.keys ?? []) parts.push(`KEY ${id(`ix_${name}_${k.join('_')}`)} (${ids(k)})`);
  for (const [i, fk] of (extra.fks ?? []).entries()) {
    parts.push(
      `CONSTRAINT ${id(`fk_${name}_${i + 1}`)} FOREIGN KEY (${ids(fk.cols)}) REFERENCES ${id(fk.ref)} (${ids(fk.refCols)})`,
    );
  }
  const create = `CREATE TABLE ${id(name)} (\n  ${parts.join(',\n  ')}\n) ENGINE=${extra.engine ?? 'InnoDB'} ${CHARSET}`;
  return { name, columns, create, triggers: extra.triggers ?? [] };
}

const gen = (name: string, expr: string): ColumnDef => ({
  name,
  type: `${D} GENERATED ALWAYS AS (${expr}) STORED`,
  generated: true,
});

// Single-statement body (no BEGIN/END) so it runs without DELIMITER or multipleStatements.
// changed_at comes from the row itself (not NOW()) to keep change sets deterministic.
const customerTrigger =
  `CREATE TRIGGER ${id('customer_after_update')} AFTER UPDATE ON ${id('customer')} FOR EACH ROW ` +
  `INSERT INTO ${id('change_log_entry')} (${ids(['table_name', 'primary_key_value', 'field_name', 'old_value', 'new_value', 'changed_at'])}) ` +
  `VALUES ('customer', NEW.${id('code')}, 'name', OLD.${id('name')}, NEW.${id('name')}, NEW.${id('modified_at')})`;

const salesOrPurchase = (prefix: 'sales' | 'purchase', partyCol: string, partyNameCol: string, extDocCol: string) => {
  const header = table(
    `${prefix}_header`,
    [
      c('document_type', enumOf(DOCUMENT_TYPES)),
      c('no', code()),
      c(partyCol, code()),
      c(partyNameCol, 'VARCHAR(100) NOT NULL'),
      c('order_date', 'DATE NOT NULL'),
      c('posting_date', 'DATE NULL'),
      c('due_date', 'DATE NULL'),
      c('currency_code', code(10, true)),
      c('payment_terms_code', code(10, true)),
      c('status', enumOf(['Open', 'Released', 'Pending Approval'], 'Open')),
      c(extDocCol, 'VARCHAR(35) NULL'),
      c('amount', `${D} NOT NULL`),
      created,
    ],
    { pk: ['document_type', 'no'], keys: [[partyCol], ['posting_date']] },
  );
  const line = table(
    `${prefix}_line`,
    [
      c('document_type', enumOf(DOCUMENT_TYPES)),
      c('document_no', code()),
      c('line_no', 'INT NOT NULL'),
      c('type', enumOf(['', 'G/L Account', 'Item', 'Resource'], '')),
      c('no', code(20, true)),
      c('description', 'VARCHAR(100) NULL'),
      c('quantity', `${D} NOT NULL`),
      c(prefix === 'sales' ? 'unit_price' : 'direct_unit_cost', `${D} NOT NULL`),
      c('line_discount_pct', `${D} NOT NULL`),
      c('line_amount', `${D} NOT NULL`),
    ],
    {
      pk: ['document_type', 'document_no', 'line_no'],
      fks: [{ cols: ['document_type', 'document_no'], ref: `${prefix}_header`, refCols: ['document_type', 'no'] }],
    },
  );
  return [header, line];
};

/** All tables of a company schema, parents before children. */
export const SAMPLE_TABLE_DEFS: readonly TableDef[] = [
  table('company_information', [
    c('primary_key', code(10)), // '' like Business Central: an empty-string primary key
    c('name', 'VARCHAR(100) NOT NULL'),
    c('address', 'VARCHAR(100) NULL'),
    c('city', 'VARCHAR(30) NULL'),
    c('country_code', code(10, true)),
    c('vat_registration_no', 'VARCHAR(20) NULL'),
    c('phone_no', 'VARCHAR(30) NULL'),
    c('email', 'VARCHAR(80) NULL'),
    c('settings', 'JSON NULL'),
    created,
  ], { pk: ['primary_key'] }),
  table('country_region', [
    c('code', code(10)),
    c('name', 'VARCHAR(50) NOT NULL'),
    c('iso_numeric_code', 'CHAR(3) NULL'),
    c('eu_country', 'TINYINT(1) NOT NULL DEFAULT 0'),
  ], { pk: ['code'] }),
  table('currency', [
    c('code', code(10)),
    c('description', 'VARCHAR(30) NOT NULL'),
    c('symbol', 'VARCHAR(10) NULL'),
    c('exchange_rate', `${D} NOT NULL`),
    c('amount_rounding_precision', `${D} NOT NULL`),
    c('last_date_modified', 'DATE NULL'),
  ], { pk: ['code'] }),
  table('payment_terms', [
    c('code', code(10)),
    c('description', 'VARCHAR(100) NOT NULL'),
    c('due_date_calculation', 'VARCHAR(32) NOT NULL'),
    c('discount_date_calculation', 'VARCHAR(32) NULL'),
    c('discount_pct', `${D} NOT NULL`),
  ], { pk: ['code'] }),
  table('customer', [
    c('code', code()),
    c('name', 'VARCHAR(100) NOT NULL'),
    c('address', 'VARCHAR(100) NULL'),
    c('city', 'VARCHAR(30) NULL'),
    c('country_code', code(10, true)),
    c('attributes', 'JSON NULL'),
    c('credit_limit', `${D} NOT NULL`),
    c('blocked', enumOf(['', 'Ship', 'Invoice', 'All'], '')),
    c('payment_terms_code', code(10, true)),
    c('currency_code', code(10, true)),
    created,
    modified,
  ], { pk: ['code'], keys: [['name']], triggers: [customerTrigger] }),
  table('vendor', [
    c('no', code()),
    c('name', 'VARCHAR(100) NOT NULL'),
    c('address', 'VARCHAR(100) NULL'),
    c('city', 'VARCHAR(30) NULL'),
    c('country_code', code(10, true)),
    c('currency_code', code(10, true)),
    c('payment_terms_code', code(10, true)),
    c('blocked', enumOf(['', 'Payment', 'All'], '')),
    c('balance', `${D} NOT NULL`),
    created,
    modified,
  ], { pk: ['no'], keys: [['name']] }),
  table('item', [
    c('no', code()),
    c('description', 'VARCHAR(100) NOT NULL'),
    c('beschreibung_ü', 'VARCHAR(100) NULL'),
    c('base_unit_of_measure', code(10)),
    c('unit_price', `${D} NOT NULL`),
    c('unit_cost', `${D} NOT NULL`),
    c('inventory', `${D} NOT NULL`),
    c('flags', `SET(${list(['sellable', 'purchasable', 'inventory'])}) NOT NULL DEFAULT ''`),
    c('picture', 'BLOB NULL'),
    c('blocked', 'TINYINT(1) NOT NULL DEFAULT 0'),
    created,
    modified,
  ], { pk: ['no'] }),
  table('item_unit_of_measure', [
    c('item_no', code()),
    c('code', code(10)),
    c('qty_per_unit_of_measure', `${D} NOT NULL`),
    c('weight', `${D} NULL`),
  ], { pk: ['item_no', 'code'], fks: [{ cols: ['item_no'], ref: 'item', refCols: ['no'] }] }),
  table(SALES_PRICE_TABLE, [
    c('item_no', code()),
    c('sales_type', enumOf(['Customer', 'Customer Price Group', 'All Customers'])),
    c('sales_code', code()),
    c('starting_date', 'DATE NOT NULL'),
    c('currency_code', `${code(10)} DEFAULT ''`),
    c('minimum_quantity', `${D} NOT NULL`),
    c('unit price (LCY)', `${D} NOT NULL`),
    c('line_discount_pct', `${D} NOT NULL`),
    c('ending_date', 'DATE NULL'),
  ], { pk: ['item_no', 'sales_type', 'sales_code', 'starting_date', 'currency_code'] }),
  table('gl_account', [
    c('no', code()),
    c('name', 'VARCHAR(100) NOT NULL'),
    c('account_type', enumOf(['Posting', 'Heading', 'Total', 'Begin-Total', 'End-Total'], 'Posting')),
    c('income_balance', enumOf(['Income Statement', 'Balance Sheet'])),
    c('direct_posting', 'TINYINT(1) NOT NULL DEFAULT 1'),
    c('blocked', 'TINYINT(1) NOT NULL DEFAULT 0'),
    c('totaling', 'VARCHAR(250) NULL'),
  ], { pk: ['no'] }),
  table('dimension', [
    c('code', code()),
    c('name', 'VARCHAR(30) NOT NULL'),
    c('blocked', 'TINYINT(1) NOT NULL DEFAULT 0'),
  ], { pk: ['code'] }),
  table('dimension_value', [
    c('dimension_code', code()),
    c('code', code()),
    c('name', 'VARCHAR(50) NOT NULL'),
    c('blocked', 'TINYINT(1) NOT NULL DEFAULT 0'),
  ], { pk: ['dimension_code', 'code'], fks: [{ cols: ['dimension_code'], ref: 'dimension', refCols: ['code'] }] }),
  table('dimension_set_entry', [
    c('dimension_set_id', 'INT NOT NULL'),
    c('dimension_code', code()),
    c('dimension_value_code', code()),
  ], { pk: ['dimension_set_id', 'dimension_code'] }),
  table('gl_entry', [
    c('entry_no', 'INT NOT NULL AUTO_INCREMENT'),
    c('posting_date', 'DATE NOT NULL'),
    c('document_type', enumOf(['', 'Payment', 'Invoice', 'Credit Memo'], '')),
    c('document_no', code()),
    c('gl_account_no', code()),
    c('description', 'VARCHAR(100) NULL'),
    c('amount', `${D} NOT NULL`),
    gen('debit_amount', `IF(${id('amount')} > 0, ${id('amount')}, 0)`),
    gen('credit_amount', `IF(${id('amount')} < 0, -${id('amount')}, 0)`),
    c('dimension_set_id', 'INT NOT NULL DEFAULT 0'),
    c('source_code', code(10, true)),
    created,
  ], { pk: ['entry_no'], keys: [['gl_account_no', 'posting_date'], ['posting_date'], ['document_no']] }),
  ...salesOrPurchase('sales', 'sell_to_customer_no', 'bill_to_name', 'external_document_no'),
  ...salesOrPurchase('purchase', 'buy_from_vendor_no', 'pay_to_name', 'vendor_invoice_no'),
  table('cust_ledger_entry', [
    c('entry_no', 'INT NOT NULL'),
    c('customer_no', code()),
    c('posting_date', 'DATE NOT NULL'),
    c('document_type', enumOf(LEDGER_DOC_TYPES, '')),
    c('document_no', code()),
    c('description', 'VARCHAR(100) NULL'),
    c('currency_code', code(10, true)),
    c('amount', `${D} NOT NULL`),
    c('remaining_amount', `${D} NOT NULL`),
    c('due_date', 'DATE NOT NULL'),
    c('open', 'TINYINT(1) NOT NULL DEFAULT 0'),
    created,
  ], { pk: ['entry_no'], keys: [['customer_no', 'posting_date'], ['due_date']] }),
  table('vendor_ledger_entry', [
    c('entry_no', 'INT NOT NULL'),
    c('vendor_no', code()),
    c('posting_date', 'DATE NOT NULL'),
    c('document_type', enumOf(LEDGER_DOC_TYPES, '')),
    c('document_no', code()),
    c('external_document_no', 'VARCHAR(35) NULL'),
    c('amount', `${D} NOT NULL`),
    c('remaining_amount', `${D} NOT NULL`),
    c('due_date', 'DATE NULL'),
    c('open', 'TINYINT(1) NOT NULL DEFAULT 0'),
    created,
  ], { pk: ['entry_no'], keys: [['vendor_no', 'posting_date']] }),
  table('item_ledger_entry', [
    c('entry_no', 'INT NOT NULL'),
    c('item_no', code()),
    c('posting_date', 'DATE NOT NULL'),
    c('entry_type', enumOf(ITEM_ENTRY_TYPES)),
    c('document_no', code()),
    c('location_code', code(10, true)),
    c('quantity', `${D} NOT NULL`),
    c('remaining_quantity', `${D} NOT NULL`),
    c('cost_amount_actual', `${D} NOT NULL`),
    c('open', 'TINYINT(1) NOT NULL DEFAULT 0'),
    created,
  ], { pk: ['entry_no'], keys: [['item_no', 'posting_date']] }),
  table('bank_account', [
    c('no', code()),
    c('name', 'VARCHAR(100) NOT NULL'),
    c('bank_account_no', 'VARCHAR(30) NULL'),
    c('iban', 'VARCHAR(50) NULL'),
    c('swift_code', 'VARCHAR(20) NULL'),
    c('currency_code', code(10, true)),
    c('balance', `${D} NOT NULL`),
    created,
  ], { pk: ['no'] }),
  table('change_log_entry', [
    c('id', 'INT NOT NULL AUTO_INCREMENT'),
    c('table_name', 'VARCHAR(64) NOT NULL'),
    c('primary_key_value', 'VARCHAR(250) NOT NULL'),
    c('field_name', 'VARCHAR(64) NOT NULL'),
    c('old_value', 'TEXT NULL'),
    c('new_value', 'TEXT NULL'),
    c('changed_at', 'DATETIME(3) NOT NULL'),
  ], { pk: ['id'], keys: [['table_name', 'changed_at']] }),
  // Deliberately no primary or unique key (and no index at all).
  table('import_buffer', [
    c('line_no', 'INT NULL'),
    c('source_file', 'VARCHAR(100) NOT NULL'),
    c('raw_line', 'VARCHAR(250) NULL'),
    c('amount', `${D} NULL`),
    c('imported_at', 'DATETIME(3) NULL'),
  ]),
  // Deliberately MyISAM: an engine the cloud target does not support.
  table('legacy_archive', [
    c('id', 'INT NOT NULL'),
    c('document_no', code()),
    c('archived_at', 'DATETIME(3) NOT NULL'),
    c('payload', 'TEXT NULL'),
    c('amount', `${D} NOT NULL`),
  ], { pk: ['id'], engine: 'MyISAM' }),
  table('user', [
    c('user_security_id', 'CHAR(36) NOT NULL'),
    c('user_name', 'VARCHAR(50) NOT NULL'),
    c('full_name', 'VARCHAR(80) NULL'),
    c('state', enumOf(['Enabled', 'Disabled'], 'Enabled')),
    c('license_type', enumOf(['Full User', 'Limited User', 'Device Only User', 'External User'])),
    c('authentication_email', 'VARCHAR(250) NULL'),
    created,
  ], { pk: ['user_security_id'], unique: [['user_name']] }),
  table('user_setup', [
    c('user_id', 'VARCHAR(50) NOT NULL'),
    c('allow_posting_from', 'DATE NULL'),
    c('allow_posting_to', 'DATE NULL'),
    c('register_time', 'TINYINT(1) NOT NULL DEFAULT 0'),
    c('salespers_purch_code', code(20, true)),
    c('email', 'VARCHAR(80) NULL'),
  ], { pk: ['user_id'] }),
  table('permission_set', [
    c('role_id', code()),
    c('name', 'VARCHAR(30) NOT NULL'),
    c('scope', enumOf(['System', 'Tenant'], 'System')),
  ], { pk: ['role_id'] }),
  table('access_control', [
    c('user_security_id', 'CHAR(36) NOT NULL'),
    c('role_id', code()),
    c('company_name', 'VARCHAR(30) NOT NULL'),
    c('scope', enumOf(['System', 'Tenant'], 'System')),
  ], { pk: ['user_security_id', 'role_id', 'company_name'] }),
];

export const SAMPLE_TABLES: string[] = SAMPLE_TABLE_DEFS.map((t) => t.name);
export const PERMISSION_TABLES = ['user', 'user_setup', 'permission_set', 'access_control'];

export function tableDef(name: string): TableDef {
  const def = SAMPLE_TABLE_DEFS.find((t) => t.name === name);
  if (!def) throw new Error(`unknown sample table ${name}`);
  return def;
}
