// The runtime service key: the secret a worker (the self-hosted integration runtime) presents to work
// for a tenant. Only a salted HMAC of it is stored, in the tenant's target control schema; the key
// itself lives in a 0600 file on the runtime host. Neither ever enters a Temporal payload: the
// workflow only sees the key's public id, when it was issued, by whom and on which host.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { CONTROL_SCHEMA } from '../lib/constants';
import type { RuntimeKeyInfo } from '../lib/types';
import { isMissingObject, qualified } from './sql';
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

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.dir = env.CM_RUNTIME_KEY_DIR || join(homedir(), '.config', 'cm', 'runtime-keys');
    this.fixed = env.CM_RUNTIME_KEY?.trim() || undefined;
  }

  path(tenant: string): string {
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

const publicInfo = ({ keyId: id, issuedAt, issuedBy, deliveredTo }: StoredKey): RuntimeKeyInfo => ({ keyId: id, issuedAt, issuedBy, deliveredTo });

/**
 * Generates a key, stores its hash (replacing any earlier one) and hands the key to this runtime.
 * A runtime with CM_RUNTIME_KEY registers that key instead: it could not use any other.
 */
async function issue(pool: Pool, files: RuntimeKeyFiles, tenant: string, issuedBy: string | undefined): Promise<RuntimeKeyInfo> {
  if (files.fixed && !keyId(files.fixed)) {
    throw ApplicationFailure.nonRetryable('CM_RUNTIME_KEY on this runtime is not a cm runtime key (cmk_<8 hex>_<43 characters>): make one with `cm key new`', 'RuntimeKeyRejected');
  }
  await ensureControlSchema(pool);
  const key = files.fixed ?? newKey();
  const salt = randomBytes(16);
  // The file first: a key stored but delivered nowhere would lock every runtime out.
  if (!files.fixed) files.write(tenant, key);
  await pool.query(
    `REPLACE INTO ${qualified(CONTROL_SCHEMA, 'runtime_key')} (tenant, key_id, salt, key_hash, issued_by, issued_on) VALUES (?, ?, ?, ?, ?, ?)`,
    [tenant, keyId(key), salt, digest(salt, key), issuedBy ?? null, hostname()],
  );
  return publicInfo((await storedKey(pool, tenant))!);
}

/** Setup: the tenant's first key, unless it has one (then nothing changes). */
export async function ensureRuntimeKey(pool: Pool, files: RuntimeKeyFiles, tenant: string): Promise<RuntimeKeyInfo> {
  const existing = await storedKey(pool, tenant);
  return existing ? publicInfo(existing) : issue(pool, files, tenant, 'setup');
}

/**
 * Reset Runtime Service Key: a new key; every runtime still holding the old one is shut out. On a
 * runtime with CM_RUNTIME_KEY, the "new key" is the one its environment now holds (rotate it there first).
 */
export async function resetRuntimeKey(pool: Pool, files: RuntimeKeyFiles, tenant: string, requestedBy: string | undefined): Promise<RuntimeKeyInfo> {
  return issue(pool, files, tenant, requestedBy);
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
  if (presented) {
    const hash = digest(stored.salt, presented);
    if (hash.length === stored.hash.length && timingSafeEqual(hash, stored.hash)) return;
  }
  const held = presented ? `key ${keyId(presented) ?? '(not a cm runtime key)'}` : 'no key';
  const message =
    `runtime service key rejected: this runtime (${hostname()}) presents ${held} for tenant ${tenant}, but the tenant's key is ` +
    `${stored.keyId}, issued ${stored.issuedAt}${stored.issuedBy ? ` by ${stored.issuedBy}` : ''} on ${stored.deliveredTo}. ` +
    `Install the current key (\`cm key get ${tenant}\` on ${stored.deliveredTo}) in ${files.path(tenant)} or CM_RUNTIME_KEY and restart this worker.`;
  if (retryable) throw ApplicationFailure.retryable(message, 'RuntimeKeyRejected');
  throw ApplicationFailure.nonRetryable(message, 'RuntimeKeyRejected');
}
