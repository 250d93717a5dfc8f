// The data lake's layout and its manifest: pure, so the workflow (validation), the activities (the
// export) and the tests (reading it back) agree on one description.
//
// A destination holds, per tenant and kind (`migrated`: what the cloud tenant gets; `history`: the
// rows the companies' oldest year keeps out of it):
//   <root>/<tenant>/<kind>/manifest.json                        the current state, rewritten by each export
//   <root>/<tenant>/<kind>/exports/<n>/claim.json               which workflow took number n
//   <root>/<tenant>/<kind>/exports/<n>/manifest.json            what export n wrote
//   <root>/<tenant>/<kind>/exports/<n>/tables/<company>/<t>.json  one table finished by export n (resume)
//   <root>/<tenant>/<kind>/data/<company>/<t>/<n>-<i>.parquet    the rows export n wrote of the table
//   <root>/<tenant>/<kind>/state/<company>/<t>/<n>.parquet       each key's row digest after export n
// Files are only ever added: a reader of an older manifest still finds every file it names.

import { envNamePart } from './env-names';

export type LakeKind = 'migrated' | 'history';

export interface LakeDestination {
  scheme: 'file' | 's3';
  /** file: an absolute folder; s3: the bucket. */
  root: string;
  /** s3: the key prefix inside the bucket ('' or ending in '/'). */
  prefix: string;
}

/**
 * Requests name a destination; each worker maps the name to a folder or bucket of its own
 * (CM_LAKE_<NAME>_URI; no name, or `default`: CM_LAKE_URI), as it maps connection names. A request
 * never carries a path or a URI.
 */
export const LAKE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const DEFAULT_LAKE_NAME = 'default';
/** An export's failure, as its signal carries it and the page keeps it (the page is carried). */
export const MAX_LAKE_FAILURE = 2_000;

export function lakeDestinationEnvVar(name: string): string {
  return name === DEFAULT_LAKE_NAME ? 'CM_LAKE_URI' : `CM_LAKE_${envNamePart(name)}_URI`;
}

/** What the validator, the CLI and the worker say to a destination given as a path or URI. */
export const LAKE_PATHS_REFUSED =
  'paths and URIs are not accepted: name a destination ({"to":"archive"}, or `cm lake export <tenant> --to archive`) and set it on every worker, ' +
  'CM_LAKE_<NAME>_URI=s3://bucket/prefix or a folder (CM_LAKE_ARCHIVE_URI here); no name: CM_LAKE_URI';

/** Why `to` is not a destination's name, or undefined when it is. */
export function lakeNameRefusal(to: string): string | undefined {
  if (LAKE_NAME_PATTERN.test(to)) return undefined;
  return /[/\\:.]/.test(to) ? LAKE_PATHS_REFUSED : "a destination's name: letters, digits, _ and -, at most 64, as set on the worker (CM_LAKE_<NAME>_URI)";
}

/** What a lake URI may look like, for messages. */
export const LAKE_URI_FORMS = 'file:///absolute/folder, /absolute/folder or s3://bucket/prefix';

/**
 * Parses a destination. Credentials never travel in it: an S3 endpoint and its keys are the worker's
 * configuration (CM_LAKE_S3_ENDPOINT, AWS_ACCESS_KEY_ID, …), like database connections.
 */
export function parseLakeUri(uri: string): LakeDestination {
  const text = uri.trim();
  if (text.startsWith('/')) {
    if (text.replace(/\/+/g, '') === '') throw new Error('a file destination names a folder, not /');
    return { scheme: 'file', root: normalFolder(text), prefix: '' };
  }
  // Parsed by hand, not with URL: the workflow's validator parses it too, and must not depend on the sandbox's globals.
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)([?#].*)?$/i.exec(text);
  if (!m) throw new Error(`not a lake destination: ${JSON.stringify(uri)} (use ${LAKE_URI_FORMS})`);
  const [, scheme, authority, rawPath, rest] = m;
  if (authority.includes('@') || rest) throw new Error('a lake destination carries no credentials or options: the worker holds them (CM_LAKE_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)');
  const path = decodePath(rawPath);
  switch (scheme.toLowerCase()) {
    case 'file':
      if (authority && authority !== 'localhost') throw new Error(`a file destination is a folder of the worker: file:///folder, not file://${authority}/…`);
      if (!path.startsWith('/') || path === '/') throw new Error('a file destination names a folder: file:///folder');
      return { scheme: 'file', root: normalFolder(path), prefix: '' };
    case 's3': {
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(authority)) throw new Error(`not an S3 bucket name: ${JSON.stringify(authority)}`);
      const prefix = path.replace(/^\/+|\/+$/g, '');
      if (prefix.split('/').some((p) => p === '..' || p === '.')) throw new Error('an S3 prefix has no . or .. parts');
      return { scheme: 's3', root: authority, prefix: prefix ? `${prefix}/` : '' };
    }
    default:
      throw new Error(`unknown lake destination scheme ${scheme}: use ${LAKE_URI_FORMS}`);
  }
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    throw new Error(`not a lake destination: the path ${JSON.stringify(path)} has a bad %-escape`);
  }
}

function normalFolder(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new Error(`a lake folder is named without ..: ${path}`);
  return `/${parts.join('/')}`;
}

export function lakeUri(d: LakeDestination): string {
  return d.scheme === 'file' ? `file://${d.root}` : `s3://${d.root}/${d.prefix}`;
}

/** A path part from a schema or table name: its bytes kept readable, / and control characters escaped. */
export function pathPart(name: string): string {
  return encodeURIComponent(name).replace(/\*/g, '%2A').replace(/^\.\.?$/, (m) => m.replace(/\./g, '%2E'));
}

const n6 = (n: number): string => String(n).padStart(6, '0');

/** Keys inside a destination, relative to its root (and prefix). */
export const lakePaths = {
  base: (tenant: string, kind: LakeKind) => `${pathPart(tenant)}/${kind}`,
  manifest: (tenant: string, kind: LakeKind) => `${lakePaths.base(tenant, kind)}/manifest.json`,
  exportManifest: (tenant: string, kind: LakeKind, n: number) => `${lakePaths.base(tenant, kind)}/exports/${n6(n)}/manifest.json`,
  /** Which workflow took export number n: a later export never reuses the number of one that did not finish. */
  exportClaim: (tenant: string, kind: LakeKind, n: number) => `${lakePaths.base(tenant, kind)}/exports/${n6(n)}/claim.json`,
  tableDone: (tenant: string, kind: LakeKind, n: number, company: string, table: string) =>
    `${lakePaths.base(tenant, kind)}/exports/${n6(n)}/tables/${pathPart(company)}/${pathPart(table)}.json`,
  tablesDone: (tenant: string, kind: LakeKind, n: number) => `${lakePaths.base(tenant, kind)}/exports/${n6(n)}/tables/`,
  data: (tenant: string, kind: LakeKind, n: number, company: string, table: string, part: number) =>
    `${lakePaths.base(tenant, kind)}/data/${pathPart(company)}/${pathPart(table)}/${n6(n)}-${String(part).padStart(4, '0')}.parquet`,
  state: (tenant: string, kind: LakeKind, n: number, company: string, table: string) =>
    `${lakePaths.base(tenant, kind)}/state/${pathPart(company)}/${pathPart(table)}/${n6(n)}.parquet`,
};

/** What export `n` wrote of a table: rows new or changed, and deleted keys. */
export function writtenBy(t: Pick<LakeTable, 'files'>, n: number): { rows: number; deletes: number } {
  const files = t.files.filter((f) => f.export === n);
  return { rows: files.reduce((s, f) => s + f.rows - f.deletes, 0), deletes: files.reduce((s, f) => s + f.deletes, 0) };
}

/** The columns every data file has besides the table's own. */
export const EXPORT_COLUMN = '_cm_export';
export const DELETED_COLUMN = '_cm_deleted';

export interface LakeColumn {
  name: string;
  /** The source's COLUMN_TYPE. */
  mysqlType: string;
  /** The column's type in the Parquet files, as DuckDB names it. */
  lakeType: string;
}

export interface LakeFile {
  /** Relative to the manifest's folder's root (the destination). */
  path: string;
  export: number;
  rows: number;
  /** Rows that say a key was deleted (only key columns set). */
  deletes: number;
  bytes: number;
  sha256: string;
}

/** One table as an export left it. */
export interface LakeTable {
  company: string;
  table: string;
  /** The target schema the migrated rows go to. */
  targetSchema: string;
  columns: LakeColumn[];
  /** Primary key columns: the files are changes by key. Empty: each export is a whole snapshot. */
  key: string[];
  /** `changes`: current state = the latest row of each key over every file, unless deleted. `snapshot`: the files of the last export only. */
  mode: 'changes' | 'snapshot';
  /** Rows in the current state. */
  rows: number;
  files: LakeFile[];
  /** The export that last read the table, and where the source stood then. */
  export: number;
  sourcePosition?: string;
  readAt: string;
  /** `history`: the rows dated before this (column < from) are the ones kept. */
  historyBefore?: { column: string; before: string };
  /** Values the lake cannot hold as they are (zero dates become null), per column. */
  notes?: string[];
  /** The DuckDB query of the current state, run from the destination's root (see HOW_TO_READ). */
  currentState?: string;
  /** The state file of key digests the next export compares with. */
  statePath?: string;
}

export interface LakeExportRecord {
  number: number;
  startedAt: string;
  endedAt: string;
  requestedBy?: string;
  companies: string[];
  tables: number;
  /** Rows written (changed or new) and deletes written by this export. */
  rowsWritten: number;
  deletesWritten: number;
  /** Tables of the exported companies that the tenant no longer has (gone from the source): out of the current state since this export. */
  tablesRemoved?: string[];
}

export interface LakeManifest {
  format: 'cm-lake/1';
  tenant: string;
  kind: LakeKind;
  howToRead: string;
  exports: LakeExportRecord[];
  /** Keyed `company.table`. */
  tables: Record<string, LakeTable>;
}

export const HOW_TO_READ =
  `Each table lists its Parquet files in export order. Mode "changes": every file holds new or changed rows and deleted keys; ` +
  `the current state is, for each key, the row of the highest ${EXPORT_COLUMN}, unless its ${DELETED_COLUMN} is true. ` +
  `Mode "snapshot" (a table without a primary key): the files of the table's last export are the whole table. ` +
  `Each table's "currentState" is that query for DuckDB, run from the destination's root.`;

const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** The DuckDB query that reads a table's current state from its files (paths relative to `root`). */
export function currentStateQuery(t: Pick<LakeTable, 'columns' | 'key' | 'mode' | 'files' | 'export'>, root = '.'): string {
  const files = (t.mode === 'snapshot' ? t.files.filter((f) => f.export === t.export) : t.files).map((f) => sqlString(`${root}/${f.path}`));
  const cols = t.columns.map((c) => ident(c.name)).join(', ');
  if (files.length === 0) return `SELECT ${t.columns.map((c) => `NULL::${c.lakeType} AS ${ident(c.name)}`).join(', ')} WHERE false`;
  // By name: a column added at the source is null in the files written before it.
  const source = `read_parquet([${files.join(', ')}], union_by_name = true)`;
  if (t.mode === 'snapshot') return `SELECT ${cols} FROM ${source}`;
  return `SELECT ${cols} FROM ${source} QUALIFY row_number() OVER (PARTITION BY ${t.key.map(ident).join(', ')} ORDER BY ${EXPORT_COLUMN} DESC) = 1 AND NOT ${DELETED_COLUMN}`;
}

/**
 * The lake type of a source column (information_schema DATA_TYPE and COLUMN_TYPE). Exact where the
 * lake has the type; text where it has not (MySQL TIME runs past 24 h; DECIMAL past 38 digits).
 */
export function lakeType(dataType: string, columnType: string): string {
  const unsigned = /\bunsigned\b/i.test(columnType);
  switch (dataType.toLowerCase()) {
    case 'tinyint': return unsigned ? 'UTINYINT' : 'TINYINT';
    case 'smallint': return unsigned ? 'USMALLINT' : 'SMALLINT';
    case 'mediumint': case 'int': case 'integer': return unsigned ? 'UINTEGER' : 'INTEGER';
    case 'bigint': return unsigned ? 'UBIGINT' : 'BIGINT';
    case 'year': return 'SMALLINT';
    case 'bit': return 'UBIGINT';
    case 'decimal': case 'numeric': {
      const m = /\((\d+)(?:,\s*(\d+))?\)/.exec(columnType);
      const p = m ? Number(m[1]) : 10;
      const s = m?.[2] ? Number(m[2]) : 0;
      return p <= 38 ? `DECIMAL(${p},${s})` : 'VARCHAR';
    }
    case 'float': return 'FLOAT';
    case 'double': case 'real': return 'DOUBLE';
    case 'date': return 'DATE';
    case 'datetime': case 'timestamp': return 'TIMESTAMP';
    case 'binary': case 'varbinary': case 'tinyblob': case 'blob': case 'mediumblob': case 'longblob': return 'BLOB';
    default: return 'VARCHAR'; // char, varchar, text, enum, set, json, time, geometry as its text
  }
}

/** Exports of a tenant's lake that finished: the manifest's, read by the page and the CLI. */
export interface LakeExportSummary {
  number: number;
  kind: LakeKind;
  destination: string;
  tables: number;
  rowsWritten: number;
  deletesWritten: number;
  /** Rows in the lake's current state after the export, over its tables. */
  rows: number;
  manifest: string;
}
