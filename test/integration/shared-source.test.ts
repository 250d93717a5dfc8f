// Two tenants on one source company (a sandbox first, then production): each has its own change
// capture, so each gets every change, and nothing one does (run, reset, disable) touches the other's.
// In both capture modes, with the source on a server of its own: in triggers mode each tenant has its
// own triggers and logs on the source; in binlog mode its own position and staged logs on the target.
import type { RowDataPacket } from 'mysql2/promise';
import {
  createTenant, disableCloudMigration, getStatus, resetCloudData, runMigrationNow, tenantHandle, waitForRun,
} from '../../client/operations';
import type { CaptureModeSetting } from '../../lib/types';
import { count, dropSchemas, dropTenantState, expectSameAcross, uniqueName } from '../helpers';
import { tenantFixture } from '../fixture';

describe.each(['binlog', 'triggers'] as const)('two tenants on one source in %s mode', (mode: CaptureModeSetting) => {
  const other = { tenant: uniqueName(`shb_${mode.slice(0, 3)}`) };
  const f = tenantFixture(`sha_${mode.slice(0, 3)}`, {
    source: 'onprem',
    cleanup: async (fx) => {
      await tenantHandle(fx.client, other.tenant).terminate('test done').catch(() => undefined);
      await dropSchemas(fx.pool, `${other.tenant}_${fx.src}`);
      await dropTenantState(fx.pool, other.tenant);
    },
  });
  const { src } = f;
  const A = { tenant: f.tenant, dst: f.dst };
  const B = { tenant: other.tenant, dst: `${other.tenant}_${src}` };
  const TABLES = ['item', 'line'];

  const run = async (tenant: string) => {
    const entry = await waitForRun(f.client, tenant, await runMigrationNow(f.client, tenant, { requestedBy: 'jest' }));
    if (entry.status !== 'Completed') console.error(entry, (await getStatus(f.client, tenant)).tables);
    expect(entry.status).toBe('Completed');
  };
  const sameAsSource = async (dst: string) => {
    for (const t of TABLES) await expectSameAcross(f.source, [src, t], f.pool, [dst, t]);
  };

  /**
   * What captures one tenant's changes: its triggers on the source (by its registry rows) in triggers
   * mode; its staged logs on the target in binlog mode, where nothing is on the source.
   */
  async function captureOf(tenant: string): Promise<string[]> {
    if (mode === 'binlog') {
      const [logs] = await f.pool.query<RowDataPacket[]>('SELECT id FROM cm_capture.capture_table WHERE consumer = ? AND schema_name = ?', [tenant, src]);
      return logs.map((r) => `log_${r.id}`).sort();
    }
    const [rows] = await f.source.query<RowDataPacket[]>(
      `SELECT t.TRIGGER_NAME AS n FROM information_schema.TRIGGERS t
         JOIN cm_capture.capture_table c ON t.TRIGGER_NAME IN (CONCAT('cm_capture_', c.id, '_ai'), CONCAT('cm_capture_', c.id, '_au'), CONCAT('cm_capture_', c.id, '_ad'))
        WHERE t.TRIGGER_SCHEMA = ? AND c.schema_name = ? AND c.consumer = ? AND t.EVENT_OBJECT_TABLE = c.table_name`,
      [src, src, tenant],
    );
    return rows.map((r) => String(r.n)).sort();
  }

  async function captureTriggers(): Promise<number> {
    const [rows] = await f.source.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME LIKE 'cm\\_capture\\_%'", [src]);
    return Number(rows[0].n);
  }

  let changes = 0;
  /** Inserts, updates (one a key change) and deletes on both tables. */
  async function change(): Promise<void> {
    const n = ++changes;
    await f.source.query(`INSERT INTO ${src}.item (name, qty) VALUES (?, ?), (?, ?)`, [`new ${n}a`, n, `new ${n}b`, n]);
    await f.source.query(`UPDATE ${src}.item SET qty = qty + 100 WHERE id % 7 = ?`, [n % 7]);
    await f.source.query(`DELETE FROM ${src}.item WHERE id % 11 = ? LIMIT 3`, [n % 11]);
    await f.source.query(`UPDATE ${src}.line SET line_no = line_no + 10 WHERE item_id = ? AND line_no < 10`, [n]); // key change
    await f.source.query(`DELETE FROM ${src}.line WHERE item_id = ?`, [n + 20]);
    await f.source.query(`INSERT INTO ${src}.line VALUES (?, 99, ?)`, [n, n]);
  }

  beforeAll(async () => {
    await f.source.query(`CREATE SCHEMA ${src}`);
    await f.source.query(`CREATE TABLE ${src}.item (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL, qty INT NOT NULL)`);
    await f.source.query(`CREATE TABLE ${src}.line (item_id INT NOT NULL, line_no INT NOT NULL, qty INT NOT NULL, PRIMARY KEY (item_id, line_no))`);
    await f.source.query(`INSERT INTO ${src}.item (name, qty) VALUES ?`, [Array.from({ length: 200 }, (_, i) => [`item ${i}`, i])]);
    await f.source.query(`INSERT INTO ${src}.line VALUES ?`, [Array.from({ length: 300 }, (_, i) => [1 + (i % 100), 1 + Math.floor(i / 100), i])]);
  });

  it('two tenants on one source each have their own capture', async () => {
    for (const t of [A, B]) {
      const { status } = await createTenant(f.client, f.taskQueue, { tenant: t.tenant, sourceConnection: 'onprem', captureMode: mode, companies: [{ source: src }] });
      expect(status.status).toBe('Ready');
      expect(status.capture?.mode).toBe(mode);
    }
    // Triggers: three per table and tenant on the source. Binlog: one staged log per table and tenant on the target, no trigger.
    expect(await captureOf(A.tenant)).toHaveLength(mode === 'triggers' ? 6 : 2);
    expect(await captureOf(B.tenant)).toHaveLength(mode === 'triggers' ? 6 : 2);
    expect(await captureTriggers()).toBe(mode === 'triggers' ? 12 : 0);
    await run(A.tenant);
    await run(B.tenant);
    await sameAsSource(A.dst);
    await sameAsSource(B.dst);
    expect(await captureOf(B.tenant)).not.toEqual(await captureOf(A.tenant));
  });

  it("a run of one tenant does not take the other's changes", async () => {
    await change();
    await run(A.tenant);
    await sameAsSource(A.dst);
    await change();
    await run(B.tenant);
    await sameAsSource(B.dst);
    await run(A.tenant);
    await sameAsSource(A.dst);
  });

  it("Reset Cloud Data of one tenant leaves the other's data and capture untouched", async () => {
    const before = await captureOf(B.tenant);
    const rows = await count(f.pool, B.dst, 'item');
    await change();
    await resetCloudData(f.client, A.tenant, { confirm: true, requestedBy: 'jest' });
    expect(await count(f.pool, A.dst, 'item')).toBe(0);
    expect(await count(f.pool, B.dst, 'item')).toBe(rows);
    expect(await captureOf(B.tenant)).toEqual(before);
    await run(A.tenant);
    await sameAsSource(A.dst);
    await run(B.tenant);
    await sameAsSource(B.dst);
  });

  it("disabling one tenant removes its capture only; the other still gets every change", async () => {
    await change();
    await run(A.tenant);
    const keep = await captureOf(B.tenant);
    // The checklist may ask for a verification after the final run: this test is about capture, not that.
    const out = await disableCloudMigration(f.client, A.tenant, { requestedBy: 'jest', skipVerification: true });
    expect(out.captureRemoved).toBe(2);
    expect(await captureOf(A.tenant)).toEqual([]);
    expect(await captureOf(B.tenant)).toEqual(keep);
    expect(await captureTriggers()).toBe(mode === 'triggers' ? 6 : 0);
    const [registered] = await (mode === 'triggers' ? f.source : f.pool).query<RowDataPacket[]>('SELECT id FROM cm_capture.capture_table WHERE consumer = ?', [A.tenant]);
    expect(registered).toEqual([]);
    if (mode === 'binlog') {
      // A's position goes with it; B keeps its own.
      const [positions] = await f.pool.query<RowDataPacket[]>('SELECT tenant FROM cm_control.capture_position WHERE tenant IN (?, ?)', [A.tenant, B.tenant]);
      expect(positions.map((r) => r.tenant)).toEqual([B.tenant]);
    }

    await change();
    await run(B.tenant);
    await sameAsSource(B.dst);
    await change();
    await run(B.tenant);
    await sameAsSource(B.dst);
  });
});
