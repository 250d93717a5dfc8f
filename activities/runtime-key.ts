// The runtime service key: the secret the runtime (every worker host serving a tenant) presents to work
// for a tenant. It belongs to the runtime, not to a host: an operator installs the same key on every
// host (a 0600 file per tenant, or CM_RUNTIME_KEY), and any host may run any activity. Only a salted
// HMAC of it is stored, in the tenant's target control schema. Neither ever enters a Temporal
// payload: the workflow only sees the key's public id, when it was issued, by whom and where.
// A reset keeps the previous key valid for a grace period (or until the operator finishes the
// rollout), so runs in flight on hosts not yet given the new key go on; each host's latest
// presentation is recorded, so the operator sees which hosts still present the old one.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { CONTROL_SCHEMA } from '../lib/constants';
import type { RuntimeKeyInfo } from '../lib/types';
import { inTransaction, isMissingObject, qualified } from './sql';
import { ensureControlSchema } from './target-schema';

const KEY_PATTERN = /^cmk_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$/;

export const keyId = (key: string): string | undefined => KEY_PATTERN.exec(key.trim())?.[1];

export function newKey(): string {
  return `cmk_${randomBytes(4).toString('hex')}_${randomBytes(32).toString('base64url')}`;
}

// A 256-bit random key cannot be guessed, so a keyed hash is enough (no slow password hash needed).
const digest = (salt: Buffer, key: string): Buffer => createHmac('sha256', salt).update(key.trim()).digest();

/** Where this runtime keeps its keys: one file per tenant, or one key for every tenant in CM_RUNTIME_KEY. */
export class RuntimeKeyFiles {
  readonly dir: string;
  /** One key for every tenant, from CM_RUNTIME_KEY (containers): issuing registers it, never replaces it. */
  readonly fixed: string | undefined;

  /** This runtime host's name in the presence records (CM_RUNTIME_NAME, default the host name). */
  readonly runtimeName: string;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.dir = env.CM_RUNTIME_KEY_DIR || join(homedir(), '.config', 'cm', 'runtime-keys');
    this.fixed = env.CM_RUNTIME_KEY?.trim() || undefined;
    this.runtimeName = env.CM_RUNTIME_NAME?.trim().slice(0, 255) || hostname();
  }

  path(tenant: string): string {
    // Tenant names are letters, digits, _ . - (the tenant schema): never a path out of the folder.
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(tenant)) throw new Error(`not a tenant name: '${tenant.slice(0, 80)}' (letters, digits, _ . -, at most 64)`);
    return join(this.dir, `${tenant}.key`);
  }

  read(tenant: string): string | undefined {
    if (this.fixed) return this.fixed;
    try {
      return readFileSync(this.path(tenant), 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  }

  write(tenant: string, key: string): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // Written aside and renamed: a reader never sees half a key.
    const tmp = `${this.path(tenant)}.${process.pid}.tmp`;
    writeFileSync(tmp, `${key}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.path(tenant));
  }
}

interface StoredKey extends RuntimeKeyInfo {
  salt: Buffer;
  hash: Buffer;
}

interface PreviousKey {
  keyId: string;
  salt: Buffer;
  hash: Buffer;
  validUntil: string;
  /** Still inside its grace period (by the target's clock). */
  valid: boolean;
}

/** How long a reset keeps the previous key valid unless told otherwise: hosts get a day to receive the new one. */
export const DEFAULT_KEY_GRACE_HOURS = 24;
/** A host counts as serving the tenant when it presented a key this recently. */
const PRESENCE_WINDOW_MINUTES = 60;
/** A host's presentation is recorded at most this often per process (every activity checks the key). */
const PRESENCE_EVERY_MS = 30_000;

async function previousKey(pool: Pool, tenant: string): Promise<PreviousKey | undefined> {
  try {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT key_id, salt, key_hash, DATE_FORMAT(valid_until, '%Y-%m-%dT%H:%i:%s.%fZ') AS valid_until, valid_until > UTC_TIMESTAMP(3) AS valid
         FROM ${qualified(CONTROL_SCHEMA, 'runtime_key_previous')} WHERE tenant = ?`,
      [tenant],
    );
    const r = rows[0];
    return r ? { keyId: r.key_id, salt: r.salt, hash: r.key_hash, validUntil: r.valid_until, valid: Number(r.valid) === 1 } : undefined;
  } catch (err) {
    if (isMissingObject(err)) return undefined;
    throw err;
  }
}

async function storedKey(pool: Pool, tenant: string): Promise<StoredKey | undefined> {
  try {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT key_id, salt, key_hash, DATE_FORMAT(issued_at, '%Y-%m-%dT%H:%i:%s.%fZ') AS issued_at, issued_by, issued_on
         FROM ${qualified(CONTROL_SCHEMA, 'runtime_key')} WHERE tenant = ?`,
      [tenant],
    );
    const r = rows[0];
    if (!r) return undefined;
    return { keyId: r.key_id, salt: r.salt, hash: r.key_hash, issuedAt: r.issued_at, issuedBy: r.issued_by ?? undefined, deliveredTo: r.issued_on };
  } catch (err) {
    if (isMissingObject(err)) return undefined;
    throw err;
  }
}

const publicInfo = ({ keyId: id, issuedAt, issuedBy, deliveredTo }: StoredKey, previous?: PreviousKey): RuntimeKeyInfo => ({
  keyId: id, issuedAt, issuedBy, deliveredTo,
  ...(previous?.valid ? { previous: { keyId: previous.keyId, validUntil: previous.validUntil } } : {}),
});

const matches = (salt: Buffer, hash: Buffer, presented: string): boolean => {
  const h = digest(salt, presented);
  return h.length === hash.length && timingSafeEqual(h, hash);
};

/**
 * Generates a key, stores its hash (replacing any earlier one) and hands the key to this runtime.
 * A runtime with CM_RUNTIME_KEY registers that key instead: it could not use any other.
 */
async function issue(pool: Pool, files: RuntimeKeyFiles, tenant: string, issuedBy: string | undefined, opts: { graceHours: number; fresh: boolean }): Promise<RuntimeKeyInfo> {
  if (files.fixed && !keyId(files.fixed)) {
    throw ApplicationFailure.nonRetryable('CM_RUNTIME_KEY on this runtime is not a cm runtime key (cmk_<8 hex>_<43 characters>): make one with `cm key new`', 'RuntimeKeyRejected');
  }
  await ensureControlSchema(pool);
  // Setup registers the key the operator installed on this runtime, if any; a reset makes a new one.
  const installed = files.read(tenant);
  const key = files.fixed ?? (!opts.fresh && installed && keyId(installed) ? installed.trim() : newKey());
  const salt = randomBytes(16);
  // The file first: a key stored but delivered nowhere would lock every runtime out.
  if (!files.fixed && key !== installed?.trim()) files.write(tenant, key);
  const before = await storedKey(pool, tenant);
  await inTransaction(pool, async (conn) => {
    if (before && before.keyId !== keyId(key) && opts.graceHours > 0) {
      // The key it replaces stays valid for the grace period: hosts that have not received the new one go on.
      await conn.query(
        `REPLACE INTO ${qualified(CONTROL_SCHEMA, 'runtime_key_previous')} (tenant, key_id, salt, key_hash, valid_until)
         VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3) + INTERVAL ? MINUTE)`,
        [tenant, before.keyId, before.salt, before.hash, Math.round(opts.graceHours * 60)],
      );
    } else {
      await conn.query(`DELETE FROM ${qualified(CONTROL_SCHEMA, 'runtime_key_previous')} WHERE tenant = ?`, [tenant]);
    }
    await conn.query(
      `REPLACE INTO ${qualified(CONTROL_SCHEMA, 'runtime_key')} (tenant, key_id, salt, key_hash, issued_by, issued_on) VALUES (?, ?, ?, ?, ?, ?)`,
      [tenant, keyId(key), salt, digest(salt, key), issuedBy ?? null, files.runtimeName],
    );
  });
  return publicInfo((await storedKey(pool, tenant))!, await previousKey(pool, tenant));
}

/** Setup: the tenant's first key, unless it has one (then nothing changes). */
export async function ensureRuntimeKey(pool: Pool, files: RuntimeKeyFiles, tenant: string): Promise<RuntimeKeyInfo> {
  const existing = await storedKey(pool, tenant);
  return existing ? publicInfo(existing, await previousKey(pool, tenant)) : issue(pool, files, tenant, 'setup', { graceHours: 0, fresh: false });
}

/**
 * Reset Runtime Service Key: a new key, written on this runtime. The old one stays valid for
 * `graceHours` (0: shut out at once, for a leaked key) or until the rollout is finished. On a
 * runtime with CM_RUNTIME_KEY, the "new key" is the one its environment now holds (rotate it there first).
 */
export async function resetRuntimeKey(pool: Pool, files: RuntimeKeyFiles, tenant: string, requestedBy: string | undefined, graceHours = DEFAULT_KEY_GRACE_HOURS): Promise<RuntimeKeyInfo> {
  return issue(pool, files, tenant, requestedBy, { graceHours, fresh: true });
}

/** One runtime host as its latest presentation of a key left it. */
export interface RuntimeHost {
  name: string;
  /** The id of the key it presented (none: no key). */
  keyId?: string;
  lastSeen: string;
  /** current, previous (valid in the grace period), or rejected. */
  verdict: 'current' | 'previous' | 'rejected';
}

export interface KeyRollout {
  key: RuntimeKeyInfo;
  /** Hosts that presented a key in the last hour, the latest first. */
  hosts: RuntimeHost[];
  /** Finished: the previous key is no longer valid. */
  finished: boolean;
}

async function recentHosts(pool: Pool, tenant: string): Promise<RuntimeHost[]> {
  try {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT host, key_id, verdict, DATE_FORMAT(last_seen, '%Y-%m-%dT%H:%i:%s.%fZ') AS last_seen FROM ${qualified(CONTROL_SCHEMA, 'runtime_presence')}
        WHERE tenant = ? AND last_seen > UTC_TIMESTAMP(3) - INTERVAL ? MINUTE ORDER BY last_seen DESC LIMIT 200`,
      [tenant, PRESENCE_WINDOW_MINUTES],
    );
    return rows.map((r) => ({ name: r.host, keyId: r.key_id ?? undefined, lastSeen: r.last_seen, verdict: r.verdict }));
  } catch (err) {
    if (isMissingObject(err)) return [];
    throw err;
  }
}

/**
 * Where a key rollout stands: which hosts present which key. `finish` retires the previous key,
 * refused while a host seen in the last hour still presents it (unless `force`).
 */
export async function keyRollout(pool: Pool, tenant: string, opts: { finish: boolean; force: boolean }): Promise<KeyRollout> {
  const stored = await storedKey(pool, tenant);
  if (!stored) throw ApplicationFailure.nonRetryable(`tenant ${tenant} has no runtime service key yet: setup issues the first one`, 'RuntimeKeyRejected');
  const hosts = await recentHosts(pool, tenant);
  let previous = await previousKey(pool, tenant);
  if (opts.finish && previous) {
    const behind = hosts.filter((h) => h.keyId === previous!.keyId);
    if (behind.length > 0 && !opts.force) {
      throw ApplicationFailure.nonRetryable(
        `the rollout of key ${stored.keyId} is not finished: ${behind.map((h) => `${h.name} (seen ${h.lastSeen})`).join(', ')} still present${behind.length === 1 ? 's' : ''} the previous key ${previous.keyId}; ` +
          `install the new key there (\`cm key get ${tenant}\` on ${stored.deliveredTo}, then \`cm key install ${tenant}\` on each), or finish with --force to shut them out`,
        'RolloutNotFinished',
      );
    }
    await pool.query(`DELETE FROM ${qualified(CONTROL_SCHEMA, 'runtime_key_previous')} WHERE tenant = ?`, [tenant]);
    previous = undefined;
  }
  return { key: publicInfo(stored, previous), hosts, finished: !previous?.valid };
}

/** When this process last recorded a host's presentation, by tenant and verdict (writes are throttled). */
const recorded = new Map<string, number>();

async function recordPresence(pool: Pool, files: RuntimeKeyFiles, tenant: string, presented: string | undefined, verdict: RuntimeHost['verdict']): Promise<void> {
  const id = presented ? keyId(presented) ?? null : null;
  const mark = `${tenant}\u0000${files.runtimeName}\u0000${id}\u0000${verdict}`;
  const now = Date.now();
  if (now - (recorded.get(mark) ?? 0) < PRESENCE_EVERY_MS) return;
  recorded.set(mark, now);
  await pool.query(
    `REPLACE INTO ${qualified(CONTROL_SCHEMA, 'runtime_presence')} (tenant, host, key_id, verdict, last_seen) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3))`,
    [tenant, files.runtimeName, id, verdict],
  ).catch(() => undefined); // bookkeeping for the rollout view: never a reason to fail the activity it guards
}

/**
 * The gate every tenant activity passes: this runtime's key must be the tenant's current one. A
 * tenant with no key yet (setup has not issued it) is served. `retryable` is for the restore of a
 * failed upgrade, which must never be abandoned: it waits for a runtime that holds the key.
 */
export async function checkRuntimeKey(pool: Pool, files: RuntimeKeyFiles, tenant: string, retryable = false): Promise<void> {
  const stored = await storedKey(pool, tenant);
  if (!stored) return;
  const presented = files.read(tenant);
  if (presented && matches(stored.salt, stored.hash, presented)) return recordPresence(pool, files, tenant, presented, 'current');
  const previous = await previousKey(pool, tenant);
  if (presented && previous?.valid && matches(previous.salt, previous.hash, presented)) return recordPresence(pool, files, tenant, presented, 'previous');
  await recordPresence(pool, files, tenant, presented, 'rejected');
  const held = presented ? `key ${keyId(presented) ?? '(not a cm runtime key)'}` : 'no key';
  const message =
    `runtime service key rejected: this runtime (${files.runtimeName}) presents ${held} for tenant ${tenant}, but the tenant's key is ` +
    `${stored.keyId}, issued ${stored.issuedAt}${stored.issuedBy ? ` by ${stored.issuedBy}` : ''} on ${stored.deliveredTo}` +
    `${previous ? ` (the previous key ${previous.keyId} ${previous.valid ? `is valid until ${previous.validUntil}` : `expired ${previous.validUntil}`})` : ''}. ` +
    `Install the current key (\`cm key get ${tenant}\` on ${stored.deliveredTo}, then \`cm key install ${tenant}\` here) in ${files.path(tenant)} or CM_RUNTIME_KEY; the worker reads it at its next activity.`;
  if (retryable) throw ApplicationFailure.retryable(message, 'RuntimeKeyRejected');
  throw ApplicationFailure.nonRetryable(message, 'RuntimeKeyRejected');
}
