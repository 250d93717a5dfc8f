// Azure Data Lake: the export runs as a child workflow beside everything else (it only reads the
// source). The update answers once the child has started; the page records its outcome when it ends.
import { startChild, setHandler } from '@temporalio/workflow';
import { DEFAULT_VERIFY, lakeExportWorkflowId, TenantIdKey } from '../lib/constants';
import { rootMessage } from '../lib/errors';
import { bounded } from '../lib/table-pages';
import { lakeExportRequestSchema } from '../lib/schemas';
import type { LakeExportLogEntry, TenantConfig } from '../lib/types';
import { lakeExport } from './lake-export';
import { DESCRIPTIONS, exportToDataLakeUpdate, type LakeExportStarted } from './messages';
import { appendCapped, refuseLakeExport, type TenantState } from './tenant-state';
import { validated } from './validate';

/** The page keeps this many exports, each failure cut to this many characters (the page is carried). */
const MAX_LAKE_EXPORTS = 20;
const MAX_FAILURE = 2_000;

export function registerLakeExport(config: TenantConfig, state: TenantState, publish: () => void): void {
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
      const ended = (fields: Partial<LakeExportLogEntry>): void => {
        Object.assign(entry, { endedAt: new Date().toISOString() }, fields);
        publish();
      };
      try {
        const child = await startChild(lakeExport, {
          workflowId,
          args: [{
            tenant: config.tenant, sourceConnection: config.sourceConnection, targetConnection: config.targetConnection, kind, companies,
            concurrency: config.verify?.concurrency ?? DEFAULT_VERIFY.concurrency, heartbeatTimeoutSeconds: config.copy.heartbeatTimeoutSeconds,
            ...(req.to ? { to: req.to } : {}), ...(req.requestedBy ? { requestedBy: req.requestedBy } : {}),
          }],
          staticSummary: `Data lake export of ${config.tenant}: ${kind === 'history' ? 'historical rows' : 'migrated tables'} of ${companies.join(', ')}`,
          typedSearchAttributes: [{ key: TenantIdKey, value: config.tenant }],
        });
        // Recorded when it ends; the main loop does not continue as new while it runs (lakeExportRunning).
        void child.result().then(
          (r) => ended({ status: 'Completed', number: r.number, destination: r.destination, tables: r.tables, rowsWritten: r.rowsWritten, deletesWritten: r.deletesWritten, rows: r.rows }),
          (err) => ended({ status: 'Failed', failure: bounded(rootMessage(err), MAX_FAILURE) }),
        );
      } catch (err) {
        ended({ status: 'Failed', failure: bounded(rootMessage(err), MAX_FAILURE) });
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
}
