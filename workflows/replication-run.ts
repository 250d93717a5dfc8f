// One migration run: every table's full load or changes, a bounded number of activities at a time.
// A table that fails does not stop the others; the run reports each table's outcome.
import { ActivityFailure, ApplicationFailure, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { RUN_BACKLOG, RUN_FAILED, RUN_FAILS_RED, TABLE_ROWS } from '../lib/constants';
import type { RangeResult, RunInput, RunResult, SchemaFollowResult, TableRunResult, TableWork } from '../lib/types';
import { ProgressBook } from './run-progress';
import { copyActivities, readActivities } from './activity-options';
import { DESCRIPTIONS, progressQuery } from './messages';
import { describeTables, followedTables, needsFullLoad, planRun, rangeCount, ROWS_PAGE, rowsOf, runKindOf } from './run-plan';
import { Semaphore } from './semaphore';

/** The run's answer lists this many schema changes (the page's log keeps as many); each table's row has its own. */
const LOGGED_CHANGES = 50;
/** With the rows on the target, the run's answer lists this many tables' results, problems first. */
const LISTED = 200;

export async function replicationRun(input: RunInput): Promise<RunResult> {
  const { migrateTables, copyKeyRange, planKeyRanges, stageChanges, followSourceSchema, recordTableResults, listWork } = copyActivities(input.copy.heartbeatTimeoutSeconds);
  const fromRows = input.fromRows === true;
  const kind = input.kind ?? runKindOf(input.tables);
  // The run's tables: the tenant's, until following the source's schema adds or drops some.
  let tables: TableWork[] = input.tables;
  const progress = new ProgressBook(input.run, kind, input.tables);
  setHandler(progressQuery, (req) => progress.view(req?.since), { description: DESCRIPTIONS.progress });
  if (fromRows) {
    // The tenant's rows on the target, a page at a time: no payload holds them all.
    tables = [];
    for (let after: string | undefined, first = true; first || after; first = false) {
      const page = await listWork.executeWithOptions(
        { summary: `Read the run's tables from their rows${after ? ' (next page)' : ''}` },
        [{ tenant: input.tenant, targetConnection: input.targetConnection, filter: {}, after, limit: ROWS_PAGE }],
      );
      tables.push(...page.work);
      after = page.next;
    }
    tables.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)); // read in the rows' order, worked in the tables'
    progress.retable(tables);
  }

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
      failAll(tables, err);
      return await finish();
    }
  }

  // The source's schema first: changes applied to the target, new tables created, dropped ones dropped.
  let schema: SchemaFollowResult | undefined;
  if (input.schema) {
    try {
      schema = await followSourceSchema.executeWithOptions(
        { summary: "Follow the source's schema changes" },
        [{ ...io, tables: fromRows ? [] : tables, schema: input.schema, ...(fromRows ? { rows: true } : {}) }],
      );
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
    // What is still to apply as the run ends (the metrics' pending changes and lag): best effort, never the run's outcome.
    if (patched(RUN_BACKLOG)) {
      await readActivities.measureBacklog.executeWithOptions({ summary: 'Measure the changes still to apply' }, [
        { tenant: input.tenant, sourceConnection: input.sourceConnection, targetConnection: input.targetConnection, ...(input.capture ? { capture: input.capture } : {}) },
      ]).catch(() => undefined);
    }
    // A page at a time: a run that could not start fails every table.
    for (let i = 0; tableRows && i < failedHere.length; i += ROWS_PAGE) {
      const part = failedHere.slice(i, i + ROWS_PAGE);
      await recordTableResults.executeWithOptions(
        { summary: `Record ${part.length} failed tables: ${describeTables(part)}` },
        [{ tenant: input.tenant, targetConnection: input.targetConnection, run: input.run, results: part }],
      );
    }
    const done = tables.map((t) => results.get(t.key)!).filter(Boolean);
    const failed = done.filter((t) => t.status === 'Failed');
    progress.status = failed.length > 0 ? 'Failed' : 'Completed';
    if (done.length !== tables.length) {
      throw ApplicationFailure.nonRetryable(`run ${workflowInfo().workflowId} lost track of ${tables.length - done.length} tables`);
    }
    const failure = failed.length > 0 ? `${failed.length} table(s) failed: ${describeTables(failed.map((t) => ({ key: t.key })))}` : undefined;
    if (fromRows) {
      // Each table's result is in its row already: the page gets counts, the first tables and the first schema changes.
      const counts = { tables: done.length, failed: failed.length, rows: done.reduce((n, t) => n + rowsOf(t), 0), schemaChanges: schema?.changes.length ?? 0 };
      const changes = schema ? { schema: { dropped: [], added: [], replanned: [], rebuilt: [], renamed: [], changes: schema.changes.slice(0, LOGGED_CHANGES) } } : {};
      // The answer lists the first LISTED tables, failed and with warnings first (the audit reads them all from the activities).
      const listed = [...failed, ...done.filter((t) => t.status === 'Warning'), ...done.filter((t) => t.status !== 'Failed' && t.status !== 'Warning')].slice(0, LISTED);
      return ended({ run: input.run, status: progress.status, tables: listed, counts, failure, capture, ...changes });
    }
    return ended({ run: input.run, status: progress.status, tables: done, failure, capture, ...(schema ? { schema } : {}) });
  }

  /** A run with failed tables fails (red in the Temporal UI and its lists), with its result in the failure's details. */
  function ended(result: RunResult): RunResult {
    if (result.status !== 'Failed' || !patched(RUN_FAILS_RED)) return result;
    throw ApplicationFailure.create({ type: RUN_FAILED, message: result.failure ?? `run #${input.run} failed`, nonRetryable: true, details: [result] });
  }
}
