// One migration run: every table's full load or changes, a bounded number of activities at a time.
// A table that fails does not stop the others; the run reports each table's outcome.
import { ActivityFailure, ApplicationFailure, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { TABLE_ROWS } from '../lib/constants';
import type { RangeResult, RunInput, RunResult, SchemaFollowResult, TableRunResult, TableWork } from '../lib/types';
import { ProgressBook } from './run-progress';
import { copyActivities } from './activity-options';
import { DESCRIPTIONS, progressQuery } from './messages';
import { describeTables, followedTables, needsFullLoad, planRun, rangeCount, rowsOf, runKindOf } from './run-plan';
import { Semaphore } from './semaphore';

export async function replicationRun(input: RunInput): Promise<RunResult> {
  const { migrateTables, copyKeyRange, planKeyRanges, stageChanges, followSourceSchema, recordTableResults } = copyActivities(input.copy.heartbeatTimeoutSeconds);
  const kind = runKindOf(input.tables);
  // The run's tables: the tenant's, until following the source's schema adds or drops some.
  let tables: TableWork[] = input.tables;
  const progress = new ProgressBook(input.run, kind, input.tables);
  setHandler(progressQuery, (req) => progress.view(req?.since), { description: DESCRIPTIONS.progress });

  const results = new Map<string, TableRunResult>();
  const record = (r: TableRunResult): void => {
    results.set(r.key, r);
    progress.finish(r.key, r.status, rowsOf(r));
  };
  const markStarted = (tables: TableWork[]): void => progress.start(tables.map((t) => t.key));
  // Failed here, with no activity's answer: their rows on the target are written at the end of the run.
  const failedHere: TableRunResult[] = [];
  const failAll = (some: { key: string; full?: boolean }[], err: unknown): void => {
    const message = err instanceof ActivityFailure && err.cause ? err.cause.message : err instanceof Error ? err.message : String(err);
    for (const t of some) {
      // A table that had its full load keeps it: its changes wait in its log for the next run.
      const failed: TableRunResult = { key: t.key, status: 'Failed', fullLoadRows: 0, inserts: 0, updates: 0, deletes: 0, errors: 0, durationMs: 0, fullLoadDone: t.full === false, errorMessage: message };
      record(failed);
      failedHere.push(failed);
    }
  };
  // Added in 1.6.0: activities write each table's result into its row on the target (`run` says which run).
  const tableRows = patched(TABLE_ROWS);
  const io = {
    tenant: input.tenant, sourceConnection: input.sourceConnection, targetConnection: input.targetConnection, copy: input.copy, verify: input.verify, capture: input.capture,
    ...(tableRows ? { run: input.run } : {}),
  };
  const slots = new Semaphore(input.copy.concurrency);

  const migrate = (tables: TableWork[]): Promise<void> =>
    slots.run(async () => {
      markStarted(tables);
      try {
        const out = await migrateTables.executeWithOptions(
          { summary: `${tables.some(needsFullLoad) ? 'Migrate' : 'Apply changes to'} ${describeTables(tables)}` },
          [{ ...io, tables }],
        );
        out.forEach(record);
      } catch (err) {
        failAll(tables, err);
      }
    });

  const copyInRanges = async (table: TableWork): Promise<void> => {
    try {
      const ranges = await slots.run(() => planKeyRanges({ sourceConnection: input.sourceConnection, targetConnection: input.targetConnection, table, ranges: rangeCount(table, input.copy) }));
      markStarted([table]);
      const parts: RangeResult[] = await Promise.all(
        ranges.map((range) =>
          slots.run(() =>
            copyKeyRange.executeWithOptions(
              { summary: `Copy ${table.key} keys ${range.after ?? 'start'}…${range.upTo ?? 'end'}` },
              [{ ...io, table, range }],
            ),
          ),
        ),
      );
      const precopied: RangeResult = {
        rows: parts.reduce((n, p) => n + p.rows, 0),
        rejected: parts.reduce((n, p) => n + p.rejected, 0),
        firstError: parts.find((p) => p.firstError)?.firstError,
        durationMs: Math.max(0, ...parts.map((p) => p.durationMs)),
        captureIds: [...new Set(parts.flatMap((p) => p.captureIds ?? []))],
      };
      await migrate([{ ...table, precopied }]);
    } catch (err) {
      failAll([table], err);
    }
  };

  // Binlog mode: everything committed on the source until now is read and its keys staged first;
  // the tables then apply them like a trigger log (a TRUNCATE or DROP read here owes a full copy).
  let capture: RunResult['capture'];
  if (input.capture === 'binlog') {
    try {
      capture = await stageChanges.executeWithOptions({ summary: "Read the source's binary log up to now" }, [io]);
    } catch (err) {
      // Without the log's changes no table can be called up to date: the run fails, every table says why.
      failAll(input.tables, err);
      return await finish();
    }
  }

  // The source's schema first: changes applied to the target, new tables created, dropped ones dropped.
  let schema: SchemaFollowResult | undefined;
  if (input.schema) {
    try {
      schema = await followSourceSchema.executeWithOptions({ summary: "Follow the source's schema changes" }, [{ ...io, tables, schema: input.schema }]);
    } catch (err) {
      failAll(tables, err);
      return await finish();
    }
    const followed = followedTables(tables, schema);
    for (const f of followed.failed) failAll([tables.find((t) => t.key === f.key)!], new Error(f.reason));
    tables = [...followed.work, ...tables.filter((t) => followed.failed.some((f) => f.key === t.key))];
    progress.retable(tables);
  }

  const plan = planRun(tables.filter((t) => !results.has(t.key)), input.copy);
  await Promise.all([...plan.ranged.map(copyInRanges), ...plan.batches.map(migrate)]);
  return await finish();

  async function finish(): Promise<RunResult> {
    if (tableRows && failedHere.length > 0) {
      await recordTableResults.executeWithOptions(
        { summary: `Record ${failedHere.length} failed tables: ${describeTables(failedHere)}` },
        [{ tenant: input.tenant, targetConnection: input.targetConnection, run: input.run, results: failedHere }],
      );
    }
    const done = tables.map((t) => results.get(t.key)!).filter(Boolean);
    const failed = done.filter((t) => t.status === 'Failed');
    progress.status = failed.length > 0 ? 'Failed' : 'Completed';
    if (done.length !== tables.length) {
      throw ApplicationFailure.nonRetryable(`run ${workflowInfo().workflowId} lost track of ${tables.length - done.length} tables`);
    }
    return {
      run: input.run,
      status: progress.status,
      tables: done,
      failure: failed.length > 0 ? `${failed.length} table(s) failed: ${describeTables(failed.map((t) => ({ key: t.key })))}` : undefined,
      capture,
      ...(schema ? { schema } : {}),
    };
  }
}
