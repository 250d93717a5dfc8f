// The data upgrade's costs: raising the fence with many application sessions connected, taking a
// restore point (against INSERT … SELECT of the same data), and restoring (the swap is flat).
import { randomBytes } from 'node:crypto';
import { createConnection, type Connection, type Pool } from 'mysql2/promise';
import { raiseFence, releaseFence } from '../activities/fence';
import { createRestorePoint, restoreToPoint } from '../activities/restore-point';
import { id, qualified } from '../activities/sql';
import { ensureControlSchema, writeEnvironmentState } from '../activities/target-schema';
import { createLedger } from './ledger';

const elapsed = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

export interface FenceFigures {
  sessions: number;
  killed: number;
  raiseMs: number;
  releaseMs: number;
}

export async function benchFence(pool: Pool, url: string, sessions = 50): Promise<FenceFigures> {
  const tenant = 'bench_fence';
  const schema = 'bench_fence_target';
  const user = 'bench_app';
  const password = randomBytes(12).toString('hex');
  await pool.query(`DROP SCHEMA IF EXISTS ${id(schema)}`);
  await pool.query(`CREATE SCHEMA ${id(schema)}`);
  await pool.query(`CREATE TABLE ${qualified(schema, 't')} (id INT PRIMARY KEY)`);
  await ensureControlSchema(pool);
  await writeEnvironmentState(pool, tenant, 'Active', 'bench');
  await pool.query('DROP USER IF EXISTS ?@?', [user, '%']);
  await pool.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password]);
  await pool.query(`GRANT SELECT ON ${id(schema)}.* TO ?@?`, [user, '%']);
  const appUrl = new URL(url);
  appUrl.username = user;
  appUrl.password = password;
  const conns: Connection[] = [];
  try {
    for (let i = 0; i < sessions; i++) {
      const c = await createConnection({ uri: appUrl.toString(), database: schema });
      c.on('error', () => undefined); // they are about to be killed
      conns.push(c);
    }
    let t0 = process.hrtime.bigint();
    const summary = await raiseFence(pool, { tenant, holder: 'bench', schemas: [schema], appUsers: [user] }, () => undefined);
    const raiseMs = elapsed(t0);
    const alive = (await Promise.all(conns.map((c) => c.query('SELECT 1').then(() => 1, () => 0)))).reduce((a: number, b) => a + b, 0);
    if (alive > 0) throw new Error(`${alive} application sessions survived the fence`);
    t0 = process.hrtime.bigint();
    await releaseFence(pool, tenant, 'bench');
    return { sessions, killed: summary.killedSessions, raiseMs, releaseMs: elapsed(t0) };
  } finally {
    for (const c of conns) c.destroy();
    await pool.query('DROP USER IF EXISTS ?@?', [user, '%']);
    await pool.query(`DROP SCHEMA IF EXISTS ${id(schema)}`);
    await pool.query('DELETE FROM cm_control.environment WHERE tenant = ?', [tenant]);
  }
}

export interface RestoreFigures {
  rows: number;
  insertSelectMs: number;
  createMs: number;
  restoreMs: number;
  swapMs: number;
  verifyMs: number;
}

export async function benchRestore(pool: Pool, rows: number): Promise<RestoreFigures> {
  const tenant = `bench_rp_${rows}`;
  const schema = `bench_rp_target_${rows}`;
  await ensureControlSchema(pool);
  await createLedger(pool, schema, 'gl_entry', rows);
  try {
    // The anchor: what copying the same data server-side costs.
    let t0 = process.hrtime.bigint();
    await pool.query(`CREATE TABLE ${qualified(schema, 'anchor')} LIKE ${qualified(schema, 'gl_entry')}`);
    await pool.query(`INSERT INTO ${qualified(schema, 'anchor')} SELECT * FROM ${qualified(schema, 'gl_entry')}`);
    const insertSelectMs = elapsed(t0);
    await pool.query(`DROP TABLE ${qualified(schema, 'anchor')}`);

    t0 = process.hrtime.bigint();
    const point = await createRestorePoint(pool, { tenant, schemas: [schema] }, () => undefined);
    const createMs = elapsed(t0);
    // What a failed upgrade leaves behind: a changed column and a table of its own.
    await pool.query(`ALTER TABLE ${qualified(schema, 'gl_entry')} ADD COLUMN upgraded INT NULL`);
    await pool.query(`CREATE TABLE ${qualified(schema, 'new_in_2_0')} (id INT PRIMARY KEY)`);

    t0 = process.hrtime.bigint();
    const out = await restoreToPoint(pool, { tenant, schemas: [schema], point }, () => undefined);
    return { rows, insertSelectMs, createMs, restoreMs: elapsed(t0), swapMs: out.swapMs, verifyMs: out.verifyMs };
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${id(schema)}`);
  }
}
