// Verification end to end (issue 9): `verifyNow` / `cm verify` on a real tenant finds tampering on the
// target by content, `--repair` mends it, a run verifies what it touched, and the page, the CLI's
// exit code and the audit say so. Equality is also measured independently (expectSameTable).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildAudit } from '../../client/audit';
import { createTenant, getStatus, runMigrationNow, verifyNow, waitForRun, waitForVerification } from '../../client/operations';
import { ensureBuilt, expectSameTable, expectTableRowsMatchPage } from '../helpers';
import { tenantFixture } from '../fixture';

const f = tenantFixture('verify');
// Issue 12: the table rows on the target say what the page says after every step.
afterEach(() => expectTableRowsMatchPage(f.pool, f.client, f.tenant), 120_000);
const { src, tenant, dst } = f;
const run = async (reason: string) => waitForRun(f.client, tenant, await runMigrationNow(f.client, tenant, { requestedBy: 'jest', reason }));
const verify = async (req: { repair?: boolean; table?: string } = {}) => waitForVerification(f.client, tenant, await verifyNow(f.client, tenant, { requestedBy: 'jest', ...req }));
const tableRow = async (table: string) => (await getStatus(f.client, tenant)).tables.find((t) => t.table === table)!;

const cm = async (...args: string[]): Promise<{ code: number; out: string }> => {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [join(__dirname, '..', '..', 'bin', 'cm.js'), ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: process.env.CM_TEST_TEMPORAL_ADDRESS }, maxBuffer: 10_000_000,
    });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
};

beforeAll(async () => {
  ensureBuilt();
  await f.pool.query(`CREATE SCHEMA ${src}`);
  await f.pool.query(`CREATE TABLE ${src}.customer (id INT PRIMARY KEY, name VARCHAR(60) NOT NULL, credit DECIMAL(12,2) NULL, rate FLOAT NULL, note TEXT NULL, seen DATETIME(3) NULL)`);
  await f.pool.query(`INSERT INTO ${src}.customer VALUES ?`, [Array.from({ length: 3_000 }, (_, i) => [
    i + 1, `customer ${i + 1} ü 😀`, (i * 1.25).toFixed(2), i % 5 === 0 ? null : 1.00000012 * i, i % 3 ? `note ${i}` : '', `2024-01-01 00:00:${String(i % 60).padStart(2, '0')}.125`,
  ])]);
  await f.pool.query(`CREATE TABLE ${src}.line (doc INT NOT NULL, no INT NOT NULL, qty INT NOT NULL, PRIMARY KEY (doc, no))`);
  await f.pool.query(`INSERT INTO ${src}.line VALUES ?`, [Array.from({ length: 1_500 }, (_, i) => [1 + (i % 500), Math.floor(i / 500) + 1, i])]);
  const lax = await f.pool.getConnection();
  await lax.query("SET SESSION sql_mode = ''");
  await lax.query(`CREATE TABLE ${src}.dated (id INT PRIMARY KEY, d DATE NOT NULL)`);
  await lax.query(`INSERT INTO ${src}.dated VALUES (1, '2024-01-01'), (2, '0000-00-00'), (3, '2024-03-01')`);
  lax.release();
  const { status } = await createTenant(f.client, f.taskQueue, {
    tenant, companies: [{ source: src }], copy: { heartbeatTimeoutSeconds: 5 }, verify: { chunkRows: 250, runsPerPass: 1 },
  });
  expect(status.status).toBe('Ready');
  await run('full copy');
});

it('finds a freshly migrated tenant equal, the rejected zero-date row listed with its reason', async () => {
  const result = await verify();
  expect(result.status).toBe('Equal');
  expect(result.tables.map((t) => [t.key.split('.')[1], t.status]).sort()).toEqual([['customer', 'Verified'], ['dated', 'Verified'], ['line', 'Verified']]);
  expect(result.tables.find((t) => t.key.endsWith('.customer'))).toMatchObject({ rowsCompared: 3_000, chunks: 13 /* 12 of 250 rows, then the open-ended last one */, missing: 0, extra: 0, different: 0 });
  expect(result.tables.find((t) => t.key.endsWith('.dated'))).toMatchObject({ rejected: 1, missing: 0 });
  const page = await getStatus(f.client, tenant);
  expect(page.tiles.verified).toBe(3);
  expect(page.verifications[page.verifications.length - 1]).toMatchObject({ status: 'Equal', verified: 3, differing: 0, afterRun: 1 });
  const cli = await cm('verify', tenant);
  expect(cli.code).toBe(0);
  expect(cli.out).toMatch(/1 rows missing: rejected by the target \(.*Incorrect date value/);
  expect(cli.out).toMatch(/Equal — 3 of 3 tables verified/);
});

it('finds rows deleted, changed and added on the target, by key, and --repair makes them equal', async () => {
  await f.pool.query(`DELETE FROM ${dst}.customer WHERE id IN (10, 2000)`);
  await f.pool.query(`UPDATE ${dst}.customer SET rate = rate * 1.0000001 WHERE id = 12`); // the 7th digit of a FLOAT
  await f.pool.query(`UPDATE ${dst}.customer SET note = NULL WHERE id = 3`); // '' on the source
  await f.pool.query(`INSERT INTO ${dst}.customer (id, name) VALUES (9001, 'not on the source')`);
  await f.pool.query(`DELETE FROM ${dst}.line WHERE doc = 7 AND no = 2`);

  const found = await verify();
  expect(found.status).toBe('Differences');
  const customer = found.tables.find((t) => t.key.endsWith('.customer'))!;
  expect(customer).toMatchObject({ status: 'Differs', missing: 2, extra: 1, different: 2, repaired: 0 });
  expect(customer.examples).toEqual(expect.arrayContaining(['missing ["10"]', 'extra ["9001"]', 'different ["12"]']));
  expect(found.tables.find((t) => t.key.endsWith('.line'))).toMatchObject({ status: 'Differs', missing: 1, examples: ['missing ["7","2"]'] });
  expect(await tableRow('customer')).toMatchObject({ status: 'Warning', errorMessage: expect.stringMatching(/^verification at .*: 2 rows missing, 1 extra, 2 different/) });
  expect((await getStatus(f.client, tenant)).tiles.verified).toBe(1);
  const cli = await cm('verify', tenant, '--table', 'line', '--json');
  expect(cli.code).toBe(1);
  expect(JSON.parse(cli.out)).toMatchObject({ status: 'Differences', tables: [{ status: 'Differs', missing: 1 }] });

  const repaired = await verify({ repair: true });
  expect(repaired.tables.find((t) => t.key.endsWith('.customer'))).toMatchObject({ missing: 2, extra: 1, different: 2, repaired: 5, status: 'Verified' });
  expect(repaired.status).toBe('Equal');
  await expectSameTable(f.pool, [src, 'customer'], [dst, 'customer']);
  await expectSameTable(f.pool, [src, 'line'], [dst, 'line']);
  expect(await tableRow('customer')).toMatchObject({ status: 'Successful', verification: { status: 'Verified', repaired: 5 } });
  expect((await cm('verify', tenant)).code).toBe(0);
});

it('a row a run\'s delta could not write is a rejected row, not a change still to apply', async () => {
  const lax = await f.pool.getConnection();
  await lax.query("SET SESSION sql_mode = ''");
  await lax.query(`INSERT INTO ${src}.dated VALUES (4, '0000-00-00')`);
  lax.release();
  await run('a zero date arrives');
  const result = await verify({ table: 'dated' });
  expect(result.tables[0]).toMatchObject({ status: 'Verified', rejected: 2, pending: 0 });
  await f.pool.query(`DELETE FROM ${src}.dated WHERE id = 4`);
  await run('gone again');
});

it('a change still to apply is pending, not a difference', async () => {
  await f.pool.query(`UPDATE ${src}.customer SET name = 'renamed' WHERE id = 42`);
  const result = await verify({ table: 'customer' });
  expect(result.tables[0]).toMatchObject({ status: 'Verified', pending: 1, different: 0 });
  await run('apply it');
});

it('every run verifies what it touched: a row the target changes behind its back is caught', async () => {
  // Something on the target nobody anticipated (here a trigger: REPLACE inserts) changes what the run writes.
  await f.pool.query(`CREATE TRIGGER ${dst}.tamper BEFORE INSERT ON ${dst}.customer FOR EACH ROW SET NEW.credit = NEW.credit + 1`);
  try {
    await f.pool.query(`UPDATE ${src}.customer SET name = CONCAT(name, '!') WHERE id IN (5, 6)`);
    await run('changes');
    const row = await tableRow('customer');
    expect(row.status).toBe('Warning');
    expect(row.errorMessage).toMatch(/2 rows applied but not equal to the source afterwards/);
  } finally {
    await f.pool.query(`DROP TRIGGER IF EXISTS ${dst}.tamper`);
  }
  // The rolling slice (runsPerPass 1: the whole table every run) finds them too, until repaired.
  await run('again');
  expect(await tableRow('customer')).toMatchObject({ status: 'Warning', verification: { status: 'Differs', different: 2 } });
  await verify({ repair: true });
  await run('after repair');
  expect(await tableRow('customer')).toMatchObject({ status: 'Successful', verification: { status: 'Verified' } });
});

it('the audit tells every verification: who, how many tables, what differed and what was repaired', async () => {
  const events = await buildAudit(f.client, tenant);
  const lines = events.filter((e) => e.kind.startsWith('verification.')).map((e) => e.summary);
  expect(lines).toEqual(expect.arrayContaining([
    expect.stringMatching(/^Verification #\d+ Differences: 1 of 3 tables verified; 3 rows missing, 1 extra, 2 different, 1 rejected by the target: .*customer Differs, .*line Differs$/),
    expect.stringMatching(/^Verification #\d+ Equal: 3 of 3 tables verified; .*; 6 rows repaired$/),
  ]));
  expect(events.some((e) => e.kind === 'update.verifyNow' && e.actor === 'jest')).toBe(true);
});
