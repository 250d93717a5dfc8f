// Azure Data Lake (issue 14): the sample companies exported as Parquet and read back with DuckDB equal
// the source row for row, types included; --history-only holds exactly the rows before the oldest
// year; an incremental export after changes reads back to the source's current state; a worker
// SIGKILLed during an export is resumed by another; an S3-compatible server (s3rver) works the same.
// The workers are processes (`cm worker`), so one can be killed.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { defaultPayloadConverter } from '@temporalio/common';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { escape, escapeId } from 'mysql2';
import type { RowDataPacket } from 'mysql2/promise';
import { buildAudit } from '../../client/audit';
import { createTenant, exportToDataLake, getStatus, runMigrationNow, tenantHandle, waitForLakeExport, waitForRun } from '../../client/operations';
import { lakePaths, writtenBy, type LakeManifest } from '../../lib/lake';
import { s3ClientFromEnv } from '../../activities/lake/store';
import { seedSourceData } from '../../seed/generate';
import { freePort } from '../../lib/free-port';
import { tenantFixture } from '../fixture';
import { createNumberedTable, dropSchemas, ensureBuilt, historyText, killWorkerProcesses, runCm, spawnWorkerProcess, waitForWorkerProcess, waitUntil, type WorkerProcess } from '../helpers';
import { firstDifference, lakeRows, readManifest, sourceRows } from '../lake';

const workers: WorkerProcess[] = [];
const lakeRoot = mkdtempSync(join(tmpdir(), 'cm-lake-test-'));
const killedRoot = join(lakeRoot, 'killed');
const s3Dir = mkdtempSync(join(tmpdir(), 'cm-s3-test-'));
const S3_ENV = { CM_LAKE_S3_ENDPOINT: '', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
let s3: S3rver | undefined;

const f = tenantFixture('lake', {
  worker: false,
  source: 'onprem',
  cleanup: async (fx) => {
    await killWorkerProcesses(workers);
    await dropSchemas(fx.source, ...companies);
    await s3?.close().catch(() => undefined);
    rmSync(lakeRoot, { recursive: true, force: true });
    rmSync(s3Dir, { recursive: true, force: true });
  },
});
const prefix = `${f.src}_`;
const companies = [`${prefix}cronus`, `${prefix}fabrikam`];
const OLDEST_YEAR = 2021;
/** A table that takes a few seconds to export: a worker is killed while it does. */
const BIG_ROWS = 300_000;

async function startWorker(): Promise<WorkerProcess> {
  const w = spawnWorkerProcess(f.taskQueue, {
    env: {
      // The destinations requests name: no name is CM_LAKE_URI, `killed` and `archive` are the worker's own.
      CM_LAKE_URI: `file://${lakeRoot}`, CM_LAKE_KILLED_URI: `file://${killedRoot}`, CM_LAKE_ARCHIVE_URI: 's3://lake/cm/exports',
      CM_LAKE_WORK_DIR: join(lakeRoot, '..', `${f.tenant}-work`), ...S3_ENV,
    },
  });
  workers.push(w);
  await waitForWorkerProcess(w);
  return w;
}

const exportLake = async (req: Parameters<typeof exportToDataLake>[2] = {}) => {
  const started = await exportToDataLake(f.client, f.tenant, { requestedBy: 'jest', ...req });
  return waitForLakeExport(f.client, f.tenant, started);
};

/** The source rows a lake table should hold: a historical table's from the oldest year on (`migrated`) or before it (`history`). */
async function sourceFilters(kind: 'migrated' | 'history'): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const t of (await getStatus(f.client, f.tenant)).tables) {
    const k = t.keepFrom;
    if (!k) continue;
    const col = escapeId(k.column, true);
    out.set(t.key, kind === 'history' ? `${col} < ${escape(k.from)}` : `(${col} >= ${escape(k.from)} OR ${col} IS NULL)`);
  }
  return out;
}

/** Every table of the manifest read back equals the source (filtered as the kind says), and its files' checksums hold. */
async function expectLakeEqualsSource(root: string, manifest: LakeManifest): Promise<void> {
  const filters = await sourceFilters(manifest.kind);
  for (const [key, t] of Object.entries(manifest.tables)) {
    const lake = await lakeRows(root, t);
    const source = await sourceRows(f.source, t.company, t.table, filters.get(key) ?? '1 = 1');
    expect({ key, difference: firstDifference(lake.rows, source) }).toEqual({ key, difference: undefined });
    expect(t.rows).toBe(source.length);
    for (const file of t.files) {
      const bytes = readFileSync(join(root, file.path));
      expect({ path: file.path, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length }).toEqual({ path: file.path, sha256: file.sha256, bytes: file.bytes });
    }
  }
}

beforeAll(async () => {
  ensureBuilt();
  s3 = new S3rver({ port: await freePort(), address: '127.0.0.1', silent: true, directory: s3Dir, configureBuckets: [{ name: 'lake', configs: [] }] });
  const { port } = await s3.run();
  S3_ENV.CM_LAKE_S3_ENDPOINT = `http://127.0.0.1:${port}`;
  await startWorker();
  await seedSourceData(f.source, { scale: 0.05, seed: 1414, schemaPrefix: prefix, companies: ['cronus', 'fabrikam'] });
  // Types the sample lacks: wide and negative DECIMAL, DATETIME(6), FLOAT, unsigned BIGINT, VARBINARY, TIME, a composite key.
  await createNumberedTable(f.source, companies[1], 'big_ledger', BIG_ROWS);
  await f.source.query(`CREATE TABLE ${companies[0]}.odd_types (a INT NOT NULL, b VARCHAR(10) NOT NULL, amount DECIMAL(38,20) NULL, small DECIMAL(9,3) NULL,
    at DATETIME(6) NULL, rate FLOAT NULL, big BIGINT UNSIGNED NULL, raw VARBINARY(16) NULL, t TIME NULL, PRIMARY KEY (a, b))`);
  await f.source.query(`INSERT INTO ${companies[0]}.odd_types VALUES
    (1, 'x', -123456789012345678.12345678901234567890, -1.5, '2024-02-29 23:59:59.999999', 1.1, 18446744073709551615, 0x00FF10, '-838:59:59'),
    (1, 'y', 0, 0, '1970-01-01 00:00:00.000001', NULL, 0, '', '12:00:00'),
    (2, 'x', NULL, NULL, NULL, -3.4028e38, NULL, NULL, NULL)`);
  const { status } = await createTenant(f.client, f.taskQueue, {
    tenant: f.tenant, sourceConnection: 'onprem', companies: [{ source: companies[0], oldestYear: OLDEST_YEAR }, { source: companies[1] }],
    copy: { heartbeatTimeoutSeconds: 5 },
  });
  expect(status.status).toBe('Ready');
}, 600_000);

it('exports the migrated tables of the sample companies; read back, they equal the source, types included', async () => {
  const entry = await exportLake();
  expect(entry).toMatchObject({ status: 'Completed', number: 1, kind: 'migrated', destination: `file://${lakeRoot}` });
  const manifest = await readManifest(lakeRoot, f.tenant, 'migrated');
  const page = await getStatus(f.client, f.tenant);
  const migrated = page.tables.filter((t) => !t.notMigratedReason);
  expect(Object.keys(manifest.tables).sort()).toEqual(migrated.map((t) => t.key).sort());
  expect(entry.tables).toBe(migrated.length);
  // A historical table of the company with an oldest year holds the rows from it on (and undated ones), as the cloud tenant does.
  await expectLakeEqualsSource(lakeRoot, manifest);
  const gl = manifest.tables[`${companies[0]}.gl_entry`];
  expect(gl.rows).toBeGreaterThan(0);
  expect(gl.rows).toBeLessThan(manifest.tables[`${companies[1]}.gl_entry`].rows);

  const types = (await lakeRows(lakeRoot, manifest.tables[`${companies[0]}.odd_types`])).types;
  expect(types).toEqual({
    a: 'INTEGER', b: 'VARCHAR', amount: 'DECIMAL(38,20)', small: 'DECIMAL(9,3)', at: 'TIMESTAMP', rate: 'FLOAT', big: 'UBIGINT', raw: 'BLOB', t: 'VARCHAR',
  });
  const item = (await lakeRows(lakeRoot, manifest.tables[`${companies[1]}.item`])).types;
  expect(item).toMatchObject({ picture: 'BLOB', unit_price: 'DECIMAL(38,20)', created_at: 'TIMESTAMP', blocked: 'TINYINT', flags: 'VARCHAR' });
  // The zero dates of the sample have no value in Parquet: null, and said so.
  expect(manifest.tables[`${companies[1]}.cust_ledger_entry`].notes).toEqual([expect.stringMatching(/^due_date: 3 zero or invalid dates exported as null$/)]);
  // Where the binary log stood, per table, and how to read it.
  expect(gl.sourcePosition).toMatch(/^.+-bin\.\d+:\d+$/);
  expect(manifest.howToRead).toMatch(/_cm_export/);
  expect(gl.currentState).toMatch(/read_parquet/);
  expect(page.lakeExports?.at(-1)).toMatchObject({ status: 'Completed', number: 1, rowsWritten: entry.rows });
}, 600_000);

it('--history-only exports exactly the rows the oldest year keeps out of the cloud tenant', async () => {
  const entry = await exportLake({ historyOnly: true });
  expect(entry).toMatchObject({ status: 'Completed', number: 1, kind: 'history' });
  const manifest = await readManifest(lakeRoot, f.tenant, 'history');
  const page = await getStatus(f.client, f.tenant);
  // The dated historical tables of the company with an oldest year, and nothing else.
  const historical = page.tables.filter((t) => t.keepFrom && !t.notMigratedReason).map((t) => t.key).sort();
  expect(historical.length).toBeGreaterThan(2);
  expect(historical.every((k) => k.startsWith(`${companies[0]}.`))).toBe(true);
  expect(Object.keys(manifest.tables).sort()).toEqual(historical);
  await expectLakeEqualsSource(lakeRoot, manifest);
  const migrated = await readManifest(lakeRoot, f.tenant, 'migrated');
  for (const key of historical) {
    const t = manifest.tables[key];
    const { column } = page.tables.find((p) => p.key === key)!.keepFrom!;
    expect(t.historyBefore).toEqual({ column, before: `${OLDEST_YEAR}-01-01` });
    // The two exports split the table: history before the oldest year, migrated from it on (and undated rows).
    const [[{ all }]] = await f.source.query<RowDataPacket[]>(`SELECT COUNT(*) AS \`all\` FROM ${escapeId(t.company, true)}.${escapeId(t.table, true)}`);
    expect(t.rows + migrated.tables[key].rows).toBe(Number(all));
  }
  expect(Object.values(manifest.tables).reduce((n, t) => n + t.rows, 0)).toBeGreaterThan(0);
  // A company without an oldest year has no history to export: refused, with the way out.
  await expect(exportToDataLake(f.client, f.tenant, { historyOnly: true, companies: [companies[1]] })).rejects.toThrow(/none of these companies has an oldest year/);
}, 600_000);

it('a later export writes only what changed; read back, the lake is the source as it is now', async () => {
  const before = await readManifest(lakeRoot, f.tenant, 'migrated');
  const [cronus, fabrikam] = companies;
  await f.source.query(`UPDATE ${cronus}.customer SET name = CONCAT(name, ' (changed)') ORDER BY code LIMIT 3`);
  await f.source.query(`DELETE FROM ${cronus}.odd_types WHERE a = 1 AND b = 'y'`);
  await f.source.query(`INSERT INTO ${cronus}.odd_types (a, b, amount) VALUES (3, 'z', 99999999999999999.99999999999999999999)`);
  await f.source.query(`UPDATE ${fabrikam}.item SET picture = 0xCAFE ORDER BY no LIMIT 1`);
  const [deleted] = await f.source.query<RowDataPacket[]>(`SELECT entry_no FROM ${fabrikam}.gl_entry ORDER BY entry_no LIMIT 2`);
  await f.source.query(`DELETE FROM ${fabrikam}.gl_entry WHERE entry_no IN (?)`, [deleted.map((r) => r.entry_no)]);

  const entry = await exportLake();
  expect(entry).toMatchObject({ status: 'Completed', number: 2, deletesWritten: 1 + 2 });
  const after = await readManifest(lakeRoot, f.tenant, 'migrated');
  await expectLakeEqualsSource(lakeRoot, after);
  const newFiles = (key: string) => after.tables[key].files.filter((file) => file.export === 2);
  // Written again: the tables changed (customer's trigger logs its 3 updates in change_log_entry), and the
  // tables without a primary key, which every export writes whole.
  const written = Object.keys(after.tables).filter((k) => newFiles(k).length > 0).sort();
  expect(written).toEqual([`${cronus}.change_log_entry`, `${cronus}.customer`, `${cronus}.import_buffer`, `${cronus}.odd_types`, `${fabrikam}.gl_entry`, `${fabrikam}.import_buffer`, `${fabrikam}.item`].sort());
  // change_log_entry is historical here: only the log rows dated from the oldest year on are in the migrated data.
  const [logged] = newFiles(`${cronus}.change_log_entry`);
  expect(logged).toMatchObject({ deletes: 0, rows: expect.any(Number) });
  expect(logged.rows).toBeGreaterThan(0);
  expect(newFiles(`${fabrikam}.item`)).toEqual([expect.objectContaining({ rows: 1, deletes: 0 })]);
  const keyless = after.tables[`${cronus}.import_buffer`].rows + after.tables[`${fabrikam}.import_buffer`].rows;
  expect(entry.rowsWritten).toBe(3 + logged.rows + 1 + 1 + keyless);
  expect(newFiles(`${cronus}.customer`)).toEqual([expect.objectContaining({ rows: 3, deletes: 0 })]);
  expect(newFiles(`${cronus}.odd_types`)).toEqual([expect.objectContaining({ rows: 2, deletes: 1 })]);
  expect(newFiles(`${fabrikam}.gl_entry`)).toEqual([expect.objectContaining({ rows: 2, deletes: 2 })]);
  // An unchanged table gets no new file, and keeps the ones it had.
  expect(newFiles(`${fabrikam}.customer`)).toEqual([]);
  expect(after.tables[`${fabrikam}.customer`].files).toEqual(before.tables[`${fabrikam}.customer`].files);
  expect(after.exports.map((e) => e.number)).toEqual([1, 2]);
  // Each export's own manifest stays, for a reader that wants the lake as it was.
  const second = JSON.parse(readFileSync(join(lakeRoot, lakePaths.exportManifest(f.tenant, 'migrated', 2)), 'utf8')) as LakeManifest;
  expect(Object.keys(second.tables).length).toBe(Object.keys(after.tables).length);
}, 600_000);

it('is driven from the CLI, and refuses a destination with credentials before anything is recorded', async () => {
  const env = { ...process.env, TEMPORAL_ADDRESS: process.env.CM_TEST_TEMPORAL_ADDRESS };
  // An export that started and never finished left number 3 claimed, and a table it had done: a new
  // export takes the next number, and nothing of the abandoned one reaches the manifest.
  const before = await readManifest(lakeRoot, f.tenant, 'migrated');
  await mkdir(join(lakeRoot, lakePaths.tablesDone(f.tenant, 'migrated', 3), companies[0]), { recursive: true });
  await writeFile(join(lakeRoot, lakePaths.exportClaim(f.tenant, 'migrated', 3)), JSON.stringify({ workflowId: 'an export that crashed' }));
  await writeFile(join(lakeRoot, lakePaths.tableDone(f.tenant, 'migrated', 3, companies[0], 'customer')), JSON.stringify({ ...before.tables[`${companies[0]}.customer`], rows: -1 }));
  const cli = await runCm(['lake', 'export', f.tenant, '--company', companies[1], '--json'], env);
  expect(cli.stderr).toBe('');
  // Nothing changed: only a table without a primary key is written again (whole, as each export must for it).
  const keyless = Object.values((await readManifest(lakeRoot, f.tenant, 'migrated')).tables).filter((t) => t.company === companies[1] && t.mode === 'snapshot');
  expect(keyless.map((t) => t.table)).toEqual(['import_buffer']);
  expect(JSON.parse(cli.stdout)).toMatchObject({ status: 'Completed', number: 4, kind: 'migrated', companies: [companies[1]], rowsWritten: keyless[0].rows, deletesWritten: 0 });
  const after = await readManifest(lakeRoot, f.tenant, 'migrated');
  expect(after.tables[`${companies[0]}.customer`]).toEqual(before.tables[`${companies[0]}.customer`]);
  expect(after.exports.map((e) => e.number)).toEqual([1, 2, 4]);
  expect(cli.code).toBe(0);
  const list = await runCm(['lake', 'list', f.tenant], env);
  expect(list.stdout).toMatch(/Data lake exports/);
  expect(list.stdout).toMatch(/#4 migrated\W+Completed/);

  const events = async () => (await tenantHandle(f.client, f.tenant).fetchHistory()).events?.length ?? 0;
  const length = await events();
  // Requests name a destination; a path or URI (credentials or not) is refused before anything is recorded.
  const refused = await runCm(['lake', 'export', f.tenant, '--to', 's3://AKIA:secret@lake/x'], env);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/paths and URIs are not accepted: .*CM_LAKE_<NAME>_URI/);
  await expect(exportToDataLake(f.client, f.tenant, { to: 'ftp://host/x' })).rejects.toThrow(/paths and URIs are not accepted/);
  await expect(exportToDataLake(f.client, f.tenant, { to: '/etc' })).rejects.toThrow(/paths and URIs are not accepted/);
  await expect(exportToDataLake(f.client, f.tenant, { companies: ['nope'] })).rejects.toThrow(/unknown company 'nope'/);
  expect(await events()).toBe(length); // refused in the validator: nothing in history
  // The audit trail: who asked for which export, and what it wrote.
  const audit = await buildAudit(f.client, f.tenant);
  const asked = audit.filter((e) => e.kind === 'update.exportToDataLake');
  expect(asked.map((e) => e.actor)).toEqual(['jest', 'jest', 'jest', expect.any(String)]);
  expect(audit.filter((e) => e.kind === 'lake-export.completed').map((e) => e.summary)).toEqual(expect.arrayContaining([
    expect.stringMatching(new RegExp(`^Data lake export #4 \\(migrated\\) completed to file://${lakeRoot}: \\d+ tables, \\d+ rows and 0 deletes written`)),
    expect.stringMatching(/^Data lake export #1 \(history\) completed/),
  ]));
  expect(historyText(await tenantHandle(f.client, f.tenant).fetchHistory())).not.toMatch(/secret/);
  // A name no worker knows: the export fails at once, saying which variable to set.
  const unknown = await exportLake({ to: 'cold' });
  expect(unknown).toMatchObject({ status: 'Failed', to: 'cold', failure: expect.stringMatching(/unknown data lake destination 'cold': set CM_LAKE_COLD_URI on the worker/) });
}, 600_000);

it('resumes an export whose worker was SIGKILLed: the tables finished before are not exported again', async () => {
  const started = await exportToDataLake(f.client, f.tenant, { requestedBy: 'jest', to: 'killed' });
  const markers = join(killedRoot, lakePaths.tablesDone(f.tenant, 'migrated', 1));
  const bigMarker = join(killedRoot, lakePaths.tableDone(f.tenant, 'migrated', 1, companies[1], 'big_ledger'));
  const finished = (): string[] => (existsSync(markers) ? readdirSync(markers, { recursive: true }).map(String).filter((n) => n.endsWith('.json')) : []);
  // Killed once small tables are finished and the big one is being read.
  await waitUntil('small tables exported while big_ledger is read', async () => {
    const pending = (await f.client.workflow.getHandle(started.workflowId).describe()).raw.pendingActivities ?? [];
    const reading = pending.some((a) => {
      const details = a.heartbeatDetails?.payloads?.[0];
      const d = details ? defaultPayloadConverter.fromPayload<{ table?: string; rows?: number }>(details) : undefined;
      return d?.table === `${companies[1]}.big_ledger` && (d.rows ?? 0) > 0;
    });
    return reading && finished().length >= 3;
  }, 120_000);
  const victim = workers.find((w) => w.child.exitCode === null && w.child.signalCode === null)!;
  victim.child.kill('SIGKILL');
  await victim.exited;
  expect(existsSync(bigMarker)).toBe(false);
  const before = new Map(finished().map((n) => [n, statSync(join(markers, n)).mtimeMs]));

  await startWorker();
  const entry = await waitForLakeExport(f.client, f.tenant, started);
  expect(entry).toMatchObject({ status: 'Completed', number: 1 });
  for (const [name, mtime] of before) expect({ name, mtime: statSync(join(markers, name)).mtimeMs }).toEqual({ name, mtime });
  expect(finished().length).toBeGreaterThan(before.size);
  const manifest = await readManifest(killedRoot, f.tenant, 'migrated');
  expect(manifest.tables[`${companies[1]}.big_ledger`].rows).toBe(BIG_ROWS);
  await expectLakeEqualsSource(killedRoot, manifest);
}, 600_000);

it('exports to S3-compatible storage (s3rver), the endpoint and keys the worker\'s own', async () => {
  const client = s3ClientFromEnv({ ...process.env, ...S3_ENV });
  const download = async (): Promise<string> => {
    const dir = mkdtempSync(join(tmpdir(), 'cm-s3-read-'));
    const listed = await client.send(new ListObjectsV2Command({ Bucket: 'lake', Prefix: 'cm/exports/' }));
    for (const o of listed.Contents ?? []) {
      const body = await client.send(new GetObjectCommand({ Bucket: 'lake', Key: o.Key! }));
      const to = join(dir, o.Key!.slice('cm/exports/'.length));
      await mkdir(join(to, '..'), { recursive: true });
      await writeFile(to, await body.Body!.transformToByteArray());
    }
    return dir;
  };
  const first = await exportLake({ to: 'archive', companies: [companies[0]] });
  expect(first).toMatchObject({ status: 'Completed', number: 1, destination: 's3://lake/cm/exports/' });
  await f.source.query(`UPDATE ${companies[0]}.odd_types SET small = 7.25 WHERE a = 2`);
  const second = await exportLake({ to: 'archive', companies: [companies[0]] });
  expect(second).toMatchObject({ status: 'Completed', number: 2 });
  const dir = await download();
  try {
    const manifest = await readManifest(dir, f.tenant, 'migrated');
    expect(manifest.tables[`${companies[0]}.odd_types`].files.filter((x) => x.export === 2)).toEqual([expect.objectContaining({ rows: 1, deletes: 0 })]);
    await expectLakeEqualsSource(dir, manifest);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // The histories (the tenant's and its exports') name the bucket, never the keys.
  const histories = [await tenantHandle(f.client, f.tenant).fetchHistory()];
  for (const e of (await getStatus(f.client, f.tenant)).lakeExports ?? []) histories.push(await f.client.workflow.getHandle(e.workflowId).fetchHistory());
  const text = histories.map(historyText).join('\n');
  expect(text).toMatch(/s3:\/\/lake\/cm\/exports/);
  expect(text).not.toMatch(/S3RVER/);
}, 600_000);

it('starts a table\'s files over when the digests it would be compared with are gone', async () => {
  const key = `${companies[0]}.odd_types`;
  const before = await readManifest(lakeRoot, f.tenant, 'migrated');
  rmSync(join(lakeRoot, before.tables[key].statePath!));
  await f.source.query(`DELETE FROM ${companies[0]}.odd_types WHERE a = 3`); // a row the older files still hold
  const entry = await exportLake({ companies: [companies[0]] });
  expect(entry.status).toBe('Completed');
  const after = await readManifest(lakeRoot, f.tenant, 'migrated');
  expect(after.tables[key].files.map((file) => file.export)).toEqual([entry.number]);
  await expectLakeEqualsSource(lakeRoot, after);
}, 600_000);

it('starts a table\'s files over when its columns changed (a rename keeps every value, so no digest would)', async () => {
  const key = `${companies[0]}.odd_types`;
  await f.source.query(`ALTER TABLE ${companies[0]}.odd_types CHANGE small small_renamed DECIMAL(9,3) NULL`);
  const entry = await exportLake({ companies: [companies[0]] });
  expect(entry.status).toBe('Completed');
  const after = await readManifest(lakeRoot, f.tenant, 'migrated');
  expect(after.tables[key].columns.map((c) => c.name)).toContain('small_renamed');
  expect(after.tables[key].files.map((file) => file.export)).toEqual([entry.number]);
  await expectLakeEqualsSource(lakeRoot, after);
}, 600_000);

it('takes a table gone from the source out of the lake\'s current state, and says so', async () => {
  const gone = `${companies[0]}.short_lived`;
  const run = async () => expect((await waitForRun(f.client, f.tenant, await runMigrationNow(f.client, f.tenant, { requestedBy: 'jest' }))).status).toBe('Completed');
  // The tables the lake holds: the migrated ones (not those left to be set up online).
  const tenantTables = async () => (await getStatus(f.client, f.tenant)).tables.filter((t) => !t.notMigratedReason).map((t) => t.key).filter((k) => k.startsWith(`${companies[0]}.`)).sort();
  const lakeTables = (m: LakeManifest) => Object.keys(m.tables).filter((k) => k.startsWith(`${companies[0]}.`)).sort();
  await f.source.query(`CREATE TABLE ${gone} (id INT PRIMARY KEY, v VARCHAR(10) NULL)`);
  await f.source.query(`INSERT INTO ${gone} VALUES (1, 'a'), (2, NULL)`);
  await run();
  expect(await exportLake({ companies: [companies[0]] })).toMatchObject({ status: 'Completed' });
  expect(lakeTables(await readManifest(lakeRoot, f.tenant, 'migrated'))).toContain(gone);

  await f.source.query(`DROP TABLE ${gone}`);
  await run(); // the tenant follows: the table is dropped on the target and leaves the tenant's tables
  expect(await tenantTables()).not.toContain(gone);
  const entry = await exportLake({ companies: [companies[0]] });
  expect(entry.status).toBe('Completed');
  const after = await readManifest(lakeRoot, f.tenant, 'migrated');
  expect(lakeTables(after)).toEqual(await tenantTables());
  expect(after.exports.find((e) => e.number === entry.number)).toMatchObject({ tablesRemoved: [gone] });
  await expectLakeEqualsSource(lakeRoot, after);
  // The other company, not exported this time, keeps its tables.
  expect(Object.keys(after.tables).some((k) => k.startsWith(`${companies[1]}.`))).toBe(true);
}, 600_000);

it('a zero date in a key is one key, export after export: nothing written again, nothing deleted', async () => {
  const table = `${companies[0]}.zero_key`;
  const lax = await f.source.getConnection();
  try {
    await lax.query("SET SESSION sql_mode = ''");
    await lax.query(`CREATE TABLE ${table} (d DATE NOT NULL, n INT NOT NULL, v VARCHAR(10) NULL, PRIMARY KEY (d, n))`);
    await lax.query(`INSERT INTO ${table} VALUES ('0000-00-00', 1, 'zero'), ('2024-01-31', 1, 'day')`);
  } finally {
    lax.release();
  }
  // The run takes the table in (the target refuses its zero date, so the run reports that row); the lake reads the source.
  await waitForRun(f.client, f.tenant, await runMigrationNow(f.client, f.tenant, { requestedBy: 'jest' }));
  const tables = (await getStatus(f.client, f.tenant)).tables;
  expect(tables.map((x) => x.key)).toContain(table);
  // The zero date reached the target's change log through the binary log: it fails its own table at
  // most, never the run's other tables (it once failed the whole batch, after 20 attempts).
  expect(tables.filter((x) => x.status === 'Failed' && x.key !== table).map((x) => `${x.key}: ${x.errorMessage}`)).toEqual([]);
  const first = await exportLake({ companies: [companies[0]] });
  expect(first.status).toBe('Completed');
  const second = await exportLake({ companies: [companies[0]] });
  expect(second.status).toBe('Completed');
  const t = (await readManifest(lakeRoot, f.tenant, 'migrated')).tables[table];
  expect(t.notes).toEqual([expect.stringMatching(/^d: 1 zero or invalid dates exported as null/)]);
  expect(writtenBy(t, second.number!)).toEqual({ rows: 0, deletes: 0 });
  expect((await lakeRows(lakeRoot, t)).rows).toEqual(await sourceRows(f.source, companies[0], 'zero_key'));
  // Another invalid date beside it, the rest of the key the same: one row in the lake for two: refused, named.
  const lax2 = await f.source.getConnection();
  try {
    await lax2.query("SET SESSION sql_mode = ''");
    await lax2.query(`INSERT INTO ${table} VALUES ('2024-00-00', 1, 'no month')`);
  } finally {
    lax2.release();
  }
  const refused = await exportLake({ companies: [companies[0]] });
  expect(refused).toMatchObject({ status: 'Failed', failure: expect.stringContaining(`${table}: 1 keys (d, n) stand for several source rows that differ only in zero or invalid dates`) });
}, 600_000);
