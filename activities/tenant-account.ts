// cm's own account per tenant on the target server. Operator SQL (hotfixes, upgrade steps) runs as
// this account, not as the worker's: its grants cover exactly the tenant's target schemas, so the
// database itself refuses a statement that reaches another schema, creates or grants accounts, sets
// a global variable or reads a server file (no FILE, no global privilege, no GRANT OPTION).
//
// Each use reconciles the grants (idempotently), sets a fresh random password, unlocks the account,
// opens one connection as it, and locks the account again at the end. The password lives in this
// activity's memory only: never in a payload, a log line or an error (mysql2 errors carry the SQL
// text, so errors of the password statement are re-thrown without it).
//
// Privileges (database level, on each target schema): data (SELECT, INSERT, UPDATE, DELETE), the DDL
// of a schema upgrade (CREATE, DROP, ALTER, INDEX, REFERENCES for foreign keys), views (CREATE VIEW,
// SHOW VIEW), triggers and routines (TRIGGER, CREATE ROUTINE, ALTER ROUTINE, EXECUTE), and what
// scripts use for working state (CREATE TEMPORARY TABLES, LOCK TABLES). Not EVENT: an event is a job
// that runs later, unattended, as its definer, and the data upgrade's fence holds the application's
// jobs; an upgrade that needs a new event has the application (or the DBA) create it.
//
// Host part: the host of the worker's own account as the target server matched it (CURRENT_USER() of
// the worker's session, e.g. `127.0.0.1`, `10.0.%` or `%`). The tenant account is then usable from
// exactly where the worker's account is, by every worker sharing that account, whatever address a
// given worker connects from; a pattern no wider than what the DBA already allows (never `%` unless
// the worker's account is `%` itself), and as specific as the worker's, so an anonymous account
// (''@'localhost') cannot shadow it.
import { createHash, randomBytes } from 'node:crypto';
import type { Connection, ConnectionOptions, Pool, RowDataPacket } from 'mysql2/promise';
import type { ConnectionRegistry } from './connections';
import { id } from './sql';

export const TENANT_ACCOUNT_PREFIX = 'cm_t_';

/** The tenant's account name: `cm_t_` and 24 hex digits of a hash of the tenant (29 characters: MySQL 8 allows 32). */
export function tenantAccountName(tenant: string): string {
  return `${TENANT_ACCOUNT_PREFIX}${createHash('sha256').update(tenant, 'utf8').digest('hex').slice(0, 24)}`;
}

/** What the account holds on each of the tenant's target schemas, and nothing else anywhere. */
export const TENANT_PRIVILEGES = [
  'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'REFERENCES', 'INDEX', 'ALTER', 'CREATE TEMPORARY TABLES', 'LOCK TABLES',
  'EXECUTE', 'CREATE VIEW', 'SHOW VIEW', 'CREATE ROUTINE', 'ALTER ROUTINE', 'TRIGGER',
] as const;

const PASSWORD_PREFIX = 'cmT1-';
/**
 * Every password the account is given: a fixed prefix (recognisable in any text, and it satisfies
 * validate_password's case, digit and special-character rules) and 192 random bits.
 */
export const PASSWORD_FORMAT = /cmT1-[A-Za-z0-9_-]{32}/;
const freshPassword = (): string => PASSWORD_PREFIX + randomBytes(24).toString('base64url');

export interface TenantAccount {
  user: string;
  host: string;
}

export class TenantAccountError extends Error {}

/** `db`.* for a grant: `_` and `%` are wildcards in a grant's database name, so they are escaped. */
export function schemaGrantTarget(schema: string): string {
  return `${id(escapeGrantDb(schema))}.*`;
}
const escapeGrantDb = (schema: string): string => schema.replace(/[\\_%]/g, (c) => `\\${c}`);

/**
 * Runs one account statement on the worker's session. Its error is re-thrown as its message only:
 * a mysql2 error carries the statement (here possibly a password) and would be logged whole.
 */
async function manage(admin: Pool, account: TenantAccount, sql: string, values: unknown[]): Promise<void> {
  try {
    await admin.query(sql, values);
  } catch (err) {
    const e = err as { message?: string; code?: string };
    throw new TenantAccountError(
      `cannot manage cm's account ${account.user}@${account.host} for the tenant (${e.code ?? 'error'}: ${e.message ?? String(err)}); ` +
        "the worker's account needs CREATE USER and, WITH GRANT OPTION on the tenant's target schemas, the privileges the README lists (Grants)",
    );
  }
}

/** The host part of the worker's own account, as the target server matched this session. */
async function workerAccountHost(admin: Pool): Promise<string> {
  const [rows] = await admin.query<RowDataPacket[]>("SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', -1) AS host");
  return String(rows[0].host);
}

const sameSet = (a: Iterable<string>, b: Iterable<string>): boolean => {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/**
 * True when SHOW GRANTS lines say the account holds exactly TENANT_PRIVILEGES on exactly these
 * schemas (routine- or table-level grants inside them tolerated: CREATE ROUTINE gives its creator
 * some) and nothing else: no global privilege, other schema, role, proxy or GRANT OPTION.
 */
export function grantsMatch(lines: string[], schemas: string[]): boolean {
  const wanted = new Set(schemas.map((s) => escapeGrantDb(s).replace(/`/g, '``')));
  const literal = new Set(schemas.map((s) => s.replace(/`/g, '``')));
  const found = new Set<string>();
  for (const full of lines) {
    const line = full.replace(/ IDENTIFIED (BY|VIA|WITH) .*$/, ''); // MariaDB's USAGE line ends with the password hash
    if (/WITH GRANT OPTION/.test(line)) return false;
    if (/^GRANT USAGE ON \*\.\* TO /.test(line)) continue;
    const db = /^GRANT (.+?) ON `((?:[^`]|``)+)`\.\* TO /.exec(line);
    if (db) {
      if (!wanted.has(db[2]) || !sameSet(db[1].split(', '), TENANT_PRIVILEGES)) return false;
      found.add(db[2]);
      continue;
    }
    const object = /^GRANT [A-Z ,]+ ON (?:PROCEDURE |FUNCTION |PACKAGE BODY |PACKAGE )?`((?:[^`]|``)+)`\.`(?:[^`]|``)+` TO /.exec(line);
    if (object && literal.has(object[1])) continue;
    return false;
  }
  return found.size === wanted.size;
}

/** The account's grants are exactly right; false as well when they cannot be read. Never logged (password hash). */
async function holdsExactly(admin: Pool, account: TenantAccount, schemas: string[]): Promise<boolean> {
  try {
    const [rows] = await admin.query<RowDataPacket[]>('SHOW GRANTS FOR ?@?', [account.user, account.host]);
    return grantsMatch(rows.map((r) => String(Object.values(r)[0])), schemas);
  } catch {
    return false; // not readable (the worker lacks SELECT on mysql): revoke and grant again
  }
}

/**
 * Makes the tenant's account exist with exactly its grants on these schemas (the tenant's target
 * schemas): created if missing (locked, with a password nobody keeps), everything else revoked.
 * Safe to run any number of times; changes nothing when the grants are already right, so objects
 * the account defined (views, triggers) never lose their privileges for a moment.
 */
export async function reconcileTenantAccount(admin: Pool, tenant: string, schemas: string[]): Promise<TenantAccount> {
  const account = { user: tenantAccountName(tenant), host: await workerAccountHost(admin) };
  const wanted = [...new Set(schemas)].sort();
  await manage(admin, account, 'CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ? ACCOUNT LOCK', [account.user, account.host, freshPassword()]);
  if (!(await holdsExactly(admin, account, wanted))) {
    await manage(admin, account, 'REVOKE ALL PRIVILEGES, GRANT OPTION FROM ?@?', [account.user, account.host]);
    for (const schema of wanted) {
      await manage(admin, account, `GRANT ${TENANT_PRIVILEGES.join(', ')} ON ${schemaGrantTarget(schema)} TO ?@?`, [account.user, account.host]);
    }
  }
  await retireOtherHosts(admin, account);
  return account;
}

/**
 * The same name at another host (the worker's account moved): left with no privilege and locked.
 * Needs SELECT on mysql.user to see them; without it they are left alone.
 */
async function retireOtherHosts(admin: Pool, account: TenantAccount): Promise<void> {
  let hosts: string[];
  try {
    const [rows] = await admin.query<RowDataPacket[]>('SELECT Host AS host FROM mysql.user WHERE User = ? AND Host <> ?', [account.user, account.host]);
    hosts = rows.map((r) => String(r.host));
  } catch {
    return;
  }
  for (const host of hosts) {
    const other = { user: account.user, host };
    await manage(admin, other, 'REVOKE ALL PRIVILEGES, GRANT OPTION FROM ?@?', [other.user, other.host]);
    await manage(admin, other, 'ALTER USER ?@? ACCOUNT LOCK', [other.user, other.host]);
  }
}

export interface TenantSession {
  /** One connection as the tenant's account (multiple statements allowed, no LOCAL INFILE). */
  conn: Connection;
  account: TenantAccount;
  /** Ends the connection and locks the account again. */
  close(): Promise<void>;
}

/**
 * Opens a session as the tenant's account on the target connection's server (same host, port and
 * options, no default schema), after reconciling its grants to `schemas` (the tenant's target
 * schemas) and setting a fresh password. The worker's own pool stays for bookkeeping.
 */
export async function openTenantSession(
  conns: ConnectionRegistry,
  target: { targetConnection: string; tenant: string; schemas: string[] },
  extra: ConnectionOptions = {},
): Promise<TenantSession> {
  const admin = conns.pool(target.targetConnection);
  const account = await reconcileTenantAccount(admin, target.tenant, target.schemas);
  const lock = (): Promise<void> => manage(admin, account, 'ALTER USER ?@? ACCOUNT LOCK', [account.user, account.host]).catch(() => undefined);
  let conn: Connection;
  {
    const password = freshPassword();
    await manage(admin, account, 'ALTER USER ?@? IDENTIFIED BY ? ACCOUNT UNLOCK', [account.user, account.host, password]);
    try {
      conn = await conns.connectionAs(target.targetConnection, { user: account.user, password }, {
        multipleStatements: true,
        // A script's LOAD DATA LOCAL INFILE would read the worker's files: the connection does not offer it.
        flags: ['-LOCAL_FILES'],
        ...extra,
      });
    } catch (err) {
      await lock();
      throw new TenantAccountError(`cannot connect as cm's account ${account.user}@${account.host} for the tenant: ${(err as Error).message ?? String(err)}`);
    }
  }
  return {
    conn,
    account,
    close: async () => {
      await conn.end().catch(() => undefined);
      await lock();
    },
  };
}
