// Silent divergences (issue 9): each case ended with a run `Completed`, its tables `Successful`, and
// a target that differs from its source. Equality is measured by content (CHECKSUM TABLE and a
// digest that reads FLOAT exactly), never by cm's own counts.
import { createTenant, disableCloudMigration, getStatus, runMigrationNow, waitForRun } from '../../client/operations';
import { CONTROL_SCHEMA } from '../../lib/constants';
import { dropSchemas, expectSameTable } from '../helpers';
import { tenantFixture } from '../fixture';

const f = tenantFixture('exact', { cleanup: async (fx) => dropSchemas(fx.pool, `${fx.dst}_foreign`, `${fx.dst}_upgraded`) });
const { src, tenant, dst } = f;

const run = async (reason: string) => {
  const started = await runMigrationNow(f.client, tenant, { requestedBy: 'jest', reason });
  return waitForRun(f.client, tenant, started);
};
const tableRow = async (table: string) => (await getStatus(f.client, tenant)).tables.find((t) => t.table === table)!;
const same = (table: string) => expectSameTable(f.pool, [src, table], [dst, table]);

beforeAll(async () => {
  await f.pool.query(`CREATE SCHEMA ${src}`);
  const c = await f.pool.getConnection();
  await c.query("SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'"); // a source that holds a row with key 0
  await c.query(`CREATE TABLE ${src}.zero_key (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20) NOT NULL)`);
  await c.query(`INSERT INTO ${src}.zero_key VALUES (0, 'zero'), (1, 'one'), (2, 'two')`);
  c.release();
  await f.pool.query(`CREATE TABLE ${src}.float_key (k FLOAT PRIMARY KEY, v VARCHAR(20) NOT NULL, w FLOAT NULL)`);
  await f.pool.query(`INSERT INTO ${src}.float_key VALUES (1.1, 'a', 1.00000012), (1.00000012, 'b', 16777217), (16777216, 'c', 0.1), (2.5, 'd', NULL)`);
  await f.pool.query(`CREATE TABLE ${src}.double_key (k DOUBLE PRIMARY KEY, v VARCHAR(20) NOT NULL)`);
  await f.pool.query(`INSERT INTO ${src}.double_key VALUES (0.1e0 + 0.2e0, 'a'), (1e0 / 3e0, 'b'), (2.5e0, 'c')`);
  // Doubles with 16–17 significant digits: mysql2's own text-to-number parse is off by one ulp for
  // about 3% of them (9.547008480454803 read as 9.547008480454805), in values and in keys.
  await f.pool.query(`CREATE TABLE ${src}.random_doubles (k DOUBLE PRIMARY KEY, r DOUBLE NOT NULL, f FLOAT NOT NULL)`);
  await f.pool.query(`INSERT IGNORE INTO ${src}.random_doubles SELECT RAND() * 10, RAND() * 10, RAND() * 10 FROM information_schema.COLUMNS LIMIT 2000`);
  await f.pool.query(`CREATE TABLE ${src}.ledger (id INT PRIMARY KEY, amount DECIMAL(12,2) NOT NULL, at DATETIME(3) NOT NULL)`);
  await f.pool.query(`INSERT INTO ${src}.ledger VALUES (1, 10.25, '2024-01-01 10:00:00.125'), (2, 20.50, '2024-01-02 10:00:00.250')`);
  await f.pool.query(`CREATE TABLE ${src}.kept (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)`);
  await f.pool.query(`INSERT INTO ${src}.kept VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')`);

  const { status } = await createTenant(f.client, f.taskQueue, { tenant, companies: [{ source: src }], copy: { heartbeatTimeoutSeconds: 5 } });
  expect(status.status).toBe('Ready');
});

it('copies a row whose AUTO_INCREMENT key is 0 as key 0, and follows its changes', async () => {
  await run('full copy');
  await same('zero_key');
  await f.pool.query(`UPDATE ${src}.zero_key SET v = 'zero again' WHERE id = 0`);
  await run('changes');
  await same('zero_key');
  await f.pool.query(`DELETE FROM ${src}.zero_key WHERE id = 0`);
  await run('delete');
  await same('zero_key');
});

it('FLOAT and DOUBLE keys and values arrive exactly, and their updates and deletes are applied', async () => {
  await same('float_key');
  await same('double_key');
  await f.pool.query(`UPDATE ${src}.float_key SET v = CONCAT(v, '!'), w = 3.00000024 WHERE k IN (SELECT k FROM (SELECT k FROM ${src}.float_key WHERE v IN ('a', 'b')) x)`);
  await f.pool.query(`DELETE FROM ${src}.float_key WHERE v = 'c'`);
  await f.pool.query(`UPDATE ${src}.double_key SET v = 'a2' WHERE v = 'a'`);
  await f.pool.query(`DELETE FROM ${src}.double_key WHERE v = 'b'`);
  const entry = await run('float changes');
  expect(entry.status).toBe('Completed');
  await same('float_key');
  await same('double_key');
});

it('random DOUBLE keys and values arrive bit for bit, through the full copy and through changes', async () => {
  await same('random_doubles');
  await f.pool.query(`UPDATE ${src}.random_doubles SET r = RAND() * 10, f = RAND() * 10 ORDER BY k LIMIT 500`);
  await f.pool.query(`DELETE FROM ${src}.random_doubles ORDER BY k DESC LIMIT 300`);
  expect((await run('random doubles changed')).status).toBe('Completed');
  await same('random_doubles');
});

it('a column the source widened is followed before any value arrives: nothing rounded or cut', async () => {
  // The source widens two columns after the target was created (schema drift). Before issue 10 the
  // run rejected the values a DECIMAL(12,2) or DATETIME(3) would change; now it widens the target first.
  await f.pool.query(`ALTER TABLE ${src}.ledger MODIFY amount DECIMAL(14,4) NOT NULL, MODIFY at DATETIME(6) NOT NULL`);
  await f.pool.query(`UPDATE ${src}.ledger SET amount = 11.2549 WHERE id = 1`); // a DECIMAL(12,2) would round it: only a note
  await f.pool.query(`UPDATE ${src}.ledger SET at = '2024-01-05 10:00:00.250999' WHERE id = 2`); // a DATETIME(3) would cut it: not even a note
  await f.pool.query(`INSERT INTO ${src}.ledger VALUES (3, 5.5000, '2024-01-03 00:00:00.500000')`);
  await run('drift');
  const row = await tableRow('ledger');
  expect(row).toMatchObject({ errors: 0, schemaChange: expect.stringMatching(/column amount decimal\(12,2\) → decimal\(14,4\).*applied to the target table in place/) });
  await same('ledger');
  const [rows] = await f.pool.query(`SELECT id, CAST(amount AS CHAR) AS a, CAST(at AS CHAR) AS t FROM ${dst}.ledger WHERE id <= 3 ORDER BY id`);
  const got = rows as { id: number; a: string; t: string }[];
  expect(got.find((r) => r.id === 1)!.a).toBe('11.2549');
  expect(got.find((r) => r.id === 2)!.t).toBe('2024-01-05 10:00:00.250999');
});

it('a full load into a target table that has rows leaves exactly the source rows', async () => {
  await disableCloudMigration(f.client, tenant, { requestedBy: 'jest', reason: 'set up again', skipFinalRun: true, skipVerification: true });
  await f.pool.query(`DELETE FROM ${src}.kept WHERE id IN (2, 4)`);
  const { status } = await createTenant(f.client, f.taskQueue, { tenant, companies: [{ source: src }], copy: { heartbeatTimeoutSeconds: 5 } });
  expect(status.status).toBe('Ready');
  await run('full copy again');
  await same('kept');
});

it('refuses to set up over a target schema that holds data the tenant did not put there', async () => {
  const foreign = `${dst}_foreign`;
  await f.pool.query(`CREATE SCHEMA ${foreign}`);
  await f.pool.query(`CREATE TABLE ${foreign}.kept (id INT PRIMARY KEY, v VARCHAR(20))`);
  await f.pool.query(`INSERT INTO ${foreign}.kept VALUES (99, 'not ours')`);
  const other = `${tenant}_b`;
  const { status } = await createTenant(f.client, f.taskQueue, { tenant: other, companies: [{ source: src, target: foreign }] });
  try {
    expect(status.status).toBe('Setup Failed');
    expect(status.setupError).toMatch(new RegExp(`target schema '${foreign}' already holds data that tenant '${other}' did not put there`));
    expect(status.setupError).toMatch(/choose another target schema|empty it/);
    const [rows] = await f.pool.query(`SELECT COUNT(*) AS n FROM ${foreign}.kept`);
    expect(Number((rows as { n: number }[])[0].n)).toBe(1); // untouched
  } finally {
    await f.client.workflow.getHandle(`cloud-migration/${other}`).terminate('test done').catch(() => undefined);
  }
});

it('refuses to set up over a target whose schema history says it was already upgraded', async () => {
  const upgraded = `${dst}_upgraded`;
  await f.pool.query(`CREATE SCHEMA ${upgraded}`);
  const other = `${tenant}_c`;
  await f.pool.query(
    `INSERT INTO ${CONTROL_SCHEMA}.schema_history (tenant, target_schema, version, step, checksum, workflow_id) VALUES (?, ?, '1.0-2.0', '001_x', REPEAT('0', 64), 'jest')`,
    [other, upgraded],
  );
  try {
    const { status } = await createTenant(f.client, f.taskQueue, { tenant: other, companies: [{ source: src, target: upgraded }] });
    expect(status.status).toBe('Setup Failed');
    expect(status.setupError).toMatch(new RegExp(`target schema '${upgraded}' was upgraded to data version 2.0`));
    expect(status.setupError).toMatch(/dataVersion/);
  } finally {
    await f.client.workflow.getHandle(`cloud-migration/${other}`).terminate('test done').catch(() => undefined);
    await f.pool.query(`DELETE FROM ${CONTROL_SCHEMA}.schema_history WHERE tenant = ?`, [other]);
  }
});
