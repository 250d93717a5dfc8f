// Contract items 2 and 4 at the level Temporal retries them: raising the fence, taking the restore
// point and restoring may each run twice (or stop half-way and run again) and must still put back
// exactly the prior state: an account locked before stays locked, triggers and rows come back.
import { randomBytes } from 'node:crypto';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { raiseFence, releaseFence } from '../../activities/fence';
import { createRestorePoint, parkingSchema, restoreToPoint } from '../../activities/restore-point';
import { ensureControlSchema, writeEnvironmentState } from '../../activities/target-schema';
import { tableDigest } from '../../activities/verify';
import { dropSchemas, testPool, uniqueName } from '../helpers';

const tenant = uniqueName('retry');
const schema = uniqueName('retry_tgt');
const openUser = uniqueName('app_open');
const lockedUser = uniqueName('app_locked');
let pool: Pool;

const isLocked = async (user: string): Promise<boolean> => {
  const [rows] = await pool.query<RowDataPacket[]>('SHOW CREATE USER ?@?', [user, '%']);
  return /\bACCOUNT LOCK\b/.test(String(Object.values(rows[0])[0]));
};

async function snapshot(): Promise<Record<string, string>> {
  const [tables] = await pool.query<RowDataPacket[]>("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1", [schema]);
  const out: Record<string, string> = {};
  for (const { t } of tables) out[t] = await tableDigest(pool, schema, t);
  const [triggers] = await pool.query<RowDataPacket[]>('SELECT TRIGGER_NAME AS n, EVENT_OBJECT_TABLE AS t FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY 1', [schema]);
  out['(triggers)'] = triggers.map((r) => `${r.n} on ${r.t}`).join(',');
  const [auto] = await pool.query<RowDataPacket[]>('SELECT AUTO_INCREMENT AS a FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [schema, 'header']);
  out['(auto_increment)'] = String(auto[0].a);
  return out;
}

beforeAll(async () => {
  pool = testPool();
  await ensureControlSchema(pool);
  await writeEnvironmentState(pool, tenant, 'Active', 'jest');
  await pool.query(`CREATE SCHEMA ${schema}`);
  await pool.query(`CREATE TABLE ${schema}.header (id INT AUTO_INCREMENT PRIMARY KEY, amount DECIMAL(10,2) NOT NULL, doubled DECIMAL(12,2) AS (amount * 2) STORED)`);
  await pool.query(`CREATE TABLE ${schema}.line (header_id INT NOT NULL, no INT NOT NULL, PRIMARY KEY (header_id, no), CONSTRAINT fk_line FOREIGN KEY (header_id) REFERENCES header (id))`);
  await pool.query(`CREATE TABLE ${schema}.audit (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(50) NOT NULL)`);
  await pool.query(`CREATE TRIGGER ${schema}.header_audit AFTER UPDATE ON ${schema}.header FOR EACH ROW INSERT INTO ${schema}.audit (note) VALUES (CONCAT('header ', NEW.id))`);
  await pool.query(`INSERT INTO ${schema}.header (amount) VALUES ?`, [Array.from({ length: 50 }, (_, i) => [`${i}.25`])]);
  await pool.query(`DELETE FROM ${schema}.header WHERE id > 45`); // the counter is ahead of the rows
  await pool.query(`INSERT INTO ${schema}.line VALUES ?`, [Array.from({ length: 90 }, (_, i) => [1 + (i % 45), i])]);
  for (const user of [openUser, lockedUser]) await pool.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', randomBytes(9).toString('hex')]);
  await pool.query('ALTER USER ?@? ACCOUNT LOCK', [lockedUser, '%']); // locked before any upgrade
});

afterAll(async () => {
  await releaseFence(pool, tenant, 'upgrade-x').catch(() => undefined); // a failed expectation must not leave accounts locked
  for (const user of [openUser, lockedUser]) await pool.query('DROP USER IF EXISTS ?@?', [user, '%']);
  await pool.query('DELETE FROM cm_control.environment WHERE tenant = ?', [tenant]);
  await dropSchemas(pool, schema, parkingSchema(tenant, schema));
  await pool.end();
});

it('a fence raised twice and released twice puts back exactly the prior state', async () => {
  const input = { tenant, holder: 'upgrade-x', schemas: [schema], appUsers: [openUser, lockedUser] };
  const first = await raiseFence(pool, input, () => undefined);
  const again = await raiseFence(pool, input, () => undefined); // the retry of a raise that died after finishing
  expect(await isLocked(openUser)).toBe(true);
  // The fence also locks the machine's other accounts that can write; this test looks at its own.
  const own = (accounts: string[]): string[] => accounts.filter((a) => a.includes(openUser) || a.includes(lockedUser));
  expect(own(first.lockedAccounts)).toEqual([`'${openUser}'@'%'`]);
  expect(own(again.lockedAccounts)).toEqual([`'${openUser}'@'%'`]); // still known as "unlocked before"
  expect(own(again.alreadyLockedAccounts)).toEqual([`'${lockedUser}'@'%'`]);
  const [raised] = await pool.query<RowDataPacket[]>('SELECT state FROM cm_control.environment WHERE tenant = ?', [tenant]);
  expect(raised[0].state).toBe('Update'); // what the tenant's applications read while the fence is up

  const released = await releaseFence(pool, tenant, 'upgrade-x');
  await releaseFence(pool, tenant, 'upgrade-x');
  expect(own(released.unlockedAccounts)).toEqual([`'${openUser}'@'%'`]);
  expect(await isLocked(openUser)).toBe(false);
  expect(await isLocked(lockedUser)).toBe(true); // locked before, locked after
  const [env] = await pool.query<RowDataPacket[]>('SELECT state FROM cm_control.environment WHERE tenant = ?', [tenant]);
  expect(env[0].state).toBe('Active');
});

it('a restore point taken twice, after a half-done first attempt, restores exactly, even when the restore runs twice', async () => {
  const before = await snapshot();
  // The first attempt died after parking one table (RENAME done, copy not yet made).
  await pool.query(`CREATE SCHEMA ${parkingSchema(tenant, schema)}`);
  await pool.query(`DROP TRIGGER ${schema}.header_audit`);
  await pool.query(`INSERT INTO cm_control.restore_point_trigger (tenant, schema_name, trigger_name, table_name, create_sql)
    VALUES (?, ?, 'header_audit', 'header', ?)`, [tenant, schema, `CREATE TRIGGER header_audit AFTER UPDATE ON header FOR EACH ROW INSERT INTO audit (note) VALUES (CONCAT('header ', NEW.id))`]);
  await pool.query(`RENAME TABLE ${schema}.header TO ${parkingSchema(tenant, schema)}.header`);

  await createRestorePoint(pool, { tenant, schemas: [schema] }, () => undefined);
  const point = await createRestorePoint(pool, { tenant, schemas: [schema] }, () => undefined); // and once more
  expect(point.schemas[0].tables.map((t) => t.name)).toEqual(['audit', 'header', 'line']);
  expect(await snapshot()).toEqual(before); // the working copies equal the originals

  // What a failed upgrade leaves: changed rows, a changed definition, a table of its own.
  await pool.query(`UPDATE ${schema}.header SET amount = amount + 1`);
  await pool.query(`ALTER TABLE ${schema}.line ADD COLUMN extra INT NULL`);
  await pool.query(`CREATE TABLE ${schema}.new_in_upgrade (id INT PRIMARY KEY)`);

  const restored = await restoreToPoint(pool, { tenant, schemas: [schema], point }, () => undefined);
  expect(restored).toMatchObject({ swapped: 3, discarded: 4, verified: 3 });
  const again = await restoreToPoint(pool, { tenant, schemas: [schema], point }, () => undefined);
  expect(again).toMatchObject({ swapped: 0, discarded: 0, verified: 3 });
  expect(await snapshot()).toEqual(before);

  // The restored trigger works on the restored table.
  await pool.query(`UPDATE ${schema}.header SET amount = 1 WHERE id = 1`);
  const [audit] = await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${schema}.audit WHERE note = 'header 1'`);
  expect(Number(audit[0].n)).toBeGreaterThan(0);
});

it('a restore whose upgrade no longer holds the fence (it completed, then was stopped while dropping its point) drops the point and restores nothing', async () => {
  await raiseFence(pool, { tenant, holder: 'upgrade-y', schemas: [schema], appUsers: [], exemptAccounts: ['mysql'] }, () => undefined);
  await createRestorePoint(pool, { tenant, schemas: [schema] }, () => undefined);
  await pool.query(`UPDATE ${schema}.header SET amount = amount + 100`); // the upgrade's work
  await releaseFence(pool, tenant, 'upgrade-y');
  await pool.query(`INSERT INTO ${schema}.audit (note) VALUES ('written after the release')`); // the applications' work
  const after = await snapshot();

  const outcome = await restoreToPoint(pool, { tenant, schemas: [schema], holder: 'upgrade-y' }, () => undefined);
  expect(outcome).toMatchObject({ fenceReleased: true, swapped: 0 });
  expect(await snapshot()).toEqual(after);
  const [parked] = await pool.query<RowDataPacket[]>('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [parkingSchema(tenant, schema)]);
  expect(parked).toHaveLength(0); // and the next restore point starts clean
});

it("a restore by an upgrade that never got the fence (another upgrade holds it) leaves the holder's restore point alone", async () => {
  await raiseFence(pool, { tenant, holder: 'upgrade-a', schemas: [schema], appUsers: [], exemptAccounts: ['mysql'] }, () => undefined);
  try {
    const point = await createRestorePoint(pool, { tenant, schemas: [schema] }, () => undefined);
    const before = await snapshot();
    // Upgrade b's raiseFence failed (the fence is upgrade a's): its compensation runs restoreToPoint.
    await expect(raiseFence(pool, { tenant, holder: 'upgrade-b', schemas: [schema], appUsers: [], exemptAccounts: ['mysql'] }, () => undefined)).rejects.toThrow(/held by upgrade-a/);
    const outcome = await restoreToPoint(pool, { tenant, schemas: [schema], holder: 'upgrade-b' }, () => undefined);
    expect(outcome).toMatchObject({ swapped: 0, discarded: 0 });
    const [parked] = await pool.query<RowDataPacket[]>('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [parkingSchema(tenant, schema)]);
    expect(parked).toHaveLength(1); // upgrade a can still restore
    await pool.query(`UPDATE ${schema}.header SET amount = amount + 7`); // upgrade a's work, then its failure
    const restored = await restoreToPoint(pool, { tenant, schemas: [schema], point, holder: 'upgrade-a' }, () => undefined);
    expect(restored.swapped).toBeGreaterThan(0);
    expect(await snapshot()).toEqual(before);
  } finally {
    await releaseFence(pool, tenant, 'upgrade-a');
  }
});
