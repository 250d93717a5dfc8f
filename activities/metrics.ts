// The tenant's figures as metrics, through the worker runtime's own meter (Context.metricMeter): with
// CM_METRICS_ADDRESS set, `cm worker` exports them in Prometheus format beside the SDK's own metrics
// (worker/process.ts). Each carries the tenant as a label, plus the SDK's namespace, task queue and
// activity type. Outside an activity (an engine called from a test) nothing is recorded.
import { Context } from '@temporalio/activity';
import type { MetricMeter } from '@temporalio/common';
import type { TableRunResult } from '../lib/types';

function meterFor(tenant: string): MetricMeter | undefined {
  try {
    return Context.current().metricMeter.withTags({ tenant });
  } catch {
    return undefined; // not in an activity
  }
}

/**
 * What a batch of tables did: rows copied by full loads (a table copied in key ranges counts once, in
 * the result of the batch that finishes it), captured changes applied, tables failed.
 */
export function countTableResults(tenant: string, results: TableRunResult[]): void {
  const meter = meterFor(tenant);
  if (!meter || results.length === 0) return;
  const sum = (f: (r: TableRunResult) => number): number => results.reduce((n, r) => n + f(r), 0);
  const copied = sum((r) => r.fullLoadRows);
  const applied = sum((r) => r.inserts + r.updates + r.deletes);
  const failed = results.filter((r) => r.status === 'Failed').length;
  if (copied > 0) meter.createCounter('cm_rows_copied', 'rows', 'rows copied to the target by full loads').add(copied);
  if (applied > 0) meter.createCounter('cm_changes_applied', 'changes', 'captured source changes applied to the target').add(applied);
  if (failed > 0) meter.createCounter('cm_tables_failed', 'tables', 'tables that ended a run Failed').add(failed);
}

/** The tenant's backlog when a run ends: changes captured and not applied yet, and how old the oldest is. */
export function recordBacklog(tenant: string, backlog: { pending: number; lagSeconds: number }): void {
  const meter = meterFor(tenant);
  if (!meter) return;
  meter.createGauge('cm_changes_pending', 'int', 'changes', 'captured changes not applied to the target yet (measured as a run ends)').set(backlog.pending);
  meter.createGauge('cm_replication_lag_seconds', 'float', 's', 'age of the oldest captured change not applied yet; 0 when none (measured as a run ends)').set(backlog.lagSeconds);
}
