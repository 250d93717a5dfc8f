// The data lake export's activities: thin adapters over the store (store.ts) and the table export
// (export-table.ts). The destination is named by the workflow; where it is and its credentials are
// this worker's (destinations.ts: CM_LAKE_<NAME>_URI, CM_LAKE_URI; CM_LAKE_S3_* and AWS_* for S3).
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  currentStateQuery, DEFAULT_LAKE_NAME, HOW_TO_READ, lakeDestinationEnvVar, writtenBy, lakePaths, lakeUri, parseLakeUri, type LakeExportRecord, type LakeExportSummary, type LakeKind, type LakeManifest, type LakeTable,
} from '../../lib/lake';
import type { TableWork } from '../../lib/types';
import type { ConnectionRegistry } from '../connections';
import { readTables } from '../introspect';
import { exportTable, LakeTableRefused } from './export-table';
import { resolveLakeDestination } from './destinations';
import { openLakeStore, type LakeStore } from './store';

export interface LakeTarget {
  tenant: string;
  /** The tenant's target: the runtime service key is checked there, as for every tenant activity. */
  targetConnection: string;
  /** The destination's name (CM_LAKE_<NAME>_URI on the worker); absent: this worker's default (CM_LAKE_URI, else a folder in its home). */
  to?: string;
  kind: LakeKind;
}

export interface ExportLakeTablesInput extends LakeTarget {
  sourceConnection: string;
  number: number;
  tables: TableWork[];
}

export interface FinishLakeExportInput extends LakeTarget {
  number: number;
  startedAt: string;
  requestedBy?: string;
  companies: string[];
}

function destination(input: LakeTarget, env: NodeJS.ProcessEnv): { uri: string; store: LakeStore } {
  const configured = resolveLakeDestination(input.to, env);
  try {
    const d = parseLakeUri(configured);
    return { uri: lakeUri(d), store: openLakeStore(d, env) };
  } catch (err) {
    // The worker's own setting is wrong: say which one.
    throw ApplicationFailure.nonRetryable(`${lakeDestinationEnvVar(input.to ?? DEFAULT_LAKE_NAME)} on this worker: ${(err as Error).message}`, 'BadLakeDestination');
  }
}

async function readManifest(store: LakeStore, tenant: string, kind: LakeKind): Promise<LakeManifest | undefined> {
  const text = await store.getText(lakePaths.manifest(tenant, kind));
  return text ? (JSON.parse(text) as LakeManifest) : undefined;
}

// The lake's manifest as the last finished export left it, read once per export by this worker: it
// does not change until the export's last step, and at 40,000 tables it is tens of megabytes.
let previousOf: { key: string; tables: Promise<Record<string, LakeTable>> } | undefined;
function previousTables(store: LakeStore, input: ExportLakeTablesInput): Promise<Record<string, LakeTable>> {
  const key = `${store.where}|${input.tenant}|${input.kind}|${input.number}`;
  if (previousOf?.key !== key) {
    const tables = readManifest(store, input.tenant, input.kind).then((m) => m?.tables ?? {});
    previousOf = { key, tables };
    tables.catch(() => previousOf?.key === key && (previousOf = undefined)); // a failed read is tried again by the next activity
  }
  return previousOf.tables;
}

export function createLakeActivities(conns: ConnectionRegistry, env: NodeJS.ProcessEnv = process.env) {
  return {
    /**
     * The export's number, claimed in the destination: past the last finished export and past any
     * export that started and never finished (its tables are not this one's). The workflow keeps the
     * answer in its history, so a retry of the export's activities goes on with the same number.
     */
    async beginLakeExport(input: LakeTarget & { workflowId?: string }): Promise<{ number: number; destination: string }> {
      const { uri, store } = destination(input, env);
      const manifest = await readManifest(store, input.tenant, input.kind);
      let number = (manifest?.exports.at(-1)?.number ?? 0) + 1;
      // The run, not only the workflow id: a tenant made again numbers its exports from 1 again.
      const run = Context.current().info.workflowExecution;
      const by = input.workflowId ?? (run ? `${run.workflowId}/${run.runId}` : 'unknown');
      for (;;) {
        const claimed = await store.getText(lakePaths.exportClaim(input.tenant, input.kind, number));
        // This activity's own claim (a retry after the claim was written) is kept.
        if (claimed === undefined || (JSON.parse(claimed) as { workflowId?: string }).workflowId === by) break;
        number++;
      }
      await store.putText(lakePaths.exportClaim(input.tenant, input.kind, number), JSON.stringify({ workflowId: by, at: new Date().toISOString() }));
      return { number, destination: uri };
    },

    /**
     * Tables into the lake, one after another. A table finished is recorded in the destination, so a
     * retry (another worker, after a crash) starts at the first one not finished.
     */
    async exportLakeTables(input: ExportLakeTablesInput): Promise<{ tables: number; rowsWritten: number; deletesWritten: number; skipped: number }> {
      const ctx = Context.current();
      const { store } = destination(input, env);
      const previous = await previousTables(store, input);
      const done = new Set(await store.list(lakePaths.tablesDone(input.tenant, input.kind, input.number)));
      // This attempt's own folder: an earlier attempt still running somewhere must not share it.
      const workDir = join(env.CM_LAKE_WORK_DIR || tmpdir(), 'cm-lake', `${process.pid}-${ctx.info.activityId}-${ctx.info.attempt}`);
      const checkCancelled = (): void => {
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? new Error('the export activity was cancelled');
      };
      await mkdir(workDir, { recursive: true });
      const source = await conns.connection(input.sourceConnection);
      // DuckDB's typing and the Parquet writing of a large table say nothing for a while: the last
      // details are repeated each second, so the heartbeat timeout only ever catches a dead worker.
      let details: unknown = { index: 0 };
      const ticker = setInterval(() => ctx.heartbeat(details), 1000);
      let rowsWritten = 0;
      let deletesWritten = 0;
      let skipped = 0;
      try {
        // The definitions of the batch's tables, in one read of information_schema, not one per table.
        const todo = input.tables.filter((w) => !done.has(lakePaths.tableDone(input.tenant, input.kind, input.number, w.sourceSchema, w.table)));
        const metas = todo.length === 0 ? new Map() : await readTables(conns.pool(input.sourceConnection), [...new Set(todo.map((w) => w.sourceSchema))], todo.map((w) => w.table));
        for (const [i, work] of input.tables.entries()) {
          const company = work.sourceSchema;
          const marker = lakePaths.tableDone(input.tenant, input.kind, input.number, company, work.table);
          if (done.has(marker)) {
            skipped++;
            continue;
          }
          const meta = metas.get(work.key);
          if (!meta) throw ApplicationFailure.nonRetryable(`${work.key} is gone from the source: run a migration first, so the tenant's tables follow it`, 'NoSuchTable');
          const table = await exportTable({
            source, meta, targetSchema: work.targetSchema, tenant: input.tenant, kind: input.kind, number: input.number,
            keepFrom: work.keepFrom, previous: previous[work.key], store, workDir,
            memoryLimit: env.CM_LAKE_MEMORY || '512MB', fileBytes: Number(env.CM_LAKE_FILE_BYTES || 256 * 1024 * 1024),
            heartbeat: (rows) => ctx.heartbeat((details = { table: work.key, rows, index: i })),
            checkCancelled,
          }).catch((err: unknown) => {
            if (err instanceof LakeTableRefused) throw ApplicationFailure.nonRetryable(err.message, 'LakeTableRefused');
            throw err;
          });
          const written = writtenBy(table, input.number);
          rowsWritten += written.rows;
          deletesWritten += written.deletes;
          checkCancelled();
          await store.putText(marker, JSON.stringify(table));
          ctx.heartbeat((details = { table: work.key, index: i + 1 }));
        }
      } finally {
        clearInterval(ticker);
        await source.end().catch(() => undefined);
      }
      return { tables: input.tables.length, rowsWritten, deletesWritten, skipped };
    },

    /** The tables this export finished folded into the lake's manifest, and the export's own manifest. */
    async finishLakeExport(input: FinishLakeExportInput): Promise<LakeExportSummary> {
      const { uri, store } = destination(input, env);
      const manifest: LakeManifest = (await readManifest(store, input.tenant, input.kind)) ?? {
        format: 'cm-lake/1', tenant: input.tenant, kind: input.kind, howToRead: HOW_TO_READ, exports: [], tables: {},
      };
      const markers = (await store.list(lakePaths.tablesDone(input.tenant, input.kind, input.number))).filter((k) => k.endsWith('.json'));
      const exported: Record<string, LakeTable> = {};
      let rowsWritten = 0;
      let deletesWritten = 0;
      for (const marker of markers) {
        const t = JSON.parse((await store.getText(marker))!) as LakeTable;
        exported[`${t.company}.${t.table}`] = { ...t, currentState: currentStateQuery(t) };
        const written = writtenBy(t, input.number);
        rowsWritten += written.rows;
        deletesWritten += written.deletes;
        Context.current().heartbeat();
      }
      // An export that finished before (a retry after the manifest was written) is not recorded twice.
      if (!manifest.exports.some((e) => e.number === input.number)) {
        // Every table the tenant has of an exported company was exported (one refused fails the whole
        // export), so a table of theirs in the lake that was not is gone from the tenant: the current
        // state no longer lists it. Its files stay, for readers of older manifests.
        const companies = new Set(input.companies);
        const removed = Object.keys(manifest.tables).filter((k) => companies.has(manifest.tables[k].company) && !exported[k]).sort();
        for (const k of removed) delete manifest.tables[k];
        const record: LakeExportRecord = {
          number: input.number, startedAt: input.startedAt, endedAt: new Date().toISOString(), companies: input.companies,
          tables: markers.length, rowsWritten, deletesWritten, ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
          ...(removed.length ? { tablesRemoved: removed } : {}),
        };
        manifest.exports.push(record);
        Object.assign(manifest.tables, exported);
        manifest.howToRead = HOW_TO_READ;
        await store.putText(lakePaths.exportManifest(input.tenant, input.kind, input.number), JSON.stringify({ ...manifest, tables: exported }, null, 1));
        await store.putText(lakePaths.manifest(input.tenant, input.kind), JSON.stringify(manifest, null, 1));
      }
      return {
        number: input.number, kind: input.kind, destination: uri, tables: markers.length, rowsWritten, deletesWritten,
        rows: Object.values(manifest.tables).reduce((n, t) => n + t.rows, 0), manifest: lakePaths.manifest(input.tenant, input.kind),
      };
    },
  };
}
