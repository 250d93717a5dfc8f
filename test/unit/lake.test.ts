// The lake's pure parts: which destinations are taken (and which refused before anything is recorded),
// the type each source column gets, the paths, and the query that reads a table's current state.
import { currentStateQuery, lakeDestinationEnvVar, lakePaths, lakeType, parseLakeUri, pathPart, type LakeTable } from '../../lib/lake';
import { lakeExportRequestSchema, describeIssues } from '../../lib/schemas';
import { resolveLakeDestination } from '../../activities/lake/destinations';

describe('a request names its destination; the worker maps the name', () => {
  const refusal = (to: unknown): string | undefined => {
    const parsed = lakeExportRequestSchema.safeParse({ to });
    return parsed.success ? undefined : describeIssues(parsed.error);
  };

  it('takes names and refuses paths and URIs, saying how to name one', () => {
    expect(refusal('archive')).toBeUndefined();
    expect(refusal('eu-lake_2')).toBeUndefined();
    for (const to of ['/srv/lake', 'file:///srv/lake', 's3://lake/cm', '../x', 'C:\\lake']) {
      expect(refusal(to)).toMatch(/paths and URIs are not accepted: .*CM_LAKE_<NAME>_URI/);
    }
    expect(refusal('has space')).toMatch(/a destination's name: letters, digits, _ and -/);
    expect(refusal('x'.repeat(65))).toMatch(/a destination's name/);
  });

  it('maps a name to CM_LAKE_<NAME>_URI, and no name (or default) to CM_LAKE_URI, else the home folder', () => {
    expect(lakeDestinationEnvVar('archive')).toBe('CM_LAKE_ARCHIVE_URI');
    expect(lakeDestinationEnvVar('eu-lake')).toBe('CM_LAKE_EU_LAKE_URI');
    expect(lakeDestinationEnvVar('default')).toBe('CM_LAKE_URI');
    const env = { CM_LAKE_URI: 'file:///srv/lake', CM_LAKE_ARCHIVE_URI: 's3://archive/cm' };
    expect(resolveLakeDestination(undefined, env)).toBe('file:///srv/lake');
    expect(resolveLakeDestination('default', env)).toBe('file:///srv/lake');
    expect(resolveLakeDestination('archive', env)).toBe('s3://archive/cm');
    expect(resolveLakeDestination(undefined, { HOME: '/home/op' })).toMatch(/^file:\/\/.*\/\.local\/share\/cm\/lake$/);
    expect(() => resolveLakeDestination('cold', env)).toThrow(/unknown data lake destination 'cold': set CM_LAKE_COLD_URI on the worker/);
    expect(() => resolveLakeDestination('/srv/x', env)).toThrow(/paths and URIs are not accepted/);
  });
});

describe('parseLakeUri', () => {
  it('takes folders and buckets', () => {
    expect(parseLakeUri('/srv/lake/')).toEqual({ scheme: 'file', root: '/srv/lake', prefix: '' });
    expect(parseLakeUri('file:///srv/my%20lake')).toEqual({ scheme: 'file', root: '/srv/my lake', prefix: '' });
    expect(parseLakeUri('s3://lake')).toEqual({ scheme: 's3', root: 'lake', prefix: '' });
    expect(parseLakeUri('s3://lake/cm/exports/')).toEqual({ scheme: 's3', root: 'lake', prefix: 'cm/exports/' });
  });

  it('refuses credentials, options, other schemes, escapes from the folder and the root', () => {
    expect(() => parseLakeUri('s3://AKIA:secret@lake/x')).toThrow(/carries no credentials/);
    expect(() => parseLakeUri('s3://lake/x?X-Amz-Signature=1')).toThrow(/carries no credentials or options/);
    expect(() => parseLakeUri('ftp://host/x')).toThrow(/unknown lake destination scheme ftp/);
    expect(() => parseLakeUri('file:///tmp/../etc')).toThrow(/without \.\./);
    expect(() => parseLakeUri('s3://lake/a/../b')).toThrow(/no \. or \.\. parts/);
    expect(() => parseLakeUri('file://otherhost/x')).toThrow(/a folder of the worker/);
    expect(() => parseLakeUri('/')).toThrow(/names a folder/);
    expect(() => parseLakeUri('s3://Not_A_Bucket/x')).toThrow(/not an S3 bucket name/);
    expect(() => parseLakeUri('lake')).toThrow(/not a lake destination/);
    expect(() => parseLakeUri('file:///x%E0%A4%A')).toThrow(/bad %-escape/);
  });
});

describe('lakeType', () => {
  it('keeps DECIMAL exact, dates and binary as they are, and falls back to text where Parquet has no type', () => {
    expect(lakeType('decimal', 'decimal(38,20)')).toBe('DECIMAL(38,20)');
    expect(lakeType('decimal', 'decimal(65,30)')).toBe('VARCHAR');
    expect(lakeType('bigint', 'bigint(20) unsigned')).toBe('UBIGINT');
    expect(lakeType('datetime', 'datetime(6)')).toBe('TIMESTAMP');
    expect(lakeType('date', 'date')).toBe('DATE');
    expect(lakeType('varbinary', 'varbinary(16)')).toBe('BLOB');
    expect(lakeType('time', 'time')).toBe('VARCHAR'); // MySQL TIME runs past 24 hours
    expect(lakeType('enum', "enum('a','b')")).toBe('VARCHAR');
  });
});

describe('paths and the current state', () => {
  it('escapes names that are not path-safe', () => {
    expect(pathPart('a/b')).toBe('a%2Fb');
    expect(pathPart('..')).toBe('%2E%2E');
    expect(lakePaths.data('t', 'history', 3, 'crön', 'x y', 1)).toBe('t/history/data/cr%C3%B6n/x%20y/000003-0001.parquet');
  });

  const table = (over: Partial<LakeTable>): LakeTable => ({
    company: 'c', table: 't', targetSchema: 'c2', columns: [{ name: 'id', mysqlType: 'int', lakeType: 'INTEGER' }, { name: 'v', mysqlType: 'text', lakeType: 'VARCHAR' }],
    key: ['id'], mode: 'changes', rows: 1, export: 2, readAt: 'x',
    files: [{ path: 'a/1.parquet', export: 1, rows: 1, deletes: 0, bytes: 1, sha256: '' }, { path: 'a/2.parquet', export: 2, rows: 1, deletes: 1, bytes: 1, sha256: '' }],
    ...over,
  });

  it('reads the latest row of each key over every file, without the deleted ones', () => {
    expect(currentStateQuery(table({}), '/r')).toBe(
      `SELECT "id", "v" FROM read_parquet(['/r/a/1.parquet', '/r/a/2.parquet'], union_by_name = true) QUALIFY row_number() OVER (PARTITION BY "id" ORDER BY _cm_export DESC) = 1 AND NOT _cm_deleted`,
    );
  });

  it('reads only the last export of a table without a key, and an empty table typed', () => {
    expect(currentStateQuery(table({ mode: 'snapshot', key: [] }), '.')).toBe(`SELECT "id", "v" FROM read_parquet(['./a/2.parquet'], union_by_name = true)`);
    expect(currentStateQuery(table({ mode: 'snapshot', key: [], export: 3 }))).toBe('SELECT NULL::INTEGER AS "id", NULL::VARCHAR AS "v" WHERE false');
  });
});
