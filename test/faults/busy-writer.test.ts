// Contract 1 (no lost change) under load: a writer does ~200 inserts, updates, deletes and key
// changes per second on the source, some autocommitted and some in short transactions held open
// across batches, while the full copy and then three delta runs go through. Then the writer stops,
// one final run goes through, and the target equals the source: every table, no change left behind.
// In both capture modes, with the source on the on-premises source server (binary log on): the
// writer writes there, the target is the machine server, and the comparison is across the two.
import type { Client } from '@temporalio/client';
import { createConnection, type Connection, type Pool } from 'mysql2/promise';
import { createTenant, getStatus, runMigrationNow, waitForRun } from '../../client/operations';
import { count, ensureBuilt, sourcePool, testClient, testPool, uniqueName } from '../helpers';
import {
  cleanUpTenant,
  announceSeed, CAPTURE_MODES, createSource, expectFenceDown, expectSameAcrossServers, FAULT_COPY, faultSeed, logPool, pendingLog, seededRng, sleep,
  sourceUrl, type Rng, Workers,
} from './harness';

const BIG_ROWS = 60_000;
const RATE = 200; // statements per second, over two lanes
const seed = faultSeed();

/** Two lanes on their own sessions: one autocommits each statement, one groups three in a transaction held ~30 ms. */
class Writer {
  ops = 0;
  retries = 0;
  private stopping = false;
  private nextId = BIG_ROWS + 1;
  private lanes: Promise<void>[] = [];
  private conns: Connection[] = [];
  private startedAt = 0;
  private stoppedAt = 0;

  /** Writes to schema `database` of the server at `url`. */
  constructor(private readonly rng: Rng, private readonly url: string, private readonly database: string) {}

  async start(): Promise<void> {
    for (let i = 0; i < 2; i++) this.conns.push(await createConnection({ uri: this.url, database: this.database }));
    this.startedAt = Date.now();
    this.lanes = [this.lane(this.conns[0], 1), this.lane(this.conns[1], 3)];
  }

  async stop(): Promise<{ ops: number; perSecond: number; retries: number }> {
    this.stopping = true;
    await Promise.all(this.lanes);
    this.stoppedAt = Date.now();
    for (const c of this.conns) await c.end();
    return { ops: this.ops, perSecond: Math.round(this.ops / ((this.stoppedAt - this.startedAt) / 1000)), retries: this.retries };
  }

  /** One random statement: update 45 %, insert 25 %, delete 20 %, key change 5 %, key-less or small table 5 %. */
  private statement(): [string, unknown[]] {
    const r = this.rng.next();
    const anyId = () => this.rng.int(1, this.nextId - 1);
    if (r < 0.45) return ['UPDATE big SET qty = qty + 1, label = CONCAT(\'w \', qty) WHERE id = ?', [anyId()]];
    if (r < 0.7) return ["INSERT INTO big VALUES (?, 1, 'written', 3.25, '2025-04-04 04:04:04')", [this.nextId++]];
    if (r < 0.9) return ['DELETE FROM big WHERE id = ?', [anyId()]];
    if (r < 0.95) return ['UPDATE big SET id = ? WHERE id = ?', [this.nextId++, anyId()]];
    if (r < 0.97) return ["INSERT INTO nokey VALUES (?, 'w')", [this.rng.int(0, 50)]];
    if (r < 0.98) return ['DELETE FROM nokey WHERE a = ? LIMIT 1', [this.rng.int(0, 1500)]];
    return ['UPDATE small SET name = CONCAT(\'w \', ?) WHERE id = ?', [this.ops, this.rng.int(1, 100)]];
  }

  private async lane(conn: Connection, perTransaction: number): Promise<void> {
    const began = Date.now();
    let done = 0;
    while (!this.stopping) {
      const statements = Array.from({ length: perTransaction }, () => this.statement());
      try {
        if (perTransaction > 1) await conn.query('BEGIN');
        for (const [sql, params] of statements) await conn.query(sql, params);
        if (perTransaction > 1) {
          await sleep(30); // committed later than statements of the other lane that started after it
          await conn.query('COMMIT');
        }
        this.ops += statements.length;
      } catch (err) {
        const errno = (err as { errno?: number }).errno;
        if (errno !== 1213 && errno !== 1205) throw err; // deadlock / lock wait: the transaction is rolled back, go on
        await conn.query('ROLLBACK').catch(() => undefined);
        this.retries++;
      }
      done += statements.length;
      const due = began + (done * 1000) / (RATE / 2);
      await sleep(Math.max(0, due - Date.now()));
    }
  }
}

describe.each(CAPTURE_MODES)('busy writer in %s mode', (mode) => {
  // Triggers mode keeps the stream it had before binlog mode came (a seed replays the same writes).
  const rng = seededRng(seed, mode === 'triggers' ? 'busy-writer' : `busy-writer/${mode}`);
  const src = uniqueName(`fw${mode.slice(0, 1)}_src`);
  const tenant = uniqueName(`fw${mode.slice(0, 1)}`);
  const dst = `${tenant}_${src}`;
  const taskQueue = uniqueName('tq_fw');
  const workers = new Workers({ taskQueue });
  /** The target server. */
  let pool: Pool;
  /** The source server, where the writer writes. */
  let source: Pool;
  let client: Client;

  beforeAll(async () => {
    announceSeed(`busy-writer (${mode})`, seed);
    ensureBuilt();
    pool = testPool();
    source = sourcePool();
    await createSource(source, src, BIG_ROWS);
    client = await testClient();
    await workers.start();
  });

  afterAll(() => cleanUpTenant({ client, workers, pool, source, tenant, src, targetSchemas: [dst] }));

  it('a writer doing ~200 changes a second during the full copy and the deltas: after a final run the target equals the source', async () => {
    const writer = new Writer(rng, sourceUrl(), src);
    const logs = logPool(mode, source, pool);
    let stopped = false;
    try {
      const { status } = await createTenant(client, taskQueue, {
        tenant, sourceConnection: 'onprem', captureMode: mode, companies: [{ source: src }], copy: { ...FAULT_COPY, writeBatchRows: 100 },
      });
      expect(status.status).toBe('Ready');
      expect(status.capture?.mode).toBe(mode);
      await writer.start();
      const full = await runMigrationNow(client, tenant, { requestedBy: 'faults', reason: 'full copy under load' });
      expect(full.kind).toBe('full');
      const opsBeforeFull = writer.ops;
      expect((await waitForRun(client, tenant, full)).status).toBe('Completed');
      const duringFull = writer.ops - opsBeforeFull;

      const deltaRows: number[] = [];
      for (let i = 0; i < 3; i++) {
        await sleep(rng.int(1000, 2000)); // let changes pile up
        const run = await runMigrationNow(client, tenant, { requestedBy: 'faults', reason: `delta ${i + 1} under load` });
        expect(run.kind).toBe('delta');
        const entry = await waitForRun(client, tenant, run);
        expect(entry.status).toBe('Completed');
        deltaRows.push(entry.rows);
      }
      const rate = await writer.stop();
      stopped = true;
      // Binlog mode stages nothing until the next run reads the binary log: its log is empty here.
      const left = mode === 'triggers' ? `${await pendingLog(logs, src, 'big', tenant)} log rows left for the final run` : 'the rest staged by the final run';
      console.log(`seed ${seed} (${mode}): writer ${rate.ops} statements at ${rate.perSecond}/s (${rate.retries} transactions retried after a deadlock); ${duringFull} during the full copy; delta runs moved ${deltaRows.join(', ')} rows; ${left}`);
      // The load was real: changes during the full copy and the deltas, at a rate near the target.
      expect(rate.perSecond).toBeGreaterThanOrEqual(RATE * 0.6);
      expect(duringFull).toBeGreaterThan(200);
      for (const rows of deltaRows) expect(rows).toBeGreaterThan(0);

      const final = await runMigrationNow(client, tenant, { requestedBy: 'faults', reason: 'final run, writer stopped' });
      const finalEntry = await waitForRun(client, tenant, final);
      expect(finalEntry.status).toBe('Completed');
      console.log(`seed ${seed} (${mode}): the final run moved ${finalEntry.rows} rows`);
      await expectSameAcrossServers(source, src, pool, dst);
      expect(await count(pool, dst, 'big')).toBeGreaterThan(BIG_ROWS / 2);
      for (const t of ['big', 'small']) expect(await pendingLog(logs, src, t, tenant)).toBe(0);
      await expectFenceDown(pool, client, tenant, [dst]);
      const big = (await getStatus(client, tenant)).tables.find((t) => t.table === 'big')!;
      expect(big).toMatchObject({ errors: 0 });
    } catch (err) {
      console.error(workers.failure(`seed ${seed} (${mode})`, err));
      throw err;
    } finally {
      if (!stopped) await writer.stop().catch(() => undefined);
    }
  });
});
