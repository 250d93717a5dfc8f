// Contract 2 (idempotence) and 4 (exact compensation) under seeded random SIGKILLs: a `cm worker`
// process is killed at a random point of a full copy, of a change (delta) run and of a data upgrade,
// then a new worker is started. Every time: the run or upgrade ends, the target equals the source
// (also the key-less table: nothing doubled), the change log is drained, and the fence is down.
// In both capture modes, with the source on a server of its own (the on-premises source server, binary
// log on) and the target on the machine server: "target equals source" compares across the two
// servers; the change log is the source's (triggers) or the one staged on the target (binlog).
// The seed is printed; CM_FAULT_SEED=<n> replays the same kill points and the same source changes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { createConnection, escapeId, type Pool, type RowDataPacket } from 'mysql2/promise';
import {
  createTenant, getStatus, resetCloudData, runDataUpgradeNow, runMigrationNow, waitForRun, waitForUpgrade,
} from '../../client/operations';
import { upgradeProgressQuery, type RunStarted } from '../../workflows/messages';
import {
  copyPartsAtKill, count, dropSchemas, ensureBuilt, MYSQL_URL, sourcePool, testClient, testPool, uniqueName, type WorkerProcess,
} from '../helpers';
import {
  cleanUpTenant,
  activityAttempts, announceSeed, CAPTURE_MODES, type CaptureModeUnderTest, createSource, expectFenceDown, expectSameAcrossServers, expectSameSchemas,
  FAULT_COPY, faultSeed, hardKill, isRunning, logPool, pendingLog, seededRng, sleep, TABLES, Workers,
} from './harness';

const BIG_ROWS = 40_000;
const seed = faultSeed();

/**
 * What each mode goes through. Triggers: eight replication iterations (fulls after Reset Cloud Data
 * and deltas alternating), then three upgrades (two that must fail and be restored, one that
 * completes). Binlog: fewer iterations to keep the suite's time down (two fulls, three deltas; a
 * binlog delta also has its stage step to be killed in) and a single upgrade kill: an upgrade acts on
 * the target only, the same in either mode, and triggers mode covers the failing ones.
 */
const PLANS: Record<CaptureModeUnderTest, { replication: ('full' | 'delta')[]; upgrades: 'all' | 'one' }> = {
  binlog: { replication: ['full', 'delta', 'full', 'delta', 'delta'], upgrades: 'one' },
  triggers: { replication: ['full', 'delta', 'full', 'delta', 'full', 'delta', 'full', 'delta'], upgrades: 'all' },
};

interface Outcome {
  iteration: number;
  kind: 'full' | 'delta' | 'upgrade';
  trigger: string;
  atKill: string;
  interrupted: boolean;
  result: string;
}

describe.each(CAPTURE_MODES)('random SIGKILLs in %s mode', (mode) => {
  const plan = PLANS[mode];
  // Triggers mode keeps the stream it had before binlog mode came (a seed replays the same kills).
  const rng = seededRng(seed, mode === 'triggers' ? 'random-kills' : `random-kills/${mode}`);
  const src = uniqueName(`fk${mode.slice(0, 1)}_src`);
  const tenant = uniqueName(`fk${mode.slice(0, 1)}`);
  const dst = `${tenant}_${src}`;
  const ref = uniqueName('fk_ref'); // the target as it should be after an upgrade (or before it)
  const appUser = uniqueName('fk_app'); // an account on the target: the fence locks it there
  const taskQueue = uniqueName('tq_fk');
  /** The worker processes' upgrades root (CM_UPGRADES_DIR): requests name a version, the steps are here. */
  const stepsRoot = mkdtempSync(join(tmpdir(), 'cm-fault-steps-'));
  const workers = new Workers({ taskQueue, upgradesRoot: stepsRoot });
  const q = (s: string) => escapeId(s, true);
  /** The target server. */
  let pool: Pool;
  /** The source server: the source schema and every change made to it. */
  let source: Pool;
  /** Where the tenant's change log lives (source in triggers mode, target in binlog mode). */
  let logs: Pool;
  let client: Client;
  let worker: WorkerProcess;
  const outcomes: Outcome[] = [];

  beforeAll(async () => {
    announceSeed(`random-kills (${mode})`, seed);
    ensureBuilt();
    pool = testPool();
    source = sourcePool();
    logs = logPool(mode, source, pool);
    await createSource(source, src, BIG_ROWS);
    await pool.query('CREATE USER ?@? IDENTIFIED BY ?', [appUser, '%', `pw-${uniqueName('x')}`]);
    client = await testClient();
    worker = await workers.start();
    const { status } = await createTenant(client, taskQueue, {
      tenant, sourceConnection: 'onprem', captureMode: mode, companies: [{ source: src }], appUsers: [appUser], copy: FAULT_COPY,
    });
    expect(status.status).toBe('Ready');
    expect(status.capture?.mode).toBe(mode);
  });

  afterAll(async () => {
    console.log(`seed ${seed} (${mode})\n${outcomes.map((o) => `#${o.iteration} ${o.kind.padEnd(7)} ${o.trigger.padEnd(46)} ${o.atKill.padEnd(34)} interrupted=${o.interrupted} → ${o.result}`).join('\n')}`);
    await cleanUpTenant({
      client, workers, pool, source, tenant, src, targetSchemas: [dst, ref],
      before: async () => {
        await pool.query('DROP USER IF EXISTS ?@?', [appUser, '%']);
        await pool.query('DELETE FROM cm_control.job_queue WHERE tenant = ?', [tenant]).catch(() => undefined);
      },
    });
    rmSync(stepsRoot, { recursive: true, force: true });
  });

  /** Kills the worker when `due` says so (polled every `everyMs`), or when `limitMs` has passed. */
  async function killWhen(due: () => Promise<boolean>, limitMs = 60_000, everyMs = 20): Promise<void> {
    const deadline = Date.now() + limitMs;
    while (!(await due()) && Date.now() < deadline) await sleep(everyMs);
    await hardKill(worker);
  }

  /** Rows waiting in the tenant's change log of a table, where the mode keeps it. */
  const pending = (table: string): Promise<number> => pendingLog(logs, src, table, tenant);

  /** A seeded set of source changes: updates, deletes, inserts, key changes, key-less rows, a small row. */
  async function changeSource(iteration: number, scale = 1): Promise<void> {
    const m = rng.int(15, 40);
    await source.query(`UPDATE ${q(src)}.big SET qty = qty + 1, label = CONCAT('it ', ?, ' ', id) WHERE id % ? = ?`, [iteration, Math.ceil(m / scale), rng.int(0, m - 1)]);
    const d = rng.int(60, 120);
    await source.query(`DELETE FROM ${q(src)}.big WHERE id % ? = ?`, [Math.ceil(d / scale), rng.int(0, d - 1)]);
    const [max] = await source.query<RowDataPacket[]>(`SELECT MAX(id) AS m FROM ${q(src)}.big WHERE id < 1000000`);
    const from = Number(max[0].m) + 1;
    const n = Math.ceil(rng.int(100, 800) * scale);
    await source.query(`INSERT INTO ${q(src)}.big SELECT id + ?, id % 5, CONCAT('new ', ?, ' ', id), 1.5, '2025-02-02' FROM ${q(src)}.big WHERE id < 1000000 ORDER BY id LIMIT ?`, [from, iteration, n]);
    // Key changes: the old key is logged as a delete.
    for (let i = 0; i < 3; i++) {
      await source.query(`UPDATE ${q(src)}.big SET id = id + ? WHERE id = ?`, [1_000_000 * (iteration + 1), rng.int(1, BIG_ROWS)]);
    }
    await source.query(`INSERT INTO ${q(src)}.nokey VALUES (?, 'dup added'), (?, 'dup added')`, [iteration, iteration]);
    await source.query(`DELETE FROM ${q(src)}.nokey WHERE a = ?`, [rng.int(100, 1400)]);
    await source.query(`UPDATE ${q(src)}.small SET name = ? WHERE id = ?`, [`changed ${iteration}`, rng.int(1, 100)]);
  }

  /** After a run: Completed, target = source (across the two servers), change log drained, fence down. */
  async function expectRunGood(started: RunStarted): Promise<string> {
    const entry = await waitForRun(client, tenant, started);
    if (entry.status !== 'Completed') console.error(`run #${entry.run} ${entry.status}: ${entry.failure}`, (await getStatus(client, tenant)).tables.filter((t) => t.status !== 'Successful'));
    expect(entry.status).toBe('Completed');
    await expectSameAcrossServers(source, src, pool, dst);
    expect(await pending('big')).toBe(0);
    expect(await pending('small')).toBe(0);
    await expectFenceDown(pool, client, tenant, [dst]);
    return entry.status;
  }

  async function replicationIteration(iteration: number, kind: 'full' | 'delta'): Promise<void> {
    if (kind === 'full') {
      const reset = await resetCloudData(client, tenant, { confirm: true, requestedBy: 'faults' });
      expect(reset.tablesEmptied).toBe(TABLES.length);
      expect(await count(pool, dst, 'big')).toBe(0);
    } else {
      await changeSource(iteration);
    }
    // Triggers: the log holds the changes before the run starts. Binlog: nothing is staged until the
    // run's first step has read the binary log; the kill waits for the staged log to drain from its peak.
    let initialLog = await pending('big');
    const killMode = rng.pick(['progress', 'time'] as const);
    const frac = rng.between(0.05, 0.9);
    // A full copy of BIG_ROWS can end within 600 ms here: a kill by time falls within its first 400 ms
    // (binlog mode has only two fulls, and each must have a chance to be interrupted).
    const delayMs = rng.int(0, 400);
    const started = await runMigrationNow(client, tenant, { requestedBy: 'faults', reason: `iteration ${iteration}` });
    expect(started.kind).toBe(kind);
    const t0 = Date.now();
    // Server-side only (no worker involved): the run's child workflow has closed.
    const runOver = async () => (await client.workflow.getHandle(started.workflowId).describe()).status.name !== 'RUNNING';

    let trigger: string;
    if (killMode === 'time') {
      trigger = `after ${delayMs} ms`;
      await killWhen(async () => Date.now() - t0 >= delayMs);
    } else if (kind === 'full') {
      trigger = `target big ≥ ${Math.round(frac * 100)}%`;
      await killWhen(async () => (await count(pool, dst, 'big')) >= frac * BIG_ROWS || (await runOver()), 60_000, 40);
    } else if (mode === 'triggers') {
      trigger = `log ≤ ${Math.round(frac * 100)}% of ${initialLog}`;
      await killWhen(async () => (await pending('big')) <= frac * initialLog || (await runOver()), 60_000, 40);
    } else {
      trigger = `staged log ≤ ${Math.round(frac * 100)}% of its peak`;
      await killWhen(async () => {
        const now = await pending('big');
        initialLog = Math.max(initialLog, now);
        return (initialLog > 0 && now <= frac * initialLog) || (await runOver());
      }, 60_000, 40);
    }
    const atKill = kind === 'full' ? `big ${await count(pool, dst, 'big')}/${await count(source, src, 'big')} on target` : `log ${await pending('big')}/${initialLog}`;
    const finishedBeforeKill = await runOver();
    if (kind === 'full') {
      // Exact resume: the retry starts from the copy's durable checkpoint, at most one batch behind the committed rows.
      const parts = await copyPartsAtKill(client, pool, tenant, dst, 'big', started.workflowId);
      const over = parts.filter((p) => p.beyond > FAULT_COPY.writeBatchRows);
      expect(over).toEqual([]); // each part: committed rows beyond its checkpoint
    }
    // Sometimes the source changes while no worker runs. Such changes are made after the run started,
    // so the contract promises them by the end of the *next* run: one more (uninterrupted) run then
    // goes through before the comparison. Nothing the killed run lost or doubled can hide in it: a
    // change log entry dropped, a row skipped by the copy, or a row written twice stays wrong.
    const changedWhileDown = rng.chance(0.5);
    if (changedWhileDown) await changeSource(iteration, 0.2);
    worker = await workers.start();
    let result: string;
    if (changedWhileDown) {
      const entry = await waitForRun(client, tenant, started);
      expect(entry.status).toBe('Completed');
      const next = await runMigrationNow(client, tenant, { requestedBy: 'faults', reason: `after iteration ${iteration}` });
      expect(next.kind).toBe('delta');
      result = `${entry.status}, then run ${next.run} ${await expectRunGood(next)}`;
    } else {
      result = await expectRunGood(started);
    }
    const attempts = await activityAttempts(client, started.workflowId);
    outcomes.push({
      iteration, kind, trigger: `${trigger}${changedWhileDown ? ', changes while down' : ''}`,
      atKill: finishedBeforeKill ? `${atKill} (run had ended)` : atKill, interrupted: attempts.retried > 0, result,
    });
  }

  /** The version folder `<from>-<to>` under the workers' upgrades root; `broken` adds a last step that fails. */
  function writeSteps(from: string, to: string, broken: boolean): void {
    const dir = join(stepsRoot, `${from}-${to}`);
    mkdirSync(dir);
    const steps = upgradeSteps(from);
    for (const [name, sql] of Object.entries(steps)) writeFileSync(join(dir, name), sql);
    if (broken) writeFileSync(join(dir, '009_broken.sql'), 'UPDATE no_such_table SET x = 1;');
  }

  const upgradeSteps = (from: string): Record<string, string> => ({
    '001_touch.sql': `UPDATE big SET qty = qty + 1, label = CONCAT(label, ' v${from}') WHERE id % 3 = 0; DELETE FROM small WHERE id > 95;`,
    '002_hold.sql': 'DO SLEEP(1);',
    '003_more.sql': `ALTER TABLE small ADD COLUMN note_${from.replace('.', '_')} VARCHAR(10) NULL; INSERT INTO nokey VALUES (-1, 'upgrade'), (-1, 'upgrade');`,
  });

  /** ref := a copy of every target table (what a restore must give back). */
  async function snapshotTarget(): Promise<void> {
    await dropSchemas(pool, ref);
    await pool.query(`CREATE SCHEMA ${q(ref)}`);
    for (const t of TABLES) {
      await pool.query(`CREATE TABLE ${q(ref)}.${q(t)} LIKE ${q(dst)}.${q(t)}`);
      await pool.query(`INSERT INTO ${q(ref)}.${q(t)} SELECT * FROM ${q(dst)}.${q(t)}`);
    }
  }

  async function upgradeIteration(iteration: number, from: string, to: string, broken: boolean, kill = true): Promise<string> {
    await snapshotTarget();
    // Within the upgrade (about 1.5–2 s here, its second step sleeping 1 s): with up to 2.5 s, seed
    // 2016874468 put all three kills after the upgrades had ended, and no kill interrupted one.
    const delayMs = rng.int(0, 1400);
    writeSteps(from, to, broken);
    const started = await runDataUpgradeNow(client, tenant, { requestedBy: 'faults', to });
    let phase = 'no kill';
    if (kill) {
      const t0 = Date.now();
      await sleep(Math.max(0, delayMs - (Date.now() - t0)));
      const progress = await client.workflow.getHandle(started.workflowId).query(upgradeProgressQuery).catch(() => undefined);
      await hardKill(worker);
      phase = progress ? `in ${progress.phase}${progress.currentStep ? ` ${progress.currentStep}` : ''}` : 'ended';
      worker = await workers.start();
    }
    const entry = await waitForUpgrade(client, tenant, started);
    const status = await getStatus(client, tenant);
    if (broken) expect(entry.status).toBe('Failed'); // a failing step can never end Complete
    if (entry.status === 'Complete') {
      // The same steps on the snapshot give the expected tables.
      const conn = await createConnection({ uri: MYSQL_URL, database: ref, multipleStatements: true });
      try {
        for (const sql of Object.values(upgradeSteps(from))) await conn.query(sql);
      } finally {
        await conn.end();
      }
      expect(status).toMatchObject({ status: 'Upgrade completed successfully', dataVersion: to });
    } else {
      expect(entry).toMatchObject({ status: 'Failed', restored: true });
      expect(status).toMatchObject({ status: 'Upgrade Pending', dataVersion: from });
    }
    await expectSameSchemas(pool, ref, dst);
    const [cols] = await pool.query<RowDataPacket[]>(
      'SELECT TABLE_NAME AS t, COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (?, ?) GROUP BY TABLE_SCHEMA, TABLE_NAME ORDER BY TABLE_SCHEMA = ?, 1',
      [ref, dst, ref],
    );
    expect(cols.slice(0, TABLES.length).map((c) => `${c.t}:${c.n}`)).toEqual(cols.slice(TABLES.length).map((c) => `${c.t}:${c.n}`));
    await expectFenceDown(pool, client, tenant, [dst]);
    const [locked] = await pool.query<RowDataPacket[]>('SHOW CREATE USER ?@?', [appUser, '%']);
    expect(String(Object.values(locked[0])[0])).not.toMatch(/ACCOUNT LOCK/); // unlocked again
    const attempts = await activityAttempts(client, started.workflowId);
    outcomes.push({
      iteration, kind: 'upgrade', trigger: kill ? `after ${delayMs} ms${broken ? ', broken step' : ''}` : 'none (check run)', atKill: phase,
      interrupted: attempts.retried > 0 || attempts.timedOut > 0, result: `${entry.status}${entry.failedStep ? ` at ${entry.failedStep}` : ''}`,
    });
    return entry.status;
  }

  it('survives seeded random SIGKILLs of the worker in full copies, delta runs and data upgrades', async () => {
    try {
      // Run 1 is the first full copy; then fulls (after Reset Cloud Data) and deltas alternate.
      let iteration = 0;
      for (const kind of plan.replication) await replicationIteration(++iteration, kind);
      // Upgrades last: after one completes, replication is refused. Triggers mode: two that must fail
      // and be restored, then one that completes unless the kill lands in a step. Binlog mode: that last one only.
      if (plan.upgrades === 'all') {
        await upgradeIteration(++iteration, '1.0', '1.1', true);
        await upgradeIteration(++iteration, '1.0', '1.1.1', true);
      }
      const last = await upgradeIteration(++iteration, '1.0', '1.2', false);
      // The kill landed in a step (the upgrade was restored): the completed path is checked once more, without a kill.
      if (last !== 'Complete') expect(await upgradeIteration(iteration + 1, '1.0', '1.3', false, false)).toBe('Complete');

      expect(outcomes.filter((o) => o.trigger !== 'none (check run)')).toHaveLength(plan.replication.length + (plan.upgrades === 'all' ? 3 : 1));
      // The kills really interrupted work of each kind, not only idle workers. Upgrades: in triggers
      // mode (three kills); binlog mode's single upgrade kill may land between activities.
      for (const kind of plan.upgrades === 'all' ? (['full', 'delta', 'upgrade'] as const) : (['full', 'delta'] as const)) {
        expect({ kind, interrupted: outcomes.some((o) => o.kind === kind && o.interrupted) }).toEqual({ kind, interrupted: true });
      }
      expect(isRunning(worker)).toBe(true);
      if (mode === 'binlog') {
        // Binlog mode writes nothing on the source: no trigger, no capture registry row of this tenant's.
        const [triggers] = await source.query<RowDataPacket[]>('SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?', [src]);
        expect(triggers).toHaveLength(0);
        expect(await pendingLog(source, src, 'big', tenant)).toBe(0);
      }
    } catch (err) {
      console.error(workers.failure(`seed ${seed} (${mode})`, err));
      throw err;
    }
  });
});
