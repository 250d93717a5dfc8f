// Reads table definitions from information_schema. Works the same on MariaDB 10.11 and MySQL 8.0.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Approximate } from './sql';

export interface ColumnMeta {
  name: string;
  dataType: string;
  columnType: string;
  nullable: boolean;
  generated: boolean;
  collation?: string;
  /** COLUMN_DEFAULT as the server reports it (MariaDB quotes literals; an expression reads as one). */
  default?: string | null;
  /** EXTRA: auto_increment, on update…, DEFAULT_GENERATED (MySQL 8 expression defaults). */
  extra?: string;
  /** A generated column's expression. */
  expression?: string | null;
}

export interface TableMeta {
  schema: string;
  name: string;
  engine: string;
  estimatedRows: number;
  avgRowLength: number;
  columns: ColumnMeta[];
  primaryKey: string[];
}

const SYSTEM_SCHEMAS = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

export async function listSchemas(pool: Pool): Promise<string[]> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME');
  return rows.map((r) => String(r.s)).filter((s) => !SYSTEM_SCHEMAS.has(s.toLowerCase()) && !s.startsWith('cm_'));
}

/** Every base table of the given schemas, keyed `schema.table`. */
export async function readTables(pool: Pool, schemas: string[], onlyTables?: string[]): Promise<Map<string, TableMeta>> {
  const result = new Map<string, TableMeta>();
  if (schemas.length === 0) return result;
  const tableFilter = onlyTables && onlyTables.length > 0 ? ' AND TABLE_NAME IN (?)' : '';
  const params: unknown[] = onlyTables && onlyTables.length > 0 ? [schemas, onlyTables] : [schemas];

  const [tables] = await pool.query<RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, ENGINE AS engine, TABLE_ROWS AS est, AVG_ROW_LENGTH AS avg
       FROM information_schema.TABLES
      WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA IN (?)${tableFilter}`,
    params,
  );
  for (const r of tables) {
    result.set(`${r.s}.${r.t}`, {
      schema: String(r.s),
      name: String(r.t),
      engine: String(r.engine ?? ''),
      estimatedRows: Number(r.est ?? 0),
      avgRowLength: Number(r.avg ?? 0),
      columns: [],
      primaryKey: [],
    });
  }

  // MySQL 8 marks columns with expression defaults DEFAULT_GENERATED: those are ordinary columns.
  const [columns] = await pool.query<RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME AS c, DATA_TYPE AS dt, COLUMN_TYPE AS ct,
            IS_NULLABLE AS nullable, COLLATION_NAME AS coll, COLUMN_DEFAULT AS def, EXTRA AS extra, GENERATION_EXPRESSION AS expr,
            (EXTRA LIKE '%VIRTUAL%' OR EXTRA LIKE '%STORED%' OR EXTRA LIKE '%PERSISTENT%') AS gen
       FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA IN (?)${tableFilter}
      ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
    params,
  );
  for (const r of columns) {
    result.get(`${r.s}.${r.t}`)?.columns.push({
      name: String(r.c),
      dataType: String(r.dt).toLowerCase(),
      columnType: String(r.ct),
      nullable: r.nullable === 'YES',
      generated: Number(r.gen) === 1,
      collation: r.coll ? String(r.coll) : undefined,
      default: r.def === null || r.def === undefined ? null : String(r.def),
      extra: String(r.extra ?? ''),
      expression: r.expr ? String(r.expr) : null,
    });
  }

  const [keys] = await pool.query<RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME AS c
       FROM information_schema.STATISTICS
      WHERE INDEX_NAME = 'PRIMARY' AND TABLE_SCHEMA IN (?)${tableFilter}
      ORDER BY TABLE_SCHEMA, TABLE_NAME, SEQ_IN_INDEX`,
    params,
  );
  for (const r of keys) result.get(`${r.s}.${r.t}`)?.primaryKey.push(String(r.c));
  return result;
}

/** A secondary index as both sides describe it: uniqueness, columns with prefix lengths, type. */
export type IndexSignatures = Map<string, Map<string, string>>;

/** Every secondary index of the given schemas' tables, keyed `schema.table`, then by index name. */
export async function readIndexes(pool: Pool, schemas: string[], onlyTables?: string[]): Promise<IndexSignatures> {
  const result: IndexSignatures = new Map();
  if (schemas.length === 0) return result;
  const tableFilter = onlyTables && onlyTables.length > 0 ? ' AND TABLE_NAME IN (?)' : '';
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, INDEX_NAME AS i, NON_UNIQUE AS nu, INDEX_TYPE AS it, COLUMN_NAME AS c, SUB_PART AS sp
       FROM information_schema.STATISTICS
      WHERE INDEX_NAME <> 'PRIMARY' AND TABLE_SCHEMA IN (?)${tableFilter}
      ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    onlyTables && onlyTables.length > 0 ? [schemas, onlyTables] : [schemas],
  );
  for (const r of rows) {
    const key = `${r.s}.${r.t}`;
    const table = result.get(key) ?? new Map<string, string>();
    result.set(key, table);
    const name = String(r.i);
    const column = `${String(r.c)}${r.sp ? `(${r.sp})` : ''}`;
    const prior = table.get(name);
    table.set(name, prior ? `${prior},${column}` : `${Number(r.nu) ? '' : 'unique '}${String(r.it).toLowerCase()} ${column}`);
  }
  return result;
}

export async function readTable(pool: Pool, schema: string, table: string): Promise<TableMeta | undefined> {
  return (await readTables(pool, [schema], [table])).get(`${schema}.${table}`);
}

/**
 * COLUMN_TYPE as both servers agree on it: MySQL 8 drops integer display widths (int(11) → int),
 * MariaDB keeps them; they mean nothing, so neither side keeps them here.
 */
export function normalType(columnType: string): string {
  return columnType.toLowerCase().replace(/^(tinyint|smallint|mediumint|int|integer|bigint|year)\(\d+\)/, '$1').replace(/^integer\b/, 'int').trim();
}

/** Columns that are written on copy: generated columns are recomputed by the target. */
export function copyColumns(meta: TableMeta): ColumnMeta[] {
  return meta.columns.filter((c) => !c.generated);
}

/** The columns of approximate type (see Approximate in sql.ts). */
export function approximateColumns(meta: TableMeta): Approximate {
  const out: Record<string, 'float' | 'double'> = {};
  for (const c of meta.columns) {
    if (c.dataType === 'float') out[c.name] = 'float';
    else if (c.dataType === 'double' || c.dataType === 'real') out[c.name] = 'double';
  }
  return out;
}

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);

export function isSplittable(meta: TableMeta): boolean {
  if (meta.primaryKey.length !== 1) return false;
  const col = meta.columns.find((c) => c.name === meta.primaryKey[0]);
  return !!col && INTEGER_TYPES.has(col.dataType);
}
