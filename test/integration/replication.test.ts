// The replication core end to end, on a real dev server and two real MariaDB servers (the source on
// a server of its own, binary log on): setup, a full copy, deltas, a transaction held open across a
// run, and refused actions, in both capture modes (binary log and triggers).
import { createTenant, getStatus, runMigrationNow, tenantHandle, waitForRun } from '../../client/operations';
import { configureCompaniesUpdate, runMigrationNowSignal } from '../../workflows/messages';
import type { CaptureModeSetting } from '../../lib/types';
import { count, expectSameAcross, waitUntil, expectTableRowsMatchPage } from '../helpers';
import { tenantFixture } from '../fixture';

describe.each(['binlog', 'triggers'] as const)('replication in %s mode', (mode: CaptureModeSetting) => {
  const f = tenantFixture(`rep_${mode.slice(0, 3)}`, { source: 'onprem' });
  const { src, tenant, dst } = f;
  // Issue 12: the table rows on the target say what the page says after every step.
  afterEach(() => expectTableRowsMatchPage(f.pool, f.client, f.tenant), 120_000);

  const run = async (reason: string) => {
    const started = await runMigrationNow(f.client, tenant, { requestedBy: 'jest', reason });
    return { started, entry: await waitForRun(f.client, tenant, started) };
  };

  const tableRow = async (table: string) => (await getStatus(f.client, tenant)).tables.find((t) => t.table === table)!;

  const sameAsSource = (table: string) => expectSameAcross(f.source, [src, table], f.pool, [dst, table]);

  beforeAll(async () => {
    await f.source.query(`CREATE SCHEMA ${src}`);
    await f.source.query(`CREATE TABLE ${src}.orders (id INT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(40) NOT NULL, amount DECIMAL(38,20) NOT NULL,
      placed DATETIME(3) NOT NULL, meta JSON NULL, photo BLOB NULL, total DECIMAL(38,20) AS (amount * 2) STORED) ENGINE=InnoDB`);
    await f.source.query(`CREATE TABLE ${src}.order_line (order_id INT NOT NULL, line_no INT NOT NULL, qty INT NOT NULL, PRIMARY KEY (order_id, line_no)) ENGINE=InnoDB`);
    await f.source.query(`CREATE TABLE ${src}.notes (txt VARCHAR(100) NOT NULL) ENGINE=InnoDB`);
    await f.source.query(`CREATE TABLE ${src}.access_control (user_id INT PRIMARY KEY, role VARCHAR(20)) ENGINE=InnoDB`);
    await f.source.query(`CREATE TABLE ${src}.bad_dates (id INT PRIMARY KEY, d DATE NOT NULL) ENGINE=InnoDB`);
    await f.source.query(`CREATE TABLE ${src}.big (id BIGINT PRIMARY KEY, v VARCHAR(50) NOT NULL) ENGINE=InnoDB`);
    const lax = await f.source.getConnection();
    await lax.query("SET SESSION sql_mode = ''"); // a definition only a lax server accepts
    await lax.query(`CREATE TABLE ${src}.zero_default (id INT PRIMARY KEY, d DATE NOT NULL DEFAULT '0000-00-00') ENGINE=InnoDB`);
    lax.release();

    const orders = Array.from({ length: 2000 }, (_, i) => [
      `customer "${i}" \\ \t ü 😀`, `${i}.12345678901234567890`, `2020-01-01 00:00:${String(i % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}`,
      JSON.stringify({ i, tags: ['a', 'b'], nested: { x: i / 3 } }), i % 7 === 0 ? null : Buffer.from([i % 256, 0, 255, 39, 92]),
    ]);
    await f.source.query(`INSERT INTO ${src}.orders (customer, amount, placed, meta, photo) VALUES ?`, [orders]);
    await f.source.query(`INSERT INTO ${src}.order_line VALUES ?`, [Array.from({ length: 3000 }, (_, i) => [1 + (i % 2000), Math.floor(i / 2000) + 1, i])]);
    await f.source.query(`INSERT INTO ${src}.notes VALUES ?`, [[['a'], ['a'], ['b']]]);
    await f.source.query(`INSERT INTO ${src}.access_control VALUES (1, 'SUPER')`);
    const conn = await f.source.getConnection();
    await conn.query("SET SESSION sql_mode = ''");
    await conn.query(`INSERT INTO ${src}.bad_dates VALUES (1, '2024-01-01'), (2, '0000-00-00'), (3, '2024-02-02'), (4, '0000-00-00')`);
    conn.release();
    await f.source.query(`INSERT INTO ${src}.big VALUES ?`, [Array.from({ length: 30_000 }, (_, i) => [i + 1, `row ${i + 1}`])]);
    await f.source.query(`ANALYZE TABLE ${src}.big`);

  });

  it('sets up: assessment, target tables, change capture, Not Migrated by design', async () => {
    const { status } = await createTenant(f.client, f.taskQueue, {
      tenant,
      sourceConnection: 'onprem',
      captureMode: mode,
      companies: [{ source: src }],
      copy: { largeTableRows: 10_000, rangesPerTable: 3, writeBatchRows: 700, heartbeatTimeoutSeconds: 5 },
    });
    expect(status.status).toBe('Ready');
    expect(status.tables.map((t) => t.table).sort()).toEqual(['access_control', 'bad_dates', 'big', 'notes', 'order_line', 'orders', 'zero_default']);
    expect(status.tables.find((t) => t.table === 'zero_default')).toMatchObject({
      status: 'Not Migrated',
      notMigratedReason: expect.stringMatching(/^the target cannot create this table: Invalid default value for 'd'/),
    });
    expect(status.tables.find((t) => t.table === 'access_control')).toMatchObject({ status: 'Not Migrated' });
    expect(status.tables.find((t) => t.table === 'access_control')!.notMigratedReason).toMatch(/by design/);
    expect(status.findings.some((f) => f.table === `${src}.notes` && /no primary key/.test(f.message))).toBe(true);
    expect(status.findings.some((f) => f.table === `${src}.bad_dates` && /2 rows have a zero date/.test(f.message))).toBe(true);
    expect(status.capture?.mode).toBe(mode);
    const [triggers] = await f.source.query('SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?', [src]);
    // Triggers: orders, order_line, bad_dates, big: insert/update/delete each. The binary log: nothing on the source.
    expect((triggers as unknown[]).length).toBe(mode === 'triggers' ? 4 * 3 : 0);
  });

  it('refuses bad requests with their reason', async () => {
    const handle = tenantHandle(f.client, tenant);
    await expect(handle.executeUpdate(configureCompaniesUpdate, { args: [{ companies: [{ source: 'no_such_schema' }] }] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/unknown company 'no_such_schema'/) },
    });
    await expect(handle.executeUpdate(configureCompaniesUpdate, { args: [{ companies: [{ source: src }], extra: 1 } as never] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/invalid request/) },
    });
  });

  it('first run copies everything: checksums equal, rejected rows counted, tables without a key warned', async () => {
    const { started, entry } = await run('first load');
    expect(started.kind).toBe('full');
    if (entry.status !== 'Completed') console.error(entry, (await getStatus(f.client, tenant)).tables);
    expect(entry.status).toBe('Completed');
    for (const t of ['orders', 'order_line', 'notes', 'big']) await sameAsSource(t);
    expect(await count(f.pool, dst, 'bad_dates')).toBe(2);
    expect(await tableRow('bad_dates')).toMatchObject({ status: 'Warning', errors: 2 });
    expect((await tableRow('bad_dates')).errorMessage).toMatch(/2 rows rejected by the target; first: .*Incorrect date value/);
    expect(await tableRow('notes')).toMatchObject({ status: 'Warning', errorMessage: expect.stringMatching(/no primary key/) });
    expect(await tableRow('orders')).toMatchObject({ status: 'Successful', fullLoadRows: 2000 });
    expect(await tableRow('big')).toMatchObject({ status: 'Successful', fullLoadRows: 30_000 });
    const status = await getStatus(f.client, tenant);
    expect(status.status).toBe('Upgrade Pending');
    expect(status.tiles).toMatchObject({ successful: 3, warnings: 2, failed: 0, notMigrated: 2 });
  });

  it('later runs apply inserts, updates and deletes across tables, and fixed rows arrive', async () => {
    await f.source.query(`INSERT INTO ${src}.orders (customer, amount, placed) VALUES ('new', 1, '2024-01-01 00:00:00.000'), ('new2', 2, '2024-01-01 00:00:00.000')`);
    await f.source.query(`UPDATE ${src}.orders SET amount = amount + 1 WHERE id <= 10`);
    await f.source.query(`UPDATE ${src}.orders SET customer = 'twice' WHERE id = 11`);
    await f.source.query(`UPDATE ${src}.orders SET customer = 'thrice' WHERE id = 11`);
    await f.source.query(`DELETE FROM ${src}.orders WHERE id BETWEEN 20 AND 24`);
    await f.source.query(`DELETE FROM ${src}.order_line WHERE order_id = 30`);
    await f.source.query(`UPDATE ${src}.order_line SET line_no = 9 WHERE order_id = 31 AND line_no = 1`); // key change
    await f.source.query(`INSERT INTO ${src}.big VALUES (40000, 'beyond the last range')`);
    await f.source.query(`DELETE FROM ${src}.big WHERE id = 15000`);
    await f.source.query(`INSERT INTO ${src}.notes VALUES ('c')`);
    await f.source.query(`UPDATE ${src}.bad_dates SET d = '2024-03-03' WHERE id = 2`); // fixed at the source

    const { started, entry } = await run('nightly');
    expect(started.kind).toBe('delta');
    expect(entry.status).toBe('Completed');
    for (const t of ['orders', 'order_line', 'notes', 'big']) await sameAsSource(t);
    expect(await count(f.pool, dst, 'bad_dates')).toBe(3);
    const orders = await tableRow('orders');
    expect(orders).toMatchObject({ inserts: 2, updates: 11, deletes: 5, errors: 0 });
    expect(await tableRow('bad_dates')).toMatchObject({ status: 'Warning', errors: 1 });
  });

  it('a change in a transaction held open across a run arrives with the next run, even behind a later commit', async () => {
    const slow = await f.source.getConnection();
    try {
      await slow.query('START TRANSACTION');
      await slow.query(`INSERT INTO ${src}.orders (customer, amount, placed) VALUES ('slow', 3, '2024-01-01 00:00:00.000')`);
      // A later, faster transaction takes a higher log seq and commits first: the classic trap.
      await f.source.query(`INSERT INTO ${src}.orders (customer, amount, placed) VALUES ('fast', 4, '2024-01-01 00:00:00.000')`);
      const { entry } = await run('while a transaction is open');
      expect(entry.status).toBe('Completed');
      expect(await count(f.pool, dst, 'orders', "customer = 'fast'")).toBe(1);
      expect(await count(f.pool, dst, 'orders', "customer = 'slow'")).toBe(0);
      await slow.query('COMMIT');
    } finally {
      slow.release();
    }
    await run('after the commit');
    expect(await count(f.pool, dst, 'orders', "customer = 'slow'")).toBe(1);
    await sameAsSource('orders');
  });

  it('refuses a second run while one is in progress, and records refused signals', async () => {
    const first = await runMigrationNow(f.client, tenant, { requestedBy: 'jest' });
    await expect(runMigrationNow(f.client, tenant, { requestedBy: 'jest' })).rejects.toThrow(/run refused: run #\d+ is already in progress/);
    await tenantHandle(f.client, tenant).signal(runMigrationNowSignal, { requestedBy: 'script' });
    await waitForRun(f.client, tenant, first);
    await waitUntil('refusal on record', async () => (await getStatus(f.client, tenant)).refusals.length > 0);
    const { refusals } = await getStatus(f.client, tenant);
    expect(refusals[0]).toMatchObject({ action: 'runMigrationNow (signal)', requestedBy: 'script', reason: expect.stringMatching(/already in progress/) });
  });
});
