// What the fence must cover, read from the server itself rather than from a list an operator keeps:
// every account that can write to the tenant's schemas (directly, through a schema pattern, a table
// or column grant, or a role), every event that runs in them or names them, and every session that
// uses them. And what cm needs to do it, checked before anything changes.
//
// Read from the mysql schema (needs SELECT on it); works on MariaDB (roles_mapping) and MySQL 8
// (role_edges). Not covered, and said so in the README: a SQL SECURITY DEFINER routine or view whose
// definer is exempt, and proxy users.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { isMissingObject } from './sql';

export interface Account {
  user: string;
  host: string;
}

/** How an account is shown in summaries (display only; statements use placeholders). */
export const accountName = (a: Account): string => `'${a.user}'@'${a.host}'`;

/** "user@host" as information_schema prints a DEFINER: the host is after the last @. */
export function parseDefiner(definer: string): Account {
  const at = definer.lastIndexOf('@');
  return at < 0 ? { user: definer, host: '%' } : { user: definer.slice(0, at), host: definer.slice(at + 1) };
}

/**
 * An exemption is `user` (every host) or `'user'@'host'` / `user@host`. Matching is exact: an
 * exemption never widens to another account by pattern.
 */
/** An exemption as written (`user`, `'user'@'host'`): its user, and its host when it names one; undefined when malformed. */
export function parseExemption(e: string): { user: string; host?: string } | undefined {
  const m = /^'?([^'@]*)'?(?:@'?([^']*)'?)?$/.exec(e.trim());
  return m ? { user: m[1], ...(m[2] !== undefined ? { host: m[2] } : {}) } : undefined;
}

export function isExempt(a: Account, exemptions: string[]): boolean {
  return exemptions.some((e) => {
    const x = parseExemption(e);
    return !!x && x.user === a.user && (x.host === undefined || x.host === a.host);
  });
}

/** Privilege columns (mysql.user, mysql.db) that let an account change data or definitions. */
const WRITE_COLUMNS = [
  'Insert_priv', 'Update_priv', 'Delete_priv', 'Create_priv', 'Drop_priv', 'Alter_priv', 'Index_priv', 'Trigger_priv',
  'Event_priv', 'Create_view_priv', 'Create_routine_priv', 'Alter_routine_priv', 'Execute_priv', 'Delete_history_priv',
];
const WRITE_TABLE_PRIVS = ['Insert', 'Update', 'Delete', 'Create', 'Drop', 'Alter', 'Index', 'Trigger', 'Delete versioning rows'];

const writes = (row: RowDataPacket): boolean => WRITE_COLUMNS.some((c) => row[c] === 'Y');
const key = (a: Account): string => `${a.user}\u0000${a.host}`;

/** `schema LIKE pattern` as the server matches mysql.db (wildcards _ and %, backslash escapes). */
export function schemaMatches(pattern: string, schema: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) re += pattern[++i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '%') re += '.*';
    else if (c === '_') re += '.';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'is').test(schema);
}

async function optionalRows(pool: Pool, sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  try {
    const [rows] = await pool.query<RowDataPacket[]>(sql, params);
    return rows;
  } catch (err) {
    if (isMissingObject(err) || (err as { errno?: number }).errno === 1054) return [];
    throw err;
  }
}

/**
 * Every login account (not a role) that can write to one of `schemas`: global, schema (pattern),
 * table and column grants, and roles granted to it, transitively.
 */
export async function writerAccounts(pool: Pool, schemas: string[]): Promise<Account[]> {
  const [users] = await pool.query<RowDataPacket[]>('SELECT * FROM mysql.user');
  const roles = new Set(users.filter((u) => u.is_role === 'Y').map((u) => String(u.User)));
  const grantees = new Map<string, Account>();
  const add = (user: unknown, host: unknown): void => {
    const a = { user: String(user), host: String(host ?? '') };
    grantees.set(key(a), a);
  };
  for (const u of users) if (writes(u)) add(u.User, u.Host);
  for (const d of await optionalRows(pool, 'SELECT * FROM mysql.db')) {
    if (writes(d) && schemas.some((s) => schemaMatches(String(d.Db), s))) add(d.User, d.Host);
  }
  if (schemas.length > 0) {
    const lower = schemas.map((s) => s.toLowerCase());
    for (const t of await optionalRows(pool, 'SELECT User, Host, Db, Table_priv FROM mysql.tables_priv')) {
      const privs = String(t.Table_priv).split(',');
      if (lower.includes(String(t.Db).toLowerCase()) && privs.some((p) => WRITE_TABLE_PRIVS.includes(p))) add(t.User, t.Host);
    }
    for (const c of await optionalRows(pool, 'SELECT User, Host, Db, Column_priv FROM mysql.columns_priv')) {
      const privs = String(c.Column_priv).split(',');
      if (lower.includes(String(c.Db).toLowerCase()) && privs.some((p) => p === 'Insert' || p === 'Update')) add(c.User, c.Host);
    }
  }
  // Roles: MariaDB maps grantee → role in roles_mapping; MySQL 8 keeps role_edges.
  const edges = [
    ...(await optionalRows(pool, 'SELECT User AS gu, Host AS gh, Role AS ru, \'\' AS rh FROM mysql.roles_mapping')),
    ...(await optionalRows(pool, 'SELECT TO_USER AS gu, TO_HOST AS gh, FROM_USER AS ru, FROM_HOST AS rh FROM mysql.role_edges')),
  ];
  let grew = true;
  while (grew) {
    grew = false;
    for (const e of edges) {
      const role = [...grantees.values()].some((g) => g.user === String(e.ru) && (roles.has(g.user) || g.host === String(e.rh)));
      const grantee = { user: String(e.gu), host: String(e.gh) };
      if (role && !grantees.has(key(grantee))) {
        grantees.set(key(grantee), grantee);
        grew = true;
      }
    }
  }
  const logins = new Set(users.filter((u) => u.is_role !== 'Y').map((u) => key({ user: String(u.User), host: String(u.Host) })));
  return [...grantees.values()].filter((a) => logins.has(key(a)) && !roles.has(a.user)).sort((a, b) => key(a).localeCompare(key(b)));
}

export interface EventRef {
  schema: string;
  name: string;
  status: string;
  definer: string;
}

/** Events in the schemas, and events elsewhere whose body names one of them. */
export async function eventsTouching(pool: Pool, schemas: string[]): Promise<EventRef[]> {
  if (schemas.length === 0) return [];
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT EVENT_SCHEMA AS s, EVENT_NAME AS n, STATUS AS st, DEFINER AS d, EVENT_DEFINITION AS body FROM information_schema.EVENTS',
  );
  const lower = schemas.map((s) => s.toLowerCase());
  return rows
    .filter((r) => lower.includes(String(r.s).toLowerCase()) || lower.some((s) => String(r.body ?? '').toLowerCase().includes(s)))
    .map((r) => ({ schema: String(r.s), name: String(r.n), status: String(r.st), definer: String(r.d) }));
}

/** The account this session runs as (CURRENT_USER(), not USER(): the one grants apply to). */
export async function currentAccount(pool: Pool): Promise<Account> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT CURRENT_USER() AS a');
  return parseDefiner(String(rows[0].a));
}

/**
 * What the fence needs and cm lacks, as GRANT statements an operator can run. Checked before the
 * fence changes anything: without PROCESS the process list shows only cm's own sessions, and the
 * fence would report itself raised while applications keep writing.
 */
export async function missingFencePrivileges(pool: Pool, me: Account, events: EventRef[]): Promise<string[]> {
  const grantee = accountName(me);
  const [rolesRow] = await pool.query<RowDataPacket[]>('SELECT CURRENT_ROLE() AS r');
  const grantees = [grantee, ...(rolesRow[0]?.r ? String(rolesRow[0].r).split(',').map((r) => `'${r}'@''`) : [])];
  const [global] = await pool.query<RowDataPacket[]>('SELECT PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES WHERE GRANTEE IN (?)', [grantees]);
  const have = new Set(global.map((g) => String(g.p).toUpperCase()));
  const missing: string[] = [];
  if (!have.has('PROCESS')) missing.push('PROCESS ON *.* (to see every session on the tenant\'s schemas)');
  if (!have.has('SUPER') && !have.has('CONNECTION ADMIN') && !have.has('CONNECTION_ADMIN')) {
    missing.push('CONNECTION ADMIN ON *.* (MySQL: CONNECTION_ADMIN; to kill other accounts\' sessions)');
  }
  if (!have.has('CREATE USER')) missing.push('CREATE USER ON *.* (to lock and unlock the accounts that can write)');
  for (const table of ['user', 'db', 'tables_priv', 'columns_priv']) {
    try {
      await pool.query(`SELECT 1 FROM mysql.${table} LIMIT 0`);
    } catch (err) {
      if (isMissingObject(err)) continue;
      missing.push(`SELECT ON mysql.${table} (to find every account that can write)`);
    }
  }
  const foreignDefiners = events.some((e) => e.status === 'ENABLED' && !sameAccount(parseDefiner(e.definer), me));
  if (foreignDefiners && !have.has('SUPER') && !have.has('SET USER') && !have.has('SET_USER_ID') && !have.has('SET_ANY_DEFINER')) {
    missing.push('SET USER ON *.* (MySQL: SET_USER_ID; to disable and re-enable events keeping their definer)');
  }
  const eventSchemas = [...new Set(events.filter((e) => e.status === 'ENABLED').map((e) => e.schema))];
  if (eventSchemas.length > 0 && !have.has('EVENT')) {
    const [schemaPrivs] = await pool.query<RowDataPacket[]>(
      "SELECT TABLE_SCHEMA AS s FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE IN (?) AND PRIVILEGE_TYPE = 'EVENT'",
      [grantees],
    );
    const granted = schemaPrivs.map((r) => String(r.s));
    for (const s of eventSchemas) if (!granted.some((p) => schemaMatches(p, s))) missing.push(`EVENT ON \`${s}\`.* (its events write to the tenant's schemas)`);
  }
  return missing;
}

export const sameAccount = (a: Account, b: Account): boolean => a.user === b.user && a.host === b.host;
