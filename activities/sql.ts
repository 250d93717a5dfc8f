// Small SQL builders. Identifiers always go through escapeId, values are always placeholders.
import { escapeId, type Pool, type PoolConnection } from 'mysql2/promise';

export type KeyValue = string | number | Buffer | null;
export type Row = Record<string, unknown>;

/** Quotes one identifier. `true` matters: without it mysql2 reads a dot in a name as schema.table. */
export const id = (name: string): string => escapeId(name, true);
export const qualified = (schema: string, table: string): string => `${id(schema)}.${id(table)}`;
export const columnList = (columns: string[]): string => columns.map(id).join(', ');

/** Charset and collation names cannot be placeholders: only plain names pass. */
export function plainName(value: unknown, fallback?: string): string {
  if (typeof value === 'string' && /^\w+$/.test(value)) return value;
  if (fallback !== undefined) return fallback;
  throw new Error(`not a plain charset/collation name: ${JSON.stringify(value)}`);
}

export interface Fragment {
  sql: string;
  params: unknown[];
}

/**
 * Columns of approximate type, by name. MariaDB prints a FLOAT with 6 significant digits (1.00000012
 * reads "1", 16777217 reads "16777200"), so FLOAT is read as CAST(… AS DOUBLE), whose text is the
 * exact value; and a parameter compared with FLOAT or DOUBLE is cast to DOUBLE, or the server
 * compares a decimal literal and matches nothing.
 */
export type Approximate = Readonly<Record<string, 'float' | 'double'>>;

/** The select list of `columns`, each read exactly (FLOAT through DOUBLE), named as the column. */
export function selectList(columns: string[], approx: Approximate = {}, alias?: string): string {
  const q = (c: string): string => (alias ? `${id(alias)}.${id(c)}` : id(c));
  return columns.map((c) => (approx[c] === 'float' ? `CAST(${q(c)} AS DOUBLE) AS ${id(c)}` : q(c))).join(', ');
}

/** The placeholder for a value compared with column `c`. */
const param = (c: string, approx: Approximate): string => (approx[c] ? 'CAST(? AS DOUBLE)' : '?');

/** Keyset predicate "key > last" for a (possibly composite) key, in the OR form both optimizers turn into ranges. */
export function keyAfter(key: string[], last: KeyValue[], approx: Approximate = {}): Fragment {
  const ors: string[] = [];
  const params: unknown[] = [];
  for (let i = 0; i < key.length; i++) {
    const parts = key.slice(0, i).map((c) => `${id(c)} = ${param(c, approx)}`);
    parts.push(`${id(key[i])} > ${param(key[i], approx)}`);
    ors.push(`(${parts.join(' AND ')})`);
    params.push(...last.slice(0, i), last[i]);
  }
  return { sql: `(${ors.join(' OR ')})`, params };
}

/** Key values back from heartbeat details, where JSON turned a Buffer into { type: 'Buffer', data: [...] }. */
export function reviveKey(values: unknown[]): KeyValue[] {
  return values.map((v) => {
    const b = v as { type?: unknown; data?: unknown } | null;
    return (b && typeof b === 'object' && b.type === 'Buffer' && Array.isArray(b.data) ? Buffer.from(b.data as number[]) : v) as KeyValue;
  });
}

/** Predicate "key IN (keys)" for a (possibly composite) key. */
export function keyIn(key: string[], keys: KeyValue[][], approx: Approximate = {}): Fragment {
  if (keys.length === 0) return { sql: '1 = 0', params: [] };
  if (key.length === 1) {
    if (!approx[key[0]]) return { sql: `${id(key[0])} IN (?)`, params: [keys.map((k) => k[0])] };
    return { sql: `${id(key[0])} IN (${keys.map(() => param(key[0], approx)).join(', ')})`, params: keys.map((k) => k[0]) };
  }
  const one = `(${key.map((c) => `${id(c)} = ${param(c, approx)}`).join(' AND ')})`;
  return { sql: `(${keys.map(() => one).join(' OR ')})`, params: keys.flat() };
}

/** A stable string for a key tuple, to use as a Map key in JS. */
export function keyString(values: unknown[]): string {
  return JSON.stringify(values.map((v) => (Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : v === null || v === undefined ? null : String(v))));
}

export function rowKey(row: Row, key: string[]): KeyValue[] {
  return key.map((c) => row[c] as KeyValue);
}

/** Rough size of a row in bytes, to keep statements under max_allowed_packet. */
export function rowBytes(row: unknown[]): number {
  let n = 0;
  for (const v of row) {
    if (v === null || v === undefined) n += 4;
    else if (Buffer.isBuffer(v)) n += v.length * 2 + 3;
    else n += Buffer.byteLength(String(v), 'utf8') + 3; // bytes, not UTF-16 code units
  }
  return n;
}

// Errors that mean "this row's data is unacceptable to the target", not "something is broken".
const DATA_ERRNOS = new Set([
  1048, // column cannot be null
  1264, // out of range
  1265, // data truncated
  1292, // truncated incorrect value (zero dates under strict mode)
  1366, // incorrect value for column
  1367, // illegal value
  1406, // data too long
  1411, // incorrect datetime value
  1452, // foreign key (only with checks on)
  3140, // invalid JSON
  3819, // check constraint (MySQL)
  4025, // check constraint (MariaDB)
]);

export function isDataError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && DATA_ERRNOS.has(Number((err as { errno?: number }).errno));
}

/** An error tied to the table itself (missing, wrong shape, no privilege): retrying won't help. */
export function isTableError(err: unknown): boolean {
  const state = (err as { sqlState?: string } | null)?.sqlState;
  return typeof state === 'string' && state.startsWith('42') && !isDataError(err);
}

/** A statement the server refused (any server error), not a lost connection: retrying the same statement will not help. */
export function isStatementError(err: unknown): boolean {
  const e = err as { errno?: number; fatal?: boolean; sqlState?: string } | null;
  return !!e && !e.fatal && (typeof e.errno === 'number' || typeof e.sqlState === 'string');
}

/** No such table (1146) or schema (1049): e.g. a control or capture schema not created yet. */
export function isMissingObject(err: unknown): boolean {
  const errno = (err as { errno?: number } | null)?.errno;
  return errno === 1146 || errno === 1049;
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Runs `fn` over the items with at most `limit` in flight. Setup's DDL (target tables, capture
 * triggers) is one metadata change per statement, on different tables: a few sessions overlap them.
 * Once an item fails no lane takes another, and the failure is answered only when every item in
 * flight has finished: nothing goes on behind the caller's back (a restore may start right after).
 */
export async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  await inLanes(items, Math.max(1, Math.min(limit, items.length)), async (take) => {
    for (let item = take(); item !== undefined; item = take()) await fn(item.value);
  });
}

/**
 * `lanes` workers sharing one queue of `items`: `take` answers the next item, or undefined once the
 * queue is empty or a lane has failed. Settles when every lane has; then rethrows the first failure.
 */
export async function inLanes<T>(items: T[], lanes: number, lane: (take: () => { value: T } | undefined) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const take = (): { value: T } | undefined => (failed || next >= items.length ? undefined : { value: items[next++] });
  const outcomes = await Promise.allSettled(Array.from({ length: lanes }, () => lane(take).catch((err: unknown) => {
    failed = true;
    throw err;
  })));
  const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failure) throw failure.reason;
}

/**
 * Runs `work` in one transaction, on `on` itself (a session) or on a session of it (a pool, released
 * after): committed whole, or rolled back and the error rethrown.
 */
export async function inTransaction<T>(on: Pool | PoolConnection, work: (conn: PoolConnection) => Promise<T>): Promise<T> {
  const own = 'getConnection' in on;
  const conn: PoolConnection = own ? await (on as Pool).getConnection() : (on as PoolConnection);
  try {
    await conn.query('START TRANSACTION');
    const out = await work(conn);
    await conn.query('COMMIT');
    return out;
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    if (own) conn.release();
  }
}
