// Binlog capture end to end (issue 10), with the source on a MariaDB server of its own (binary log on,
// ROW format): setup chooses the binary log and says why, nothing is installed or written on the
// source, a run follows inserts, updates, deletes, a TRUNCATE and a table dropped and created again,
// and two tenants on one source each keep their own position. Equality is measured by content on
// both servers (expectSameAcross), and `cm verify` (verifyNow) agrees.
import type { RowDataPacket } from 'mysql2/promise';
import { createTenant, getStatus, runMigrationNow, verifyNow, waitForRun, waitForVerification, runResult } from '../../client/operations';
import { tenantHandle } from '../../client/operations';
import type { RunResult } from '../../lib/types';
import { captureCopied, findCapture, markCopyOwed } from '../../activities/capture';
import { expectSameAcross, uniqueName } from '../helpers';
import { tenantFixture } from '../fixture';

const second = uniqueName('binlog2');
const f = tenantFixture('binlog', {
  source: 'onprem',
  cleanup: async (fx) => {
    await tenantHandle(fx.client, second).terminate('test done').catch(() => undefined);
    await fx.pool.query(`DROP SCHEMA IF EXISTS \`${second}_${fx.src}\``);
    await fx.pool.query('DELETE FROM cm_capture.capture_table WHERE consumer = ?', [second]).catch(() => undefined);
    await fx.pool.query('DELETE FROM cm_control.capture_position WHERE tenant = ?', [second]).catch(() => undefined);
  },
});
const { src, tenant, dst } = f;
const TABLES = ['item', 'pair', 'trunc', 'recreated'];

const runOf = async (who: string) => {
  const started = await runMigrationNow(f.client, who, { requestedBy: 'jest' });
  const entry = await waitForRun(f.client, who, started);
  const result = await runResult(f.client, started.workflowId);
  return { entry, result, table: (t: string) => result.tables.find((r) => r.key === `${src}.${t}`)! };
};
const sameAsSource = async (targetSchema: string, tables = TABLES) => {
  for (const t of tables) await expectSameAcross(f.source, [src, t], f.pool, [targetSchema, t]);
};
const fillItems = (from: number, to: number, tag: string) =>
  f.source.query(`INSERT INTO ${src}.item VALUES ?`, [Array.from({ length: to - from + 1 }, (_, i) => [
    from + i, `${tag} ${from + i} ü 😀`, ((from + i) * 1.25).toFixed(4), `2024-02-03 04:05:06.${String(100000 + i).slice(-6)}`, (from + i) % 7 ? 1.5 * i : null,
  ])]);

beforeAll(async () => {
  await f.source.query(`CREATE SCHEMA ${src}`);
  await f.source.query(`CREATE TABLE ${src}.item (id INT PRIMARY KEY, name VARCHAR(80) NOT NULL, price DECIMAL(18,4) NOT NULL, at DATETIME(6) NOT NULL, rate DOUBLE NULL)`);
  await fillItems(1, 2_000, 'first');
  await f.source.query(`CREATE TABLE ${src}.pair (code VARCHAR(20) NOT NULL, no INT NOT NULL, at DATETIME(6) NOT NULL, bin VARBINARY(16) NULL, PRIMARY KEY (code, no))`);
  await f.source.query(`INSERT INTO ${src}.pair VALUES ?`, [Array.from({ length: 300 }, (_, i) => [`c${i % 30}`, i, `2023-12-31 23:59:59.${String(i).padStart(6, '0')}`, Buffer.from([i % 256, 0, 255])])]);
  for (const t of ['trunc', 'recreated']) {
    await f.source.query(`CREATE TABLE ${src}.${t} (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL)`);
    await f.source.query(`INSERT INTO ${src}.${t} VALUES ?`, [Array.from({ length: 50 }, (_, i) => [i + 1, `first ${i + 1}`])]);
  }
});

it('setup chooses the binary log, says why, and installs nothing on the source', async () => {
  const { status } = await createTenant(f.client, f.taskQueue, { tenant, sourceConnection: 'onprem', companies: [{ source: src }] });
  expect(status.status).toBe('Ready');
  expect(status.capture).toEqual({ mode: 'binlog', reason: expect.stringMatching(/binary log in ROW format/) });
  const [triggers] = await f.source.query<RowDataPacket[]>('SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?', [src]);
  expect(triggers).toEqual([]);
  // No capture table of this tenant's on the source (tests of triggers mode may have made cm_capture there).
  const registered = await f.source.query<RowDataPacket[]>('SELECT id FROM cm_capture.capture_table WHERE consumer = ?', [tenant])
    .then(([rows]) => rows, (err: { errno?: number }) => (err.errno === 1146 || err.errno === 1049 ? [] : Promise.reject(err)));
  expect(registered).toEqual([]);
  // The start position is recorded before any copy: changes made from here on follow.
  const [pos] = await f.pool.query<RowDataPacket[]>('SELECT file, pos FROM cm_control.capture_position WHERE tenant = ?', [tenant]);
  expect(pos).toHaveLength(1);
});

it('the first run copies everything, including what changed after setup', async () => {
  await f.source.query(`UPDATE ${src}.item SET name = 'changed before the copy' WHERE id <= 10`);
  await f.source.query(`DELETE FROM ${src}.item WHERE id BETWEEN 11 AND 20`);
  const ran = await runOf(tenant);
  expect(ran.entry.status).toBe('Completed');
  expect(ran.result.capture).toMatchObject({ from: expect.stringMatching(/:\d+/), to: expect.stringMatching(/:\d+/) });
  await sameAsSource(dst);
});

it('follows inserts, updates, deletes, key changes, a TRUNCATE and a table dropped and created again', async () => {
  await fillItems(5_000, 5_400, 'later');
  await f.source.query(`UPDATE ${src}.item SET price = price + 0.0001, at = '2030-01-01 00:00:00.000001' WHERE id % 9 = 0`);
  await f.source.query(`DELETE FROM ${src}.item WHERE id % 13 = 0`);
  await f.source.query(`UPDATE ${src}.item SET id = id + 100000 WHERE id BETWEEN 100 AND 110`); // a key that moves
  await f.source.query(`UPDATE ${src}.pair SET no = no + 1000, bin = NULL WHERE code = 'c3'`);
  await f.source.query(`DELETE FROM ${src}.pair WHERE code = 'c4'`);
  // One transaction over two tables, one of them rolled back in part.
  const conn = await f.source.getConnection();
  await conn.beginTransaction();
  await conn.query(`INSERT INTO ${src}.pair VALUES ('tx', 1, '2024-01-01 00:00:00', NULL)`);
  await conn.query(`UPDATE ${src}.item SET name = 'in a transaction' WHERE id = 1`);
  await conn.commit();
  await conn.beginTransaction();
  await conn.query(`INSERT INTO ${src}.pair VALUES ('rolled back', 1, '2024-01-01 00:00:00', NULL)`);
  await conn.rollback();
  conn.release();
  // TRUNCATE writes no row event: the reader sees the statement.
  await f.source.query(`TRUNCATE TABLE ${src}.trunc`);
  await f.source.query(`INSERT INTO ${src}.trunc VALUES (40, 'after truncate'), (41, 'after truncate')`);
  await f.source.query(`DROP TABLE ${src}.recreated`);
  await f.source.query(`CREATE TABLE ${src}.recreated (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL)`);
  await f.source.query(`INSERT INTO ${src}.recreated VALUES (7, 'recreated')`);

  const ran = await runOf(tenant);
  expect(ran.entry.status).toBe('Completed');
  await sameAsSource(dst);
  expect(ran.result.capture!.keys).toBeGreaterThan(400);
  expect(ran.result.capture!.statements.join('\n')).toMatch(/TRUNCATE/i);
  expect(ran.table('item')).toMatchObject({ status: 'Successful', fullLoadRows: 0 });
  expect(ran.table('trunc')).toMatchObject({ fullLoadRows: 2, errorMessage: expect.stringMatching(/TRUNCATE on the source/) });
  expect(ran.table('recreated')).toMatchObject({ fullLoadRows: 1, errorMessage: expect.stringMatching(/(DROP|CREATE) TABLE on the source/) });
  // The page keeps the run's reading of the log.
  const page = await getStatus(f.client, tenant);
  expect(page.log.at(-1)!.capture).toMatchObject({ keys: ran.result.capture!.keys });
});

it('a transaction held open across a run arrives with the next run, whole', async () => {
  const open = await f.source.getConnection();
  await open.beginTransaction();
  await open.query(`INSERT INTO ${src}.item VALUES (700000, 'held open', 1, '2024-01-01 00:00:00', NULL)`);
  await open.query(`UPDATE ${src}.pair SET bin = 0x01 WHERE code = 'c6'`);
  expect((await runOf(tenant)).entry.status).toBe('Completed');
  await open.commit();
  open.release();
  expect((await runOf(tenant)).entry.status).toBe('Completed');
  await sameAsSource(dst);
});

it('a run after the source switched to a new binary log file, with nothing written since, completes', async () => {
  await f.source.query(`UPDATE ${src}.item SET name = 'before the flush' WHERE id = 2`);
  await f.source.query('FLUSH BINARY LOGS');
  const ran = await runOf(tenant);
  expect(ran.entry.status).toBe('Completed');
  await sameAsSource(dst);
});

it('an ALTER that changes values without row events (narrowed, then widened back) is followed', async () => {
  const lax = await f.source.getConnection();
  await lax.query("SET SESSION sql_mode = ''");
  await lax.query(`ALTER TABLE ${src}.pair MODIFY code VARCHAR(20) NOT NULL, MODIFY at DATETIME(6) NOT NULL`); // no-op, the table is rebuilt
  await lax.query(`ALTER TABLE ${src}.item MODIFY name VARCHAR(8) NOT NULL`); // cuts every longer name, no row event
  await lax.query(`ALTER TABLE ${src}.item MODIFY name VARCHAR(80) NOT NULL`); // same definition as before
  lax.release();
  const ran = await runOf(tenant);
  expect(ran.entry.status).toBe('Completed');
  await sameAsSource(dst);
  expect(ran.table('item')).toMatchObject({ errorMessage: expect.stringMatching(/ALTER TABLE on the source/) });
});

it('a lost position (its record gone) copies every table again instead of skipping what it missed', async () => {
  await f.source.query(`UPDATE ${src}.trunc SET v = 'missed?' WHERE id = 40`);
  await f.pool.query('DELETE FROM cm_control.capture_position WHERE tenant = ?', [tenant]);
  const ran = await runOf(tenant);
  expect(ran.entry.status).toBe('Completed');
  expect(ran.result.capture!.lost).toMatch(/copied again in full/);
  await sameAsSource(dst);
});

it('a copy clears only the reason it was made for: one read while it ran is owed a copy of its own', async () => {
  const before = (await findCapture(f.pool, tenant, src, 'item'))!;
  await markCopyOwed(f.pool, [before.id], 'TRUNCATE on the source at a (test): table copied again in full');
  const copying = (await findCapture(f.pool, tenant, src, 'item'))!;
  // While that copy runs, the reader sees another statement…
  await markCopyOwed(f.pool, [before.id], 'TRUNCATE on the source at b (test): table copied again in full');
  await captureCopied(f.pool, copying);
  // …which the end of the first copy does not clear.
  expect((await findCapture(f.pool, tenant, src, 'item'))!.copyOwed).toMatch(/ at b /);
  const ran = await runOf(tenant);
  expect(ran.table('item')).toMatchObject({ errorMessage: expect.stringMatching(/ at b /) });
  expect((await findCapture(f.pool, tenant, src, 'item'))!.copyOwed).toBeUndefined();
  await sameAsSource(dst);
});

it('a verification after the runs finds no difference', async () => {
  const result = await waitForVerification(f.client, tenant, await verifyNow(f.client, tenant, { requestedBy: 'jest' }));
  expect(result.status).toBe('Equal');
});

it('two tenants on one source keep their own positions and both end equal to it', async () => {
  const { status } = await createTenant(f.client, f.taskQueue, { tenant: second, sourceConnection: 'onprem', companies: [{ source: src }] });
  expect(status.capture?.mode).toBe('binlog');
  expect((await runOf(second)).entry.status).toBe('Completed');
  await f.source.query(`UPDATE ${src}.item SET name = 'seen by both' WHERE id BETWEEN 200 AND 260`);
  await f.source.query(`DELETE FROM ${src}.pair WHERE code = 'c5'`);
  // Only the second tenant runs: the first one's position must not move.
  const [before] = await f.pool.query<RowDataPacket[]>('SELECT file, pos FROM cm_control.capture_position WHERE tenant = ?', [tenant]);
  expect((await runOf(second)).entry.status).toBe('Completed');
  await sameAsSource(`${second}_${src}`);
  const [after] = await f.pool.query<RowDataPacket[]>('SELECT file, pos FROM cm_control.capture_position WHERE tenant = ?', [tenant]);
  expect(after).toEqual(before);
  // The first tenant then picks up the same changes from its own position.
  await f.source.query(`INSERT INTO ${src}.item VALUES (900000, 'one more', 1, '2024-01-01 00:00:00', NULL)`);
  expect((await runOf(tenant)).entry.status).toBe('Completed');
  await sameAsSource(dst);
  expect((await runOf(second)).entry.status).toBe('Completed');
  await sameAsSource(`${second}_${src}`);
});
