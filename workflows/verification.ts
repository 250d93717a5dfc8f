// A verification: every chosen table of the target compared with its source (and, with repair,
// made equal to it), a few tables at a time. Each activity compares its tables one after another
// and heartbeats where it stands, so a killed worker's successor resumes at the next chunk.
import { ApplicationFailure, patched, setHandler } from '@temporalio/workflow';
import { TABLE_ROWS } from '../lib/constants';
import type { TableVerification, VerificationInput, VerificationResult } from '../lib/types';
import { copyActivities } from './activity-options';
import { DESCRIPTIONS, verificationProgressQuery, type VerificationProgress } from './messages';
import { describeTables, planRun, ROWS_PAGE } from './run-plan';
import { Semaphore } from './semaphore';

/** The progress query and the answer list this many tables at most: they stay small on any tenant. */
const LISTED = 200;

export async function verification(input: VerificationInput): Promise<VerificationResult> {
  const { verifyTables, recordVerifications, listWork } = copyActivities(input.heartbeatTimeoutSeconds ?? 30);
  let tables = input.tables;
  // Added in 1.6.0: each table's outcome goes into its row on the target too.
  const rows = patched(TABLE_ROWS);
  const failedHere: TableVerification[] = [];
  const results: TableVerification[] = [];
  const progress = (): VerificationProgress => ({
    number: input.number, repair: input.repair, tables: tables.length, done: results.length,
    differing: results.filter((r) => r.status !== 'Verified').slice(0, LISTED),
  });
  setHandler(verificationProgressQuery, progress, { description: DESCRIPTIONS.verificationProgress });
  // The rows live on the target: the loaded tables that match are read from there, a page at a time.
  if (input.fromRows) {
    tables = [];
    for (let after: string | undefined, first = true; first || after; first = false) {
      const page = await listWork.executeWithOptions(
        { summary: `Read the tables to verify from their rows${after ? ' (next page)' : ''}` },
        [{ tenant: input.tenant, targetConnection: input.targetConnection, filter: { ...input.fromRows, loaded: true }, after, limit: ROWS_PAGE }],
      );
      tables.push(...page.work);
      after = page.next;
    }
    tables.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)); // read in the rows' order, worked in the tables'
    if (tables.length === 0) {
      const { company, table } = input.fromRows;
      throw ApplicationFailure.nonRetryable(
        company || table ? `no migrated table matches ${[company && `company ${company}`, table && `table ${table}`].filter(Boolean).join(' and ')}` : 'no table has been loaded yet: run a migration first',
        'NothingToVerify',
      );
    }
  }

  // The same split as a run's full load: small tables many to an activity, a large one alone.
  const plan = planRun(tables.map((t) => ({ ...t, full: true })), {
    concurrency: input.settings.concurrency, rangesPerTable: 1, largeTableRows: 100_000, smallBatchRows: 200_000, smallBatchTables: 100,
    writeBatchRows: 1, writeBatchBytes: 1, heartbeatTimeoutSeconds: 60,
  });
  const slots = new Semaphore(input.settings.concurrency);
  const io = {
    tenant: input.tenant, sourceConnection: input.sourceConnection, targetConnection: input.targetConnection, repair: input.repair, settings: input.settings, capture: input.capture,
    ...(rows ? { rows } : {}),
  };
  await Promise.all([...plan.ranged.map((t) => [t]), ...plan.batches].map((tables) =>
    slots.run(async () => {
      try {
        const out = await verifyTables.executeWithOptions(
          { summary: `${input.repair ? 'Verify and repair' : 'Verify'} ${describeTables(tables)}` },
          [{ ...io, tables }],
        );
        results.push(...out);
      } catch (err) {
        // The activity gave up after its retries: these tables could not be compared, the others go on.
        const message = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
        const failed = tables.map((t) => failedVerification(t.key, message));
        failedHere.push(...failed);
        results.push(...failed);
      }
    }),
  ));
  for (let i = 0; rows && i < failedHere.length; i += ROWS_PAGE) {
    const part = failedHere.slice(i, i + ROWS_PAGE);
    await recordVerifications.executeWithOptions(
      { summary: `Record ${part.length} tables that could not be compared` },
      [{ tenant: input.tenant, targetConnection: input.targetConnection, results: part }],
    );
  }

  const order = new Map(tables.map((t, i) => [t.key, i]));
  results.sort((a, b) => order.get(a.key)! - order.get(b.key)!);
  const status = results.some((r) => r.status === 'Failed') ? 'Failed' : results.some((r) => r.status === 'Differs') ? 'Differences' : 'Equal';
  if (input.fromRows) {
    const counts = {
      tables: results.length, verified: results.filter((r) => r.status === 'Verified').length,
      differing: results.filter((r) => r.status !== 'Verified').length, repaired: results.reduce((n, r) => n + r.repaired, 0),
    };
    // Each table's outcome is in its row: the answer lists the ones that differ first, a bounded number.
    const listed = [...results.filter((r) => r.status !== 'Verified'), ...results.filter((r) => r.status === 'Verified')].slice(0, LISTED);
    return { number: input.number, status, repair: input.repair, tables: listed, counts };
  }
  return { number: input.number, status, repair: input.repair, tables: results };
}

function failedVerification(key: string, error: string): TableVerification {
  return {
    key, status: 'Failed', at: new Date().toISOString(), missing: 0, extra: 0, different: 0, rejected: 0, repaired: 0, examples: [], definition: [],
    error, rowsCompared: 0, chunks: 0, pending: 0, pauses: 0, pausedMs: 0,
  };
}
