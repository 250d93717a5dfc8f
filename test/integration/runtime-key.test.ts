// Get / Reset Runtime Service Key: setup issues a key to the runtime that ran it; every tenant
// activity checks it; after a reset, a runtime still holding the old key is refused with a clear,
// non-retryable error, and so is the run it was serving. Only the key's hash is stored.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { createTenant, getStatus, resetRuntimeServiceKey, runMigrationNow, runtimeKeyInfo, waitForRun } from '../../client/operations';
import { checkRuntimeKey, ensureRuntimeKey, keyId, newKey, RuntimeKeyFiles } from '../../activities/runtime-key';
import { tenantFixture } from '../fixture';
import { count, dropTenantState, expectSameTable, testWorker } from '../helpers';
import type { WorkerHandle } from '../../worker/main';

const dirA = mkdtempSync(join(tmpdir(), 'cm-keys-a-'));
const dirB = mkdtempSync(join(tmpdir(), 'cm-keys-b-'));
const runtimeA = new RuntimeKeyFiles({ CM_RUNTIME_KEY_DIR: dirA });
const runtimeB = new RuntimeKeyFiles({ CM_RUNTIME_KEY_DIR: dirB });
let extra: WorkerHandle | undefined;

const f = tenantFixture('rtkey', {
  worker: false,
  cleanup: async () => {
    await extra?.stop();
    rmSync(dirA, { recursive: true, force: true });
    rmSync(dirB, { recursive: true, force: true });
  },
});
const { src, tenant, dst } = f;

beforeAll(async () => {
  await f.pool.query(`CREATE SCHEMA ${src}`);
  await f.pool.query(`CREATE TABLE ${src}.item (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)`);
  await f.pool.query(`INSERT INTO ${src}.item VALUES (1, 'one'), (2, 'two')`);
});

it('setup issues a key to its runtime; only a salted hash is stored; the page shows its id', async () => {
  extra = await testWorker(f.taskQueue, { runtimeKeys: runtimeA });
  await createTenant(f.client, f.taskQueue, { tenant, companies: [{ source: src }] });
  const key = runtimeA.read(tenant)!;
  expect(key).toMatch(/^cmk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
  const info = await runtimeKeyInfo(f.client, tenant);
  expect(info).toMatchObject({ keyId: keyId(key), issuedBy: 'setup' });
  expect((await getStatus(f.client, tenant)).runtimeKey?.keyId).toBe(keyId(key));

  const [rows] = await f.pool.query<RowDataPacket[]>('SELECT HEX(key_hash) AS h, HEX(salt) AS s FROM cm_control.runtime_key WHERE tenant = ?', [tenant]);
  expect(rows).toHaveLength(1);
  expect(rows[0].h).toHaveLength(64);
  const [plain] = await f.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM cm_control.runtime_key WHERE INSTR(CONCAT_WS(\'|\', key_id, salt, key_hash, issued_by), ?) > 0', [key.slice(13)]);
  expect(Number(plain[0].n)).toBe(0);

  expect((await waitForRun(f.client, tenant, await runMigrationNow(f.client, tenant, { requestedBy: 'jest' }))).status).toBe('Completed');
  await expectSameTable(f.pool, [src, 'item'], [dst, 'item']);
});

it('after a reset that revokes the old key, a runtime holding it is refused, non-retryably, and so is its run; the new key works', async () => {
  // Runtime B is a copy of A from before the reset.
  copyFileSync(runtimeA.path(tenant), runtimeB.path(tenant));
  const oldKey = runtimeB.read(tenant)!;

  // A leaked key: shut out at once (graceHours 0), not after the default grace period.
  const info = await resetRuntimeServiceKey(f.client, tenant, { requestedBy: 'jest', reason: 'key leaked', graceHours: 0 });
  expect(info.previous).toBeUndefined();
  const newKey = runtimeA.read(tenant)!;
  expect(newKey).not.toBe(oldKey);
  expect(info).toMatchObject({ keyId: keyId(newKey), issuedBy: 'jest' });
  expect(readFileSync(runtimeA.path(tenant), 'utf8').trim()).toBe(newKey);

  await extra!.stop();
  extra = await testWorker(f.taskQueue, { runtimeKeys: runtimeB });
  await f.pool.query(`INSERT INTO ${src}.item VALUES (3, 'three')`);
  const started = Date.now();
  const refused = await waitForRun(f.client, tenant, await runMigrationNow(f.client, tenant, { requestedBy: 'jest' }));
  expect(refused.status).toBe('Failed');
  expect(Date.now() - started).toBeLessThan(20_000); // non-retryable: no backoff of 20 attempts
  // The refused runtime could not even read the run's tables: the run says why, and no row was touched.
  expect(refused.failure).toContain(`runtime service key rejected: this runtime (`);
  expect(refused.failure).toContain(`presents key ${keyId(oldKey)} for tenant ${tenant}, but the tenant's key is ${keyId(newKey)}`);
  expect(refused.failure).toContain(`by jest`);
  expect(refused.failure).not.toContain(oldKey.slice(13));
  expect(await count(f.pool, dst, 'item')).toBe(2); // nothing was written by the refused runtime
  // Not even read: the tables' rows are read by a runtime holding the key.
  await expect(getStatus(f.client, tenant)).rejects.toThrow(/runtime service key rejected/);

  await extra.stop();
  extra = await testWorker(f.taskQueue, { runtimeKeys: runtimeA });
  const item = (await getStatus(f.client, tenant)).tables.find((t) => t.table === 'item')!;
  expect(item.status).toBe('Successful');
  expect(item.errorMessage).toBeUndefined();
  expect((await waitForRun(f.client, tenant, await runMigrationNow(f.client, tenant, { requestedBy: 'jest' }))).status).toBe('Completed');
  await expectSameTable(f.pool, [src, 'item'], [dst, 'item']);
});

it('a key reset with an unknown field is refused by its validator, with the reason', async () => {
  await expect(resetRuntimeServiceKey(f.client, tenant, { requestedBy: 'jest', confirm: true } as never)).rejects.toThrow(
    /key reset refused: invalid request: input: Unrecognized key: "confirm"/,
  );
});

it('a runtime with CM_RUNTIME_KEY registers that key at setup (it could use no other), and still passes its own check', async () => {
  const fixed = newKey();
  const files = new RuntimeKeyFiles({ CM_RUNTIME_KEY: fixed, CM_RUNTIME_KEY_DIR: dirB });
  const envTenant = `${tenant}_env`;
  try {
    const info = await ensureRuntimeKey(f.pool, files, envTenant);
    expect(info.keyId).toBe(keyId(fixed));
    await expect(checkRuntimeKey(f.pool, files, envTenant)).resolves.toBeUndefined();
    await expect(checkRuntimeKey(f.pool, new RuntimeKeyFiles({ CM_RUNTIME_KEY: newKey() }), envTenant)).rejects.toThrow(/runtime service key rejected/);
    await expect(ensureRuntimeKey(f.pool, new RuntimeKeyFiles({ CM_RUNTIME_KEY: 'not-a-key' }), `${envTenant}2`)).rejects.toThrow(
      'CM_RUNTIME_KEY on this runtime is not a cm runtime key',
    );
  } finally {
    await dropTenantState(f.pool, envTenant);
  }
});
