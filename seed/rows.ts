// Row producers for every sample table. Each table draws from its own RNG stream (seed+company+table),
// and cross-table references are derived from sizes alone, so tables stay independent and deterministic.
import { createRng, type Rng } from './rng';
import { ITEM_ENTRY_TYPES, LEDGER_DOC_TYPES, SALES_PRICE_TABLE } from './schema';
import {
  CITIES, addDays, address, companyName, createdModified, glText, itemName, itemNameDe, maybeNasty, pad, timeOn, uuid,
} from './text';

/** Values are always strings/numbers/Buffers (never Date) so the host time zone cannot leak in. */
export type SqlValue = string | number | Buffer | null;
export type Row = Record<string, SqlValue>;

export interface Sizes {
  customers: number; vendors: number; items: number; glAccounts: number; glEntries: number;
  dimensionValuesPerDimension: number; dimensionSets: number; salesHeaders: number; purchaseHeaders: number;
  custLedgerEntries: number; vendorLedgerEntries: number; itemLedgerEntries: number;
  bankAccounts: number; legacyArchive: number; salesPrices: number;
}

/** Rows per company at scale 1; everything scales linearly with at least one row. */
const BASE: Sizes = {
  customers: 200, vendors: 100, items: 300, glAccounts: 100, glEntries: 20_000,
  dimensionValuesPerDimension: 20, dimensionSets: 400, salesHeaders: 500, purchaseHeaders: 250,
  custLedgerEntries: 3_000, vendorLedgerEntries: 1_500, itemLedgerEntries: 4_000,
  bankAccounts: 5, legacyArchive: 1_000, salesPrices: 600,
};

/** Rows in cust_ledger_entry with due_date '0000-00-00' (fixed, independent of scale). */
export const ZERO_DATE_ROWS = 3;
export const POSTING_YEARS = { from: 2015, to: 2024 } as const;
const Y = POSTING_YEARS;

export function sizesFor(scale: number): Sizes {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new Error(`scale must be a positive number, got ${scale}`);
  const out = {} as Sizes;
  for (const key of Object.keys(BASE) as (keyof Sizes)[]) out[key] = Math.max(1, Math.round(BASE[key] * scale));
  out.custLedgerEntries = Math.max(ZERO_DATE_ROWS + 1, out.custLedgerEntries);
  return out;
}

export interface Ctx { seed: number; company: string; sizes: Sizes }

const customerNo = (i: number) => `C${pad(i + 1)}`;
const vendorNo = (i: number) => `V${pad(i + 1)}`;
const itemNo = (i: number) => `I${pad(i + 1)}`;
const glAccountNo = (i: number) => String(10_000 + i * 10);
const glAccountType = (i: number) => (i % 10 === 5 ? 'Heading' : i % 10 === 9 ? 'Total' : 'Posting');
const postingAccounts = (n: number) =>
  Array.from({ length: n }, (_, i) => i).filter((i) => glAccountType(i) === 'Posting').map(glAccountNo);

const COUNTRIES: [string, string, string | null, number][] = [
  ['AT', 'Österreich', '040', 1], ['CH', 'Schweiz', '756', 0], ['CN', '中国', '156', 0], ['DE', 'Deutschland', '276', 1],
  ['DK', 'Danmark', '208', 1], ['ES', 'España', '724', 1], ['FR', 'France', '250', 1], ['GB', 'United Kingdom', '826', 0],
  ['GR', 'Ελλάδα', '300', 1], ['IS', 'Ísland', '352', 0], ['JP', '日本', '392', 0], ['PL', 'Polska', '616', 1],
  ['SE', 'Sverige', '752', 1], ['US', 'United States', '840', 0], ['XK', 'Kosovo', null, 0],
];
// Rates always carry a decimal point: random digits are appended to them.
const CURRENCIES: [string, string, string, string][] = [
  ['CHF', 'Swiss franc', 'CHF', '0.95'], ['CNY', 'Chinese yuan', '¥', '7.8'], ['DKK', 'Danish krone', 'kr', '7.46'],
  ['GBP', 'Pound sterling', '£', '0.86'], ['JPY', 'Japanese yen', '¥', '160.0'], ['SEK', 'Swedish krona', 'kr', '11.2'],
  ['USD', 'US dollar', '$', '1.08'],
];
const PAYMENT_TERMS: [string, string, string, string | null, string][] = [
  ['14 DAYS', 'Net 14 days', '14D', null, '0'], ['1M(8D)', '1 Month/2% 8 days', '1M', '8D', '2'],
  ['30 DAYS', 'Net 30 days', '30D', null, '0'], ['CM', 'Current month', 'CM', null, '0'],
  ['COD', 'Cash on delivery', '0D', null, '0'], ['7 DAYS', "Net 7 days ('express')", '7D', null, '0'],
];
const DIMENSIONS = ['AREA', 'BUSINESSGROUP', 'CUSTOMERGROUP', 'DEPARTMENT', 'PROJECT', 'SALESCAMPAIGN'];
const UOM = ['PCS', 'BOX', 'KG', 'PALLET', 'STÜCK'];
const ITEM_FLAGS = ['sellable', 'purchasable', 'inventory'];
const USERS = ['ADMIN', 'JOHN.DOE', 'MARÍA.GARCÍA', 'ANNA.MÜLLER', 'SVC-INTEGRATION', "P.O'NEIL"];
const ROLES: [string, string, string][] = [
  ['SUPER', 'Super user', 'System'], ['D365 BASIC', 'Basic access', 'System'], ['D365 BUS FULL ACCESS', 'Full business access', 'System'],
  ['D365 READ', 'Read everything', 'System'], ['SECURITY', 'Manage permissions', 'System'], ['LOCAL', 'Tenant extension "Local"', 'Tenant'],
];
const currencyOrLocal = (rng: Rng) => (rng.chance(0.7) ? null : rng.pick(CURRENCIES)[0]);
const displayName = (company: string) => `${company.toUpperCase()} International Ltd.`;

function* companyInformation(rng: Rng, ctx: Ctx): Iterable<Row> {
  yield {
    primary_key: '', name: displayName(ctx.company), address: address(rng), city: rng.pick(CITIES), country_code: 'GB',
    vat_registration_no: `GB${rng.int(100_000_000, 999_999_999)}`, phone_no: `+44 20 ${rng.int(1000, 9999)} ${rng.int(1000, 9999)}`,
    email: `info@${ctx.company}.example`,
    settings: JSON.stringify({
      fiscalYearStart: '01-01', baseCurrency: 'EUR', features: { dimensions: 6, approvals: true }, motto: 'Qualität für alle 🌍',
    }),
    created_at: rng.datetime(2014, 2014),
  };
}

function* customers(rng: Rng, ctx: Ctx): Iterable<Row> {
  for (let i = 0; i < ctx.sizes.customers; i++) {
    const [created, modified] = createdModified(rng, Y.from, Y.to);
    const attributes = rng.chance(0.15) ? null : JSON.stringify({
      segment: rng.pick(['retail', 'wholesale', 'export', 'public']),
      tags: Array.from({ length: rng.int(0, 3) }, () => rng.pick(['vip', 'früh', 'netto', '🚚', 'legacy'])),
      contact: {
        name: maybeNasty(rng, rng.pick(['Åsa Öberg', 'José Núñez', 'Li Wei', 'Sam Smith']), 0.2),
        phone: rng.chance(0.3) ? null : `+${rng.int(1, 99)} ${rng.int(100000, 9999999)}`,
      },
      score: rng.int(0, 100), ratio: Number((rng.next() * 10).toFixed(3)),
    });
    yield {
      code: customerNo(i), name: maybeNasty(rng, companyName(rng), 0.08),
      address: rng.chance(0.1) ? null : maybeNasty(rng, address(rng), 0.05), city: rng.chance(0.1) ? null : rng.pick(CITIES),
      country_code: rng.chance(0.05) ? null : rng.pick(COUNTRIES)[0], attributes,
      credit_limit: rng.decimal(0, 250_000, 20), blocked: rng.chance(0.9) ? '' : rng.pick(['Ship', 'Invoice', 'All']),
      payment_terms_code: rng.pick(PAYMENT_TERMS)[0], currency_code: currencyOrLocal(rng), created_at: created, modified_at: modified,
    };
  }
}

function* vendors(rng: Rng, ctx: Ctx): Iterable<Row> {
  for (let i = 0; i < ctx.sizes.vendors; i++) {
    const [created, modified] = createdModified(rng, Y.from, Y.to);
    yield {
      no: vendorNo(i), name: maybeNasty(rng, companyName(rng), 0.08), address: rng.chance(0.1) ? null : address(rng),
      city: rng.pick(CITIES), country_code: rng.pick(COUNTRIES)[0], currency_code: currencyOrLocal(rng),
      payment_terms_code: rng.chance(0.1) ? null : rng.pick(PAYMENT_TERMS)[0], blocked: rng.chance(0.95) ? '' : rng.pick(['Payment', 'All']),
      balance: rng.decimal(-50_000, 500_000, 20), created_at: created, modified_at: modified,
    };
  }
}

function* items(rng: Rng, ctx: Ctx): Iterable<Row> {
  for (let i = 0; i < ctx.sizes.items; i++) {
    const [created, modified] = createdModified(rng, Y.from, Y.to);
    yield {
      no: itemNo(i), description: maybeNasty(rng, itemName(rng), 0.05), 'beschreibung_ü': rng.chance(0.2) ? null : itemNameDe(rng),
      base_unit_of_measure: UOM[i % UOM.length], unit_price: rng.decimal(0, 5_000, 20), unit_cost: rng.decimal(0, 3_000, 20),
      inventory: rng.decimal(-20, 10_000, 20), flags: ITEM_FLAGS.filter(() => rng.chance(0.6)).join(','),
      picture: rng.chance(0.25) ? null : rng.bytes(rng.int(200, 4_000)), blocked: rng.chance(0.05) ? 1 : 0,
      created_at: created, modified_at: modified,
    };
  }
}

function* itemUnits(rng: Rng, ctx: Ctx): Iterable<Row> {
  for (let i = 0; i < ctx.sizes.items; i++) {
    const base = UOM[i % UOM.length];
    const codes = [base, ...UOM.filter((u) => u !== base && rng.chance(0.25))];
    for (const code of codes) {
      yield {
        item_no: itemNo(i), code, qty_per_unit_of_measure: code === base ? '1' : rng.decimal(2, 500, 20),
        weight: rng.chance(0.3) ? null : rng.decimal(0, 80, 20),
      };
    }
  }
}

function* salesPrices(rng: Rng, ctx: Ctx): Iterable<Row> {
  const { items: nItems, customers: nCust } = ctx.sizes;
  for (let i = 0; i < ctx.sizes.salesPrices; i++) {
    // (item, starting_date) is unique by construction, so the composite PK never collides.
    const start = addDays('2015-01-01', Math.floor(i / nItems) * 7 + (i % 7));
    const salesType = rng.pick(['Customer', 'Customer Price Group', 'All Customers']);
    yield {
      item_no: itemNo(i % nItems), sales_type: salesType,
      sales_code: salesType === 'Customer' ? customerNo(rng.int(0, nCust - 1))
        : salesType === 'All Customers' ? '' : rng.pick(['RETAIL', 'EXPORT', 'VIP']),
      starting_date: start, currency_code: rng.chance(0.8) ? '' : rng.pick(CURRENCIES)[0], minimum_quantity: rng.decimal(0, 100, 20),
      'unit price (LCY)': rng.decimal(0, 5_000, 20), line_discount_pct: rng.decimal(0, 30, 20),
      ending_date: rng.chance(0.5) ? null : addDays(start, rng.int(30, 720)),
    };
  }
}

function* glAccounts(rng: Rng, ctx: Ctx): Iterable<Row> {
  for (let i = 0; i < ctx.sizes.glAccounts; i++) {
    const type = glAccountType(i);
    yield {
      no: glAccountNo(i), name: maybeNasty(rng, `${glText(rng)} ${i}`, 0.03), account_type: type,
      income_balance: i < ctx.sizes.glAccounts / 2 ? 'Balance Sheet' : 'Income Statement', direct_posting: type === 'Posting' ? 1 : 0,
      blocked: rng.chance(0.03) ? 1 : 0, totaling: type === 'Total' ? `${glAccountNo(Math.max(0, i - 9))}..${glAccountNo(i - 1)}` : null,
    };
  }
}

function* glEntries(rng: Rng, ctx: Ctx): Iterable<Row> {
  const accounts = postingAccounts(ctx.sizes.glAccounts);
  for (let i = 0; i < ctx.sizes.glEntries; i++) {
    const postingDate = rng.date(Y.from, Y.to);
    const docType = rng.pick(['', 'Payment', 'Invoice', 'Invoice', 'Credit Memo']);
    yield {
      entry_no: i + 1, posting_date: postingDate, document_type: docType,
      document_no: `G${postingDate.slice(0, 4)}-${pad(rng.int(1, 99_999), 5)}`, gl_account_no: rng.pick(accounts),
      description: rng.chance(0.05) ? null : maybeNasty(rng, glText(rng), 0.03), amount: rng.decimal(-50_000, 50_000, 20),
      dimension_set_id: rng.chance(0.3) ? 0 : rng.int(1, ctx.sizes.dimensionSets),
      source_code: rng.chance(0.1) ? null : rng.pick(['GENJNL', 'SALES', 'PURCHASES', 'INVTPCOST', 'BANKREC']),
      created_at: timeOn(rng, postingDate),
    };
  }
}

function* dimensions(rng: Rng): Iterable<Row> {
  for (const code of DIMENSIONS) yield { code, name: code.charAt(0) + code.slice(1).toLowerCase(), blocked: rng.chance(0.1) ? 1 : 0 };
}

const dimValueCode = (dim: string, j: number) => `${dim.slice(0, 4)}-${pad(j + 1, 4)}`;

function* dimensionValues(rng: Rng, ctx: Ctx): Iterable<Row> {
  for (const dim of DIMENSIONS) {
    for (let j = 0; j < ctx.sizes.dimensionValuesPerDimension; j++) {
      const name = maybeNasty(rng, `${dim.toLowerCase()} ${rng.pick(CITIES)}`, 0.05, 50);
      yield { dimension_code: dim, code: dimValueCode(dim, j), name, blocked: 0 };
    }
  }
}

function* dimensionSetEntries(rng: Rng, ctx: Ctx): Iterable<Row> {
  for (let s = 1; s <= ctx.sizes.dimensionSets; s++) {
    const dims = DIMENSIONS.filter(() => rng.chance(0.4));
    if (dims.length === 0) dims.push(rng.pick(DIMENSIONS));
    for (const dim of dims) {
      const value = dimValueCode(dim, rng.int(0, ctx.sizes.dimensionValuesPerDimension - 1));
      yield { dimension_set_id: s, dimension_code: dim, dimension_value_code: value };
    }
  }
}

const DOC_PREFIX: Record<string, string> = { Quote: 'Q', Order: 'O', Invoice: 'I', 'Credit Memo': 'CM' };
type Kind = 'sales' | 'purchase';

function* headers(kind: Kind, ctx: Ctx): Iterable<Row> {
  const rng = createRng(ctx.seed, ctx.company, `${kind}_header`);
  const n = kind === 'sales' ? ctx.sizes.salesHeaders : ctx.sizes.purchaseHeaders;
  for (let i = 0; i < n; i++) {
    const type = rng.pick(['Order', 'Order', 'Invoice', 'Quote', 'Credit Memo'] as const);
    const orderDate = rng.date(Y.from, Y.to);
    const posting = type === 'Quote' ? null : addDays(orderDate, rng.int(0, 10));
    const party = kind === 'sales' ? customerNo(rng.int(0, ctx.sizes.customers - 1)) : vendorNo(rng.int(0, ctx.sizes.vendors - 1));
    const ext = rng.chance(0.4) ? null : maybeNasty(rng, `EXT-${rng.int(1000, 99_999)}`, 0.05, 35);
    yield {
      document_type: type, no: `${kind === 'sales' ? 'S' : 'P'}${DOC_PREFIX[type]}${pad(i + 1)}`,
      [kind === 'sales' ? 'sell_to_customer_no' : 'buy_from_vendor_no']: party,
      [kind === 'sales' ? 'bill_to_name' : 'pay_to_name']: maybeNasty(rng, companyName(rng), 0.05),
      order_date: orderDate, posting_date: posting, due_date: posting && addDays(posting, rng.pick([7, 14, 30, 60])),
      currency_code: currencyOrLocal(rng), payment_terms_code: rng.chance(0.1) ? null : rng.pick(PAYMENT_TERMS)[0],
      status: rng.pick(['Open', 'Released', 'Released', 'Pending Approval']),
      [kind === 'sales' ? 'external_document_no' : 'vendor_invoice_no']: ext,
      amount: rng.decimal(-1_000, 100_000, 20), created_at: timeOn(rng, orderDate),
    };
  }
}

function* lines(kind: Kind, rng: Rng, ctx: Ctx): Iterable<Row> {
  const accounts = postingAccounts(ctx.sizes.glAccounts);
  for (const h of headers(kind, ctx)) {
    const count = rng.int(1, 5);
    for (let k = 1; k <= count; k++) {
      const type = rng.pick(['Item', 'Item', 'Item', 'G/L Account', '']);
      const comment = type === '';
      yield {
        document_type: h.document_type, document_no: h.no, line_no: k * 10_000, type,
        no: comment ? null : type === 'Item' ? itemNo(rng.int(0, ctx.sizes.items - 1)) : rng.pick(accounts),
        description: maybeNasty(rng, comment ? 'Note: deliver to back door' : itemName(rng), 0.05),
        quantity: comment ? '0' : rng.decimal(1, 250, 20),
        [kind === 'sales' ? 'unit_price' : 'direct_unit_cost']: comment ? '0' : rng.decimal(0, 4_000, 20),
        line_discount_pct: rng.chance(0.7) ? '0' : rng.decimal(0, 25, 20), line_amount: comment ? '0' : rng.decimal(0, 500_000, 20),
      };
    }
  }
}

function* custLedger(rng: Rng, ctx: Ctx): Iterable<Row> {
  const n = ctx.sizes.custLedgerEntries;
  // Fixed positions (distinct because n > ZERO_DATE_ROWS) for rows a strict target rejects.
  const zeroRows = new Set(Array.from({ length: ZERO_DATE_ROWS }, (_, k) => Math.floor(((k + 1) * n) / (ZERO_DATE_ROWS + 1))));
  for (let i = 0; i < n; i++) {
    const posting = rng.date(Y.from, Y.to);
    const amount = rng.decimal(-20_000, 20_000, 20);
    const open = rng.chance(0.3);
    yield {
      entry_no: i + 1, customer_no: customerNo(rng.int(0, ctx.sizes.customers - 1)), posting_date: posting,
      document_type: rng.pick(LEDGER_DOC_TYPES), document_no: `CL${posting.slice(0, 4)}-${pad(i + 1)}`,
      description: rng.chance(0.1) ? null : maybeNasty(rng, glText(rng), 0.04), currency_code: currencyOrLocal(rng),
      amount, remaining_amount: open ? amount : '0', due_date: zeroRows.has(i) ? '0000-00-00' : addDays(posting, rng.pick([0, 14, 30, 60])),
      open: open ? 1 : 0, created_at: timeOn(rng, posting),
    };
  }
}

function* vendorLedger(rng: Rng, ctx: Ctx): Iterable<Row> {
  for (let i = 0; i < ctx.sizes.vendorLedgerEntries; i++) {
    const posting = rng.date(Y.from, Y.to);
    const amount = rng.decimal(-30_000, 5_000, 20);
    const open = rng.chance(0.25);
    yield {
      entry_no: i + 1, vendor_no: vendorNo(rng.int(0, ctx.sizes.vendors - 1)), posting_date: posting,
      document_type: rng.pick(LEDGER_DOC_TYPES), document_no: `VL${posting.slice(0, 4)}-${pad(i + 1)}`,
      external_document_no: rng.chance(0.3) ? null : `INV-${rng.int(1, 999_999)}`, amount, remaining_amount: open ? amount : '0',
      due_date: rng.chance(0.1) ? null : addDays(posting, rng.pick([14, 30, 45])), open: open ? 1 : 0, created_at: timeOn(rng, posting),
    };
  }
}

function* itemLedger(rng: Rng, ctx: Ctx): Iterable<Row> {
  for (let i = 0; i < ctx.sizes.itemLedgerEntries; i++) {
    const posting = rng.date(Y.from, Y.to);
    const type = rng.pick(ITEM_ENTRY_TYPES);
    const outbound = type === 'Sale' || type === 'Negative Adjmt.';
    const qty = rng.decimal(1, 500, 20);
    const open = !outbound && rng.chance(0.3);
    yield {
      entry_no: i + 1, item_no: itemNo(rng.int(0, ctx.sizes.items - 1)), posting_date: posting, entry_type: type,
      document_no: `IL${posting.slice(0, 4)}-${pad(i + 1)}`, location_code: rng.chance(0.2) ? null : rng.pick(['MAIN', 'EAST', 'WEST', 'LAGER-SÜD']),
      quantity: outbound ? `-${qty}` : qty, remaining_quantity: open ? qty : '0', cost_amount_actual: rng.decimal(-100_000, 100_000, 20),
      open: open ? 1 : 0, created_at: timeOn(rng, posting),
    };
  }
}

function* bankAccounts(rng: Rng, ctx: Ctx): Iterable<Row> {
  for (let i = 0; i < ctx.sizes.bankAccounts; i++) {
    yield {
      no: `B${pad(i + 1, 3)}`, name: maybeNasty(rng, `${rng.pick(['World Wide Bank', 'Nordbank', 'Crédit Local', 'Sparkasse'])} ${i + 1}`, 0.2),
      bank_account_no: `${rng.int(1000, 9999)}-${rng.int(100000, 999999)}`, iban: `GB${rng.int(10, 99)} WWBK ${rng.int(1000, 9999)} ${rng.int(1000, 9999)} ${rng.int(10, 99)}`,
      swift_code: rng.chance(0.2) ? null : 'WWBKGB2L', currency_code: currencyOrLocal(rng), balance: rng.decimal(-10_000, 2_000_000, 20),
      created_at: rng.datetime(Y.from, Y.to),
    };
  }
}

function* importBuffer(rng: Rng): Iterable<Row> {
  const unique: Row[] = [];
  for (let i = 0; i < 40; i++) {
    unique.push({
      line_no: rng.chance(0.1) ? null : i + 1, source_file: rng.pick(['bank_2024-12.csv', 'payroll "Dec".txt', 'C:\\import\\legacy.dat']),
      raw_line: rng.chance(0.1) ? null : maybeNasty(rng, `${rng.int(1, 9999)};${glText(rng)};${rng.int(-999, 999)}`, 0.3),
      amount: rng.chance(0.2) ? null : rng.decimal(-5_000, 5_000, 20), imported_at: rng.chance(0.1) ? null : rng.datetime(2024, 2024),
    });
  }
  // Exact duplicates interleaved: the table has no key, so they must survive a copy.
  const out = [...unique];
  for (let d = 0; d < 10; d++) out.splice(rng.int(0, out.length), 0, { ...unique[rng.int(0, unique.length - 1)] });
  yield* out;
}

function* legacyArchive(rng: Rng, ctx: Ctx): Iterable<Row> {
  for (let i = 0; i < ctx.sizes.legacyArchive; i++) {
    yield {
      id: i + 1, document_no: `ARC-${pad(i + 1)}`, archived_at: rng.datetime(2005, 2014),
      payload: rng.chance(0.1) ? null : maybeNasty(rng, `legacy record ${i + 1}; status=${rng.pick(['closed', 'void', 'migrated?'])}`, 0.1),
      amount: rng.decimal(-10_000, 10_000, 20),
    };
  }
}

const userIds = (ctx: Ctx) => {
  const rng = createRng(ctx.seed, ctx.company, 'user');
  return USERS.map(() => uuid(rng));
};

function* users(_rng: Rng, ctx: Ctx): Iterable<Row> {
  const rng = createRng(ctx.seed, ctx.company, 'user', 'attributes');
  for (const [i, sid] of userIds(ctx).entries()) {
    yield {
      user_security_id: sid, user_name: USERS[i], full_name: i === 0 ? null : maybeNasty(rng, USERS[i].replace('.', ' '), 0.2, 80),
      state: i === 5 ? 'Disabled' : 'Enabled', license_type: i === 4 ? 'External User' : rng.pick(['Full User', 'Limited User']),
      authentication_email: i === 0 ? null : `${USERS[i].toLowerCase().replace(/[^a-z]/g, '')}@${ctx.company}.example`,
      created_at: rng.datetime(2014, 2016),
    };
  }
}

function* userSetup(rng: Rng): Iterable<Row> {
  for (const name of USERS.slice(0, 5)) {
    const from = rng.chance(0.5) ? null : rng.date(2015, 2019);
    yield {
      user_id: name, allow_posting_from: from, allow_posting_to: from && addDays(from, 365 * 5), register_time: rng.chance(0.3) ? 1 : 0,
      salespers_purch_code: rng.chance(0.5) ? null : name.slice(0, 2), email: rng.chance(0.3) ? null : `${name.toLowerCase()}@example.com`,
    };
  }
}

function* permissionSets(): Iterable<Row> {
  for (const [role_id, name, scope] of ROLES) yield { role_id, name, scope };
}

function* accessControl(rng: Rng, ctx: Ctx): Iterable<Row> {
  for (const sid of userIds(ctx)) {
    const roles = ROLES.filter(() => rng.chance(0.4));
    if (roles.length === 0) roles.push(ROLES[1]);
    for (const [role_id, , scope] of roles) {
      yield { user_security_id: sid, role_id, company_name: rng.chance(0.3) ? '' : displayName(ctx.company).slice(0, 30), scope };
    }
  }
}

function* fixed<T>(items: readonly T[], map: (t: T) => Row): Iterable<Row> {
  for (const t of items) yield map(t);
}

type Producer = (rng: Rng, ctx: Ctx) => Iterable<Row>;

const PRODUCERS: Record<string, Producer> = {
  company_information: companyInformation,
  country_region: () => fixed(COUNTRIES, ([code, name, iso, eu]) => ({ code, name, iso_numeric_code: iso, eu_country: eu })),
  currency: (rng) => fixed(CURRENCIES, ([code, description, symbol, rate]) => ({
    code, description, symbol, exchange_rate: `${rate}${rng.decimal(0, 0, 12).slice(2)}`,
    amount_rounding_precision: code === 'JPY' ? '1' : '0.01', last_date_modified: rng.date(2023, 2024),
  })),
  payment_terms: () => fixed(PAYMENT_TERMS, ([code, description, due, disc, pct]) => ({
    code, description, due_date_calculation: due, discount_date_calculation: disc, discount_pct: pct,
  })),
  customer: customers,
  vendor: vendors,
  item: items,
  item_unit_of_measure: itemUnits,
  [SALES_PRICE_TABLE]: salesPrices,
  gl_account: glAccounts,
  dimension: dimensions,
  dimension_value: dimensionValues,
  dimension_set_entry: dimensionSetEntries,
  gl_entry: glEntries,
  sales_header: (_rng, ctx) => headers('sales', ctx),
  sales_line: (rng, ctx) => lines('sales', rng, ctx),
  purchase_header: (_rng, ctx) => headers('purchase', ctx),
  purchase_line: (rng, ctx) => lines('purchase', rng, ctx),
  cust_ledger_entry: custLedger,
  vendor_ledger_entry: vendorLedger,
  item_ledger_entry: itemLedger,
  bank_account: bankAccounts,
  change_log_entry: () => [], // filled only by the customer trigger
  import_buffer: importBuffer,
  legacy_archive: legacyArchive,
  user: users,
  user_setup: userSetup,
  permission_set: permissionSets,
  access_control: accessControl,
};

export function rowsFor(table: string, ctx: Ctx): Iterable<Row> {
  const producer = PRODUCERS[table];
  if (!producer) throw new Error(`no row producer for table ${table}`);
  return producer(createRng(ctx.seed, ctx.company, table), ctx);
}

