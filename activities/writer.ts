// Writes rows into a target table idempotently. REPLACE (rather than ON DUPLICATE KEY UPDATE) also
// clears a stale row that collides on a secondary unique key; that row's own pending change, which
// must exist for the source to be consistent, puts it back.
//
// Two ways to write a batch, same outcome:
// - `load`: LOAD DATA LOCAL INFILE … REPLACE, fed from memory (the full load's fast path). With
//   LOCAL the server turns data errors into warnings and stores a mangled value, so every batch
//   runs in its own transaction and one that warns is rolled back and redone the strict way.
// - `replace`: multi-row REPLACE … VALUES, which a strict target fails on a bad row; the batch is
//   then redone row by row, so bad rows are rejected and counted and the others are written.
import { Context } from '@temporalio/activity';
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { TARGET_SQL_MODE } from '../lib/constants';
import type { WriteMode } from '../lib/types';
import { encodeBatch, loadDataSql, type EncodedBatch } from './load-data';
import { encodeRawBatch, rawEncodable, typedRow, type EncodeScratch, type RawCodec, type RawRow } from './raw-rows';
import { lossMessage, valueFits, type LossyColumn } from './definition-drift';
import { columnList, errorText, id, isDataError, keyAfter, keyIn, qualified, type Approximate, type KeyValue } from './sql';

export async function prepareTargetSession(conn: PoolConnection): Promise<void> {
  // The copy writes rows in key order, not dependency order, and target tables carry no triggers.
  await conn.query('SET SESSION sql_mode = ?, foreign_key_checks = 0', [TARGET_SQL_MODE]);
}

export interface WriteOutcome {
  written: number;
  rejected: number;
  firstError?: string;
  rejectedKeys: KeyValue[][];
}

// Errors with which a server (or mysql2) refuses LOAD DATA LOCAL: local_infile=OFF (MySQL 8's
// default), or the capability not negotiated.
const LOCAL_INFILE_REFUSED = new Set([
  1148, // ER_NOT_ALLOWED_COMMAND (MySQL 5.7, older MariaDB)
  4166, // ER_LOAD_INFILE_CAPABILITY_DISABLED (MariaDB 10.4+)
  3948, // ER_CLIENT_LOCAL_FILES_DISABLED (MySQL 8)
  2068, // CR_LOAD_DATA_LOCAL_INFILE_REJECTED (client side)
]);

export function isLocalInfileRefused(err: unknown): boolean {
  return typeof err === 'object' && err !== null && LOCAL_INFILE_REFUSED.has(Number((err as { errno?: number }).errno));
}

/** Process-wide: once a target has refused LOCAL INFILE, later batches go straight to REPLACE. */
let localInfileRefused = false;

/** For tests: forget an earlier refusal. */
export function resetLocalInfileRefusal(): void {
  localInfileRefused = false;
}

function noteRefusal(err: unknown): void {
  if (localInfileRefused) return;
  localInfileRefused = true;
  // Once per process; the copy goes on with REPLACE, slower but identical in result.
  const message = `the target refused LOAD DATA LOCAL INFILE (${errorText(err)}); copying with REPLACE … VALUES from now on`;
  try {
    Context.current().log.warn(message); // the worker's log, with the activity's context
  } catch {
    console.warn(message); // outside an activity (tests, tools)
  }
}

/** The target session's max_allowed_packet, read once per connection. */
const packetLimits = new WeakMap<object, number>();
async function packetLimit(conn: PoolConnection): Promise<number> {
  const core = (conn as unknown as { connection?: object }).connection ?? conn;
  let limit = packetLimits.get(core);
  if (limit === undefined) {
    const [rows] = await conn.query<RowDataPacket[]>('SELECT @@SESSION.max_allowed_packet AS p');
    limit = Number(rows[0].p);
    packetLimits.set(core, limit);
  }
  return limit;
}

// Characters mysql2 escapes with a backslash inside a string literal.
const ESCAPED = /[\0\b\t\n\r\x1a"'\\]/g;

/** The bytes a row takes in a REPLACE … VALUES statement: binary as X'hex', strings escaped. */
export function statementBytes(row: unknown[]): number {
  let n = 3;
  for (const v of row) {
    if (v === null || v === undefined) n += 5;
    else if (Buffer.isBuffer(v)) n += v.length * 2 + 4;
    else if (typeof v === 'string') n += Buffer.byteLength(v, 'utf8') + (v.match(ESCAPED)?.length ?? 0) + 3;
    else n += String(v).length + 3;
  }
  return n;
}

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;

/** mysql2 errors carry the whole statement (megabytes of row data): keep it out of logs and failures. */
function withoutStatement(err: unknown): unknown {
  if (err && typeof err === 'object' && 'sql' in err) delete (err as { sql?: string }).sql;
  return err;
}

export class TableWriter {
  private readonly insertSql: string;
  private readonly keyPositions: number[];
  /** The LOAD DATA file of the batch being written: one buffer for the writer's life, not one a batch. */
  private readonly scratch: EncodeScratch = {};

  constructor(
    private readonly conn: PoolConnection,
    private readonly schema: string,
    private readonly table: string,
    private readonly columns: string[],
    private readonly key: string[],
    private readonly mode: WriteMode = 'replace',
    private readonly approx: Approximate = {},
    /** Columns the target may store changed without an error (definition-drift.ts): checked value by value. */
    private readonly lossy: LossyColumn[] = [],
  ) {
    this.insertSql = `REPLACE INTO ${qualified(schema, table)} (${columnList(columns)}) VALUES ?`;
    this.keyPositions = key.map((k) => columns.indexOf(k));
  }

  /** Writes rows; rows the target rejects are counted and skipped, everything else is written. */
  async write(rows: unknown[][]): Promise<WriteOutcome> {
    return this.writeTyped(rows, this.mode === 'load');
  }

  /**
   * Writes rows read raw (raw-rows.ts): their bytes go into the LOAD DATA file as they came. A batch
   * that cannot go that way (the target warned or refused LOCAL, a column to check value by value, text
   * not in utf8) is turned into typed values and written like any other.
   */
  async writeRaw(rows: RawRow[], codec: RawCodec): Promise<WriteOutcome> {
    const loadable = this.mode === 'load' && this.lossy.length === 0 && rawEncodable(codec);
    if (rows.length > 0 && loadable && !localInfileRefused && (await this.load(encodeRawBatch(rows, codec, this.scratch)))) {
      return { written: rows.length, rejected: 0, rejectedKeys: [] };
    }
    // Loading the same values typed would warn again: after a raw load, the strict path.
    return this.writeTyped(rows.map((r) => typedRow(r, codec)), this.mode === 'load' && !loadable);
  }

  private async writeTyped(rows: unknown[][], tryLoad: boolean): Promise<WriteOutcome> {
    if (rows.length === 0) return { written: 0, rejected: 0, rejectedKeys: [] };
    const outcome: WriteOutcome = { written: 0, rejected: 0, rejectedKeys: [] };
    const fitting = this.lossy.length === 0 ? rows : rows.filter((row) => {
      const loss = this.lossy.find((l) => !valueFits(row[this.columns.indexOf(l.column)], l));
      if (loss) this.reject(outcome, row, lossMessage(row[this.columns.indexOf(loss.column)], loss));
      return !loss;
    });
    if (fitting.length === 0) return outcome;
    if (tryLoad && !localInfileRefused) {
      const batch = encodeBatch(fitting, this.columns.length);
      if (batch && (await this.load(batch))) return { ...outcome, written: fitting.length };
    }
    const out = await this.replace(fitting);
    return {
      written: out.written, rejected: outcome.rejected + out.rejected, firstError: outcome.firstError ?? out.firstError,
      rejectedKeys: [...outcome.rejectedKeys, ...out.rejectedKeys],
    };
  }

  /**
   * One LOAD DATA LOCAL of the batch, in a transaction. True when it went through cleanly; false
   * (and nothing changed) when the batch must take the strict path: a value the server had to
   * adjust (a warning), or LOCAL refused.
   */
  private async load(batch: EncodedBatch): Promise<boolean> {
    const sql = loadDataSql(qualified(this.schema, this.table), this.columns, batch.hex);
    await this.conn.query('START TRANSACTION');
    let committed = false;
    try {
      const [res] = await this.conn.query<ResultSetHeader>({ sql, infileStreamFactory: () => batch.stream() });
      if (res.warningStatus === 0) {
        await this.conn.query('COMMIT');
        committed = true;
        return true;
      }
      return false;
    } catch (err) {
      if (isLocalInfileRefused(err)) {
        noteRefusal(err);
        return false;
      }
      if (isDataError(err)) return false;
      throw withoutStatement(err);
    } finally {
      if (!committed) await this.rollback();
    }
  }

  private async rollback(): Promise<void> {
    const [res] = await this.conn.query<ResultSetHeader>('ROLLBACK');
    // Only a non-transactional table (target tables are created InnoDB, see target-schema.ts)
    // warns here: its rows could not be undone, and redoing the batch would hide mangled values.
    if (res.warningStatus > 0) {
      throw Object.assign(new Error(`${this.schema}.${this.table} is not transactional on the target: a LOAD DATA batch could not be rolled back`), { sqlState: '42000' });
    }
  }

  private async replace(rows: unknown[][]): Promise<WriteOutcome> {
    const outcome: WriteOutcome = { written: 0, rejected: 0, rejectedKeys: [] };
    // A statement over the target's max_allowed_packet is not refused politely: the server drops
    // the connection. So statements are cut to fit, and a row that cannot fit alone is rejected.
    const limit = await packetLimit(this.conn);
    const budget = limit - this.insertSql.length - 1024;
    let chunk: unknown[][] = [];
    let bytes = 0;
    for (const row of rows) {
      const size = statementBytes(row);
      if (size > budget) {
        this.reject(outcome, row, `row too large for the target: about ${mb(size)} in one statement, over the target's max_allowed_packet of ${mb(limit)}; raise max_allowed_packet on the target and run again`);
        continue;
      }
      if (bytes + size > budget) {
        await this.replaceChunk(chunk, outcome);
        chunk = [];
        bytes = 0;
      }
      chunk.push(row);
      bytes += size;
    }
    await this.replaceChunk(chunk, outcome);
    return outcome;
  }

  private reject(outcome: WriteOutcome, row: unknown[], error: string): void {
    outcome.rejected++;
    outcome.firstError ??= error;
    outcome.rejectedKeys.push(this.keyPositions.map((i) => row[i] as KeyValue));
  }

  private async replaceChunk(rows: unknown[][], outcome: WriteOutcome): Promise<void> {
    if (rows.length === 0) return;
    if ((await this.replaceExactly(rows)) === undefined) {
      outcome.written += rows.length;
      return;
    }
    // One bad row spoils the whole statement: find the bad ones row by row.
    for (const row of rows) {
      const problem = await this.replaceExactly([row]);
      if (problem === undefined) outcome.written++;
      else this.reject(outcome, row, problem);
    }
  }

  /**
   * One REPLACE in a transaction that is kept only when the server stored every value as given.
   * Strict mode errors on most bad values, but some it only notes (a DECIMAL rounded to a
   * narrower scale is Note 1265): those are rolled back too, never stored changed.
   * Resolves to undefined when written, or to the reason the rows were refused.
   */
  private async replaceExactly(rows: unknown[][]): Promise<string | undefined> {
    await this.conn.query('START TRANSACTION');
    let committed = false;
    try {
      const [res] = await this.conn.query<ResultSetHeader>(this.insertSql, [rows]);
      if (res.warningStatus > 0) return await this.firstWarning();
      await this.conn.query('COMMIT');
      committed = true;
      return undefined;
    } catch (err) {
      if (!isDataError(err)) throw withoutStatement(err);
      return errorText(err);
    } finally {
      if (!committed) await this.rollback();
    }
  }

  private async firstWarning(): Promise<string> {
    const [rows] = await this.conn.query<RowDataPacket[]>('SHOW WARNINGS LIMIT 1');
    const w = rows[0];
    return w ? `${String(w.Message)} (the target would store it changed)` : 'the target would store a value changed';
  }

  async deleteKeys(keys: KeyValue[][]): Promise<number> {
    if (keys.length === 0) return 0;
    const where = keyIn(this.key, keys, this.approx);
    const [res] = await this.conn.query<ResultSetHeader>(`DELETE FROM ${qualified(this.schema, this.table)} WHERE ${where.sql}`, where.params);
    return res.affectedRows;
  }

  /**
   * Deletes the target rows of a key range (after < key <= upTo, either bound optional): a full
   * load replaces its range, so rows the source no longer has (a tenant set up again after source
   * deletes) do not survive it.
   */
  async deleteRange(after: KeyValue[] | undefined, upTo: KeyValue | undefined): Promise<number> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (after) {
      const f = keyAfter(this.key, after, this.approx);
      where.push(f.sql);
      params.push(...f.params);
    }
    if (upTo !== undefined && this.key.length === 1) {
      where.push(`${id(this.key[0])} <= ?`);
      params.push(upTo);
    }
    const [res] = await this.conn.query<ResultSetHeader>(`DELETE FROM ${qualified(this.schema, this.table)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`, params);
    return res.affectedRows;
  }

  async truncate(): Promise<void> {
    // DELETE, not TRUNCATE: TRUNCATE is refused on a table referenced by a foreign key.
    await this.conn.query(`DELETE FROM ${qualified(this.schema, this.table)}`);
  }
}
