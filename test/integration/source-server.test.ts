// A copy between two servers: the source company lives on the on-premises source server of the
// global setup (its own MariaDB, binary log on; connection name `onprem`), the target on the
// machine server. A full copy, then inserts, updates and deletes carried by trigger capture; every
// target table equals its source by content, read on each server.
import type { RowDataPacket } from 'mysql2/promise';
import { createTenant, getStatus, runMigrationNow, waitForRun } from '../../client/operations';
import { expectSameAcross } from '../helpers';
import { tenantFixture } from '../fixture';

const f = tenantFixture('onprem', { source: 'onprem' });
const { src, tenant, dst } = f;
const TABLES = ['account', 'entry', 'doc'];

const run = async (reason: string) => {
  const started = await runMigrationNow(f.client, tenant, { requestedBy: 'jest', reason });
  const entry = await waitForRun(f.client, tenant, started);
  if (entry.status !== 'Completed') console.error(entry, (await getStatus(f.client, tenant)).tables);
  expect(entry.status).toBe('Completed');
  return started;
};

const everyTableSameAsSource = async () => {
  for (const t of TABLES) await expectSameAcross(f.source, [src, t], f.pool, [dst, t]);
};

const one = async (pool: typeof f.pool, sql: string, params: unknown[] = []) => (await pool.query<RowDataPacket[]>(sql, params))[0][0];

beforeAll(async () => {
  await f.source.query(`CREATE SCHEMA ${src}`);
  await f.source.query(`CREATE TABLE ${src}.account (id BIGINT PRIMARY KEY, name VARCHAR(100) CHARACTER SET utf8mb4 NOT NULL,
    balance DECIMAL(20,6) NOT NULL, opened DATETIME(6) NOT NULL, photo BLOB NULL) ENGINE=InnoDB`);
  await f.source.query(`CREATE TABLE ${src}.entry (account_id BIGINT NOT NULL, line_no INT NOT NULL, amount DECIMAL(38,10) NOT NULL,
    booked DATETIME(6) NOT NULL, memo VARCHAR(200) NULL, PRIMARY KEY (account_id, line_no)) ENGINE=InnoDB`);
  await f.source.query(`CREATE TABLE ${src}.doc (id INT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(100) NOT NULL, body MEDIUMBLOB NULL) ENGINE=InnoDB`);

  await f.source.query(`INSERT INTO ${src}.account VALUES ?`, [Array.from({ length: 300 }, (_, i) => [
    i + 1, `Kunde ${i} — ü 😀 "q" \\ '`, `${i * 37}.${String(i % 1_000_000).padStart(6, '0')}`,
    `2021-03-04 05:06:07.${String(i * 3001 % 1_000_000).padStart(6, '0')}`, i % 5 === 0 ? null : Buffer.from([i % 256, 0, 255, 39, 92, 10]),
  ])]);
  await f.source.query(`INSERT INTO ${src}.entry VALUES ?`, [Array.from({ length: 900 }, (_, i) => [
    1 + (i % 300), Math.floor(i / 300) + 1, `-${i}.0123456789`, `2022-12-31 23:59:59.${String(i).padStart(6, '0')}`, i % 4 === 0 ? null : `memo ${i} ✓`,
  ])]);
  await f.source.query(`INSERT INTO ${src}.doc (title, body) VALUES ?`, [Array.from({ length: 50 }, (_, i) => [`doc ${i}`, i % 3 === 0 ? null : Buffer.alloc(1000 + i, i)])]);
});

it('the source is a server of its own, binary log on', async () => {
  const source = await one(f.source, 'SELECT @@port AS port, @@log_bin AS logBin, @@server_id AS serverId');
  const target = await one(f.pool, 'SELECT @@port AS port, @@server_id AS serverId');
  expect(source.port).not.toBe(target.port);
  expect(source.serverId).not.toBe(target.serverId);
  expect(Number(source.logBin)).toBe(1);
  expect(f.sourceConnection).toBe('onprem');
});

it('sets up with trigger capture on the source server', async () => {
  const { status } = await createTenant(f.client, f.taskQueue, { tenant, sourceConnection: 'onprem', captureMode: 'triggers', companies: [{ source: src }] });
  expect(status.status).toBe('Ready');
  expect(status.tables.map((t) => t.table).sort()).toEqual([...TABLES].sort());
  const triggers = await one(f.source, 'SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?', [src]);
  expect(Number(triggers.n)).toBe(3 * TABLES.length); // insert/update/delete each
});

it('a full copy brings every table over', async () => {
  expect((await run('first load')).kind).toBe('full');
  await everyTableSameAsSource();
});

it('inserts, updates and deletes on the source arrive with the next run', async () => {
  await f.source.query(`INSERT INTO ${src}.account VALUES (1000, 'neu ß 🚀', 0.000001, '2024-02-29 12:00:00.123456', x'00ff00')`);
  await f.source.query(`UPDATE ${src}.account SET balance = balance + 0.5, opened = '2024-01-01 00:00:00.999999' WHERE id <= 20`);
  await f.source.query(`UPDATE ${src}.account SET photo = NULL, name = 'geändert' WHERE id = 21`);
  await f.source.query(`DELETE FROM ${src}.account WHERE id BETWEEN 290 AND 300`);
  await f.source.query(`INSERT INTO ${src}.entry VALUES (1000, 1, 99.9999999999, '2024-02-29 12:00:00.000001', NULL), (1, 4, 0, '2024-03-01 00:00:00', 'x')`);
  await f.source.query(`UPDATE ${src}.entry SET line_no = 9 WHERE account_id = 2 AND line_no = 1`); // key change
  await f.source.query(`UPDATE ${src}.entry SET memo = CONCAT(COALESCE(memo, ''), ' 🙂') WHERE account_id BETWEEN 3 AND 8`);
  await f.source.query(`DELETE FROM ${src}.entry WHERE account_id BETWEEN 290 AND 300`);
  await f.source.query(`INSERT INTO ${src}.doc (title, body) VALUES ('new', x'deadbeef')`);
  await f.source.query(`UPDATE ${src}.doc SET body = REPEAT('b', 70000) WHERE id = 2`);
  await f.source.query(`DELETE FROM ${src}.doc WHERE id IN (3, 4)`);

  expect((await run('nightly')).kind).toBe('delta');
  await everyTableSameAsSource();
  expect((await getStatus(f.client, tenant)).tables.find((t) => t.table === 'account')).toMatchObject({ inserts: 1, updates: 21, deletes: 11, errors: 0 });
});

it('the source data never lived on the target server', async () => {
  const [schemas] = await f.pool.query<RowDataPacket[]>('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [src]);
  expect(schemas).toEqual([]);
  const [targets] = await f.source.query<RowDataPacket[]>('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [dst]);
  expect(targets).toEqual([]);
});
