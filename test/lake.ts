// Reads a data lake back with DuckDB, independently of cm's export code, and compares it with the
// source by content: every value as text, types normalised the same way on both sides.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { escapeId } from 'mysql2';
import { currentStateQuery, lakePaths, type LakeKind, type LakeManifest, type LakeTable } from '../lib/lake';

export async function readManifest(root: string, tenant: string, kind: LakeKind): Promise<LakeManifest> {
  return JSON.parse(await readFile(join(root, lakePaths.manifest(tenant, kind)), 'utf8')) as LakeManifest;
}

const ident = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** The table's current state in the lake: its column types, and each row as JSON text, sorted. */
export async function lakeRows(root: string, t: LakeTable): Promise<{ types: Record<string, string>; rows: string[] }> {
  const duck = await DuckDBInstance.create(':memory:');
  const db = await duck.connect();
  try {
    const query = currentStateQuery(t, root);
    const described = (await db.runAndReadAll(`DESCRIBE ${query}`)).getRowObjects();
    const types = Object.fromEntries(described.map((r) => [String(r.column_name), String(r.column_type)]));
    const select = t.columns.map((c) => {
      const col = ident(c.name);
      const type = types[c.name];
      if (type === 'BLOB') return `hex(${col})`;
      if (type === 'TIMESTAMP') return `strftime(${col}, '%Y-%m-%d %H:%M:%S.%f')`;
      if (type === 'FLOAT' || type === 'DOUBLE') return `CAST(${col} AS DOUBLE)`; // by value: the two print floats differently
      return `CAST(${col} AS VARCHAR)`;
    });
    const out = await db.runAndReadAll(`SELECT ${select.join(', ')} FROM (${query})`);
    return { types, rows: out.getRows().map((r) => JSON.stringify(r.map(text))).sort() };
  } finally {
    db.closeSync();
    duck.closeSync();
  }
}

/** The source's rows as the lake should hold them (zero dates are null there), as JSON text, sorted. */
export async function sourceRows(pool: Pool, schema: string, table: string, where = '1 = 1'): Promise<string[]> {
  const [cols] = await pool.query<RowDataPacket[]>(
    'SELECT COLUMN_NAME AS n, DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION', [schema, table],
  );
  const select = cols.map((c) => {
    const col = escapeId(String(c.n), true);
    const type = String(c.t);
    if (/blob|binary/.test(type)) return `HEX(${col})`;
    if (type === 'datetime' || type === 'timestamp') return `IF(CAST(${col} AS CHAR) LIKE '0000-00-00%', NULL, DATE_FORMAT(${col}, '%Y-%m-%d %H:%i:%s.%f'))`;
    if (type === 'float' || type === 'double') return `CAST(${col} AS DOUBLE)`;
    if (type === 'date') return `IF(CAST(${col} AS CHAR) = '0000-00-00', NULL, CAST(${col} AS CHAR))`;
    return `CAST(${col} AS CHAR)`;
  });
  const [rows] = await pool.query({ sql: `SELECT ${select.join(', ')} FROM ${escapeId(schema, true)}.${escapeId(table, true)} WHERE ${where}`, rowsAsArray: true });
  const approximate = cols.map((c) => c.t === 'float' || c.t === 'double');
  return (rows as unknown[][]).map((r) => JSON.stringify(r.map((v, i) => (approximate[i] && v !== null ? String(Number(v)) : text(v))))).sort();
}

/** A value as text; doubles arrive as JS numbers from both sides, so they print the same way. */
const text = (v: unknown): string | null => (v === null ? null : String(v));

/** The first difference between two sorted row lists, or undefined: a readable failure instead of a 10,000-line diff. */
export function firstDifference(a: string[], b: string[]): string | undefined {
  if (a.length !== b.length) return `${a.length} rows vs ${b.length}`;
  const i = a.findIndex((row, k) => row !== b[k]);
  return i < 0 ? undefined : `row ${i}: ${a[i]} vs ${b[i]}`;
}
