// Verification engine: compares a target table with its source the way Vitess VDiff and
// pt-table-checksum do, by server-side checksums per key-range chunk, so no row travels unless its
// chunk differs. Unlike pt-table-checksum it needs no replication (it reads both servers), and
// unlike a plain CRC it is exact: each row is a SHA1 of an unambiguous row encoding that is equal
// for equal values on MariaDB 10.11 and MySQL 8, whatever the collation; a chunk's checksum is its
// count and the XOR of its rows' 64-bit SHA1 prefixes. A differing chunk is narrowed to its rows (key
// + full 160-bit hash only), rechecked, and pending captured changes excuse a difference instead of
// raising a false alarm on a busy source.
// Cost (1M-row, 14-column ledger, one pass over one side, MariaDB 10.11, medians, ±15% run to run):
// a plain scan 0.7 s, pt-table-checksum's CRC32 of CONCAT_WS 1.6 s, this encoding under CRC32 about
// 1.8 s and under SHA1 about 2.5 s (MD5 instead of SHA1: +0.9 s; the former length-prefixed,
// converted, trimmed encoding: 7.3 s under CRC32 alone).
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { approximateColumns, copyColumns, normalType, readTable, type ColumnMeta, type TableMeta } from './introspect';
import { id, keyAfter, keyIn, keyString, qualified, reviveKey, type Approximate, type Fragment, type KeyValue } from './sql';

export interface DiffSpec {
  sourcePool: Pool;
  sourceSchema: string;
  targetPool: Pool;
  targetSchema: string;
  table: string;
  /** The source definition (read by the caller). */
  source: TableMeta;
  /** The target definition when the caller has it (null: known missing); read here otherwise. */
  target?: TableMeta | null;
  /** Rows per chunk. */
  chunkRows: number;
  /** Resume: exclusive lower bound of the next chunk. */
  after?: KeyValue[];
  /** Stop after this many chunks of this diff, resumed chunks included; undefined = whole table. */
  maxChunks?: number;
  /** Historical table: the source keeps only rows with column >= from OR column IS NULL; the target is not filtered. */
  keepFrom?: { column: string; from: string };
  /** keyString(key) -> captured op still pending on the source ('R' = a row the target rejected earlier). */
  pending?: (keys: KeyValue[][]) => Promise<Map<string, string>>;
  /** Makes these target rows equal to the source (the caller's delta path). */
  repair?: (keys: KeyValue[][]) => Promise<{ repaired: number; rejected: number; firstError?: string }>;
  /** Pause while the SOURCE's Threads_running is above the threshold, at most maxPauseMs per table. */
  throttle?: { maxThreadsRunning: number; pauseMs: number; maxPauseMs: number };
  signal?: AbortSignal;
  /** After every chunk; JSON-safe (lastKey goes through reviveKey on resume). */
  onChunk?: (p: DiffProgress) => void;
}

/**
 * missing / extra / different count the differences found (after the recheck, without pending or
 * rejected keys); `repaired` counts those of them equal after the repair, so what is still wrong is
 * missing + extra + different - repaired. `rejected` counts rows the target refuses: keys captured as
 * rejected ('R', not counted as differences) plus rows the repair reported rejected (still counted).
 */
export interface DiffProgress {
  chunks: number;
  rowsCompared: number;
  lastKey?: KeyValue[];
  missing: number;
  extra: number;
  different: number;
  pending: number;
  rejected: number;
  repaired: number;
  examples: string[];
  pauses: number;
  pausedMs: number;
  complete: boolean;
  /** The repair callback's first error, if any. */
  repairError?: string;
}

export interface TableDiff extends DiffProgress {
  /** Human-readable definition differences, empty when equal. */
  definition: string[];
}

const MAX_EXAMPLES = 5;
/** Keys per IN list of a recheck. */
const KEY_BATCH = 500;

// --- row encoding --------------------------------------------------------------------------------

const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set', 'json']);
const BINARY_TYPES = new Set([
  'binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob',
  'geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection',
]);
// Values that may be large are hashed on their own: CONCAT returns NULL (with a warning) once the
// row's encoding exceeds max_allowed_packet, which would make two large BLOBs look equal.
const LONG_TYPES = new Set([
  'tinytext', 'text', 'mediumtext', 'longtext', 'json', 'tinyblob', 'blob', 'mediumblob', 'longblob',
  'geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection',
]);

/** Digits after the point in the column's text: DECIMAL(p,s) -> s, DATETIME/TIMESTAMP/TIME(fsp) -> fsp, else 0. */
function fractionDigits(col: ColumnMeta): number {
  if (col.dataType === 'decimal') return Number(/\(\s*\d+\s*,\s*(\d+)\s*\)/.exec(col.columnType)?.[1] ?? 0);
  if (['datetime', 'timestamp', 'time'].includes(col.dataType)) return Number(/\(\s*(\d)\s*\)/.exec(col.columnType)?.[1] ?? 0);
  return 0;
}

// Charsets whose stored bytes already are the value's utf8mb4 bytes (ASCII and utf8mb3 are subsets
// of UTF-8), so no CONVERT is needed. A collation of another charset, or none (MySQL 8's JSON), converts.
const UTF8_COLLATION = /^(utf8mb4|utf8mb3|utf8|ascii)_/i;

const isString = (col: ColumnMeta): boolean => TEXT_TYPES.has(col.dataType) || BINARY_TYPES.has(col.dataType);

/**
 * One column's value as bytes that are equal for equal values on MariaDB 10.11 and MySQL 8 (given
 * the other side's definition of the column):
 * - strings as their utf8mb4 bytes: a column stored in utf8mb4, utf8mb3 or ascii as it is (its bytes
 *   are those CONVERT … USING utf8mb4 would give; the CONVERT cost 0.7 s per 1M rows of the ledger for
 *   nothing), another charset converted (then CAST AS BINARY, see `binary` below);
 * - binary as raw bytes;
 * - FLOAT through DOUBLE: MariaDB prints a FLOAT with 6 significant digits (1.00000012 prints "1"),
 *   the DOUBLE of it is the exact value in shortest form on both servers;
 * - BIT as its number;
 * - DECIMAL and temporal values with a fraction lose trailing fraction zeros when the other side's
 *   column has another number of fraction digits, so a widened column (DECIMAL(10,2) -> (12,4),
 *   DATETIME -> DATETIME(3)) compares by value: 1.50 and 1.5000 both give "1.5" (the widening itself
 *   is a definition difference). With the same scale on both sides the server's text, always that
 *   many digits, is already canonical, and the two TRIMs per value are skipped. TIMESTAMP prints in
 *   the session time zone: createMysqlPool sets UTC on both.
 * - integers, DOUBLE, dates, YEAR and anything else as the server's own text of the value (ASCII):
 *   the implicit conversion in CONCAT_WS/QUOTE/SHA1 is the same val_str as CAST(c AS CHAR), without
 *   the CAST's copy.
 * `binary`: text columns as CAST(… AS BINARY), needed where the row mixes collations (MySQL 8 refuses
 * to CONCAT two collations of the same coercibility); the bytes are the same either way.
 * JSON: MariaDB's JSON is LONGTEXT, compared as text. MySQL 8's JSON type prints normalised text
 * (sorted keys, its own spacing), so MySQL-to-MySQL compares exactly, but comparing it with MariaDB
 * text would need the same normalisation on both sides (e.g. parse and re-serialise in the worker).
 */
function valueSql(col: ColumnMeta, other: ColumnMeta, ref: string, binary: boolean): string {
  if (TEXT_TYPES.has(col.dataType)) {
    if (!col.collation || !UTF8_COLLATION.test(col.collation)) return `CAST(CONVERT(${ref} USING utf8mb4) AS BINARY)`;
    return binary ? `CAST(${ref} AS BINARY)` : ref;
  }
  if (BINARY_TYPES.has(col.dataType)) return ref;
  if (col.dataType === 'float') return `CAST(${ref} AS DOUBLE)`;
  if (col.dataType === 'bit') return `CAST(${ref} AS UNSIGNED)`;
  if (trimmed(col, other)) return `TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST(${ref} AS CHAR)))`;
  return ref;
}

const trimmed = (col: ColumnMeta, other: ColumnMeta): boolean => fractionDigits(col) > 0 && fractionDigits(col) !== fractionDigits(other);
const isLong = (col: ColumnMeta, other: ColumnMeta): boolean => LONG_TYPES.has(col.dataType) || LONG_TYPES.has(other.dataType);

/**
 * SHA1 (hex) of the row's encoding: the columns' pieces joined by ',', each value computed once
 * (the former "length:bytes" pieces computed every converted value twice, once for LENGTH). By the
 * column's kind on either side (so a type changed between the sides, INT -> VARCHAR or VARCHAR ->
 * TEXT, still compares by value), a piece is:
 * - large types (TEXT, BLOB, JSON, geometry): the SHA1 hex of the value alone, or N for NULL, so
 *   that CONCAT_WS never outgrows max_allowed_packet (it would return NULL, with a warning, and two
 *   large BLOBs would look equal). The other columns of a row hold at most 65,535 bytes (the row
 *   limit), so their encoding, converted to utf8mb4 and quoted, stays below 400 KB;
 * - strings and binary: QUOTE of the bytes, in quotes with a backslash before ' \ NUL and Ctrl-Z
 *   (the same four bytes on MariaDB and MySQL 8; byte by byte, which in UTF-8 is character by
 *   character), or the word NULL unquoted;
 * - anything else (numbers, dates, times, BIT): its text, which never holds ',' or a quote, or N for
 *   NULL (no number or date prints as N).
 * Unambiguous: reading left to right, a quoted piece ends at its first unescaped quote and any other
 * piece at the next ','; so ('a,','b') -> 'a,','b' differs from ('a',',b') -> 'a',',b', and NULL (NULL
 * or N) differs from '' ('') and from every value.
 * `counterpart`: the other side's definitions of the same columns, in the same order (each side is
 * hashed with the other's); omitted, the other side is taken to be identical.
 */
export function rowHashSql(columns: ColumnMeta[], alias?: string, counterpart?: ColumnMeta[]): string {
  const cols = columns.map((col, i) => ({ col, other: counterpart?.[i] ?? col }));
  // Raw text in QUOTE keeps its collation, and so does a TRIM'd CAST AS CHAR (the connection's):
  // with more than one among them, every text column goes through CAST AS BINARY (+0.2 s per 1M rows).
  const collations = new Set<string>();
  for (const { col, other } of cols) {
    if (isLong(col, other)) continue;
    if (TEXT_TYPES.has(col.dataType) && col.collation && UTF8_COLLATION.test(col.collation)) collations.add(col.collation);
    else if (trimmed(col, other)) collations.add('(connection)');
  }
  const binary = collations.size > 1;
  const pieces = cols.map(({ col, other }) => {
    const x = valueSql(col, other, alias ? `${id(alias)}.${id(col.name)}` : id(col.name), binary);
    if (isLong(col, other)) return `COALESCE(SHA1(${x}), 'N')`;
    if (isString(col) || isString(other)) return `QUOTE(${x})`;
    return col.nullable ? `COALESCE(${x}, 'N')` : x;
  });
  return `SHA1(CONCAT_WS(',', ${pieces.join(', ')}))`;
}

// The first 64 bits of a row's SHA1, as an unsigned integer for BIT_XOR/SUM.
const first64 = (h: string): string => `CAST(CONV(LEFT(${h}, 16), 16, 10) AS UNSIGNED)`;

// --- predicates ------------------------------------------------------------------------------------

/** "key <= hi" in the same OR form as keyAfter (FLOAT/DOUBLE parameters compared as DOUBLE, like keyAfter). */
function keyUpTo(key: string[], hi: KeyValue[], approx: Approximate): Fragment {
  const ors: string[] = [];
  const params: unknown[] = [];
  const param = (c: string): string => (approx[c] ? 'CAST(? AS DOUBLE)' : '?');
  for (let i = 0; i < key.length; i++) {
    const parts = key.slice(0, i).map((c) => `${id(c)} = ${param(c)}`);
    parts.push(`${id(key[i])} ${i === key.length - 1 ? '<=' : '<'} ${param(key[i])}`);
    ors.push(`(${parts.join(' AND ')})`);
    params.push(...hi.slice(0, i), hi[i]);
  }
  return { sql: `(${ors.join(' OR ')})`, params };
}

function and(...parts: (Fragment | undefined)[]): Fragment {
  const given = parts.filter((p): p is Fragment => !!p);
  if (given.length === 0) return { sql: '1 = 1', params: [] };
  return { sql: given.map((p) => p.sql).join(' AND '), params: given.flatMap((p) => p.params) };
}

// --- definitions -----------------------------------------------------------------------------------

interface ColumnDef {
  name: string;
  type: string;
  nullable: boolean;
  collation: string | null;
  generated: boolean;
}


/** One column as the definition comparison sees it. */
const defOf = (c: ColumnMeta): ColumnDef => ({
  name: c.name, type: normalType(c.columnType), nullable: c.nullable, collation: c.collation ?? null, generated: c.generated,
});

/**
 * Definition differences (columns: name, order, type, nullability, collation, generated; primary
 * key), one line each, from definitions already read (a run reads a batch's at once).
 */
export function definitionDifferences(source: TableMeta | undefined, target: TableMeta | undefined): string[] {
  if (!source || source.columns.length === 0) return ['table missing on the source'];
  if (!target || target.columns.length === 0) return ['table missing on the target'];
  const src = source.columns.map(defOf);
  const tgt = target.columns.map(defOf);
  const lines: string[] = [];
  const tgtByName = new Map(tgt.map((c) => [c.name, c]));
  const srcNames = new Set(src.map((c) => c.name));
  const commonSrc = src.filter((c) => tgtByName.has(c.name)).map((c) => c.name);
  const commonTgt = tgt.filter((c) => srcNames.has(c.name)).map((c) => c.name);
  const both = (what: string, a: string, b: string): string => `${what}: ${a} on the source, ${b} on the target`;
  for (const s of src) {
    const t = tgtByName.get(s.name);
    const col = `column ${s.name}`;
    if (!t) {
      lines.push(`${col}: only on the source`);
      continue;
    }
    if (s.type !== t.type) lines.push(both(col, s.type, t.type));
    if (s.nullable !== t.nullable) lines.push(both(col, s.nullable ? 'NULL' : 'NOT NULL', t.nullable ? 'NULL' : 'NOT NULL'));
    if (s.collation !== t.collation) lines.push(both(col, `collation ${s.collation ?? 'none'}`, `collation ${t.collation ?? 'none'}`));
    if (s.generated !== t.generated) lines.push(both(col, s.generated ? 'generated' : 'not generated', t.generated ? 'generated' : 'not generated'));
    // Order among the common columns: an added column does not shift every position after it.
    const i = commonSrc.indexOf(s.name);
    const j = commonTgt.indexOf(s.name);
    if (i !== j) lines.push(both(col, `position ${i + 1}`, `position ${j + 1}`));
  }
  for (const t of tgt) if (!srcNames.has(t.name)) lines.push(`column ${t.name}: only on the target`);
  const spk = source.primaryKey;
  const tpk = target.primaryKey;
  if (spk.join('\u0000') !== tpk.join('\u0000')) {
    const pk = (k: string[]): string => (k.length ? `(${k.join(', ')})` : 'none');
    lines.push(`primary key ${pk(spk)} on the source, ${pk(tpk)} on the target`);
  }
  return lines;
}

/** Definition differences of a table, read from both servers. */
export async function compareDefinitions(
  sourcePool: Pool, sourceSchema: string, targetPool: Pool, targetSchema: string, table: string,
): Promise<string[]> {
  const [source, target] = await Promise.all([readTable(sourcePool, sourceSchema, table), readTable(targetPool, targetSchema, table)]);
  return definitionDifferences(source, target);
}

// --- the comparison ------------------------------------------------------------------------------

interface Side {
  pool: Pool;
  table: string; // qualified name
  hash: string; // rowHashSql for this side's column types, given the other side's
  keySelect: string; // key columns as exact values, unaliased and read as arrays: an alias (k1, h) could shadow a column in ORDER BY
  orderBy: string; // key columns, qualified so that no select-list name can shadow them
  approx: Approximate; // FLOAT/DOUBLE columns: parameters compared as DOUBLE
  keep?: Fragment; // the source's keepFrom filter
}

interface Plan {
  key: string[];
  source: Side;
  target: Side;
}

interface Hashed {
  key: KeyValue[];
  h: string;
}

/** Key columns as exact values: FLOAT through DOUBLE, else MariaDB's 6-digit text would not find the row again. */
function keySelect(key: string[], columns: ColumnMeta[]): string {
  return key.map((k) => (columns.find((c) => c.name === k)?.dataType === 'float' ? `CAST(${id(k)} AS DOUBLE)` : id(k))).join(', ');
}

/** The source's rows of a historical table: from the oldest kept date on, and undated ones. */
function keepFilter(spec: DiffSpec): Fragment | undefined {
  const k = spec.keepFrom;
  return k ? { sql: `(${id(k.column)} >= ? OR ${id(k.column)} IS NULL)`, params: [k.from] } : undefined;
}

type Planned = { plan: Plan } | { problem: string };

const targetOf = async (spec: DiffSpec): Promise<TableMeta | undefined> =>
  spec.target !== undefined ? spec.target ?? undefined : readTable(spec.targetPool, spec.targetSchema, spec.table);

async function makePlan(spec: DiffSpec, target: TableMeta | undefined): Promise<Planned> {
  if (!target) return { problem: 'table missing on the target' };
  const key = spec.source.primaryKey;
  const lost = key.filter((k) => !target.columns.some((c) => c.name === k));
  if (lost.length > 0) return { problem: `key column ${lost.join(', ')} missing on the target` };
  // Only columns both sides store are hashed; the rest is a definition difference.
  const tgtByName = new Map(copyColumns(target).map((c) => [c.name, c]));
  const srcCols = copyColumns(spec.source).filter((c) => tgtByName.has(c.name));
  const tgtCols = srcCols.map((c) => tgtByName.get(c.name)!);
  const side = (pool: Pool, schema: string, meta: TableMeta, columns: ColumnMeta[], other: ColumnMeta[], keep?: Fragment): Side => ({
    pool,
    table: qualified(schema, spec.table),
    hash: rowHashSql(columns, undefined, other),
    keySelect: keySelect(key, meta.columns),
    orderBy: key.map((k) => `${qualified(schema, spec.table)}.${id(k)}`).join(', '),
    approx: approximateColumns(meta),
    keep,
  });
  return {
    plan: {
      key,
      source: side(spec.sourcePool, spec.sourceSchema, spec.source, srcCols, tgtCols, keepFilter(spec)),
      target: side(spec.targetPool, spec.targetSchema, target, tgtCols, srcCols),
    },
  };
}

/**
 * COUNT and the 64-bit aggregate of a chunk (BIT_XOR) or of a whole table without a key (SUM): the
 * first 64 bits of each row's SHA1, computed once per row and streamed (no derived table: the
 * temporary table of a chunk's hashes cost more than it saved once the hash was computed only once).
 * 64 bits per row: a changed chunk passes unnoticed only if the XOR of its rows' SHA1 prefixes
 * (a cryptographic hash, not a linear code like CRC32) comes out the same, about 2^-64 per differing
 * chunk; a differing chunk is then compared row by row on the full 160-bit SHA1. XOR cancels equal
 * hashes, which cannot meet within a key range (keys are unique); without a key, SUM (exact, as a
 * DECIMAL) counts duplicates.
 */
async function chunkChecksum(side: Side, where: Fragment, xor: boolean): Promise<string> {
  const agg = xor ? 'BIT_XOR' : 'SUM';
  const [rows] = await side.pool.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n, COALESCE(${agg}(${first64(side.hash)}), 0) AS a FROM ${side.table} WHERE ${where.sql}`,
    where.params,
  );
  return `${rows[0].n}:${rows[0].a}`;
}

async function rowHashes(side: Side, key: string[], where: Fragment, limit?: number): Promise<Hashed[]> {
  const order = limit === undefined ? '' : ` ORDER BY ${side.orderBy} LIMIT ${Number(limit)}`;
  const [rows] = await side.pool.query<RowDataPacket[]>({
    sql: `SELECT ${side.keySelect}, ${side.hash} FROM ${side.table} WHERE ${where.sql}${order}`,
    values: where.params,
    rowsAsArray: true,
  });
  return (rows as unknown as unknown[][]).map((r) => ({ key: r.slice(0, key.length) as KeyValue[], h: String(r[key.length]) }));
}

type What = 'missing' | 'extra' | 'different';
interface Difference {
  key: KeyValue[];
  what: What;
}

/**
 * Compares the rows of these keys on both sides. `onlyGiven`: ignore rows a _ci or PAD SPACE key
 * matched that are not exactly one of the keys (they are compared on their own).
 */
async function compareKeys(plan: Plan, keys: KeyValue[][], onlyGiven: boolean): Promise<Difference[]> {
  const out: Difference[] = [];
  for (let i = 0; i < keys.length; i += KEY_BATCH) {
    const batch = keys.slice(i, i + KEY_BATCH);
    const [s, t] = await Promise.all([
      rowHashes(plan.source, plan.key, and(keyIn(plan.key, batch, plan.source.approx), plan.source.keep)),
      rowHashes(plan.target, plan.key, keyIn(plan.key, batch, plan.target.approx)),
    ]);
    const sm = new Map(s.map((r) => [keyString(r.key), r]));
    const tm = new Map(t.map((r) => [keyString(r.key), r]));
    const wanted = new Set(batch.map((k) => keyString(k)));
    const all = onlyGiven ? wanted : new Set([...wanted, ...sm.keys(), ...tm.keys()]);
    for (const ks of all) {
      const a = sm.get(ks);
      const b = tm.get(ks);
      if (a && !b) out.push({ key: a.key, what: 'missing' });
      else if (!a && b) out.push({ key: b.key, what: 'extra' });
      else if (a && b && a.h !== b.h) out.push({ key: a.key, what: 'different' });
    }
  }
  return out;
}

/** Cheap check of specific rows (a run checks the rows it just applied). */
export async function checkKeys(spec: DiffSpec, keys: KeyValue[][]): Promise<{ missing: KeyValue[][]; extra: KeyValue[][]; different: KeyValue[][] }> {
  const result = { missing: [] as KeyValue[][], extra: [] as KeyValue[][], different: [] as KeyValue[][] };
  if (keys.length === 0) return result;
  if (spec.source.primaryKey.length === 0) throw new Error(`table ${spec.table} has no primary key: rows cannot be checked by key`);
  const planned = await makePlan(spec, await targetOf(spec));
  if ('problem' in planned) throw new Error(`table ${spec.table}: ${planned.problem}`);
  for (const d of await compareKeys(planned.plan, keys, false)) result[d.what].push(d.key);
  return result;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function threadsRunning(pool: Pool): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Threads_running'");
  return Number(rows[0]?.Value ?? 0);
}

const zero = (): DiffProgress => ({
  chunks: 0, rowsCompared: 0, missing: 0, extra: 0, different: 0, pending: 0, rejected: 0, repaired: 0,
  examples: [], pauses: 0, pausedMs: 0, complete: false,
});

/**
 * Compares the table's rows chunk by chunk (from `after` or the resumed lastKey), narrowing a
 * differing chunk to its rows, and its definition. Memory is bounded by chunkRows.
 */
export async function diffTable(spec: DiffSpec, resume?: DiffProgress): Promise<TableDiff> {
  const p: DiffProgress = resume
    ? { ...resume, examples: [...resume.examples], lastKey: resume.lastKey ? reviveKey(resume.lastKey) : undefined }
    : zero();
  const targetMeta = await targetOf(spec);
  const definition = definitionDifferences(spec.source, targetMeta);
  if (p.complete) return { ...p, definition };
  const chunkRows = Math.max(1, Math.floor(spec.chunkRows));

  const example = (what: string, key: KeyValue[]): void => {
    if (p.examples.length < MAX_EXAMPLES) p.examples.push(`${what} ${keyString(key)}`);
  };

  const throttle = async (): Promise<void> => {
    const t = spec.throttle;
    if (!t) return;
    while (p.pausedMs < t.maxPauseMs && (await threadsRunning(spec.sourcePool)) > t.maxThreadsRunning) {
      const ms = Math.max(1, Math.min(t.pauseMs, t.maxPauseMs - p.pausedMs));
      await sleep(ms, spec.signal);
      p.pauses++;
      p.pausedMs += ms;
    }
  };

  const planned = await makePlan(spec, targetMeta);
  if ('problem' in planned) {
    // Nothing to compare rows with: every source row counts as missing.
    await throttle();
    const keep = and(keepFilter(spec));
    const [rows] = await spec.sourcePool.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM ${qualified(spec.sourceSchema, spec.table)} WHERE ${keep.sql}`,
      keep.params,
    );
    const n = Number(rows[0].n);
    Object.assign(p, { chunks: 1, rowsCompared: n, missing: n, complete: true });
    if (p.examples.length < MAX_EXAMPLES) p.examples.push(planned.problem);
    spec.onChunk?.({ ...p, examples: [...p.examples] });
    return { ...p, definition };
  }
  const { plan } = planned;
  const { key, source, target } = plan;

  if (key.length === 0) {
    // No key: one whole-table comparison. SUM, not XOR, so duplicate rows do not cancel out.
    spec.signal?.throwIfAborted();
    await throttle();
    const all = { sql: '1 = 1', params: [] };
    const [s, t] = await Promise.all([chunkChecksum(source, and(all, source.keep), false), chunkChecksum(target, all, false)]);
    const ns = Number(s.split(':')[0]);
    const nt = Number(t.split(':')[0]);
    p.chunks = 1;
    p.rowsCompared = ns;
    if (s !== t) {
      p.different = ns !== nt ? Math.abs(ns - nt) : 1;
      if (p.examples.length < MAX_EXAMPLES) p.examples.push('whole table differs (no primary key)');
    }
    p.complete = true;
    spec.onChunk?.({ ...p, examples: [...p.examples] });
    return { ...p, definition };
  }

  // Recheck, excuse pending or rejected keys, count and repair what really differs.
  const settle = async (keys: KeyValue[][]): Promise<void> => {
    if (keys.length === 0) return;
    const diffs = await compareKeys(plan, keys, true);
    if (diffs.length === 0) return;
    const ops = spec.pending ? await spec.pending(diffs.map((d) => d.key)) : new Map<string, string>();
    const real: Difference[] = [];
    for (const d of diffs) {
      const op = ops.get(keyString(d.key));
      if (op === 'R') {
        p.rejected++;
        example('rejected', d.key);
      } else if (op) {
        p.pending++;
      } else {
        p[d.what]++;
        example(d.what, d.key);
        real.push(d);
      }
    }
    if (!spec.repair || real.length === 0) return;
    const r = await spec.repair(real.map((d) => d.key));
    p.rejected += r.rejected;
    if (r.firstError && !p.repairError) p.repairError = r.firstError;
    const still = await compareKeys(plan, real.map((d) => d.key), true);
    p.repaired += real.length - still.length;
  };

  // A differing chunk: source (key, hash) in memory (at most one chunk), target paged through it.
  const narrow = async (srcWhere: Fragment, tgtWhere: Fragment): Promise<void> => {
    const left = new Map<string, Hashed>();
    for (const r of await rowHashes(source, key, srcWhere)) left.set(keyString(r.key), r);
    let found: KeyValue[][] = [];
    let cursor: KeyValue[] | undefined;
    for (;;) {
      const page = await rowHashes(target, key, and(tgtWhere, cursor && keyAfter(key, cursor, target.approx)), chunkRows);
      for (const r of page) {
        const ks = keyString(r.key);
        const s = left.get(ks);
        if (!s || s.h !== r.h) found.push(r.key);
        left.delete(ks);
      }
      if (found.length >= chunkRows) {
        await settle(found);
        found = [];
      }
      if (page.length < chunkRows) break;
      cursor = page[page.length - 1].key;
    }
    for (const s of left.values()) found.push(s.key);
    for (let i = 0; i < found.length; i += chunkRows) await settle(found.slice(i, i + chunkRows));
  };

  // Bounds come from the source; both sides use the same predicates, so the chunks partition both
  // tables even if a bound were rounded. The last chunk is open-ended.
  const range = (side: Side, lo?: KeyValue[], hi?: KeyValue[]): Fragment =>
    and(lo && keyAfter(key, lo, side.approx), hi && keyUpTo(key, hi, side.approx), side.keep);
  // The chunk's last key: the chunkRows-th source key after lo, undefined for the open-ended last chunk.
  const upperBound = async (from?: KeyValue[]): Promise<KeyValue[] | undefined> => {
    const probe = range(source, from);
    const [bound] = await source.pool.query<RowDataPacket[]>({
      sql: `SELECT ${source.keySelect} FROM ${source.table} WHERE ${probe.sql} ORDER BY ${source.orderBy} LIMIT 1 OFFSET ${chunkRows - 1}`,
      values: probe.params,
      rowsAsArray: true,
    });
    return bound.length ? ((bound[0] as unknown as KeyValue[]).slice(0, key.length)) : undefined;
  };
  let lo = p.lastKey ?? spec.after;
  // The next chunk's bound is read while this chunk's checksums run: its round trip (1.7 s per
  // 1,000 chunks of the ledger, a third of the by-hand checksum's time) no longer waits in line.
  let next: Promise<KeyValue[] | undefined> | undefined;
  while (!p.complete && (spec.maxChunks === undefined || p.chunks < spec.maxChunks)) {
    spec.signal?.throwIfAborted();
    const prefetched = next;
    next = undefined;
    if (prefetched) await prefetched.catch(() => undefined); // our own read is over before the throttle counts Threads_running
    await throttle();
    const hi = await (prefetched ?? upperBound(lo));
    if (hi && lo && keyString(hi) === keyString(lo)) throw new Error(`table ${spec.table}: the key does not advance past ${keyString(lo)}`);
    if (hi && (spec.maxChunks === undefined || p.chunks + 1 < spec.maxChunks)) {
      next = upperBound(hi);
      next.catch(() => undefined); // awaited (and its error thrown) in the next round; none unhandled if this round throws
    }
    const srcWhere = range(source, lo, hi);
    const tgtWhere = range(target, lo, hi);
    const [s, t] = await Promise.all([chunkChecksum(source, srcWhere, true), chunkChecksum(target, tgtWhere, true)]);
    p.rowsCompared += Number(s.split(':')[0]);
    if (s !== t) await narrow(srcWhere, tgtWhere);
    p.chunks++;
    if (hi) {
      lo = hi;
      p.lastKey = hi;
    } else {
      p.complete = true;
    }
    spec.onChunk?.({ ...p, examples: [...p.examples] });
  }
  return { ...p, definition };
}
