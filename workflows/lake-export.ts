// A data lake export: each migrated table (or, with `history`, each historical table's rows from
// before the company's oldest year) into Parquet files at the destination, a few tables at a time,
// then one manifest. The tables are read from the tenant's rows a page at a time, so the history
// stays small on any tenant; a finished table is recorded in the destination, so a retry resumes.
import { ApplicationFailure, CancellationScope, getExternalWorkflowHandle, isCancellation, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { LAKE_EXPORT_REPORTS } from '../lib/constants';
import { rootMessage } from '../lib/errors';
import { bounded } from '../lib/table-pages';
import { MAX_LAKE_FAILURE, type LakeExportSummary, type LakeKind } from '../lib/lake';
import type { TableWork } from '../lib/types';
import { copyActivities } from './activity-options';
import { DESCRIPTIONS, lakeExportEndedSignal, lakeExportProgressQuery, type LakeExportEnded, type LakeExportProgress } from './messages';
import { describeTables, planRun, ROWS_PAGE } from './run-plan';
import { Semaphore } from './semaphore';

export interface LakeExportInput {
  tenant: string;
  sourceConnection: string;
  targetConnection: string;
  /** Absent: the worker's default destination. */
  to?: string;
  kind: LakeKind;
  /** Source schemas of the companies to export. */
  companies: string[];
  requestedBy?: string;
  concurrency: number;
  heartbeatTimeoutSeconds?: number;
}

export async function lakeExport(input: LakeExportInput): Promise<LakeExportSummary> {
  // 1.9.0: the tenant's workflow may have continued as new since it started this export: the
  // current execution hears how it ended (the one that started it may be gone).
  const reports = patched(LAKE_EXPORT_REPORTS);
  const tell = (ended: Omit<LakeExportEnded, 'workflowId'>): Promise<void> => {
    const parent = workflowInfo().parent;
    if (!reports || !parent) return Promise.resolve();
    return CancellationScope.nonCancellable(() =>
      getExternalWorkflowHandle(parent.workflowId) // no run id: whichever execution is current
        .signal(lakeExportEndedSignal, { workflowId: workflowInfo().workflowId, ...ended })
        .catch(() => undefined), // the tenant is gone (disabled): nobody to tell
    );
  };
  try {
    const result = await exportTables(input);
    await tell({ result });
    return result;
  } catch (err) {
    await tell({ failure: isCancellation(err) ? 'the export was cancelled' : bounded(rootMessage(err), MAX_LAKE_FAILURE) });
    throw err;
  }
}

async function exportTables(input: LakeExportInput): Promise<LakeExportSummary> {
  const { beginLakeExport, exportLakeTables, finishLakeExport, listWork } = copyActivities(input.heartbeatTimeoutSeconds ?? 60);
  const target = { tenant: input.tenant, targetConnection: input.targetConnection, kind: input.kind, ...(input.to ? { to: input.to } : {}) };
  const startedAt = new Date().toISOString();
  const progress: LakeExportProgress = { kind: input.kind, tables: 0, done: 0, rowsWritten: 0, deletesWritten: 0 };
  setHandler(lakeExportProgressQuery, () => progress, { description: DESCRIPTIONS.lakeExportProgress });

  const { number, destination } = await beginLakeExport.executeWithOptions({ summary: `Where export of ${input.kind} data goes next` }, [target]);
  Object.assign(progress, { number, destination });
  const slots = new Semaphore(input.concurrency);
  const running: Promise<void>[] = [];
  for (const company of input.companies) {
    for (let after: string | undefined, first = true; first || after; first = false) {
      const page = await listWork.executeWithOptions(
        { summary: `Read the tables of ${company} to export${after ? ' (next page)' : ''}` },
        [{ tenant: input.tenant, targetConnection: input.targetConnection, filter: { company }, after, limit: ROWS_PAGE }],
      );
      after = page.next;
      // History: only the tables whose older rows stay out of the cloud tenant.
      const tables = page.work.filter((t) => input.kind === 'migrated' || !!t.keepFrom);
      progress.tables += tables.length;
      const plan = planRun(tables.map((t) => ({ ...t, full: true })), {
        concurrency: input.concurrency, rangesPerTable: 1, largeTableRows: 100_000, smallBatchRows: 200_000, smallBatchTables: 50,
        writeBatchRows: 1, writeBatchBytes: 1, heartbeatTimeoutSeconds: 60,
      });
      for (const batch of [...plan.ranged.map((t) => [t]), ...plan.batches]) running.push(slots.run(() => exportBatch(batch)));
    }
  }
  async function exportBatch(tables: TableWork[]): Promise<void> {
    const out = await exportLakeTables.executeWithOptions(
      { summary: `Export ${describeTables(tables)} to the lake` },
      [{ ...target, sourceConnection: input.sourceConnection, number, tables }],
    );
    progress.done += out.tables;
    progress.rowsWritten += out.rowsWritten;
    progress.deletesWritten += out.deletesWritten;
  }
  await Promise.all(running);
  if (progress.tables === 0) {
    throw ApplicationFailure.nonRetryable(
      input.kind === 'history' ? 'no historical rows stay out of the cloud tenant: no company has an oldest year with a dated historical table' : 'no migrated table to export',
      'NothingToExport',
    );
  }
  return finishLakeExport.executeWithOptions(
    { summary: `Write the manifest of export #${number}` },
    [{ ...target, number, startedAt, companies: input.companies, ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}) }],
  );
}
