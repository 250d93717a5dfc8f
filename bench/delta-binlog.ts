// Scenario 2 in binlog mode: the ledger on a MariaDB server of its own (binary log on), a tenant in
// captureMode `binlog` that has made its first run (the full copy), then the same 1,000 changes as
// the triggers-mode delta (400 inserts, 400 updates, 200 deletes) and a run. The run first reads
// the binary log (stageChanges: the changed keys staged on the target), then applies them
// (migrateTables): the two are timed apart, from the run's history.
import { createTenant, runMigrationNow, waitForRun, runResult } from '../client/operations';
import { qualified } from '../activities/sql';
import type { RunResult } from '../lib/types';
import { type BenchContext } from './context';
import { activitySpan, dropTenant, settle, workflowFigures } from './harness';
import { createLedger } from './ledger';
import { type DeltaFigures } from './delta';
import { ms, n, times, verdict, type Section } from './report';
import { sameAcross, settleSource, withSourceServer, type AcrossCheck } from './source';

const LEDGER = {
  source: 'bench_src_ledger_binlog',
  target: 'bench_dst_ledger_binlog',
  table: 'gl_entry',
  tenant: 'bench_delta_binlog',
  taskQueue: 'bench-delta-binlog',
  connection: 'bench_ledger_src',
};

export interface DeltaBinlogFigures {
  rows: number;
  inserts: number;
  updates: number;
  deletes: number;
  captureMode: string;
  /** The first run: copy activities (first scheduled → last completed) and the whole run. */
  fullCopyMs: number;
  fullRunMs: number;
  fullCheck: AcrossCheck;
  /** The delta run: reading the binary log, applying the keys, the whole run. */
  stageMs: number;
  applyMs: number;
  runWallMs: number;
  /** Keys the reader staged and the positions it read between, as the run reports them. */
  keys?: number;
  from?: string;
  to?: string;
  check: AcrossCheck;
}

export async function benchDeltaBinlog(ctx: BenchContext, rows = 1_000_000): Promise<DeltaBinlogFigures> {
  const h = await ctx.harness();
  const { source, target, table, tenant } = LEDGER;
  const drop = () => dropTenant(h.client, ctx.pool, tenant, source, [target]);
  ctx.log(`delta, binlog mode: a source server of its own, ${n(rows)} ledger rows…`);
  return withSourceServer(LEDGER.connection, ctx.log, async (src) => {
    await drop();
    const worker = await h.worker(LEDGER.taskQueue); // inherits CM_CONN_BENCH_LEDGER_SRC_URL
    try {
      await createLedger(src.pool, source, table, rows);
      await src.pool.query(`ANALYZE TABLE ${qualified(source, table)}`); // the plan reads row estimates
      const { status } = await createTenant(h.client, LEDGER.taskQueue, {
        tenant,
        sourceConnection: LEDGER.connection,
        captureMode: 'binlog',
        companies: [{ source, target }],
        requestedBy: 'bench',
      });
      if (status.status !== 'Ready') throw new Error(`bench tenant setup ended ${status.status}: ${status.setupError ?? ''}`);
      ctx.log('  the first run: full copy across the two servers…');
      await settleSource(src, ctx.log);
      await settle(ctx.pool, ctx.log);
      const first = await runMigrationNow(h.client, tenant, { requestedBy: 'bench', reason: 'full copy before the binlog delta benchmark' });
      const firstEntry = await waitForRun(h.client, tenant, first);
      if (firstEntry.status !== 'Completed') throw new Error(`the full copy run ended ${firstEntry.status}: ${firstEntry.failure ?? ''}`);
      // A table from 100,000 rows copies in key ranges (copyKeyRange); a smaller one within migrateTables.
      const ranged = await activitySpan(h.client, first.workflowId, 'copyKeyRange');
      const fullCopyMs = ranged.count > 0 ? ranged.spanMs : (await activitySpan(h.client, first.workflowId, 'migrateTables')).spanMs;
      const fullRunMs = (await workflowFigures(h.client, first.workflowId)).wallMs;
      const fullCheck = await sameAcross(src.pool, source, ctx.pool, target, [table]);
      ctx.log(`    copy activities ${ms(fullCopyMs)}, run ${ms(fullRunMs)}, target equals source: ${fullCheck.equal ? 'yes' : 'NO'}`);

      const t = qualified(source, table);
      const changes = { inserts: 400, updates: 400, deletes: 200 };
      ctx.log(`  ${n(changes.inserts + changes.updates + changes.deletes)} changed rows on the source, then a run…`);
      await src.pool.query(
        `INSERT INTO ${t} SELECT entry_no + ?, posting_date, document_no, account_no, 'inserted by the delta bench', amount, debit_amount, credit_amount,
                currency_code, dimension_set_id, source_code, user_id, created_at, reversed FROM ${t} WHERE entry_no <= ?`,
        [rows, changes.inserts],
      );
      await src.pool.query(`UPDATE ${t} SET amount = amount + 1, description = 'updated by the delta bench' WHERE entry_no BETWEEN ? AND ?`, [1001, 1000 + changes.updates]);
      const mid = Math.floor(rows / 2);
      await src.pool.query(`DELETE FROM ${t} WHERE entry_no BETWEEN ? AND ?`, [mid + 1, mid + changes.deletes]);

      await settleSource(src, ctx.log);
      await settle(ctx.pool, ctx.log);
      const run = await runMigrationNow(h.client, tenant, { requestedBy: 'bench', reason: 'binlog delta benchmark' });
      if (run.kind !== 'delta') throw new Error(`expected a delta run, got ${run.kind}`);
      const entry = await waitForRun(h.client, tenant, run);
      if (entry.status !== 'Completed') throw new Error(`the delta run ended ${entry.status}: ${entry.failure ?? ''}`);
      const result = await runResult(h.client, run.workflowId);
      const figures: DeltaBinlogFigures = {
        rows,
        ...changes,
        captureMode: status.capture?.mode ?? 'triggers',
        fullCopyMs,
        fullRunMs,
        fullCheck,
        stageMs: (await activitySpan(h.client, run.workflowId, 'stageChanges')).longestMs,
        applyMs: (await activitySpan(h.client, run.workflowId, 'migrateTables')).longestMs,
        runWallMs: (await workflowFigures(h.client, run.workflowId)).wallMs,
        keys: result.capture?.keys,
        from: result.capture?.from,
        to: result.capture?.to,
        check: await sameAcross(src.pool, source, ctx.pool, target, [table], true),
      };
      ctx.log(
        `    reading the binlog ${ms(figures.stageMs)} (${figures.keys ?? '?'} keys, ${figures.from ?? '?'} → ${figures.to ?? '?'}), applying ${ms(figures.applyMs)}, ` +
          `run ${ms(figures.runWallMs)}; target equals source: ${figures.check.equal ? 'yes' : 'NO'}`,
      );
      return figures;
    } finally {
      await worker.stop();
      await drop();
    }
  });
}

export function deltaBinlogSection(f: DeltaBinlogFigures, triggers?: DeltaFigures): Section {
  const delta = f.stageMs + f.applyMs;
  const faster = f.fullCopyMs / delta;
  return {
    heading: `Delta in binlog mode: 1,000 changed rows of a ${n(f.rows)}-row ledger on a second server`,
    rows: [
      `| reading the binary log (stageChanges, started → completed): ${f.inserts} inserts, ${f.updates} updates, ${f.deletes} deletes | ${ms(f.stageMs)} | ${f.keys === undefined ? '' : `${n(f.keys)} keys staged on the target, `}${f.from ?? '?'} → ${f.to ?? '?'} | | |`,
      `| applying them (migrateTables, started → completed) | ${ms(f.applyMs)} | includes the run's own verification of the applied rows and the next slice | | |`,
      `| delta activities together (stageChanges + migrateTables), captureMode \`${f.captureMode}\` | ${ms(delta)} | | ≤ 1 s | ${verdict(delta <= 1000, ms(delta - 1000))} |`,
      `| same, against this ledger's full copy across the two servers (copy activities of the first run) | ${ms(delta)} | full copy activities ${ms(f.fullCopyMs)}: ${times(faster)} faster | ≥ 10× faster | ${verdict(faster >= 10, times(10 - faster))} |`,
      `| the whole delta run (child workflow start → close) | ${ms(f.runWallMs)} | target equals source (CHECKSUM TABLE and a row digest, each on its own server): ${f.check.equal ? 'yes' : '**no**'} | equal | ${verdict(f.check.equal)} |`,
      `| the first run, the full copy (child workflow start → close) | ${ms(f.fullRunMs)} | target equals source afterwards: ${f.fullCheck.equal ? 'yes' : '**no**'} | (context) | |`,
      ...(triggers
        ? [`| the triggers-mode delta (section "Delta" above: same changes, one server) | ${ms(triggers.activityMs)} | its whole run ${ms(triggers.runWallMs)} | (context) | |`]
        : []),
    ],
    notes: [
      'The ledger lives on a second MariaDB server on this machine with the binary log on (ROW, full images and metadata); the target is the machine\'s server. ' +
        'The tenant in binlog mode installs nothing on the source: each run starts by reading the binary log from the tenant\'s position up to the position current when the read starts, ' +
        'and stages the changed rows\' keys in the change logs on the target (stageChanges); migrateTables then reads those rows from the source and applies them, like a trigger log. ' +
        'Both activities are timed from the run\'s history (started → completed). The goal is held against their sum, which is the work the triggers mode\'s one migrateTables activity does.',
      ...(f.rows < 1_000_000 ? [`The ledger here has ${n(f.rows)} rows, fewer than the 1,000,000 of the triggers-mode scenario, to keep the bench short; the delta is the same 1,000 changes.`] : []),
      ...(delta <= 1000 && faster >= 10
        ? []
        : [`Missed: the two activities took ${ms(delta)} together (reading ${ms(f.stageMs)}, applying ${ms(f.applyMs)}).`]),
    ],
  };
}
