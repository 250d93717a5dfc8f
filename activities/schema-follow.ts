// Follows the source's schema at the start of every run, in both capture modes: a change that keeps
// every stored value (a column added with a constant default, a type widened, an index added, a
// column dropped) is applied to the target table in place; anything else rebuilds the target table
// from the source's definition and owes it a full copy. New tables in a company's schema are created
// (the run then loads them in full); tables gone from the source are dropped on the target.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { TARGET_SQL_MODE } from '../lib/constants';
import type { CompanyMapping, SchemaFollowResult, TablePlan } from '../lib/types';
import { planTable } from './assess';
import { captureTableIds, findCapture, installCapture, markCopyOwed, readTableIds, removeCapture, renameCapture, type CaptureSite } from './capture';
import { forgetSlice } from './run-verify';
import { keyColumns } from './migrate-table';
import { normalType, readIndexes, readTable, readTables, type ColumnMeta, type TableMeta } from './introspect';
import { errorText, id, isMissingObject, isStatementError, qualified } from './sql';
import { createTargetTables } from './target-schema';

/** A table the tenant knows, as the run has it. */
export interface KnownTable {
  key: string;
  sourceSchema: string;
  targetSchema: string;
  table: string;
  hasPrimaryKey: boolean;
  splittable: boolean;
}

export interface FollowIo {
  tenant: string;
  source: Pool;
  target: Pool;
  site: CaptureSite;
  companies: CompanyMapping[];
  migrated: KnownTable[];
  notMigrated: string[];
  resync: string[];
  beat: () => void;
}

/** One change to a target table that keeps every value it holds. */
export type Step =
  | { op: 'add-column'; column: string; after: string | null }
  | { op: 'modify-column'; column: string }
  | { op: 'drop-column'; column: string }
  | { op: 'add-index'; name: string }
  | { op: 'replace-index'; name: string }
  | { op: 'drop-index'; name: string };

export interface Alteration {
  /** What differs, one line each, as the page shows it. */
  changes: string[];
  /** In-place steps; empty when nothing differs or when the table must be rebuilt. */
  steps: Step[];
  /** Why the table cannot be changed in place (then it is rebuilt and copied in full). */
  rebuild?: string;
}

const INTEGER_RANK: Record<string, number> = { tinyint: 1, smallint: 2, mediumint: 3, int: 4, integer: 4, bigint: 5 };
const TEXT_RANK: Record<string, number> = { tinytext: 1, text: 2, mediumtext: 3, longtext: 4 };
/** Bytes each TEXT type holds; a VARCHAR's characters may take 4 bytes each (utf8mb4). */
const TEXT_BYTES: Record<string, number> = { tinytext: 255, text: 65_535, mediumtext: 16_777_215, longtext: 4_294_967_295 };
const BLOB_RANK: Record<string, number> = { tinyblob: 1, blob: 2, mediumblob: 3, longblob: 4 };
const FSP_TYPES = new Set(['datetime', 'timestamp', 'time']);

const unsigned = (c: ColumnMeta): boolean => /\bunsigned\b/i.test(c.columnType);
const firstNumber = (c: ColumnMeta): number => Number(/\((\d+)/.exec(c.columnType)?.[1] ?? 0);
const decimalOf = (c: ColumnMeta): [number, number] => {
  const m = /\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)/.exec(c.columnType);
  return [Number(m?.[1] ?? 10), Number(m?.[2] ?? 0)];
};
const membersOf = (c: ColumnMeta): string => /\((.*)\)/s.exec(c.columnType)?.[1] ?? '';

/** Whether every value `from` (the target's column) can hold, `to` (the source's) holds the same. */
export function widens(from: ColumnMeta, to: ColumnMeta): boolean {
  if ((from.collation ?? null) !== (to.collation ?? null)) return false; // other bytes, other comparisons
  if (from.nullable && !to.nullable) return false;
  if (/zerofill/i.test(from.columnType) !== /zerofill/i.test(to.columnType)) return false;
  const a = from.dataType;
  const b = to.dataType;
  if (normalType(from.columnType) === normalType(to.columnType)) return true; // only NULL-ability or default
  if (INTEGER_RANK[a] && INTEGER_RANK[b]) {
    if (unsigned(from) === unsigned(to)) return INTEGER_RANK[b] >= INTEGER_RANK[a];
    return unsigned(from) && !unsigned(to) && INTEGER_RANK[b] > INTEGER_RANK[a];
  }
  if (a === 'decimal' && b === 'decimal') {
    const [p1, s1] = decimalOf(from);
    const [p2, s2] = decimalOf(to);
    return s2 >= s1 && p2 - s2 >= p1 - s1 && (unsigned(from) || !unsigned(to));
  }
  if ((a === 'varchar' && b === 'varchar') || (a === 'varbinary' && b === 'varbinary')) return firstNumber(to) >= firstNumber(from);
  if (a === 'varchar' && TEXT_RANK[b]) return firstNumber(from) * 4 <= TEXT_BYTES[b];
  if (TEXT_RANK[a] && TEXT_RANK[b]) return TEXT_RANK[b] >= TEXT_RANK[a];
  if (BLOB_RANK[a] && BLOB_RANK[b]) return BLOB_RANK[b] >= BLOB_RANK[a];
  if (a === 'float' && b === 'double') return !unsigned(to) || unsigned(from);
  if (FSP_TYPES.has(a) && a === b) return firstNumber(to) >= firstNumber(from);
  if ((a === 'enum' || a === 'set') && a === b) return membersOf(to).startsWith(membersOf(from)); // members appended keep their numbers
  return false;
}

/**
 * A default the target computes the same as the source did: none, NULL, a quoted string, a number
 * or a bit/hex literal. Anything else is taken for an expression (MariaDB shows `current_timestamp()`,
 * `(rand() * 10)`; MySQL 8 marks them DEFAULT_GENERATED, and shows a string unquoted, which is then
 * rebuilt needlessly but never wrongly).
 */
export function constantDefault(c: ColumnMeta): boolean {
  if (/auto_increment|DEFAULT_GENERATED/i.test(c.extra ?? '')) return false;
  const d = c.default?.trim();
  if (d === null || d === undefined || d === 'NULL') return true;
  return /^'(?:[^'\\]|''|\\.)*'$/s.test(d) || /^[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?$/i.test(d) || /^[bx]'[0-9a-f]*'$/i.test(d);
}

const sameColumn = (a: ColumnMeta, b: ColumnMeta): boolean =>
  normalType(a.columnType) === normalType(b.columnType) && a.nullable === b.nullable && (a.collation ?? null) === (b.collation ?? null) &&
  a.generated === b.generated && (a.default ?? null) === (b.default ?? null) && (a.extra ?? '').toLowerCase() === (b.extra ?? '').toLowerCase() &&
  (a.expression ?? null) === (b.expression ?? null);

/**
 * How to make the target table's definition the source's. Pure: both definitions and their
 * secondary indexes are read by the caller. Plain indexes only on the target stay (a hotfix may have
 * added one for the cloud's queries); a UNIQUE one goes, since a REPLACE would delete rows over it.
 */
export function planAlteration(
  source: TableMeta, target: TableMeta, sourceIndexes: Map<string, string> = new Map(), targetIndexes: Map<string, string> = new Map(),
): Alteration {
  const out: Alteration = { changes: [], steps: [] };
  const rebuild = (why: string): Alteration => ({ ...out, steps: [], rebuild: why });
  const pk = (k: string[]): string => (k.length ? `(${k.join(', ')})` : 'none');
  if (source.primaryKey.join('\u0000').toLowerCase() !== target.primaryKey.join('\u0000').toLowerCase()) {
    out.changes.push(`primary key ${pk(target.primaryKey)} → ${pk(source.primaryKey)}`);
    return rebuild('the primary key changed');
  }
  const onTarget = new Map(target.columns.map((c) => [c.name.toLowerCase(), c]));
  const onSource = new Set(source.columns.map((c) => c.name.toLowerCase()));
  // Columns both have must keep their order: a reorder is a rebuild (rare, and ALTER … AFTER per column is fragile).
  const commonSource = source.columns.filter((c) => onTarget.has(c.name.toLowerCase())).map((c) => c.name.toLowerCase());
  const commonTarget = target.columns.filter((c) => onSource.has(c.name.toLowerCase())).map((c) => c.name.toLowerCase());
  if (commonSource.join('\u0000') !== commonTarget.join('\u0000')) {
    out.changes.push('columns reordered');
    return rebuild('columns were reordered');
  }
  let reason: string | undefined;
  for (const t of target.columns) {
    if (onSource.has(t.name.toLowerCase())) continue;
    out.changes.push(`column ${t.name} dropped`);
    out.steps.push({ op: 'drop-column', column: t.name });
  }
  source.columns.forEach((s, i) => {
    const t = onTarget.get(s.name.toLowerCase());
    if (!t) {
      out.changes.push(`column ${s.name} added (${normalType(s.columnType)})`);
      if (!s.generated && !constantDefault(s)) reason ??= `column ${s.name} was added with a default computed per row (${s.default ?? s.extra}): its values cannot be derived on the target`;
      out.steps.push({ op: 'add-column', column: s.name, after: i === 0 ? null : source.columns[i - 1].name });
      return;
    }
    if (sameColumn(s, t)) return;
    const from = normalType(t.columnType);
    const to = normalType(s.columnType);
    out.changes.push(`column ${s.name} ${from === to ? 'changed' : `${from} → ${to}`}${t.nullable !== s.nullable ? (s.nullable ? ', now NULL' : ', now NOT NULL') : ''}`);
    if (!s.generated && !t.generated && !widens(t, s)) reason ??= `column ${s.name} changed in a way that may have changed its values (${from}${t.nullable ? '' : ' NOT NULL'} → ${to}${s.nullable ? '' : ' NOT NULL'})`;
    if (s.generated !== t.generated) reason ??= `column ${s.name} is ${s.generated ? 'now' : 'no longer'} generated`;
    out.steps.push({ op: 'modify-column', column: s.name });
  });
  for (const [name, signature] of sourceIndexes) {
    const there = targetIndexes.get(name);
    if (there === signature) continue;
    out.changes.push(`index ${name} ${there ? 'changed' : 'added'}`);
    out.steps.push(there ? { op: 'replace-index', name } : { op: 'add-index', name });
  }
  for (const [name, signature] of targetIndexes) {
    if (sourceIndexes.has(name) || !signature.startsWith('unique ')) continue;
    out.changes.push(`unique index ${name} dropped`);
    out.steps.push({ op: 'drop-index', name });
  }
  return reason ? rebuild(reason) : out;
}

/** The column and index lines of SHOW CREATE TABLE, by name. */
export function definitionLines(showCreate: string): { columns: Map<string, string>; indexes: Map<string, string> } {
  const columns = new Map<string, string>();
  const indexes = new Map<string, string>();
  for (const raw of showCreate.split('\n').slice(1)) {
    const line = raw.trim().replace(/,$/, '');
    const column = /^`((?:[^`]|``)+)`\s/.exec(line);
    if (column) {
      columns.set(column[1].replace(/``/g, '`').toLowerCase(), line);
      continue;
    }
    const index = /^(?:UNIQUE |FULLTEXT |SPATIAL )?(?:KEY|INDEX) `((?:[^`]|``)+)`/.exec(line);
    if (index) indexes.set(index[1].replace(/``/g, '`'), line);
  }
  return { columns, indexes };
}

export class DefinitionLineMissing extends Error {}

/** The ALTER TABLE clauses of the steps, from the source's own definition lines. */
export function alterClauses(steps: Step[], lines: ReturnType<typeof definitionLines>): string[] {
  const column = (name: string): string => {
    const line = lines.columns.get(name.toLowerCase());
    if (!line) throw new DefinitionLineMissing(`no definition of column ${name} in SHOW CREATE TABLE`);
    return line;
  };
  const index = (name: string): string => {
    const line = lines.indexes.get(name);
    if (!line) throw new DefinitionLineMissing(`no definition of index ${name} in SHOW CREATE TABLE`);
    return line;
  };
  return steps.flatMap((s) => {
    switch (s.op) {
      case 'add-column': return [`ADD COLUMN ${column(s.column)} ${s.after === null ? 'FIRST' : `AFTER ${id(s.after)}`}`];
      case 'modify-column': return [`MODIFY COLUMN ${column(s.column)}`];
      case 'drop-column': return [`DROP COLUMN ${id(s.column)}`];
      case 'add-index': return [`ADD ${index(s.name)}`];
      case 'replace-index': return [`DROP INDEX ${id(s.name)}`, `ADD ${index(s.name)}`];
      case 'drop-index': return [`DROP INDEX ${id(s.name)}`];
    }
  });
}

/** Below this share of a company's known tables still on the source, nothing is dropped: a lost grant looks like a drop. */
const MOST_TABLES_GONE = 0.5;

/** Whether a table the source no longer lists is really gone (1146), or only hidden from this account. */
async function reallyGone(source: Pool, schema: string, table: string): Promise<true | string> {
  try {
    await source.query(`SELECT 1 FROM ${qualified(schema, table)} LIMIT 0`);
    return 'the table is there again';
  } catch (err) {
    if (isMissingObject(err)) return true;
    if (!isStatementError(err)) throw err;
    return errorText(err);
  }
}

export async function followSchema(io: FollowIo): Promise<SchemaFollowResult> {
  // A long ALTER on a big target table must not look like a dead worker.
  const beating = setInterval(io.beat, 5_000);
  try {
    return await follow(io);
  } finally {
    clearInterval(beating);
  }
}

async function follow(io: FollowIo): Promise<SchemaFollowResult> {
  const result: SchemaFollowResult = { changes: [], added: [], dropped: [], replanned: [], rebuilt: [], renamed: [] };
  const schemas = io.companies.map((c) => c.source);
  const [sources, sourceIndexes] = await Promise.all([readTables(io.source, schemas), readIndexes(io.source, schemas)]);
  const targetSchemas = [...new Set(io.migrated.map((t) => t.targetSchema))];
  const [targets, targetIndexes] = await Promise.all([readTables(io.target, targetSchemas), readIndexes(io.target, targetSchemas)]);
  const known = new Set([...io.migrated.map((t) => t.key), ...io.notMigrated]);
  const note = (key: string, change: string, action: string, failed = false): void => {
    result.changes.push({ key, change, action, ...(failed ? { failed } : {}) });
  };

  // Gone from the source: renamed on the target when it was renamed (below), else dropped on the
  // target, unless so many went at once that it looks like a lost grant, or the table is only hidden
  // from this account (then it fails, saying so).
  const freshOf = (company: CompanyMapping): TableMeta[] =>
    [...sources.values()].filter((m) => m.schema === company.source && !known.has(`${m.schema}.${m.name}`)).sort((a, b) => a.name.localeCompare(b.name));
  for (const company of io.companies) {
    const mine = [...known].filter((k) => k.startsWith(`${company.source}.`));
    const gone = mine.filter((k) => !sources.has(k));
    if (gone.length === 0) continue;
    if (gone.length > mine.length * MOST_TABLES_GONE && mine.length > 1) {
      throw new Error(
        `${gone.length} of the ${mine.length} tables of company ${company.source} are no longer visible on the source (e.g. ${gone.slice(0, 3).join(', ')}): ` +
        'nothing is dropped on the target, since a lost grant or a wrong connection looks the same; check the account\'s SELECT grant on the schema, or drop the tables by hand if they really went',
      );
    }
    for (const key of gone) {
      const t = io.migrated.find((m) => m.key === key);
      if (t) {
        const gone = await reallyGone(io.source, t.sourceSchema, t.table);
        if (gone !== true) {
          note(key, 'table no longer listed on the source', `not dropped on the target: the source answers "${gone}"; grant the account SELECT on it, or drop it on the target by hand if it really went`, true);
          continue;
        }
        const renamedTo = await renameTarget(io, t, company, freshOf(company), targets.get(`${t.targetSchema}.${t.table}`), targetIndexes.get(`${t.targetSchema}.${t.table}`), sourceIndexes);
        if (renamedTo) {
          known.add(renamedTo.plan.key);
          result.renamed!.push({ from: key, plan: renamedTo.plan });
          if (renamedTo.full) result.rebuilt!.push(renamedTo.plan.key);
          note(renamedTo.plan.key, `table ${t.table} renamed on the source to ${renamedTo.plan.table}`, `renamed on the target${renamedTo.full ? ', and copied again in full' : ''}`);
          continue;
        }
        await io.target.query(`DROP TABLE IF EXISTS ${qualified(t.targetSchema, t.table)}`);
        await removeCapture(io.site, io.tenant, t.sourceSchema, t.table);
      }
      result.dropped.push(key);
      note(key, 'table dropped on the source', t ? 'dropped on the target' : 'removed from the tenant (it was not migrated)');
      io.beat();
    }
  }

  // New on the source: planned like at setup (include/exclude, history), created on the target; the run loads them.
  for (const company of io.companies) {
    const fresh = freshOf(company);
    if (fresh.length === 0) continue;
    const plans = fresh.map((m) => planTable(m, company).plan);
    const created = await createTargetTables(io.source, io.target, company.source, company.target, plans.filter((p) => !p.notMigratedReason).map((p) => p.table));
    for (const plan of plans) {
      const failed = created.failed.find((f) => f.table === plan.table);
      if (failed) plan.notMigratedReason = `the target cannot create this table: ${failed.error}`;
      result.added.push(plan);
      note(plan.key, 'table created on the source', plan.notMigratedReason ? `not migrated: ${plan.notMigratedReason}` : 'created on the target and loaded in full');
    }
    io.beat();
  }

  // Changed on the source, or asked for by `cm resync`.
  for (const t of io.migrated) {
    const meta = sources.get(t.key);
    if (!meta) continue;
    const targetMeta = targets.get(`${t.targetSchema}.${t.table}`);
    const alteration = targetMeta
      ? planAlteration(meta, targetMeta, sourceIndexes.get(t.key), targetIndexes.get(`${t.targetSchema}.${t.table}`))
      : { changes: ['table missing on the target'], steps: [], rebuild: 'the target table is missing' };
    const requested = io.resync.includes(t.key);
    if (!requested && alteration.changes.length === 0) continue;
    const what = [...(requested ? ['resynchronisation requested'] : []), ...alteration.changes].join('; ');
    try {
      const action = alteration.rebuild || requested
        ? await rebuilt(io, t, meta, requested && !alteration.rebuild ? 'resynchronisation requested (cm resync)' : alteration.rebuild!)
        : await inPlace(io, t, meta, alteration);
      if (action.full) result.rebuilt!.push(t.key);
      note(t.key, what, action.text);
    } catch (err) {
      if (!isStatementError(err)) throw err;
      note(t.key, what, `could not be followed: ${errorText(err)}`, true);
    }
    const { plan } = planTable(meta, io.companies.find((c) => c.source === meta.schema)!);
    if (plan.hasPrimaryKey !== t.hasPrimaryKey || plan.splittable !== t.splittable) result.replanned.push(plan);
    io.beat();
  }
  return result;
}

/**
 * A table gone from the source that reappears under another name of the same company: renamed on
 * the target and its capture moved, instead of dropped and loaded again. Triggers mode knows it for
 * sure (the new name has the InnoDB id the capture recorded; its triggers moved with it and logged
 * every change), so nothing is copied. Binlog mode matches a single new table of exactly the old
 * definition, and copies it in full after the rename, so a drop and an unrelated create alike end exact.
 */
async function renameTarget(
  io: FollowIo, t: KnownTable, company: CompanyMapping, fresh: TableMeta[], targetMeta: TableMeta | undefined,
  targetIndexes: Map<string, string> | undefined, sourceIndexes: Map<string, Map<string, string>>,
): Promise<{ plan: TablePlan; full: boolean } | undefined> {
  if (!targetMeta) return undefined;
  const sameShape = fresh.filter((m) => !planTable(m, company).plan.notMigratedReason &&
    planAlteration(m, targetMeta, sourceIndexes.get(`${m.schema}.${m.name}`), targetIndexes).changes.length === 0);
  if (sameShape.length === 0) return undefined;
  const capture = await findCapture(io.site.store, io.tenant, t.sourceSchema, t.table);
  let match: TableMeta | undefined;
  if (io.site.mode === 'triggers') {
    const ids = await readTableIds(io.source, sameShape.map((m) => ({ schema: m.schema, table: m.name })));
    const hits = sameShape.filter((m) => capture?.tableId !== undefined && ids.get(`${m.schema}.${m.name}`) === capture.tableId);
    if (hits.length === 1) match = hits[0];
  } else if (sameShape.length === 1) {
    match = sameShape[0];
  }
  if (!match) return undefined;
  await io.target.query(`RENAME TABLE ${qualified(t.targetSchema, t.table)} TO ${qualified(t.targetSchema, match.name)}`);
  await forgetSlice(io.target, io.tenant, t);
  const full = io.site.mode !== 'triggers' || !capture;
  if (capture) {
    await renameCapture(io.site.store, capture.id, match.name);
    if (full) await markCopyOwed(io.site.store, [capture.id], `table renamed on the source from ${t.table}: renamed on the target and copied again in full`);
  }
  return { plan: planTable(match, company).plan, full };
}

/** What was done to a table, and whether the run copies it in full. */
interface Action {
  text: string;
  full: boolean;
}

async function rebuilt(io: FollowIo, t: KnownTable, meta: TableMeta, why: string): Promise<Action> {
  await rebuild(io, t, meta, why);
  return { text: `target table rebuilt from the source's definition (${why}), and copied again in full`, full: true };
}

/**
 * The steps applied to the target table from the source's own definition lines, read once more
 * after them: a definition that changed in between is rebuilt instead. Any statement the target
 * refuses (a unique key over rows the run has not deleted yet, a strict-mode default) rebuilds too.
 */
async function inPlace(io: FollowIo, t: KnownTable, meta: TableMeta, alteration: Alteration): Promise<Action> {
  let clauses: string[];
  try {
    const [rows] = await io.source.query<RowDataPacket[]>(`SHOW CREATE TABLE ${qualified(meta.schema, meta.name)}`);
    const again = await readTable(io.source, meta.schema, meta.name);
    if (!again || again.columns.length !== meta.columns.length || again.columns.some((c, i) => !sameColumn(c, meta.columns[i]))) {
      return rebuilt(io, t, meta, 'the definition changed again while it was read');
    }
    clauses = alterClauses(alteration.steps, definitionLines(String(rows[0]['Create Table'])));
  } catch (err) {
    if (!isStatementError(err) && !(err instanceof DefinitionLineMissing)) throw err;
    return rebuilt(io, t, meta, `its definition could not be read line by line (${errorText(err)})`);
  }
  try {
    await alterTarget(io.target, t, clauses);
  } catch (err) {
    if (!isStatementError(err)) throw err;
    return rebuilt(io, t, meta, `the target refused the change in place: ${errorText(err)}`);
  }
  // Triggers mode cannot tell a column's default now from the one its rows got when it was added
  // (ADD … DEFAULT 5, then SET DEFAULT 7): an added column earns the table a full copy there.
  if (io.site.mode === 'triggers' && alteration.steps.some((s) => s.op === 'add-column') && meta.primaryKey.length > 0) {
    const capture = await findCapture(io.site.store, io.tenant, meta.schema, meta.name);
    if (capture) await markCopyOwed(io.site.store, [capture.id], 'a column was added on the source: applied to the target table in place, and the table copied again in full (triggers see no values a column got when it was added)');
    return { text: 'applied to the target table in place, and copied again in full (the values of an added column cannot be read from triggers)', full: true };
  }
  return { text: 'applied to the target table in place', full: false };
}

async function alterTarget(target: Pool, t: KnownTable, clauses: string[]): Promise<void> {
  const conn = await target.getConnection();
  try {
    await conn.query('SET SESSION foreign_key_checks = 0, sql_mode = ?', [TARGET_SQL_MODE]);
    await conn.query(`ALTER TABLE ${qualified(t.targetSchema, t.table)} ${clauses.join(', ')}`);
  } finally {
    conn.release();
  }
}

/**
 * The target table made again from the source's definition, empty, and its capture put back with a
 * full copy owed: the run then copies it whole, so no value changed by the source's DDL stays behind.
 */
async function rebuild(io: FollowIo, t: KnownTable, meta: TableMeta, why: string): Promise<void> {
  const reason = `${why}: target table rebuilt from the source's definition and copied again in full`;
  await removeCapture(io.site, io.tenant, t.sourceSchema, t.table);
  await io.target.query(`DROP TABLE IF EXISTS ${qualified(t.targetSchema, t.table)}`);
  const created = await createTargetTables(io.source, io.target, t.sourceSchema, t.targetSchema, [t.table]);
  if (created.failed.length > 0) throw Object.assign(new Error(`the target cannot create the table: ${created.failed[0].error}`), { errno: 0, sqlState: '42000' });
  if (meta.primaryKey.length === 0) return; // copied whole every run, no capture
  const ids = await captureTableIds(io.site, [{ schema: meta.schema, table: meta.name }]);
  await installCapture(io.site, io.tenant, meta, keyColumns(meta), { tableId: ids.get(t.key), onWait: io.beat, reason });
}
