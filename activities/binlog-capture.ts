// Change capture from the source's binary log (the way gh-ost, Debezium and Vitess read it): no
// trigger, no table and no write on the source. A reader (@vlasky/zongji) reads the tenant's
// company schemas from the tenant's own position up to the position taken when it starts, and
// stages the primary key of every changed row in the tenant's change logs on the *target*
// (capture.ts, same logs as triggers mode). Keys and the new position are written in one target
// transaction, so a crash anywhere replays from the last durable position: a change is staged at
// least once, never lost, and staging twice is harmless (a delta makes the target row equal to the
// source row as it is now). The delta then drains the staged keys like a trigger log.
//
// Statements that change rows without row events are read too: TRUNCATE, DROP, RENAME, ALTER and a
// CREATE over a tracked name make that table owe a full copy (copy_owed), which the run makes.
// ALTER too: it can change values with no row event (a column narrowed, then widened back).
import { createHash, randomInt } from 'node:crypto';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import ZongJi from '@vlasky/zongji';
import { CAPTURE_SCHEMA, CONTROL_SCHEMA } from '../lib/constants';
import type { RunCapture } from '../lib/types';
import { markCopyOwed, tenantCaptures, withLogSession, withNamedLock } from './capture';
import { id, keyString, qualified, type KeyValue } from './sql';
import { positionText, reached, type BinlogPosition } from '../lib/binlog-position';

/** What a read did, as the run records it (positions as text, at most 20 statements). */
export type StageResult = RunCapture;

const positions = qualified(CONTROL_SCHEMA, 'capture_position');
const errno = (err: unknown): number | undefined => (err as { errno?: number } | null)?.errno;

/**
 * Why the binary log cannot be used for this source, with what to change, or undefined when it can:
 * log_bin on, ROW format with FULL images and FULL row metadata (each row event then describes its
 * own columns, so a key is read exactly even after the table was altered or dropped), and the
 * account may read the log (REPLICATION SLAVE) and its position (BINLOG MONITOR / REPLICATION CLIENT).
 */
export async function binlogUnusable(source: Pool): Promise<string | undefined> {
  const problems: string[] = [];
  const variable = async (name: string): Promise<string | undefined> => {
    try {
      const [rows] = await source.query<RowDataPacket[]>(`SELECT @@GLOBAL.${name} AS v`);
      return rows[0].v === null ? undefined : String(rows[0].v);
    } catch (err) {
      if (errno(err) === 1193) return undefined; // unknown variable on this server
      throw err;
    }
  };
  const logBin = await variable('log_bin');
  if (logBin !== '1' && logBin?.toUpperCase() !== 'ON') {
    problems.push('log_bin is OFF (start the server with --log-bin and a unique --server-id)');
  } else {
    const format = (await variable('binlog_format'))?.toUpperCase();
    if (format !== 'ROW') problems.push(`binlog_format is ${format ?? 'unknown'} (SET GLOBAL binlog_format = 'ROW', and in the server's configuration)`);
    const image = (await variable('binlog_row_image'))?.toUpperCase();
    if (image && image !== 'FULL') problems.push(`binlog_row_image is ${image} (SET GLOBAL binlog_row_image = 'FULL')`);
    const metadata = (await variable('binlog_row_metadata'))?.toUpperCase();
    if (metadata !== 'FULL') problems.push(`binlog_row_metadata is ${metadata ?? 'not supported by this server (MariaDB 10.5+ or MySQL 8.0+ needed)'} (SET GLOBAL binlog_row_metadata = 'FULL')`);
  }
  const [grants] = await source.query<RowDataPacket[]>('SHOW GRANTS');
  const onAll = grants.map((r) => String(Object.values(r)[0])).filter((g) => / ON \*\.\* /i.test(g)).join(' ').toUpperCase();
  const has = (...privs: string[]): boolean => /ALL PRIVILEGES/.test(onAll) || privs.some((p) => onAll.includes(p));
  if (!has('REPLICATION SLAVE', 'REPLICATION REPLICA')) problems.push('the account lacks REPLICATION SLAVE (GRANT REPLICATION SLAVE ON *.* TO the account)');
  if (!has('BINLOG MONITOR', 'REPLICATION CLIENT', 'SUPER')) problems.push('the account lacks BINLOG MONITOR (MariaDB) / REPLICATION CLIENT (MySQL)');
  return problems.length > 0 ? `binary log capture is not possible: ${problems.join('; ')}` : undefined;
}

/** The source's binary log position now (where everything committed so far ends). */
export async function currentPosition(source: Pool): Promise<BinlogPosition> {
  let rows: RowDataPacket[] = [];
  for (const sql of ['SHOW MASTER STATUS', 'SHOW BINARY LOG STATUS']) { // MariaDB and MySQL < 8.4; MySQL 8.4
    try {
      [rows] = await source.query<RowDataPacket[]>(sql);
      break;
    } catch (err) {
      if (errno(err) !== 1064) throw err; // a syntax error: the other spelling
    }
  }
  if (rows.length === 0) throw new Error('the source has no binary log position (SHOW MASTER STATUS is empty): is log_bin on?');
  const gtid = await source.query<RowDataPacket[]>('SELECT @@GLOBAL.gtid_binlog_pos AS g').then(
    ([r]) => String(r[0].g ?? ''),
    () => source.query<RowDataPacket[]>('SELECT @@GLOBAL.gtid_executed AS g').then(([r]) => String(r[0].g ?? ''), () => ''),
  );
  return { file: String(rows[0].File), pos: Number(rows[0].Position), gtid: gtid || undefined };
}

export async function readPosition(target: Pool, tenant: string): Promise<BinlogPosition | undefined> {
  const [rows] = await target.query<RowDataPacket[]>(`SELECT file, pos, gtid FROM ${positions} WHERE tenant = ?`, [tenant]);
  return rows[0] ? { file: String(rows[0].file), pos: Number(rows[0].pos), gtid: rows[0].gtid ? String(rows[0].gtid) : undefined } : undefined;
}

async function savePosition(target: Pool | PoolConnection, tenant: string, p: BinlogPosition): Promise<void> {
  await target.query(
    `INSERT INTO ${positions} (tenant, file, pos, gtid) VALUES (?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE file = VALUES(file), pos = VALUES(pos), gtid = VALUES(gtid)`,
    [tenant, p.file, p.pos, p.gtid ?? null],
  );
}

/** Setup: where the tenant starts reading, recorded before any copy (so changes made during it follow). */
export async function startPosition(source: Pool, target: Pool, tenant: string): Promise<BinlogPosition> {
  const have = await readPosition(target, tenant);
  if (have) return have;
  const now = await currentPosition(source);
  await target.query(`INSERT IGNORE INTO ${positions} (tenant, file, pos, gtid) VALUES (?, ?, ?, ?)`, [tenant, now.file, now.pos, now.gtid ?? null]);
  return (await readPosition(target, tenant))!;
}

/** Forgets the tenant's position (the tenant stops following the source). */
export async function dropPosition(target: Pool, tenant: string): Promise<void> {
  await target.query(`DELETE FROM ${positions} WHERE tenant = ?`, [tenant]);
}

export interface StageIo {
  tenant: string;
  source: Pool;
  /** mysql2 connection options of the source (the reader opens a replication connection of its own). */
  sourceOptions: Record<string, unknown>;
  target: Pool;
  /** Keys held in memory before they are staged (and the position moved on). */
  maxKeys?: number;
  /** Called after every staging and while waiting: the caller heartbeats. */
  onProgress?: (p: { at: BinlogPosition; keys: number }) => void;
  signal?: AbortSignal;
}

interface Tracked {
  id: number;
  logTable: string;
  keyColumns: string[];
}

interface Pending {
  tracked: Tracked;
  keys: Map<string, { op: string; key: KeyValue[] }>;
}

/**
 * Reads the binary log from the tenant's position up to the position now, staging the changed keys
 * of every tracked table.
 */
export async function stageBinlogChanges(io: StageIo): Promise<StageResult> {
  // One reader per tenant at a time: a named lock on the target, held for the whole read.
  const lock = `cm_binlog:${createHash('sha1').update(io.tenant).digest('hex')}`;
  return withNamedLock(io.target, lock, () => io.onProgress?.({ at: { file: '', pos: 0 }, keys: 0 }), async () => {
    const from = await readPosition(io.target, io.tenant);
    const to = await currentPosition(io.source);
    const result: StageResult = { from: positionText(from), to: positionText(to), rowEvents: 0, keys: 0, statements: [] };
    if (from && reached(from, to)) return result;
    const [logs] = await io.source.query<RowDataPacket[]>('SHOW BINARY LOGS');
    // No position (its record gone) or one the server no longer has: what was missed is unknown,
    // so every table is copied again, never skipped.
    if (!from || !logs.some((r) => String(r.Log_name) === from.file)) {
      result.lost = from
        ? `the tenant's position ${positionText(from)} is no longer in the source's binary logs (purged, or a long outage): every table copied again in full`
        : `the tenant's binary log position is missing on the target: every table copied again in full from ${positionText(to)}`;
      const captures = await tenantCaptures(io.target, io.tenant);
      await markCopyOwed(io.target, captures.map((c) => c.id), result.lost);
      await savePosition(io.target, io.tenant, to);
      return result;
    }
    const tracked = await trackedTables(io.target, io.tenant);
    if (tracked.size === 0) await savePosition(io.target, io.tenant, to);
    else await readLog(io, from, to, tracked, result);
    return result;
  });
}

/** The tenant's tracked tables, keyed `schema.table`, with the key columns their logs hold. */
async function trackedTables(target: Pool, tenant: string): Promise<Map<string, Tracked>> {
  const captures = await tenantCaptures(target, tenant);
  const out = new Map<string, Tracked>();
  if (captures.length === 0) return out;
  const [cols] = await target.query<RowDataPacket[]>(
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (?) AND COLUMN_NAME NOT IN ('seq', 'op', 'changed_at') ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    [CAPTURE_SCHEMA, captures.map((c) => c.logTable)],
  );
  const keyCols = new Map<string, string[]>();
  for (const r of cols) keyCols.set(String(r.t), [...(keyCols.get(String(r.t)) ?? []), String(r.c)]);
  for (const c of captures) {
    const k = keyCols.get(c.logTable);
    if (k) out.set(`${c.schema}.${c.table}`, { id: c.id, logTable: c.logTable, keyColumns: k });
  }
  return out;
}

/**
 * Statements that may change rows with no row event. ALTER is among them: a column narrowed and then
 * widened back cuts values and leaves the definition as it was, which no comparison of definitions
 * sees. Each costs the table a full copy, never a silent difference; only an ALTER that just adds
 * columns or indexes does not (additiveAlter).
 */
const ROWLESS = /^\s*(?:\/\*.*?\*\/\s*)*(TRUNCATE|DROP\s+TABLE|RENAME\s+TABLE|CREATE\s+(?:OR\s+REPLACE\s+)?TABLE|ALTER\s+(?:ONLINE\s+|IGNORE\s+)*TABLE)\b/i;

/** Splits at the commas outside parentheses and quotes. */
function topLevelParts(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

const IDENT = '(?:`(?:[^`]|``)+`|[A-Za-z0-9_$]+)';
// ALTER IGNORE deletes the rows a new unique key would duplicate, with no row event: never additive.
const ALTER_HEAD = new RegExp(`^\\s*ALTER\\s+(?:ONLINE\\s+)?TABLE\\s+(?:IF\\s+EXISTS\\s+)?${IDENT}(?:\\s*\\.\\s*${IDENT})?\\s+`, 'is');

/**
 * An ALTER TABLE that only adds columns or secondary indexes changes no stored value: the run's
 * schema step adds the same to the target (and rebuilds instead when a new column's default is
 * computed per row). Anything else in the statement, and it owes a full copy.
 */
export function additiveAlter(statement: string): boolean {
  // Comments and escapes could hide a clause from the split below: such a statement is not trusted.
  if (/--|#|\/\*|\\/.test(statement)) return false;
  const head = ALTER_HEAD.exec(statement);
  if (!head) return false;
  return topLevelParts(statement.slice(head[0].length)).every((clause) =>
    /^ADD\s+(?!PRIMARY\b|PARTITION\b|CONSTRAINT\b|FOREIGN\b|CHECK\b)/i.test(clause) || /^(ALGORITHM|LOCK)\s*=?\s*\w+$/i.test(clause),
  );
}

export function namedTables(statement: string, currentSchema: string, tracked: Iterable<string>): string[] {
  const names: string[] = [];
  const word = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const key of tracked) {
    const dot = key.indexOf('.');
    const schema = key.slice(0, dot);
    const table = key.slice(dot + 1);
    const ident = (n: string): string => `(?:\`${word(n.replace(/`/g, '``'))}\`|${word(n)}(?![A-Za-z0-9_$]))`;
    const qualifiedName = new RegExp(`(?<![A-Za-z0-9_$\`])${ident(schema)}\\s*\\.\\s*${ident(table)}`);
    const bare = new RegExp(`(?<![A-Za-z0-9_$\`.])${ident(table)}(?!\\s*\\.)`);
    if (qualifiedName.test(statement) || (schema === currentSchema && bare.test(statement))) names.push(key);
  }
  return names;
}

async function readLog(io: StageIo, from: BinlogPosition, to: BinlogPosition, tracked: Map<string, Tracked>, result: StageResult): Promise<void> {
  const maxKeys = io.maxKeys ?? 20_000;
  const pending = new Map<number, Pending>();
  const owed = new Map<string, number[]>(); // reason → capture ids
  let held = 0;
  const schemas = [...new Set([...tracked.keys()].map((k) => k.slice(0, k.indexOf('.'))))];
  const zongji = new ZongJi({
    ...io.sourceOptions, dateStrings: true, timezone: 'Z', supportBigNumbers: true, bigNumberStrings: true, jsonStrings: true,
  });

  const stage = async (at: BinlogPosition): Promise<void> => {
    await withLogSession(io.target, async (conn) => {
      await conn.beginTransaction();
      try {
        for (const p of pending.values()) {
          const rows = [...p.keys.values()].map((v) => [v.op, ...v.key]);
          for (let i = 0; i < rows.length; i += 1000) {
            await conn.query(
              `INSERT INTO ${qualified(CAPTURE_SCHEMA, p.tracked.logTable)} (op, ${p.tracked.keyColumns.map((c) => id(c)).join(', ')}) VALUES ?`,
              [rows.slice(i, i + 1000)],
            );
          }
          result.keys += rows.length;
        }
        for (const [reason, ids] of owed) await markCopyOwed(conn, ids, reason);
        await savePosition(conn, io.tenant, at);
        await conn.commit();
      } catch (err) {
        await conn.rollback().catch(() => undefined);
        throw err;
      }
    });
    pending.clear();
    owed.clear();
    held = 0;
    io.onProgress?.({ at, keys: result.keys });
  };

  // A reason names where in the log it was read: the copy that pays it clears exactly that one
  // (captureCopied), never a later one read while it ran.
  const owe = (reason: string, ids: number[]): void => {
    owed.set(reason, [...(owed.get(reason) ?? []), ...ids]);
  };
  const add = (t: Tracked, op: string, row: Record<string, unknown>, at: BinlogPosition): void => {
    if (!t.keyColumns.every((c) => c in row)) {
      // The key the log holds is not in the row any more: the table changed its key; copy it again.
      owe(`its primary key changed on the source (at ${positionText(at)}): table copied again in full`, [t.id]);
      return;
    }
    const key = t.keyColumns.map((c) => row[c] as KeyValue);
    let p = pending.get(t.id);
    if (!p) pending.set(t.id, (p = { tracked: t, keys: new Map() }));
    const k = keyString(key);
    if (!p.keys.has(k)) {
      p.keys.set(k, { op, key });
      held++;
    }
  };

  const handle = (evt: BinlogEvent, at: BinlogPosition): void => {
    const name = evt.getEventName();
    if (name === 'writerows' || name === 'updaterows' || name === 'deleterows') {
      const map = evt.tableMap?.[evt.tableId!];
      const t = map && tracked.get(`${map.parentSchema}.${map.tableName}`);
      if (!t) return;
      for (const row of evt.rows ?? []) {
        result.rowEvents++;
        if (name === 'writerows') add(t, 'I', row as Record<string, unknown>, at);
        else if (name === 'deleterows') add(t, 'D', row as Record<string, unknown>, at);
        else {
          const { before, after } = row as { before: Record<string, unknown>; after: Record<string, unknown> };
          add(t, 'D', before, at);
          add(t, 'U', after, at);
        }
      }
    } else if (name === 'query' && evt.query && ROWLESS.test(evt.query)) {
      const hit = namedTables(evt.query, evt.schema ?? '', tracked.keys());
      if (hit.length === 0) return;
      const statement = evt.query.replace(/\s+/g, ' ');
      if (additiveAlter(evt.query)) return; // the run's schema step follows it on the target
      const kind = ROWLESS.exec(evt.query)![1].replace(/\s+/g, ' ').toUpperCase();
      owe(`${kind} on the source at ${positionText(at)} (${statement.slice(0, 160)}): table copied again in full`, hit.map((k) => tracked.get(k)!.id));
      if (result.statements.length < 20) result.statements.push(statement.slice(0, 200));
    }
  };

  await new Promise<void>((resolve, reject) => {
    let settled = false;
    let busy: Promise<void> = Promise.resolve();
    let idle: NodeJS.Timeout | undefined;
    const finish = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      zongji.removeAllListeners('binlog');
      zongji.stop();
      if (err) reject(err);
      else resolve();
    };
    const watchdog = (): void => {
      clearTimeout(idle);
      // The log up to `to` exists already: a long silence means the connection is stuck.
      idle = setTimeout(() => finish(new Error(`no binary log event for 60 s while reading towards ${positionText(to)}`)), 60_000);
    };
    io.signal?.addEventListener('abort', () => finish(io.signal!.reason ?? new Error('cancelled')), { once: true });
    zongji.on('error', (err: unknown) => finish(err));
    // The stream runs ahead of the handling: zongji's file and resume position are read when an event
    // arrives, never later (by then they may belong to events not handled yet, and a position saved
    // from them would skip those). Memory stays bounded: the stream pauses while 1,000 events wait.
    let waiting = 0;
    let paused = false;
    zongji.on('binlog', (evt: BinlogEvent) => {
      watchdog();
      const file: string = zongji.options.filename ?? from.file;
      const safe: BinlogPosition = { file, pos: Number(zongji.options.position ?? from.pos) };
      if (++waiting >= 1000 && !paused) {
        paused = true;
        zongji.connection?.pause();
      }
      busy = busy.then(async () => {
        if (settled) return;
        handle(evt, safe);
        // A rotate event's position is in the file it closes; any other event's is in `file`.
        const name = evt.getEventName();
        const done = name === 'rotate' || !evt.nextPosition ? file > to.file : reached({ file, pos: evt.nextPosition }, to);
        // The last event before `to` ends a transaction: `to` itself is then a safe position.
        if (done || held >= maxKeys || owed.size > 0) await stage(done ? to : safe);
        if (done) finish();
      }).then(() => {
        if (--waiting < 100 && paused) {
          paused = false;
          zongji.connection?.resume();
        }
      }).catch((err) => finish(err));
    });
    watchdog();
    zongji.start({
      serverId: randomInt(1 << 20, 2 ** 31), // unique per reader: a server drops an older replica with the same id
      filename: from.file,
      position: from.pos,
      // Every event, so that the one ending at `to` is seen whatever it is (after FLUSH BINARY LOGS
      // it is a header event of the new file): the handler skips what it does not need.
      includeSchema: Object.fromEntries(schemas.map((s) => [s, true])),
    });
  });
}

interface BinlogEvent {
  getEventName(): string;
  nextPosition?: number;
  tableId?: number;
  tableMap?: Record<number, { parentSchema: string; tableName: string }>;
  rows?: unknown[];
  query?: string;
  schema?: string;
}
