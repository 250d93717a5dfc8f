// Issue 12: the runtime service key belongs to the runtime, not to one host. Three `cm worker`
// processes, each with its own key folder and runtime name, hold the key the operator installed
// there. Setup registers that key (it makes none of its own), every host runs activities and no
// table fails. A reset writes a new key on one host; the old key stays valid, so a run started right
// then goes on on every host; the rollout says which hosts still present the old key and refuses to
// finish until each has the new one. Once it is finished, the old key is refused.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import {
  createTenant, getStatus, resetRuntimeServiceKey, runMigrationNow, runtimeKeyInfo, runtimeKeyRollout, waitForRun,
} from '../../client/operations';
import { checkRuntimeKey, keyId, newKey, RuntimeKeyFiles } from '../../activities/runtime-key';
import {
  endProcessTest, ensureBuilt, expectSameTable, spawnWorkerProcess, testClient, testPool, uniqueName, waitForWorkerProcess, type WorkerProcess,
} from '../helpers';

const TABLES = 24;
const src = uniqueName('hosts_src');
const tenant = uniqueName('hosts');
const dst = `${tenant}_${src}`;
const taskQueue = uniqueName('tq_hosts');
const HOSTS = ['host-a', 'host-b', 'host-c'];
const dirs = HOSTS.map((h) => mkdtempSync(join(tmpdir(), `cm-keys-${h}-`)));
const files = dirs.map((dir, i) => new RuntimeKeyFiles({ CM_RUNTIME_KEY_DIR: dir, CM_RUNTIME_NAME: HOSTS[i] }));
const workers: WorkerProcess[] = [];
let pool: Pool;
let client: Client;

async function runAndExpectClean(reason: string): Promise<void> {
  const entry = await waitForRun(client, tenant, await runMigrationNow(client, tenant, { requestedBy: 'jest', reason }));
  const tables = (await getStatus(client, tenant)).tables;
  const failed = tables.filter((t) => t.status === 'Failed');
  expect({ reason, status: entry.status, failed: failed.map((t) => `${t.key}: ${t.errorMessage}`) }).toEqual({ reason, status: 'Completed', failed: [] });
  for (let i = 0; i < TABLES; i++) await expectSameTable(pool, [src, `t${i}`], [dst, `t${i}`]);
}

/** Runs until every host has presented `id` (each run spreads its activities over the hosts), at most five runs. */
async function untilEveryHostPresents(id: string, reason: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const { hosts } = await runtimeKeyRollout(client, tenant, { requestedBy: 'jest' });
    if (HOSTS.every((h) => hosts.some((x) => x.name === h && x.keyId === id && x.verdict !== 'rejected'))) return;
    await runAndExpectClean(`${reason} (${i + 1})`);
  }
  throw new Error(`not every host presented key ${id}: ${JSON.stringify((await runtimeKeyRollout(client, tenant, {})).hosts)}`);
}

beforeAll(async () => {
  ensureBuilt();
  pool = testPool();
  await pool.query(`CREATE SCHEMA ${src}`);
  for (let i = 0; i < TABLES; i++) {
    await pool.query(`CREATE TABLE ${src}.t${i} (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)`);
    await pool.query(`INSERT INTO ${src}.t${i} VALUES (1, 'one'), (2, 'two'), (${i + 3}, 'more')`);
  }
  client = await testClient();
  // The operator's key, installed on every host (`cm key install`).
  const key = newKey();
  for (const f of files) f.write(tenant, key);
  for (let i = 0; i < HOSTS.length; i++) {
    workers.push(spawnWorkerProcess(taskQueue, { env: { CM_RUNTIME_KEY_DIR: dirs[i], CM_RUNTIME_NAME: HOSTS[i], CM_MAX_ACTIVITIES: '2' } }));
  }
  await Promise.all(workers.map((w) => waitForWorkerProcess(w)));
});

afterAll(async () => {
  await endProcessTest({ client, pool, tenant, workers, source: src, schemas: [src, dst] });
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

it('three hosts with their own key folders set up and run a tenant, and go through a key rotation without a failed table', async () => {
  try {
    const installed = files[0].read(tenant)!;
    const { status } = await createTenant(client, taskQueue, { tenant, companies: [{ source: src }], copy: { smallBatchTables: 2, concurrency: 6 } });
    expect(status.status).toBe('Ready');
    // Setup registered the installed key, whichever host ran it: no host got a key of its own.
    expect((await runtimeKeyInfo(client, tenant))?.keyId).toBe(keyId(installed));
    for (const f of files) expect(f.read(tenant)).toBe(installed);
    await runAndExpectClean('first');
    await untilEveryHostPresents(keyId(installed)!, 'every host at work');

    // Rotation: the new key is written on the host that ran the reset; the old one stays valid.
    const rotated = await resetRuntimeServiceKey(client, tenant, { requestedBy: 'jest', reason: 'yearly rotation' });
    expect(rotated.previous).toMatchObject({ keyId: keyId(installed) });
    const holder = files.findIndex((f) => f.read(tenant) !== installed);
    expect(HOSTS[holder]).toBe(rotated.deliveredTo);
    const fresh = files[holder].read(tenant)!;
    expect(keyId(fresh)).toBe(rotated.keyId);
    for (let i = 0; i < TABLES; i++) await pool.query(`UPDATE ${src}.t${i} SET v = 'after reset' WHERE id = 1`);
    await runAndExpectClean('during the rollout'); // hosts on the old key go on

    const during = await runtimeKeyRollout(client, tenant, { requestedBy: 'jest' });
    const behind = during.hosts.filter((h) => h.keyId === keyId(installed)).map((h) => h.name);
    expect(behind.length).toBeGreaterThanOrEqual(1);
    expect(behind).not.toContain(HOSTS[holder]);
    expect(during.hosts.every((h) => h.verdict !== 'rejected')).toBe(true);
    await expect(runtimeKeyRollout(client, tenant, { requestedBy: 'jest', finish: true })).rejects.toThrow(
      new RegExp(`the rollout of key ${rotated.keyId} is not finished: .*${behind[0]}.* still presents? the previous key ${keyId(installed)}`),
    );

    // The operator installs the new key on the other hosts (`cm key get` there, `cm key install` here).
    for (const f of files) writeFileSync(f.path(tenant), `${fresh}\n`, { mode: 0o600 });
    for (let i = 0; i < TABLES; i++) await pool.query(`UPDATE ${src}.t${i} SET v = 'new key' WHERE id = 2`);
    await runAndExpectClean('all hosts on the new key');
    await untilEveryHostPresents(rotated.keyId, 'every host on the new key');
    const finished = await runtimeKeyRollout(client, tenant, { requestedBy: 'jest', finish: true });
    expect(finished.finished).toBe(true);
    expect(finished.key.previous).toBeUndefined();

    // The old key is refused from now on.
    const old = new RuntimeKeyFiles({ CM_RUNTIME_KEY: installed, CM_RUNTIME_NAME: 'host-old' });
    await expect(checkRuntimeKey(pool, old, tenant)).rejects.toThrow(`runtime service key rejected: this runtime (host-old) presents key ${keyId(installed)}`);
    expect(readFileSync(files[0].path(tenant), 'utf8').trim()).toBe(fresh);
  } catch (err) {
    console.error(workers.map((w) => w.output()).join('\n---\n'));
    throw err;
  }
});
