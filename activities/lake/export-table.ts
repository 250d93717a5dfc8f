// One table into the lake. Its rows are read in one consistent snapshot of the source and streamed to a
// CSV file (csv-rows.ts), which DuckDB reads into an on-disk database (memory stays under its limit;
// what does not fit spills to disk), typed there, compared by key with the digests the last export
// left, and the difference written as Parquet: new and changed rows, and the keys that are gone. A
// table without a primary key is written whole.
//
// Values arrive as the server's exact text (dates, DECIMAL, DOUBLE) or bytes (binary, as hex), and are
// typed by DuckDB, not by JavaScript: DECIMAL stays exact, DATETIME(6) keeps its microseconds.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Connection as CoreConnection } from 'mysql2';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  DELETED_COLUMN, EXPORT_COLUMN, lakePaths, lakeType, type LakeColumn, type LakeFile, type LakeKind, type LakeTable,
} from '../../lib/lake';
import type { KeepFrom } from '../../lib/types';
import type { ColumnMeta, TableMeta } from '../introspect';
import { id, qualified } from '../sql';
import { csvReader, writeRowsCsv } from './csv-rows';
import type { LakeStore } from './store';

export interface ExportTableInput {
  source: Connection;
  meta: TableMeta;
  targetSchema: string;
  tenant: string;
  kind: LakeKind;
  number: number;
  /** A historical table's oldest-year filter: `migrated` keeps the rows from it on, `history` the ones before. */
  keepFrom?: KeepFrom;
  /** The table as the last export left it. */
  previous?: LakeTable;
  store: LakeStore;
  /** A folder of this activity's own for DuckDB's database and the files before upload. */
  workDir: string;
  /** DuckDB's memory limit, e.g. '512MB'. */
  memoryLimit: string;
  /** The largest Parquet file written, in bytes (a table past it is written in several). */
  fileBytes: number;
  heartbeat: (rows: number) => void;
  /** Throws once this attempt was cancelled or timed out: nothing more of it may reach the destination. */
  checkCancelled: () => void;
}

const ident = (s: string): string => `"${s.replace(/"/g, '""')}"`;
/** The row digest's column in the working tables and the state files. */
const DIGEST = '_cm_digest';
/** Names the export adds beside a table's own columns: a source column may not take one (DuckDB matches names case-insensitively). */
const RESERVED = /^_cm_(export|deleted|digest|zero_\d+)$/i;
const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const BINARY = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
const DATES = new Set(['date', 'datetime', 'timestamp']);

/** How the source sends a column: exact text, or bytes for binary. */
function selectExpr(c: ColumnMeta): string {
  switch (c.dataType) {
    case 'float': return `CAST(${id(c.name)} AS DOUBLE)`; // MariaDB prints FLOAT with 6 digits; DOUBLE's text is exact
    case 'bit': return `CAST(${id(c.name)} AS UNSIGNED)`;
    default: return id(c.name);
  }
}

/** The DuckDB expression that types a column's text exactly (binary arrives as hex). */
function typedExpr(c: ColumnMeta, type: string): string {
  const col = ident(c.name);
  if (type === 'BLOB') return `unhex(${col})`;
  if (type === 'VARCHAR') return col;
  if (DATES.has(c.dataType)) return `TRY_CAST(${col} AS ${type})`; // zero dates: null, counted in the notes
  const decimal = /^DECIMAL\((\d+),(\d+)\)$/.exec(type);
  if (decimal && Number(decimal[1]) > 18) {
    // DuckDB parses a wide DECIMAL from text a hundred times slower than its two halves: the integer
    // part as HUGEINT and the fraction as DECIMAL, both exact.
    const abs = `ltrim(${col}, '-')`;
    const whole = `CAST(CAST(split_part(${abs}, '.', 1) AS HUGEINT) AS ${type})`;
    const value = Number(decimal[2]) === 0 ? whole : `(${whole} + CAST('0.' || split_part(${abs}, '.', 2) AS ${type}))`;
    return `CAST(CASE WHEN starts_with(${col}, '-') THEN -${value} ELSE ${value} END AS ${type})`;
  }
  return `CAST(${col} AS ${type})`;
}

export async function exportTable(input: ExportTableInput): Promise<LakeTable> {
  const { meta, kind, number } = input;
  const columns: LakeColumn[] = meta.columns.map((c) => ({ name: c.name, mysqlType: c.columnType, lakeType: lakeType(c.dataType, c.columnType) }));
  const clash = meta.columns.find((c) => RESERVED.test(c.name));
  if (clash) throw new LakeTableRefused(`${meta.schema}.${meta.name} has a column named ${clash.name}, a name the lake's files use for their own columns: rename it on the source to export the table`);
  const key = meta.primaryKey;
  const mode = key.length > 0 ? 'changes' : 'snapshot';
  const dir = join(input.workDir, `${number}-${createHash('sha1').update(`${meta.schema}.${meta.name}`).digest('hex').slice(0, 12)}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'out'), { recursive: true });
  const duck = await DuckDBInstance.create(join(dir, 'lake.duckdb'), { memory_limit: input.memoryLimit, threads: '2', temp_directory: join(dir, 'spill') });
  const db = await duck.connect();
  try {
    const csv = join(dir, 'rows.csv');
    const read = await stage(input, csv);
    const typedList = meta.columns.map((c, i) => `${typedExpr(c, columns[i].lakeType)} AS ${ident(c.name)}`).join(', ');
    // The digest of the row as the source sent it (hex in one case: the same whichever way it came).
    const textList = meta.columns.map((c, i) => (columns[i].lakeType === 'BLOB' ? `upper(${ident(c.name)})` : ident(c.name))).join(', ');
    // Per date column: a value the lake cannot hold (a zero date), counted in the notes.
    const dated = meta.columns.map((c, i) => [c, i] as const).filter(([c]) => DATES.has(c.dataType));
    const lost = dated.map(([c, i]) => `(${ident(c.name)} IS NOT NULL AND ${typedExpr(c, columns[i].lakeType)} IS NULL) AS _cm_zero_${i}`);
    const reader = csvReader(csv, meta.columns.map((c) => c.name), read);
    await db.run(`CREATE TEMP TABLE cur AS SELECT ${typedList}, md5(to_json([${textList}])) AS ${DIGEST}${lost.map((l) => `, ${l}`).join('')} FROM ${reader}`);
    await rm(csv, { force: true });
    // What DuckDB took in is counted against what the source sent: a line the reader merged or
    // dropped fails the table here, before anything of it reaches the lake.
    const [{ rows }] = await all(db, 'SELECT count(*)::BIGINT AS rows FROM cur');
    if (Number(rows) !== read.rows) throw new Error(`${meta.schema}.${meta.name}: the source sent ${read.rows} rows, the lake's reader took in ${rows}`);
    const notes = await zeroDateNotes(db, dated.map(([c, i]) => [c.name, i] as const));

    // Files of another key or other columns (renamed, retyped, dropped, added) are not this table's
    // rows any more: its files start over, whole.
    const previous = input.previous?.mode === 'changes' && mode === 'changes' && sameKey(input.previous.key, key) && sameColumns(input.previous.columns, columns)
      ? input.previous : undefined;
    const hadState = !!previous?.statePath && (await input.store.getFile(previous.statePath, join(dir, 'prev.parquet')));
    const keyCols = key.map(ident);
    // A zero date in a key is null in the lake: compared as a value, or its row would be written
    // again and marked deleted by every export.
    const on = (a: string, b: string) => keyCols.map((k) => `${a}.${k} IS NOT DISTINCT FROM ${b}.${k}`).join(' AND ');
    if (mode === 'changes' && notes.length > 0) await refuseMergedKeys(db, meta, key);
    const colList = columns.map((c) => ident(c.name)).join(', ');
    const tag = `${number}::INTEGER AS ${EXPORT_COLUMN}`;
    let changes: string;
    if (mode === 'snapshot' || !hadState) {
      changes = `SELECT ${colList}, ${tag}, false AS ${DELETED_COLUMN} FROM cur`;
    } else {
      await db.run(`CREATE TEMP TABLE prev AS SELECT * FROM read_parquet(${literal(join(dir, 'prev.parquet'))})`);
      const gone = columns.map((c) => (key.includes(c.name) ? `p.${ident(c.name)}` : `NULL::${c.lakeType} AS ${ident(c.name)}`)).join(', ');
      changes =
        `SELECT ${columns.map((c) => `c.${ident(c.name)}`).join(', ')}, ${tag}, false AS ${DELETED_COLUMN} FROM cur c WHERE NOT EXISTS (SELECT 1 FROM prev p WHERE ${on('p', 'c')} AND p.${DIGEST} = c.${DIGEST}) ` +
        `UNION ALL SELECT ${gone}, ${tag}, true AS ${DELETED_COLUMN} FROM prev p WHERE NOT EXISTS (SELECT 1 FROM cur c WHERE ${on('c', 'p')})`;
    }
    await db.run(`COPY (${changes}) TO ${literal(join(dir, 'out'))} (FORMAT parquet, COMPRESSION zstd, FILE_SIZE_BYTES ${input.fileBytes}, FILENAME_PATTERN 'part_{i}', OVERWRITE_OR_IGNORE)`);
    input.checkCancelled();
    const files = await uploadParts(input, db, join(dir, 'out'));

    let statePath: string | undefined;
    if (mode === 'changes') {
      statePath = lakePaths.state(input.tenant, kind, number, meta.schema, meta.name);
      const local = join(dir, 'state.parquet');
      await db.run(`COPY (SELECT ${keyCols.join(', ')}, ${DIGEST} FROM cur) TO ${literal(local)} (FORMAT parquet, COMPRESSION zstd)`);
      input.checkCancelled();
      await input.store.putFile(local, statePath);
    }
    return {
      company: meta.schema, table: meta.name, targetSchema: input.targetSchema, columns, key, mode, rows: Number(rows),
      // The chain goes on only from the digests it was compared with; otherwise these files are the whole table.
      files: [...(previous && hadState ? previous.files : []), ...files],
      export: number, readAt: read.at, ...(read.position ? { sourcePosition: read.position } : {}),
      ...(kind === 'history' && input.keepFrom ? { historyBefore: { column: input.keepFrom.column, before: input.keepFrom.from } } : {}),
      ...(notes.length ? { notes } : {}), ...(statePath ? { statePath } : {}),
    };
  } finally {
    db.closeSync();
    duck.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Two source rows whose keys differ only in dates the lake holds as null ('0000-00-00', '2024-00-00')
 * would be one row there: refused, named, rather than one of them lost.
 */
async function refuseMergedKeys(db: DuckDBConnection, meta: { schema: string; name: string }, key: string[]): Promise<void> {
  const keyList = key.map(ident).join(', ');
  const [{ merged }] = await all(db, `SELECT count(*)::BIGINT AS merged FROM (SELECT ${keyList} FROM cur GROUP BY ${keyList} HAVING count(*) > 1)`);
  if (Number(merged) > 0) {
    throw new LakeTableRefused(
      `${meta.schema}.${meta.name}: ${merged} keys (${key.join(', ')}) stand for several source rows that differ only in zero or invalid dates, which the lake holds as null: ` +
        'correct those dates on the source (or exclude the table) and export again',
    );
  }
}

const sameKey = (a: string[], b: string[]): boolean => a.length === b.length && a.every((k, i) => k === b[i]);
const sameColumns = (a: LakeColumn[], b: LakeColumn[]): boolean => a.length === b.length && a.every((c, i) => c.name === b[i].name && c.lakeType === b[i].lakeType);

/** A table the lake cannot take as it is: the export fails with the reason, and a retry would not help. */
export class LakeTableRefused extends Error {}

async function all(db: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await db.runAndReadAll(sql)).getRowObjects() as Record<string, unknown>[];
}

/** The source's rows into a CSV file, in one consistent snapshot; where the binary log stood. */
async function stage(input: ExportTableInput, csv: string): Promise<{ at: string; position?: string; rows: number; maxLine: number }> {
  const { meta, source } = input;
  const binary = meta.columns.map((c) => BINARY.has(c.dataType));
  const where: string[] = [];
  const params: unknown[] = [];
  if (input.keepFrom) {
    const col = id(input.keepFrom.column);
    // The same split as the copy's: the target holds the rows from the oldest year on, and undated ones.
    where.push(input.kind === 'history' ? `${col} < ?` : `(${col} >= ? OR ${col} IS NULL)`);
    params.push(input.keepFrom.from);
  }
  const sql = `SELECT ${meta.columns.map(selectExpr).join(', ')} FROM ${qualified(meta.schema, meta.name)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
  await source.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  await source.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
  try {
    const at = new Date().toISOString();
    const position = await snapshotPosition(source);
    const written = await writeRowsCsv((source as unknown as { connection: CoreConnection }).connection, sql, params, csv, binary, input.heartbeat);
    return { at, ...(position ? { position } : {}), ...written };
  } finally {
    await source.query('COMMIT').catch(() => undefined);
  }
}

/**
 * MariaDB says where the binary log stood when this snapshot began (binlog_snapshot_file/position);
 * without a binary log there is no position, and the read time stands for it.
 */
async function snapshotPosition(source: Connection): Promise<string | undefined> {
  const [rows] = await source.query<RowDataPacket[]>("SHOW STATUS LIKE 'binlog_snapshot_%'");
  const status = new Map(rows.map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value)]));
  const file = status.get('binlog_snapshot_file');
  return file ? `${file}:${status.get('binlog_snapshot_position')}` : undefined;
}

/** Zero or impossible dates have no value in the lake: they become null, and the manifest says how many. */
async function zeroDateNotes(db: DuckDBConnection, dated: (readonly [string, number])[]): Promise<string[]> {
  if (dated.length === 0) return [];
  const [row] = await all(db, `SELECT ${dated.map(([, i]) => `count_if(_cm_zero_${i})::BIGINT AS n${i}`).join(', ')} FROM cur`);
  return dated.flatMap(([name, i]) => (Number(row[`n${i}`]) > 0 ? [`${name}: ${row[`n${i}`]} zero or invalid dates exported as null`] : []));
}

/** The COPY's parts, checksummed and uploaded in order. */
async function uploadParts(input: ExportTableInput, db: DuckDBConnection, out: string): Promise<LakeFile[]> {
  const names = (await readdir(out)).filter((n) => n.endsWith('.parquet')).sort((a, b) => partIndex(a) - partIndex(b));
  const files: LakeFile[] = [];
  for (const [i, name] of names.entries()) {
    const local = join(out, name);
    const [{ rows, deletes }] = await all(db, `SELECT count(*)::BIGINT AS rows, count_if(${DELETED_COLUMN})::BIGINT AS deletes FROM read_parquet(${literal(local)})`);
    if (Number(rows) === 0) continue;
    const path = lakePaths.data(input.tenant, input.kind, input.number, input.meta.schema, input.meta.name, i);
    const sha256 = await fileSha256(local);
    await input.store.putFile(local, path);
    files.push({ path, export: input.number, rows: Number(rows), deletes: Number(deletes), bytes: (await stat(local)).size, sha256 });
  }
  return files;
}

const partIndex = (name: string): number => Number(/(\d+)\.parquet$/.exec(name)?.[1] ?? 0);

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const part of createReadStream(path)) hash.update(part as Buffer);
  return hash.digest('hex');
}
