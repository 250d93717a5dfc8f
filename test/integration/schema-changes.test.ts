// Schema changes on the source followed by the next run (issue 10), in both capture modes, with the
// source on a server of its own: a column added, a type widened, an index added and a column dropped
// are applied in place; a column narrowed and a key changed rebuild the target table; a new table is
// created and loaded (the company's exclude pattern still holds); a dropped table is dropped on the
// target; `resync` rebuilds a table on demand. Each step ends with both servers compared by content
// and `cm verify` finding no difference.
import type { RowDataPacket } from 'mysql2/promise';
import { createTenant, getStatus, resyncTables, runMigrationNow, verifyNow, waitForRun, waitForVerification, runResult } from '../../client/operations';
import type { CaptureModeSetting, RunResult } from '../../lib/types';
import { renderStatus } from '../../client/render';
import { expectSameAcross, expectTableRowsMatchPage } from '../helpers';
import { tenantFixture } from '../fixture';

describe.each(['binlog', 'triggers'] as const)('schema changes in %s mode', (mode: CaptureModeSetting) => {
  const f = tenantFixture(`ddl_${mode.slice(0, 3)}`, { source: 'onprem' });
  // Issue 12: the table rows on the target say what the page says after every step.
  afterEach(() => expectTableRowsMatchPage(f.pool, f.client, f.tenant), 120_000);
  const tables = async (): Promise<string[]> => {
    const [rows] = await f.source.query<RowDataPacket[]>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [f.src]);
    return rows.map((r) => String(r.t)).filter((t) => !t.startsWith('tmp_'));
  };
  const targetTables = async (): Promise<string[]> => {
    const [rows] = await f.pool.query<RowDataPacket[]>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [f.dst]);
    return rows.map((r) => String(r.t));
  };
  const columnType = async (pool: typeof f.pool, schema: string, table: string, column: string): Promise<string | undefined> => {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?', [schema, table, column]);
    return rows[0]?.t;
  };
  const run = async () => {
    const started = await runMigrationNow(f.client, f.tenant, { requestedBy: 'jest' });
    const entry = await waitForRun(f.client, f.tenant, started);
    const result = await runResult(f.client, started.workflowId);
    return { entry, result, change: (t: string) => result.schema?.changes.find((c) => c.key === `${f.src}.${t}`) };
  };
  /** Content on both servers, every table the source has, and then `cm verify`: no difference. */
  const equalEverywhere = async () => {
    const names = await tables();
    expect(await targetTables()).toEqual(names);
    for (const t of names) await expectSameAcross(f.source, [f.src, t], f.pool, [f.dst, t]);
    const v = await verifyNow(f.client, f.tenant, { requestedBy: 'jest' });
    const verified = await waitForVerification(f.client, f.tenant, v);
    expect(verified).toMatchObject({ status: 'Equal' });
  };

  beforeAll(async () => {
    await f.source.query(`CREATE SCHEMA ${f.src}`);
    await f.source.query(`CREATE TABLE ${f.src}.item (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, price DECIMAL(8,2) NOT NULL, note VARCHAR(30) NULL)`);
    await f.source.query(`INSERT INTO ${f.src}.item VALUES ?`, [Array.from({ length: 500 }, (_, i) => [i + 1, `item ${i + 1}`, ((i + 1) * 1.25).toFixed(2), i % 3 ? `n${i}` : null])]);
    await f.source.query(`CREATE TABLE ${f.src}.ledger (id INT PRIMARY KEY, code VARCHAR(10) NOT NULL, amount DECIMAL(12,4) NOT NULL)`);
    await f.source.query(`INSERT INTO ${f.src}.ledger VALUES ?`, [Array.from({ length: 300 }, (_, i) => [i + 1, `c${i % 50}`, (i * 3.1415).toFixed(4)])]);
    await f.source.query(`CREATE TABLE ${f.src}.doomed (id INT PRIMARY KEY, v VARCHAR(10))`);
    await f.source.query(`INSERT INTO ${f.src}.doomed VALUES (1, 'a'), (2, 'b')`);
    await f.source.query(`CREATE TABLE ${f.src}.wipe (id INT PRIMARY KEY, v VARCHAR(10))`);
    await f.source.query(`INSERT INTO ${f.src}.wipe VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
    const { status } = await createTenant(f.client, f.taskQueue, {
      tenant: f.tenant, sourceConnection: 'onprem', captureMode: mode, companies: [{ source: f.src, excludeTables: ['tmp_*'] }],
    });
    expect(status.capture?.mode).toBe(mode);
    expect((await run()).entry.status).toBe('Completed');
  });

  it('follows rows, a TRUNCATE, a column added, a type widened, an index added, a new table and a dropped table', async () => {
    await f.source.query(`INSERT INTO ${f.src}.item VALUES (1000, 'new', 1.5, NULL)`);
    await f.source.query(`UPDATE ${f.src}.item SET price = price + 1 WHERE id % 7 = 0`);
    await f.source.query(`DELETE FROM ${f.src}.item WHERE id % 11 = 0`);
    await f.source.query(`TRUNCATE TABLE ${f.src}.wipe`);
    await f.source.query(`INSERT INTO ${f.src}.wipe VALUES (9, 'after')`);
    await f.source.query(`ALTER TABLE ${f.src}.item ADD COLUMN qty INT NOT NULL DEFAULT 7 AFTER price, ADD INDEX by_name (name)`);
    await f.source.query(`ALTER TABLE ${f.src}.item MODIFY name VARCHAR(60) NOT NULL`);
    await f.source.query(`UPDATE ${f.src}.item SET qty = id, name = CONCAT(name, ' now longer than twenty characters') WHERE id <= 50`);
    await f.source.query(`CREATE TABLE ${f.src}.fresh (id INT PRIMARY KEY, v DECIMAL(20,6) NOT NULL)`);
    await f.source.query(`INSERT INTO ${f.src}.fresh VALUES (1, 1.000001), (2, 2.5)`);
    await f.source.query(`CREATE TABLE ${f.src}.tmp_scratch (id INT PRIMARY KEY)`);
    await f.source.query(`DROP TABLE ${f.src}.doomed`);

    const ran = await run();
    expect(ran.entry.status).toBe('Completed');
    // Triggers mode also copies a table that got a column: its rows' values of it are not in any log.
    expect(ran.change('item')).toMatchObject({ change: expect.stringMatching(/column qty added/), action: expect.stringMatching(/^applied to the target table in place/) });
    expect(ran.change('item')!.change).toMatch(/index by_name added/);
    expect(ran.change('item')!.change).toMatch(/varchar\(20\) → varchar\(60\)/);
    expect(ran.change('fresh')).toMatchObject({ action: 'created on the target and loaded in full' });
    expect(ran.change('tmp_scratch')).toMatchObject({ action: expect.stringMatching(/^not migrated/) });
    expect(ran.change('doomed')).toMatchObject({ action: 'dropped on the target' });
    expect(ran.result.tables.find((t) => t.key === `${f.src}.fresh`)).toMatchObject({ fullLoadRows: 2 });
    expect(await columnType(f.pool, f.dst, 'item', 'name')).toBe('varchar(60)');
    await equalEverywhere();

    const page = await getStatus(f.client, f.tenant);
    expect(page.tables.map((t) => t.key)).not.toContain(`${f.src}.doomed`);
    expect(page.tables.find((t) => t.key === `${f.src}.fresh`)).toMatchObject({ status: 'Successful', fullLoadDone: true });
    expect(page.tables.find((t) => t.key === `${f.src}.tmp_scratch`)).toMatchObject({ status: 'Not Migrated' });
    expect(page.tables.find((t) => t.key === `${f.src}.item`)!.schemaChange).toMatch(/column qty added.*applied to the target table in place/);
    expect(page.log.at(-1)!.schemaChanges!.length).toBeGreaterThanOrEqual(4);
    // As `cm status` prints it.
    const printed = renderStatus(page);
    expect(printed).toContain(`Change capture: ${mode} (`);
    expect(printed).toMatch(/Schema changes on the source[\s\S]*column qty added[\s\S]*applied to the target table in place/);
  });

  it('rebuilds a table whose change may have changed values: a column narrowed, a key changed', async () => {
    await f.source.query(`ALTER TABLE ${f.src}.ledger MODIFY amount DECIMAL(12,2) NOT NULL`); // rounds every value, no row event
    await f.source.query(`ALTER TABLE ${f.src}.fresh DROP PRIMARY KEY, ADD PRIMARY KEY (id, v)`);
    await f.source.query(`INSERT INTO ${f.src}.fresh VALUES (1, 9.75)`);
    await f.source.query(`ALTER TABLE ${f.src}.item DROP COLUMN note`);

    const ran = await run();
    expect(ran.entry.status).toBe('Completed');
    expect(ran.change('ledger')!.action).toMatch(/rebuilt.*copied again in full/);
    expect(ran.change('fresh')!.action).toMatch(/rebuilt/);
    expect(ran.change('item')).toMatchObject({ change: 'column note dropped' });
    expect(ran.result.tables.find((t) => t.key === `${f.src}.ledger`)).toMatchObject({ fullLoadRows: 300 });
    await equalEverywhere();

    // Rows keep following under the new key and definitions.
    await f.source.query(`UPDATE ${f.src}.fresh SET id = 5 WHERE v = 9.75`);
    await f.source.query(`UPDATE ${f.src}.ledger SET amount = amount * 2 WHERE id < 20`);
    expect((await run()).entry.status).toBe('Completed');
    await equalEverywhere();
  });

  it('changes that look harmless but are not: a per-row default, a default changed after the add, a unique index dropped, a generated expression, a unique key over rows deleted just before', async () => {
    await f.source.query(`CREATE TABLE ${f.src}.tricky (id INT PRIMARY KEY, a INT NOT NULL, code VARCHAR(10) NOT NULL, g INT AS (a * 2) STORED, UNIQUE KEY uc (code))`);
    await f.source.query(`INSERT INTO ${f.src}.tricky (id, a, code) VALUES ?`, [Array.from({ length: 40 }, (_, i) => [i + 1, i, `c${i}`])]);
    await f.source.query(`CREATE TABLE ${f.src}.dupes (id INT PRIMARY KEY, v VARCHAR(10) NOT NULL)`);
    await f.source.query(`INSERT INTO ${f.src}.dupes VALUES (1, 'x'), (2, 'x'), (3, 'y')`);
    expect((await run()).entry.status).toBe('Completed');
    await equalEverywhere();

    await f.source.query(`ALTER TABLE ${f.src}.tricky ADD COLUMN r DOUBLE DEFAULT (RAND() * 10)`); // a value per row, chosen by the source
    await f.source.query(`ALTER TABLE ${f.src}.tricky ADD COLUMN d INT DEFAULT 5`);
    await f.source.query(`ALTER TABLE ${f.src}.tricky ALTER COLUMN d SET DEFAULT 7`); // the rows keep 5
    await f.source.query(`ALTER TABLE ${f.src}.tricky DROP INDEX uc`);
    await f.source.query(`INSERT INTO ${f.src}.tricky (id, a, code) VALUES (100, 1, 'c1')`); // a REPLACE over uc would delete row 2
    await f.source.query(`ALTER TABLE ${f.src}.tricky MODIFY g INT AS (a * 3) STORED`);
    await f.source.query(`DELETE FROM ${f.src}.dupes WHERE id = 2`);
    await f.source.query(`ALTER TABLE ${f.src}.dupes ADD UNIQUE KEY uv (v)`); // the target still has both rows when the run starts
    const ran = await run();
    expect(ran.entry.status).toBe('Completed');
    expect(ran.change('dupes')!.action).toMatch(/rebuilt.*refused the change in place/);
    await equalEverywhere();
  });

  it('a table renamed on the source is renamed on the target and keeps following (triggers mode: no copy)', async () => {
    await f.source.query(`INSERT INTO ${f.src}.wipe VALUES (10, 'before')`);
    await f.source.query(`RENAME TABLE ${f.src}.wipe TO ${f.src}.wiped`);
    await f.source.query(`INSERT INTO ${f.src}.wiped VALUES (11, 'after')`);
    const ran = await run();
    expect(ran.entry.status).toBe('Completed');
    expect(ran.change('wiped')).toMatchObject({ change: 'table wipe renamed on the source to wiped', action: expect.stringMatching(/^renamed on the target/) });
    expect(ran.result.tables.find((t) => t.key === `${f.src}.wiped`)).toMatchObject({ status: 'Successful', fullLoadRows: mode === 'triggers' ? 0 : 3 });
    await equalEverywhere();
    const keys = (await getStatus(f.client, f.tenant)).tables.map((t) => t.key);
    expect(keys).toContain(`${f.src}.wiped`);
    expect(keys).not.toContain(`${f.src}.wipe`);
    await f.source.query(`UPDATE ${f.src}.wiped SET v = 'later' WHERE id = 9`);
    expect((await run()).entry.status).toBe('Completed');
    await equalEverywhere();
  });

  it('cm resync rebuilds chosen tables from the source on demand', async () => {
    // A difference nothing captured (written straight into the target): resync puts it right.
    await f.pool.query(`UPDATE ${f.dst}.ledger SET code = 'tampered' WHERE id = 3`);
    const started = await resyncTables(f.client, f.tenant, { tables: ['ledger'], requestedBy: 'jest', reason: 'tampered' });
    const entry = await waitForRun(f.client, f.tenant, started);
    expect(entry.status).toBe('Completed');
    const result = await runResult(f.client, started.workflowId);
    expect(result.schema!.changes).toEqual([expect.objectContaining({ key: `${f.src}.ledger`, change: 'resynchronisation requested', action: expect.stringMatching(/rebuilt/) })]);
    await equalEverywhere();
    await expect(resyncTables(f.client, f.tenant, { tables: ['no_such_table'] })).rejects.toThrow(/no migrated table matches no_such_table/);
  });
});
