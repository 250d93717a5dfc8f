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
import { accountName, currentAccount, eventsTouching, isExempt, missingFencePrivileges, parseExemption, parseDefiner, writerAccounts, type Account } from './fence-scope';
import { inTransaction, isMissingObject, qualified } from './sql';
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

export interface FenceInput {
  tenant: string;
  holder: string;
  schemas: string[];
  /** Accounts the tenant names: locked even when they hold no grant on the schemas yet. */
  appUsers: string[];
  /** Accounts left alone (a DBA's): `user` or `'user'@'host'`. */
  exemptAccounts?: string[];
  /** cm's own accounts besides the worker's (the tenant's hotfix account): never locked. */
  cmAccounts?: string[];
}

export class FencePrivilegeError extends Error {}

async function isLocked(pool: Pool, a: Account): Promise<boolean> {
  // SHOW CREATE USER says ACCOUNT LOCK on both MariaDB and MySQL 8 (which also prints UNLOCK).
  const [rows] = await pool.query<RowDataPacket[]>('SHOW CREATE USER ?@?', [a.user, a.host]);
  return /\bACCOUNT LOCK\b/.test(String(Object.values(rows[0])[0]));
}

async function loginAccounts(pool: Pool, users: string[]): Promise<Account[]> {
  if (users.length === 0) return [];
  const [rows] = await pool.query<RowDataPacket[]>('SELECT User AS u, Host AS h FROM mysql.user WHERE User IN (?)', [users]);
  return rows.map((r) => ({ user: String(r.u), host: String(r.h) }));
}

/** Which sessions the fence stops: who they are and what they are using. */
export interface SessionRule {
  /** User names of the accounts the fence locked (or found locked): none of their sessions stays. */
  writers: Set<string>;
  /** The tenant's schemas: any session using one goes, whatever its account. */
  schemas: Set<string>;
  /** Schemas whose events were disabled: an execution already running there goes too. */
  eventSchemas: Set<string>;
  /** cm's own user name and the exempt ones: their client sessions stay. */
  spared: Set<string>;
}

/** 'writer' sessions must be gone before the fence counts as up; 'reader' ones are killed once. */
export function sessionVerdict(s: { user: string; db: string | null; command: string }, rule: SessionRule): 'writer' | 'reader' | undefined {
  const db = s.db?.toLowerCase() ?? '';
  if (s.command === 'Daemon' || s.command.startsWith('Binlog Dump')) return undefined;
  // An event's execution runs as its definer, even cm's own account: it shows as a Connect thread.
  if (s.command === 'Connect' && (rule.eventSchemas.has(db) || rule.schemas.has(db))) return 'writer';
  // The process list shows no account host: a user name with a locked account loses every session,
  // even one from an exempt host of the same name.
  if (rule.writers.has(s.user)) return 'writer';
  if (rule.spared.has(s.user)) return undefined;
  return rule.schemas.has(db) ? 'reader' : undefined;
}

/** Kills the sessions the rule names, again and again until no writing one is left. */
export async function killSessions(pool: Pool, rule: SessionRule, rounds = 50): Promise<number> {
  let killed = 0;
  const once = new Set<number>();
  for (let round = 0; round < rounds; round++) {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT ID AS id, USER AS u, DB AS db, COMMAND AS c FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()',
    );
    const targets = rows
      .map((r) => ({ id: Number(r.id), verdict: sessionVerdict({ user: String(r.u), db: r.db === null ? null : String(r.db), command: String(r.c) }, rule) }))
      .filter((t) => t.verdict === 'writer' || (t.verdict === 'reader' && !once.has(t.id)));
    if (targets.length === 0) return killed;
    for (const t of targets) {
      once.add(t.id);
      try {
        await pool.query('KILL CONNECTION ?', [t.id]);
        killed++;
      } catch (err) {
        if ((err as { errno?: number }).errno !== 1094) throw err; // gone already
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sessions of ${[...rule.writers].join(', ') || 'the tenant\'s schemas'} keep appearing after ${rounds} rounds of KILL CONNECTION`);
}

/**
 * One fence at a time reads and changes accounts and events on a server: two tenants' fences over the
 * same DBA account must each see the other's lock or hand-over, never read it between the two.
 */
async function withServerLock<T>(pool: Pool, fn: () => Promise<T>): Promise<T> {
  const conn = await pool.getConnection();
  try {
    const [got] = await conn.query<RowDataPacket[]>("SELECT GET_LOCK('cm_fence_accounts', 120) AS ok");
    if (Number(got[0].ok) !== 1) throw new Error('another fence on this server has held the account lock for 120 s: retrying');
    try {
      return await fn();
    } finally {
      await conn.query("SELECT RELEASE_LOCK('cm_fence_accounts')").catch(() => undefined);
    }
  } finally {
    conn.release();
  }
}

/** Event changes: ALTER with the event's own DEFINER, so disabling and enabling leave it as it was. */
async function setEventStatus(pool: Pool, e: { schema: string; name: string; definer: string }, status: 'ENABLE' | 'DISABLE'): Promise<void> {
  const d = parseDefiner(e.definer);
  await pool.query(`ALTER DEFINER = ?@? EVENT ${qualified(e.schema, e.name)} ${status}`, [d.user, d.host]);
}

export async function raiseFence(pool: Pool, input: FenceInput, beat: () => void): Promise<FenceSummary> {
  const { tenant, holder } = input;
  const exempt = input.exemptAccounts ?? [];
  // Everything is read and checked before the first change: a missing grant refuses the upgrade
  // with nothing locked and nobody disconnected.
  const me = await currentAccount(pool);
  const events = await eventsTouching(pool, input.schemas);
  const missing = await missingFencePrivileges(pool, me, events);
  if (missing.length > 0) {
    // A retry of a raise that already changed things (a grant revoked since) is not "nothing changed":
    // fail as any error, so the upgrade's compensation puts back what the first attempt did.
    const [started] = await pool.query<RowDataPacket[]>(`SELECT 1 FROM ${changes} WHERE tenant = ? AND holder = ? LIMIT 1`, [tenant, holder]).catch(() => [[]] as RowDataPacket[][]);
    if (started.length > 0 || (await fenceHolder(pool, tenant)) === holder) {
      throw new Error(`the fence of ${tenant} is half raised and now lacks grants: ${missing.join('; ')}`);
    }
    throw new FencePrivilegeError(`the fence cannot hold without these grants to ${accountName(me)} on the target: ${missing.join('; ')}. Nothing was changed.`);
  }

  await acquireFence(pool, tenant, holder);
  const [env] = await pool.query<RowDataPacket[]>(`SELECT state FROM ${qualified(CONTROL_SCHEMA, 'environment')} WHERE tenant = ?`, [tenant]);
  const priorEnvironmentState = (await recordChange(pool, tenant, holder, 'environment', tenant, String(env[0]?.state ?? 'Active'))) as EnvironmentState;
  await writeEnvironmentState(pool, tenant, 'Update', holder);

  // Accounts first, so a session killed next cannot log back in: every account that can write to
  // the schemas, and the listed application accounts; never cm's own nor an exempt one.
  const summary: FenceSummary = { holder, priorEnvironmentState, lockedAccounts: [], alreadyLockedAccounts: [], killedSessions: 0, disabledEvents: [], jobsOnHold: 0 };
  const cmUsers = new Set([me.user, ...(input.cmAccounts ?? [])]);
  const candidates = [...(await writerAccounts(pool, input.schemas)), ...(await loginAccounts(pool, input.appUsers))];
  const accounts = [...new Map(candidates.map((a) => [accountName(a), a])).values()].filter((a) => !cmUsers.has(a.user) && !isExempt(a, exempt));
  await withServerLock(pool, async () => {
    for (const a of accounts) {
      const prior = await recordChange(pool, tenant, holder, 'account', JSON.stringify([a.user, a.host]), (await isLocked(pool, a)) ? 'locked' : 'unlocked');
      await pool.query('ALTER USER ?@? ACCOUNT LOCK', [a.user, a.host]);
      (prior === 'locked' ? summary.alreadyLockedAccounts : summary.lockedAccounts).push(accountName(a));
      beat();
    }

    // Events next, so none starts again; then every running execution and session goes.
    for (const e of events) {
      const object = JSON.stringify([e.schema, e.name]);
      const definer = await recordChange(pool, tenant, holder, 'event-definer', object, e.definer);
      const prior = await recordChange(pool, tenant, holder, 'event', object, e.status);
      if (prior !== 'ENABLED') continue; // disabled before: stays disabled, and is not re-enabled later
      await setEventStatus(pool, { ...e, definer }, 'DISABLE');
      summary.disabledEvents.push(`${e.schema}.${e.name}`);
      beat();
    }
  });
  summary.killedSessions = await killSessions(pool, {
    writers: new Set(accounts.map((a) => a.user)),
    schemas: new Set(input.schemas.map((s) => s.toLowerCase())),
    eventSchemas: new Set(events.map((e) => e.schema.toLowerCase())),
    // The worker's own sessions, and the exempt accounts' (by user name: a session shows no host it was granted by).
    spared: new Set([me.user, ...exempt.flatMap((e) => parseExemption(e)?.user ?? [])]),
  });

  const conn = await pool.getConnection();
  try {
    summary.jobsOnHold = await holdJobs(conn, tenant, holder);
  } finally {
    conn.release();
  }
  return summary;
}

async function holdJobs(conn: PoolConnection, tenant: string, holder: string): Promise<number> {
  await inTransaction(conn, async () => {
    const [ready] = await conn.query<RowDataPacket[]>(`SELECT id FROM ${jobs} WHERE tenant = ? AND status = 'Ready' FOR UPDATE`, [tenant]);
    for (const r of ready) {
      await conn.query(`INSERT IGNORE INTO ${changes} (tenant, holder, kind, object, prior) VALUES (?, ?, 'job', ?, 'Ready')`, [tenant, holder, String(r.id)]);
    }
    if (ready.length > 0) await conn.query(`UPDATE ${jobs} SET status = 'On Hold' WHERE id IN (?)`, [ready.map((r) => r.id)]);
  });
  const [held] = await conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${changes} WHERE tenant = ? AND holder = ? AND kind = 'job'`, [tenant, holder]);
  return Number(held[0].n);
}

/**
 * Another tenant's fence on the same server may cover the same account or event (a DBA account that
 * can write everywhere): it found it locked by this fence and recorded "locked" as its prior state.
 * Undoing the change now would open that fence, so the undo is handed over: the other fence records
 * the true prior state and puts it back when it is released.
 */
async function handedOver(pool: Pool, tenant: string, holder: string, kind: string, object: string, prior: string): Promise<boolean> {
  return inTransaction(pool, async (conn) => {
    const [others] = await conn.query<RowDataPacket[]>(
      `SELECT tenant, holder FROM ${changes} WHERE kind = ? AND object = ? AND NOT (tenant = ? AND holder = ?) FOR UPDATE`,
      [kind, object, tenant, holder],
    );
    if (others.length > 0) await conn.query(`UPDATE ${changes} SET prior = ? WHERE kind = ? AND object = ? AND NOT (tenant = ? AND holder = ?)`, [prior, kind, object, tenant, holder]);
    return others.length > 0;
  });
}

/** Puts back exactly what the fence changed, then removes the lock row. Safe to run twice. */
export async function releaseFence(pool: Pool, tenant: string, holder: string): Promise<ReleaseSummary> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT kind, object, prior FROM ${changes} WHERE tenant = ? AND holder = ?`, [tenant, holder]);
  const summary: ReleaseSummary = { unlockedAccounts: [], enabledEvents: [], jobsReady: 0, environmentState: 'Active' };
  // A fence refused before it was raised (a missing grant) changed nothing: nothing to put back.
  if (rows.length === 0 && (await fenceHolder(pool, tenant)) !== holder) return summary;
  await withServerLock(pool, async () => {
    for (const r of rows) {
      const object = String(r.object);
      if ((r.kind === 'account' && r.prior === 'unlocked') || (r.kind === 'event' && r.prior === 'ENABLED')) {
        if (await handedOver(pool, tenant, holder, String(r.kind), object, String(r.prior))) continue;
      }
      if (r.kind === 'account' && r.prior === 'unlocked') {
        const [user, host] = JSON.parse(object) as [string, string];
        if ((await loginAccounts(pool, [user])).some((a) => a.host === host)) {
          await pool.query('ALTER USER ?@? ACCOUNT UNLOCK', [user, host]);
          summary.unlockedAccounts.push(accountName({ user, host }));
        }
      } else if (r.kind === 'event' && r.prior === 'ENABLED') {
        const [schema, name] = JSON.parse(object) as [string, string];
        const [exists] = await pool.query<RowDataPacket[]>('SELECT DEFINER AS d FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? AND EVENT_NAME = ?', [schema, name]);
        if (exists.length > 0) {
          // The definer recorded before the fence (a fence raised by older code recorded none: keep the current one).
          const definer = rows.find((d) => d.kind === 'event-definer' && d.object === object)?.prior ?? exists[0].d;
          await setEventStatus(pool, { schema, name, definer: String(definer) }, 'ENABLE');
          summary.enabledEvents.push(`${schema}.${name}`);
        }
      } else if (r.kind === 'job') {
        const [res] = await pool.query(`UPDATE ${jobs} SET status = 'Ready' WHERE id = ? AND tenant = ? AND status = 'On Hold'`, [Number(object), tenant]);
        summary.jobsReady += (res as { affectedRows: number }).affectedRows;
      } else if (r.kind === 'environment') {
        summary.environmentState = r.prior as EnvironmentState;
      }
    }
  });
  await writeEnvironmentState(pool, tenant, summary.environmentState, holder);
  // Together: a release that dies between the two would, run again, find no record and a held fence.
  await inTransaction(pool, async (conn) => {
    await conn.query(`DELETE FROM ${changes} WHERE tenant = ? AND holder = ?`, [tenant, holder]);
    await conn.query(`DELETE FROM ${fenceTable} WHERE tenant = ? AND holder = ?`, [tenant, holder]);
  });
  return summary;
}
