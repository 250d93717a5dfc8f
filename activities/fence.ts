// The exclusive fence around a data upgrade, made of real MySQL mechanisms:
//   a lock row that replication and hotfixes check; environment state `Update`;
//   ACCOUNT LOCK on the tenant's application accounts, then KILL CONNECTION until none is left;
//   ALTER EVENT … DISABLE on every enabled event; Ready job-queue entries put On Hold.
// Every change is written to cm_control.fence_change *before* it is made, with the prior state,
// so a raise that dies half-way and is retried still knows what was there before, and the
// release puts back exactly that (an event disabled before stays disabled).
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { CONTROL_SCHEMA } from '../lib/constants';
import type { EnvironmentState } from '../lib/types';
import { isMissingObject, qualified } from './sql';
import { ensureControlSchema, writeEnvironmentState } from './target-schema';

const fenceTable = qualified(CONTROL_SCHEMA, 'fence');
const changes = qualified(CONTROL_SCHEMA, 'fence_change');
const jobs = qualified(CONTROL_SCHEMA, 'job_queue');

export class FenceHeldError extends Error {}

export interface FenceSummary {
  holder: string;
  priorEnvironmentState: EnvironmentState;
  lockedAccounts: string[];
  alreadyLockedAccounts: string[];
  killedSessions: number;
  disabledEvents: string[];
  jobsOnHold: number;
}

export interface ReleaseSummary {
  unlockedAccounts: string[];
  enabledEvents: string[];
  jobsReady: number;
  environmentState: EnvironmentState;
}

/** The holder of the tenant's fence, if any: what replication and hotfixes check. */
export async function fenceHolder(pool: Pool, tenant: string): Promise<string | undefined> {
  try {
    const [rows] = await pool.query<RowDataPacket[]>(`SELECT holder FROM ${fenceTable} WHERE tenant = ?`, [tenant]);
    return rows[0]?.holder as string | undefined;
  } catch (err) {
    if (isMissingObject(err)) return undefined;
    throw err;
  }
}

export async function acquireFence(pool: Pool, tenant: string, holder: string): Promise<void> {
  await ensureControlSchema(pool);
  await pool.query(`INSERT IGNORE INTO ${fenceTable} (tenant, holder) VALUES (?, ?)`, [tenant, holder]);
  const current = await fenceHolder(pool, tenant);
  if (current !== holder) throw new FenceHeldError(`the fence of tenant ${tenant} is held by ${current}`);
}

async function recordChange(pool: Pool, tenant: string, holder: string, kind: string, object: string, prior: string): Promise<string> {
  await pool.query(`INSERT IGNORE INTO ${changes} (tenant, holder, kind, object, prior) VALUES (?, ?, ?, ?, ?)`, [tenant, holder, kind, object, prior]);
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT prior FROM ${changes} WHERE tenant = ? AND holder = ? AND kind = ? AND object = ?`,
    [tenant, holder, kind, object],
  );
  return String(rows[0].prior); // the first recorded prior wins: a retry never overwrites it
}

/** How an account is shown in summaries (display only; statements use placeholders). */
const account = (user: string, host: string): string => `'${user}'@'${host}'`;

async function accountsOf(pool: Pool, users: string[]): Promise<{ user: string; host: string }[]> {
  if (users.length === 0) return [];
  const [rows] = await pool.query<RowDataPacket[]>('SELECT User AS u, Host AS h FROM mysql.user WHERE User IN (?)', [users]);
  return rows.map((r) => ({ user: String(r.u), host: String(r.h) }));
}

async function isLocked(pool: Pool, user: string, host: string): Promise<boolean> {
  // SHOW CREATE USER says ACCOUNT LOCK on both MariaDB and MySQL 8 (which also prints UNLOCK).
  const [rows] = await pool.query<RowDataPacket[]>('SHOW CREATE USER ?@?', [user, host]);
  return /\bACCOUNT LOCK\b/.test(String(Object.values(rows[0])[0]));
}

/** Kills every session of the given users, again and again until none is left. */
export async function killSessions(pool: Pool, users: string[], rounds = 50): Promise<number> {
  let killed = 0;
  for (let round = 0; round < rounds; round++) {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER IN (?) AND ID <> CONNECTION_ID()',
      [users.length ? users : ['']],
    );
    if (rows.length === 0) return killed;
    for (const r of rows) {
      try {
        await pool.query('KILL CONNECTION ?', [Number(r.id)]);
        killed++;
      } catch (err) {
        if ((err as { errno?: number }).errno !== 1094) throw err; // gone already
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`application sessions of ${users.join(', ')} keep appearing after ${rounds} rounds of KILL CONNECTION`);
}

export async function raiseFence(
  pool: Pool,
  input: { tenant: string; holder: string; schemas: string[]; appUsers: string[] },
  beat: () => void,
): Promise<FenceSummary> {
  const { tenant, holder } = input;
  await acquireFence(pool, tenant, holder);
  const [env] = await pool.query<RowDataPacket[]>(`SELECT state FROM ${qualified(CONTROL_SCHEMA, 'environment')} WHERE tenant = ?`, [tenant]);
  const priorEnvironmentState = (await recordChange(pool, tenant, holder, 'environment', tenant, String(env[0]?.state ?? 'Active'))) as EnvironmentState;
  await writeEnvironmentState(pool, tenant, 'Update', holder);

  // Accounts first, so a session killed next cannot log back in.
  const summary: FenceSummary = { holder, priorEnvironmentState, lockedAccounts: [], alreadyLockedAccounts: [], killedSessions: 0, disabledEvents: [], jobsOnHold: 0 };
  for (const a of await accountsOf(pool, input.appUsers)) {
    const name = account(a.user, a.host);
    const prior = await recordChange(pool, tenant, holder, 'account', JSON.stringify([a.user, a.host]), (await isLocked(pool, a.user, a.host)) ? 'locked' : 'unlocked');
    await pool.query('ALTER USER ?@? ACCOUNT LOCK', [a.user, a.host]);
    (prior === 'locked' ? summary.alreadyLockedAccounts : summary.lockedAccounts).push(name);
    beat();
  }
  summary.killedSessions = await killSessions(pool, input.appUsers);

  if (input.schemas.length > 0) {
    const [events] = await pool.query<RowDataPacket[]>(
      "SELECT EVENT_SCHEMA AS s, EVENT_NAME AS n, STATUS AS st FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (?)",
      [input.schemas],
    );
    for (const e of events) {
      const prior = await recordChange(pool, tenant, holder, 'event', JSON.stringify([e.s, e.n]), String(e.st));
      if (prior !== 'ENABLED') continue; // disabled before: stays disabled, and is not re-enabled later
      await pool.query(`ALTER EVENT ${qualified(String(e.s), String(e.n))} DISABLE`);
      summary.disabledEvents.push(`${e.s}.${e.n}`);
      beat();
    }
  }

  const conn = await pool.getConnection();
  try {
    summary.jobsOnHold = await holdJobs(conn, tenant, holder);
  } finally {
    conn.release();
  }
  return summary;
}

async function holdJobs(conn: PoolConnection, tenant: string, holder: string): Promise<number> {
  await conn.query('START TRANSACTION');
  try {
    const [ready] = await conn.query<RowDataPacket[]>(`SELECT id FROM ${jobs} WHERE tenant = ? AND status = 'Ready' FOR UPDATE`, [tenant]);
    for (const r of ready) {
      await conn.query(`INSERT IGNORE INTO ${changes} (tenant, holder, kind, object, prior) VALUES (?, ?, 'job', ?, 'Ready')`, [tenant, holder, String(r.id)]);
    }
    if (ready.length > 0) await conn.query(`UPDATE ${jobs} SET status = 'On Hold' WHERE id IN (?)`, [ready.map((r) => r.id)]);
    await conn.query('COMMIT');
    const [held] = await conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${changes} WHERE tenant = ? AND holder = ? AND kind = 'job'`, [tenant, holder]);
    return Number(held[0].n);
  } catch (err) {
    await conn.query('ROLLBACK');
    throw err;
  }
}

/** Puts back exactly what the fence changed, then removes the lock row. Safe to run twice. */
export async function releaseFence(pool: Pool, tenant: string, holder: string): Promise<ReleaseSummary> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT kind, object, prior FROM ${changes} WHERE tenant = ? AND holder = ?`, [tenant, holder]);
  const summary: ReleaseSummary = { unlockedAccounts: [], enabledEvents: [], jobsReady: 0, environmentState: 'Active' };
  for (const r of rows) {
    const object = String(r.object);
    if (r.kind === 'account' && r.prior === 'unlocked') {
      const [user, host] = JSON.parse(object) as [string, string];
      if ((await accountsOf(pool, [user])).some((a) => a.host === host)) {
        await pool.query('ALTER USER ?@? ACCOUNT UNLOCK', [user, host]);
        summary.unlockedAccounts.push(account(user, host));
      }
    } else if (r.kind === 'event' && r.prior === 'ENABLED') {
      const [schema, name] = JSON.parse(object) as [string, string];
      const [exists] = await pool.query<RowDataPacket[]>('SELECT 1 FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? AND EVENT_NAME = ?', [schema, name]);
      if (exists.length > 0) {
        await pool.query(`ALTER EVENT ${qualified(schema, name)} ENABLE`);
        summary.enabledEvents.push(`${schema}.${name}`);
      }
    } else if (r.kind === 'job') {
      const [res] = await pool.query(`UPDATE ${jobs} SET status = 'Ready' WHERE id = ? AND tenant = ? AND status = 'On Hold'`, [Number(object), tenant]);
      summary.jobsReady += (res as { affectedRows: number }).affectedRows;
    } else if (r.kind === 'environment') {
      summary.environmentState = r.prior as EnvironmentState;
    }
  }
  await writeEnvironmentState(pool, tenant, summary.environmentState, holder);
  await pool.query(`DELETE FROM ${changes} WHERE tenant = ? AND holder = ?`, [tenant, holder]);
  await pool.query(`DELETE FROM ${fenceTable} WHERE tenant = ? AND holder = ?`, [tenant, holder]);
  return summary;
}
