// Resolves connection *names* (what workflows carry) into mysql2 pools (what only workers hold).
// A name NAME is looked up in CM_CONN_<NAME>_URL; the name `local` falls back to MYSQL_URL.
import type { Connection as CoreConnection } from 'mysql2';
import { createConnection, createPool, type Connection, type ConnectionOptions, type Pool, type PoolOptions } from 'mysql2/promise';
import { ApplicationFailure } from '@temporalio/common';
import { envNamePart } from '../lib/env-names';
import { UserFacingError } from '../lib/errors';

export const DEFAULT_MYSQL_URL = 'mysql://root@127.0.0.1:3306';

export function connectionEnvVar(name: string): string {
  return `CM_CONN_${envNamePart(name)}_URL`;
}

export function resolveConnectionUrl(name: string, env: NodeJS.ProcessEnv = process.env): string {
  // An empty variable counts as unset.
  const url = env[connectionEnvVar(name)] || (name === 'local' ? env.MYSQL_URL || DEFAULT_MYSQL_URL : undefined);
  if (!url) {
    throw ApplicationFailure.nonRetryable(
      `unknown connection '${name}': set ${connectionEnvVar(name)} on the worker`,
      'UnknownConnection',
    );
  }
  return url;
}

/** Where a URL points, without its credentials: safe for messages and logs. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '3306'}`;
  } catch {
    return 'an unparsable URL';
  }
}

// Values come back as exact strings / Buffers so that a copy never rounds, re-zones or re-parses them.
const exactTypes: PoolOptions = {
  dateStrings: true,
  supportBigNumbers: true,
  bigNumberStrings: true,
  decimalNumbers: false,
  timezone: 'Z',
  charset: 'utf8mb4_general_ci',
  // JSON stays text (MySQL's JSON type and MariaDB's JSON-checked LONGTEXT alike): parsing and
  // re-serialising would reorder keys and reformat numbers.
  jsonStrings: true,
  // DOUBLE and FLOAT stay the server's text too: mysql2's own parse of it is off by one ulp for a few
  // per cent of 16–17-digit values (9.547008480454803 read as 9.547008480454805). The server prints
  // the shortest text that reads back to the same double, and parses it back exactly when written.
  typeCast: (field, next) => (field.type === 'DOUBLE' || field.type === 'FLOAT' ? field.string() : next()),
};

export function createMysqlPool(url: string, extra: PoolOptions = {}): Pool {
  const pool = createPool({
    uri: url,
    connectionLimit: 16,
    enableKeepAlive: true,
    connectTimeout: 10_000,
    multipleStatements: false,
    ...exactTypes,
    ...extra,
  });
  // Same clock on both sides: TIMESTAMP columns travel as UTC strings.
  // The promise pool re-emits the core (callback) connection here.
  pool.on('connection', (conn) => {
    (conn as unknown as CoreConnection).query("SET time_zone = '+00:00'", () => undefined);
  });
  return pool;
}

export class ConnectionRegistry {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  pool(name: string): Pool {
    let pool = this.pools.get(name);
    if (!pool) {
      pool = createMysqlPool(resolveConnectionUrl(name, this.env));
      this.pools.set(name, pool);
    }
    return pool;
  }

  /** A dedicated connection (e.g. with multipleStatements for SQL scripts); the caller ends it. */
  async connection(name: string, extra: ConnectionOptions = {}): Promise<Connection> {
    const conn = await createConnection({ uri: resolveConnectionUrl(name, this.env), connectTimeout: 10_000, ...exactTypes, ...extra } as ConnectionOptions);
    await conn.query("SET time_zone = '+00:00'");
    return conn;
  }

  /**
   * A dedicated connection as another account on the same server as `name` (its URL's host, port and
   * options; no default schema). The credentials go to the driver only; the caller ends it.
   */
  async connectionAs(name: string, login: { user: string; password: string }, extra: ConnectionOptions = {}): Promise<Connection> {
    const url = new URL(resolveConnectionUrl(name, this.env));
    url.username = encodeURIComponent(login.user);
    url.password = encodeURIComponent(login.password);
    url.pathname = '';
    const conn = await createConnection({ uri: url.toString(), connectTimeout: 10_000, ...exactTypes, ...extra } as ConnectionOptions);
    await conn.query("SET time_zone = '+00:00'");
    return conn;
  }

  /** Connection options for a library that opens its own connections (the binary log reader). */
  options(name: string): { uri: string } {
    return { uri: resolveConnectionUrl(name, this.env) };
  }

  /** Where a name points, for messages: host and port, never credentials. */
  where(name: string): string {
    return describeUrl(resolveConnectionUrl(name, this.env));
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.end().catch(() => undefined)));
    this.pools.clear();
  }
}

/** Fails with one line naming the variable to fix when the server cannot be reached. */
export async function checkReachable(name: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const url = resolveConnectionUrl(name, env);
  const variable = env[connectionEnvVar(name)] ? connectionEnvVar(name) : 'MYSQL_URL';
  const pool = createMysqlPool(url, { connectionLimit: 1 });
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    const e = err as { code?: string; message?: string };
    throw new UserFacingError(`cannot reach MySQL at ${describeUrl(url)} (${variable}): ${e.code ?? e.message ?? String(err)}`);
  } finally {
    await pool.end().catch(() => undefined);
  }
}
