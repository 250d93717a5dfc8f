// Setup's batched install of change capture (triggers mode): it completes what an earlier attempt left
// half-done, adopts a registry row from before capture was per tenant, leaves complete captures to
// their check, runs again without changing anything, and what it installs captures every change.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { ensureCaptureSchema, installCapture, installSchemaCaptures, triggerSite } from '../../activities/capture';
import { readTables, type TableMeta } from '../../activities/introspect';
import { keyColumns } from '../../activities/migrate-table';
import { dropSchemas, testPool, uniqueName } from '../helpers';

let pool: Pool;
const schema = uniqueName('capi');
const tenant = uniqueName('capi_t');
const TABLES = Array.from({ length: 450 }, (_, i) => `t${String(i).padStart(3, '0')}`); // more than one batch of 200

const registry = async () => {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT id, table_name AS t, complete FROM cm_capture.capture_table WHERE consumer = ? AND schema_name = ? ORDER BY table_name', [tenant, schema]);
  return rows.map((r) => ({ id: Number(r.id), table: String(r.t), complete: Number(r.complete) }));
};
const triggers = async () => {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY 1', [schema]);
  return rows.map((r) => String(r.n));
};
const install = async (metas: TableMeta[]) => {
  let installed = 0;
  const present = await installSchemaCaptures(triggerSite(pool), tenant, schema, metas.map((meta) => ({ meta, keyColumns: keyColumns(meta) })), {
    onInstalled: () => installed++, onWait: () => undefined,
  });
  return { installed, present: present.map((m) => m.name) };
};

beforeAll(async () => {
  pool = testPool();
  await pool.query(`CREATE SCHEMA ${schema}`);
  for (const t of TABLES) await pool.query(`CREATE TABLE ${schema}.${t} (id INT PRIMARY KEY, v VARCHAR(20))`);
  await ensureCaptureSchema(pool);
});

afterAll(async () => {
  for (const r of await registry()) await pool.query(`DROP TABLE IF EXISTS cm_capture.log_${r.id}`);
  await pool.query('DELETE FROM cm_capture.capture_table WHERE schema_name = ?', [schema]);
  await dropSchemas(pool, schema);
  await pool.end();
});

it('completes a half-done install, adopts a shared row, leaves complete captures to their check, and runs again unchanged', async () => {
  const metas = [...(await readTables(pool, [schema])).values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  // t000: complete already (installed one table at a time earlier).
  await installCapture(triggerSite(pool), tenant, metas[0], keyColumns(metas[0]), { schemaReady: true });
  // t001: an attempt died after registering it and creating one of its triggers.
  await pool.query("INSERT INTO cm_capture.capture_table (consumer, schema_name, table_name, complete, copy_owed) VALUES (?, ?, 't001', 0, 'x')", [tenant, schema]);
  const [half] = await pool.query<RowDataPacket[]>("SELECT id FROM cm_capture.capture_table WHERE consumer = ? AND schema_name = ? AND table_name = 't001'", [tenant, schema]);
  const halfId = Number(half[0].id);
  await pool.query(`CREATE TABLE cm_capture.log_${halfId} (seq BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, op CHAR(1) NOT NULL, id INT NULL, changed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))`);
  await pool.query(`CREATE TRIGGER ${schema}.cm_capture_${halfId}_ai AFTER INSERT ON ${schema}.t001 FOR EACH ROW INSERT INTO cm_capture.log_${halfId} (op, id) VALUES ('I', NEW.id)`);
  // t002: a registry row from before capture was per tenant (consumer '').
  await pool.query("INSERT INTO cm_capture.capture_table (consumer, schema_name, table_name, complete) VALUES ('', ?, 't002', 0)", [schema]);

  const first = await install(metas);
  expect(first).toEqual({ installed: TABLES.length - 1, present: ['t000'] });
  const rows = await registry();
  expect(rows.map((r) => r.table)).toEqual(TABLES);
  expect(rows.every((r) => r.complete === 1)).toBe(true);
  expect(rows.find((r) => r.table === 't001')!.id).toBe(halfId); // completed, not registered again
  const [shared] = await pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM cm_capture.capture_table WHERE consumer = '' AND schema_name = ?", [schema]);
  expect(Number(shared[0].n)).toBe(0); // t002's row became this tenant's
  const names = rows.flatMap((r) => ['ad', 'ai', 'au'].map((k) => `cm_capture_${r.id}_${k}`)).sort();
  expect(await triggers()).toEqual(names);

  // Again: nothing to install, every capture is complete and left to its check.
  const again = await install(metas);
  expect(again).toEqual({ installed: 0, present: TABLES });
  expect(await triggers()).toEqual(names);

  // What it installed logs every change.
  const last = rows[rows.length - 1];
  await pool.query(`INSERT INTO ${schema}.${last.table} VALUES (1, 'a')`);
  await pool.query(`UPDATE ${schema}.${last.table} SET id = 2 WHERE id = 1`);
  await pool.query(`DELETE FROM ${schema}.${last.table}`);
  const [log] = await pool.query<RowDataPacket[]>(`SELECT op, id FROM cm_capture.log_${last.id} ORDER BY seq`);
  expect(log.map((r) => `${r.op}${r.id}`)).toEqual(['I1', 'D1', 'U2', 'D2']);
});
