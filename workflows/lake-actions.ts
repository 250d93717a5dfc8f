// Azure Data Lake: the export runs as a child workflow beside everything else (it only reads the
// source). The update answers once the child has started; the page records its outcome when it ends.
//
// An export of a large tenant runs for hours, and must not hold the tenant back from continuing as
// new: the child is abandoned, not cancelled, when this execution closes, and tells whichever
// execution is current how it ended (lakeExportEnded). An execution that took over an export still
// running also asks Temporal now and then, in case the export was terminated and could not tell.
import { condition, ParentClosePolicy, setHandler, startChild } from '@temporalio/workflow';
import { DEFAULT_VERIFY, lakeExportWorkflowId, TenantIdKey } from '../lib/constants';
import { rootMessage } from '../lib/errors';
import { MAX_LAKE_FAILURE } from '../lib/lake';
import { bounded } from '../lib/table-pages';
import { lakeExportRequestSchema } from '../lib/schemas';
import type { LakeExportLogEntry, TenantConfig } from '../lib/types';
import { readActivities } from './activity-options';
import { lakeExport } from './lake-export';
import { DESCRIPTIONS, exportToDataLakeUpdate, lakeExportEndedSignal, type LakeExportEnded, type LakeExportStarted } from './messages';
import { appendCapped, lakeExportRunning, refuseLakeExport, type TenantState } from './tenant-state';
import { validated } from './validate';

/** The page keeps this many exports (the page is carried). */
const MAX_LAKE_EXPORTS = 20;
/** How often an execution asks after an export an earlier one started (which tells when it ends, unless terminated). */
const ASK_EVERY = '1 minute';

/** Records how an export ended, once: the child's result, its signal and Temporal's answer may all arrive. */
function recordEnd(entry: LakeExportLogEntry, ended: LakeExportEnded, publish: () => void): void {
  if (entry.status !== 'In Progress') return;
  const r = ended.result;
  Object.assign(
    entry,
    { endedAt: new Date().toISOString() },
    r
      ? { status: 'Completed', number: r.number, destination: r.destination, tables: r.tables, rowsWritten: r.rowsWritten, deletesWritten: r.deletesWritten, rows: r.rows }
      : { status: 'Failed', failure: bounded(ended.failure ?? 'the export ended without a result', MAX_LAKE_FAILURE) },
  );
  publish();
}

/**
 * `abandon` (executions from 1.9.0 on): exports outlive this execution and report to the current
 * one; before, an execution waited for its export before continuing as new.
 */
export function registerLakeExport(config: TenantConfig, state: TenantState, publish: () => void, abandon: boolean): void {
  const entryOf = (workflowId: string): LakeExportLogEntry | undefined => state.lakeExports?.find((e) => e.workflowId === workflowId);
  setHandler(lakeExportEndedSignal, (ended) => {
    const entry = entryOf(ended.workflowId);
    if (entry) recordEnd(entry, ended, publish);
  }, { description: DESCRIPTIONS.lakeExportEnded });

  setHandler(
    exportToDataLakeUpdate,
    async (req): Promise<LakeExportStarted> => {
      const kind = req.historyOnly ? 'history' : 'migrated';
      const companies = req.companies ?? config.companies.map((c) => c.source);
      const n = state.nextLakeExport ?? 1;
      state.nextLakeExport = n + 1;
      const workflowId = lakeExportWorkflowId(config.tenant, n);
      const entry: LakeExportLogEntry = {
        workflowId, kind, status: 'In Progress', companies, startedAt: new Date().toISOString(),
        ...(req.to ? { to: req.to } : {}), ...(req.requestedBy ? { requestedBy: req.requestedBy } : {}), ...(req.reason ? { reason: req.reason } : {}),
      };
      state.lakeExports ??= [];
      appendCapped(state.lakeExports, entry, MAX_LAKE_EXPORTS);
      publish();
      const failed = (err: unknown) => recordEnd(entry, { workflowId, failure: rootMessage(err) }, publish);
      try {
        const child = await startChild(lakeExport, {
          workflowId,
          args: [{
            tenant: config.tenant, sourceConnection: config.sourceConnection, targetConnection: config.targetConnection, kind, companies,
            concurrency: config.verify?.concurrency ?? DEFAULT_VERIFY.concurrency, heartbeatTimeoutSeconds: config.copy.heartbeatTimeoutSeconds,
            ...(req.to ? { to: req.to } : {}), ...(req.requestedBy ? { requestedBy: req.requestedBy } : {}),
          }],
          ...(abandon ? { parentClosePolicy: ParentClosePolicy.ABANDON } : {}),
          staticSummary: `Data lake export of ${config.tenant}: ${kind === 'history' ? 'historical rows' : 'migrated tables'} of ${companies.join(', ')}`,
          typedSearchAttributes: [{ key: TenantIdKey, value: config.tenant }],
        });
        // While this execution lasts, the child's own outcome (a termination included).
        void child.result().then((result) => recordEnd(entry, { workflowId, result }, publish), failed);
      } catch (err) {
        failed(err);
        throw err;
      }
      return { workflowId, kind, companies };
    },
    {
      description: DESCRIPTIONS.exportToDataLake,
      validator: (req) => {
        const parsed = validated(lakeExportRequestSchema, req); // a path or URI as destination never reaches history
        const refusal = refuseLakeExport(state, parsed, config.companies);
        if (refusal) throw new Error(refusal);
      },
    },
  );

  // An export an earlier execution started: it tells this one when it ends; asked now and then too.
  const carried = abandon ? lakeExportRunning(state) : undefined;
  if (carried) void followCarried(carried);
  async function followCarried(entry: LakeExportLogEntry): Promise<void> {
    while (entry.status === 'In Progress') {
      if (await condition(() => entry.status !== 'In Progress', ASK_EVERY)) return;
      try {
        const outcome = await readActivities.lakeExportOutcome.executeWithOptions(
          { summary: `Ask Temporal whether data lake export ${entry.workflowId} has ended` },
          [{ workflowId: entry.workflowId }],
        );
        if (outcome) recordEnd(entry, outcome, publish);
      } catch {
        // Asked again next time; the export's own signal needs no answer from here.
      }
    }
  }
}
