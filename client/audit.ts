// `cm audit <tenant>`: the audit trail of a tenant, read back from Temporal workflow history alone.
// History is the record an auditor can trust (the workflow cannot rewrite it), so nothing here asks
// a database or the workflow's state, except refused signals, which only the status page keeps.
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { managementWorkflowId, RUN_FAILED } from '../lib/constants';
import type { CompanyMapping, RunResult, TableRunResult, VerificationResult } from '../lib/types';
import { UserFacingError } from '../lib/errors';
import type { LakeExportSummary } from '../lib/lake';
import { rowsOf, runKindOf } from '../workflows/run-plan';
import { getStatus } from './operations';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payloads = temporal.api.common.v1.IPayloads | null | undefined;
type Failure = temporal.api.failure.v1.IFailure | null | undefined;

export interface AuditEvent {
  at: string;
  kind: string;
  actor?: string;
  reason?: string;
  summary: string;
  workflowId: string;
  runId?: string;
  details?: unknown;
}

/** Said wherever the trail is shown: an auditor must know what history cannot hold. */
export const NOT_IN_HISTORY =
  'Refused updates leave no trace in workflow history by design (the validator answers the caller and nothing is recorded); ' +
  'refused signals are listed from the tenant\'s status page (kind "refusal").';

const decode = (p: Payloads): unknown[] =>
  (p?.payloads ?? []).map((x) => {
    try {
      return defaultPayloadConverter.fromPayload(x);
    } catch {
      return '(payload in an encoding this client cannot read)'; // e.g. encrypted by a codec: show the rest anyway
    }
  });
const first = (p: Payloads): any => decode(p)[0];
/** Event time in microseconds: finer than the ISO string, so events of one millisecond keep their order. */
const micros = (e: HistoryEvent): number => Number(e.eventTime?.seconds ?? 0) * 1e6 + Math.floor((e.eventTime?.nanos ?? 0) / 1e3);
/**
 * What went wrong, in the product's words: the first application failure of the chain (outer links
 * only say "Activity task failed"; the innermost is the raw driver error without its context).
 */
function rootMessage(f: Failure): string | undefined {
  const chain: NonNullable<Failure>[] = [];
  for (let c = f; c; c = c.cause) chain.push(c);
  if (chain.some((c) => c.canceledFailureInfo) && !chain.some((c) => c.applicationFailureInfo)) return 'cancelled';
  return (chain.find((c) => c.applicationFailureInfo) ?? chain[chain.length - 1])?.message ?? undefined;
}
const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
const list = (xs: string[] | undefined): string => (xs?.length ? `: ${xs.join(', ')}` : '');

/** What a child workflow's activities mean to an auditor (the upgrade's, mostly): kind and one line. */
const ACTIVITIES: Record<string, (r: any, input: any) => [string, string]> = {
  raiseFence: (r) => ['fence-up', `Fence up: ${plural(r.lockedAccounts.length, 'account')} locked${list(r.lockedAccounts)}` +
    `${r.alreadyLockedAccounts?.length ? ` (already locked: ${r.alreadyLockedAccounts.join(', ')})` : ''}; ${plural(r.killedSessions, 'session')} killed; ` +
    `${plural(r.disabledEvents.length, 'event')} disabled${list(r.disabledEvents)}; ${plural(r.jobsOnHold, 'job')} on hold; environment ${r.priorEnvironmentState} → Update`],
  // The activity answers a table count per schema (its fingerprints stay on the target); older histories hold each schema's tables.
  createRestorePoint: (r) => ['restore-point', `Restore point taken at ${r.takenAt}: ` +
    r.schemas.map((s: { schema: string; tables: number | unknown[] }) => `${s.schema} (${plural(Array.isArray(s.tables) ? s.tables.length : s.tables, 'table')})`).join(', ')],
  planUpgrade: (r) => ['plan', `Upgrade ${r.version} (${r.from} → ${r.to}): ${plural(r.steps.length, 'step')}${list(r.steps.map((s: { name: string }) => s.name))}`],
  runUpgradeStep: (r, input) => ['step', `Step ${input?.step?.name}: ` + r.map((o: { schema: string; status: string }) => `${o.status} on ${o.schema}`).join(', ')],
  releaseFence: (r) => ['fence-down', `Fence down: ${plural(r.unlockedAccounts.length, 'account')} unlocked${list(r.unlockedAccounts)}; ` +
    `${plural(r.enabledEvents.length, 'event')} enabled again${list(r.enabledEvents)}; ${plural(r.jobsReady, 'job')} Ready again; environment ${r.environmentState}`],
  restoreToPoint: (r) => ['restored', `Point-in-time restore: ${plural(r.swapped, 'table')} swapped back, ${plural(r.verified, 'table')} verified, ` +
    `${plural(r.discarded, 'upgrade table')} discarded, ${plural(r.killedSessions, 'session')} killed (swap ${r.swapMs} ms, verify ${r.verifyMs} ms)`],
  dropRestorePoint: () => ['restore-point-dropped', 'Restore point dropped'],
};

/** What a child's input and result say, by workflow type: [kind prefix, started line, completed line]. */
const CHILDREN: Record<string, { prefix: string; started(i: any): string; completed(r: any): string }> = {
  tenantSetup: {
    prefix: 'setup',
    started: (i) => `Setup started: ${i.companies.map((c: { source: string; target: string }) => `${c.source} → ${c.target}`).join(', ')}`,
    completed: (r) => {
      // With the rows on the target, the result lists the first tables not migrated and counts the rest.
      const notMigrated = r.tables.filter((t: { notMigratedReason?: string }) => t.notMigratedReason);
      return `Setup completed: ${plural(r.tableCount ?? r.tables.length, 'table')} assessed, ${r.tablesCreated} created on the target, change capture on ${plural(r.captureInstalled, 'table')}, ` +
        `${notMigrated.length} not migrated${list(notMigrated.map((t: { key: string; notMigratedReason: string }) => `${t.key} (${t.notMigratedReason})`))}; ${plural(r.findings.length, 'finding')}`;
    },
  },
  replicationRun: {
    prefix: 'run',
    started: (i) => `Run #${i.run} started (${i.kind ?? runKindOf(i.tables)}): ${i.fromRows ? "the tenant's tables, read from their rows" : plural(i.tables.length, 'table')}`,
    completed: (r: RunResult) => {
      const by = (s: string): number => r.tables.filter((t) => t.status === s).length;
      const rows = r.counts?.rows ?? r.tables.reduce((n, t) => n + rowsOf(t), 0);
      const errors = `${r.tables.reduce((n, t) => n + t.errors, 0)} errors`;
      return r.counts
        ? `Run #${r.run} ${r.status}: ${plural(r.counts.tables, 'table')}, ${r.counts.failed} failed; ${rows} rows${r.failure ? `; ${r.failure}` : ''}`
        : `Run #${r.run} ${r.status}: ${by('Successful')} successful, ${by('Warning')} with warnings, ${by('Failed')} failed; ${rows} rows, ${errors}${r.failure ? `; ${r.failure}` : ''}`;
    },
  },
  verification: {
    prefix: 'verification',
    started: (i) => `Verification #${i.number} started${i.repair ? ' with repair' : ''} after run #${i.afterRun}: ${i.fromRows ? "the loaded tables, read from their rows" : plural(i.tables.length, 'table')}`,
    completed: (r: VerificationResult) => {
      const sum = (f: (t: VerificationResult['tables'][number]) => number): number => r.tables.reduce((n, t) => n + f(t), 0);
      const differing = r.tables.filter((t) => t.status !== 'Verified');
      // With the rows on the target, the result lists the differing tables first and counts them all.
      const total = r.counts?.tables ?? r.tables.length;
      const verified = r.counts?.verified ?? r.tables.length - differing.length;
      return `Verification #${r.number} ${r.status}: ${verified} of ${plural(total, 'table')} verified; ` +
        `${sum((t) => t.missing)} rows missing, ${sum((t) => t.extra)} extra, ${sum((t) => t.different)} different, ${sum((t) => t.rejected)} rejected by the target` +
        `${r.repair ? `; ${sum((t) => t.repaired)} rows repaired` : ''}${list(differing.slice(0, 10).map((t) => `${t.key} ${t.status}`))}${differing.length > 10 ? ` (+${differing.length - 10} more)` : ''}`;
    },
  },
  lakeExport: {
    prefix: 'lake-export',
    started: (i) => `Data lake export started: ${i.kind === 'history' ? 'the historical rows older than the oldest year' : 'the migrated tables'} of ${i.companies.join(', ')} to ${i.to ?? "the worker's default folder"}`,
    completed: (r: LakeExportSummary) =>
      `Data lake export #${r.number} (${r.kind}) completed to ${r.destination}: ${plural(r.tables, 'table')}, ${r.rowsWritten} rows and ${r.deletesWritten} deletes written; the lake holds ${r.rows} rows (${r.manifest})`,
  },
  dataUpgrade: {
    prefix: 'upgrade',
    started: (i) => `Data upgrade #${i.number} started from version ${i.dataVersion} ` +
      `${i.to ? `to ${i.to}` : i.stepsDir ? `(steps ${i.stepsDir}, a path as requests named them before versions)` : 'to the next version'} on ${i.schemas.join(', ')}; app accounts${list(i.appUsers)}`,
    completed: (r) => `Data upgrade completed: ${r.from} → ${r.to}, ${r.steps.map((s: { name: string; status: string }) => `${s.name} ${s.status}`).join(', ')}`,
  },
};

/** A company and the configuration an auditor asks about: which tables, from which year. */
function describeCompany(c: CompanyMapping): string {
  const settings = [
    c.includeTables ? `only ${c.includeTables.join(', ')}` : '',
    c.excludeTables ? `excluding ${c.excludeTables.join(', ')}` : '',
    c.oldestYear !== undefined ? `history from ${c.oldestYear}` : '',
    c.historyTables ? `history tables ${c.historyTables.join(', ')}` : '',
  ].filter(Boolean);
  return `${c.source} → ${c.target}${settings.length ? ` (${settings.join('; ')})` : ''}`;
}

/** An update's answer in a few words: the run or upgrade it started, where a hotfix went, the companies set. */
function answer(r: any): string {
  if (r?.workflowId) return ` → ${r.workflowId}${r.kind ? ` (${r.kind})` : ''}`;
  if (r?.keyId) return ` → runtime service key ${r.keyId}, delivered to ${r.deliveredTo}`;
  if (Array.isArray(r?.applied)) return ` → applied on ${r.applied.join(', ') || 'no schema'}${r.skipped?.length ? `; already applied on ${r.skipped.join(', ')}` : ''}`;
  if (Array.isArray(r) && r.every((c) => c?.source)) return ` → companies ${r.map(describeCompany).join(', ')}`;
  return '';
}


// Every client sends an identity with each request (cm: cm-cli:<os user>@<host>); the Web UI sends an
// empty one unless its sign-in is configured. The record says so rather than leaving a blank.
export const NO_IDENTITY = 'no client identity sent (the Temporal Web UI without sign-in, or a client that sets none)';
const clientOf = (identity: string | undefined): string => (identity ? `client ${identity}` : NO_IDENTITY);

/** One workflow execution's history turned into audit events; children found on the way are returned too. */
function readHistory(events: HistoryEvent[], workflowId: string, runId: string | undefined, out: [number, AuditEvent][]) {
  const children: { workflowId: string; runId?: string }[] = [];
  const activities = new Map<string, { type: string; input: unknown }>(); // scheduledEventId → what was asked
  // A run whose tables' results went into their rows: each table's result, from the activities that had it.
  const tableResults = new Map<string, TableRunResult>();
  const updates = new Map<string, AuditEvent>(); // updateId → its accepted event, to add the outcome
  const type = events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '';
  const child = CHILDREN[type];
  const prefix = child?.prefix ?? (type === 'cloudMigration' ? 'tenant' : type);
  const add = (e: HistoryEvent, kind: string, summary: string, more: Partial<AuditEvent> = {}): AuditEvent => {
    const ev: AuditEvent = { at: new Date(micros(e) / 1000).toISOString(), kind, summary, workflowId, runId, ...more };
    for (const k of Object.keys(ev) as (keyof AuditEvent)[]) if (ev[k] === undefined) delete ev[k];
    out.push([micros(e), ev]);
    return ev;
  };
  for (const e of events) {
    const started = e.workflowExecutionStartedEventAttributes;
    if (started) {
      const input = first(started.input);
      const identity = started.identity || undefined;
      if (child) add(e, `${prefix}.started`, child.started(input), { details: { input } });
      else if (started.continuedExecutionRunId) {
        add(e, `${prefix}.continued-as-new`, `History continued in a new run (previous run ${started.continuedExecutionRunId})`);
      } else {
        const { carried: _carried, ...request } = input ?? {};
        add(e, `${prefix}.created`, `Tenant ${input?.tenant} created: ${(input?.companies ?? []).map((c: { source: string; target?: string }) => c.target ? `${c.source} → ${c.target}` : c.source).join(', ')}` +
          `${input?.appUsers?.length ? `; app accounts ${input.appUsers.join(', ')}` : ''} (${clientOf(identity)})`,
        { actor: input?.requestedBy ?? identity, reason: input?.reason, details: { input: request, identity: identity ?? '' } });
      }
    }
    const accepted = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
    if (accepted) {
      const name = accepted.input?.name ?? '?';
      const args = decode(accepted.input?.args) as { requestedBy?: string; reason?: string }[];
      const identity = accepted.meta?.identity || undefined;
      updates.set(accepted.meta?.updateId ?? '', add(e, `update.${name}`, `Update ${name} accepted (${clientOf(identity)})`, {
        actor: args[0]?.requestedBy ?? identity, reason: args[0]?.reason, details: { args, identity: identity ?? '', updateId: accepted.meta?.updateId },
      }));
    }
    const updated = e.workflowExecutionUpdateCompletedEventAttributes;
    const request = updated && updates.get(updated.meta?.updateId ?? '');
    if (updated && request) {
      // The answer belongs to the request: "who asked" and "what came of it" read as one line.
      const result = updated.outcome?.success ? first(updated.outcome.success) : undefined;
      const failure = rootMessage(updated.outcome?.failure);
      request.summary += failure ? ` → failed: ${failure}` : answer(result);
      request.details = { ...(request.details as object), result, failure };
    }
    const signal = e.workflowExecutionSignaledEventAttributes;
    if (signal) {
      const args = decode(signal.input) as { requestedBy?: string; reason?: string }[];
      const identity = signal.identity || undefined;
      add(e, `signal.${signal.signalName}`, `Signal ${signal.signalName} received${identity ? ` (client ${identity})` : ''}`, {
        actor: args[0]?.requestedBy ?? identity, reason: args[0]?.reason, details: { args, identity },
      });
    }
    const childStarted = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    if (childStarted?.workflowId) children.push({ workflowId: childStarted.workflowId, runId: childStarted.runId || undefined });
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) activities.set(String(e.eventId), { type: scheduled.activityType?.name ?? '?', input: first(scheduled.input) });
    const done = e.activityTaskCompletedEventAttributes;
    const asked = done && activities.get(String(done.scheduledEventId));
    if (done && asked?.type === 'migrateTables') for (const t of (first(done.result) ?? []) as TableRunResult[]) tableResults.set(t.key, t);
    if (done && asked?.type === 'recordTableResults') for (const t of (asked.input as { results: TableRunResult[] }).results) tableResults.set(t.key, t);
    const describe = asked && ACTIVITIES[asked.type];
    if (done && describe) {
      const result = first(done.result);
      const [kind, summary] = describe(result, asked.input);
      add(e, `${prefix}.${kind}`, summary, { details: kind === 'restore-point' ? { takenAt: result.takenAt, schemas: result.schemas } : result });
    }
    const failed = e.activityTaskFailedEventAttributes;
    const what = failed && activities.get(String(failed.scheduledEventId));
    if (failed && what) {
      const step = (what.input as { step?: { name: string } })?.step?.name;
      add(e, `${prefix}.${step ? 'step-failed' : 'activity-failed'}`, `${step ? `Step ${step}` : what.type} failed: ${rootMessage(failed.failure)}`,
        { details: { activity: what.type, step, failure: rootMessage(failed.failure) } });
    }
    const cancel = e.workflowExecutionCancelRequestedEventAttributes;
    if (cancel) add(e, `${prefix}.cancel-requested`, `Cancellation requested${cancel.identity ? ` by ${cancel.identity}` : ''}${cancel.cause ? `: ${cancel.cause}` : ''}`, { actor: cancel.identity || undefined, reason: cancel.cause || undefined });
    // How the execution ended.
    const completed = e.workflowExecutionCompletedEventAttributes;
    // A run with failed tables fails (since 1.8.0), its result in the failure's details: it ended like a completed one.
    const failedInfo = e.workflowExecutionFailedEventAttributes?.failure?.applicationFailureInfo;
    const ranToEnd = prefix === 'run' && failedInfo?.type === RUN_FAILED && failedInfo.details ? failedInfo.details : undefined;
    if ((completed || ranToEnd) && child) {
      const result = first(completed ? completed.result : ranToEnd!);
      // With the rows on the target the answer lists the first tables; the activities had each one's.
      const tables = prefix === 'run' && result.counts && tableResults.size > 0 ? [...tableResults.values()] : result?.tables;
      add(e, `${prefix}.completed`, child.completed(result), { details: prefix === 'run' ? { status: result.status, tables, failure: result.failure, counts: result.counts } : result });
    }
    const wfFailed = e.workflowExecutionFailedEventAttributes;
    if (wfFailed && !ranToEnd) add(e, `${prefix}.failed`, `${type} failed: ${rootMessage(wfFailed.failure)}`, { details: { failure: rootMessage(wfFailed.failure), stackTrace: wfFailed.failure?.stackTrace || undefined } });
    const terminated = e.workflowExecutionTerminatedEventAttributes;
    if (terminated) add(e, `${prefix}.terminated`, `${type} terminated${terminated.reason ? `: ${terminated.reason}` : ''}`, { actor: terminated.identity || undefined, reason: terminated.reason || undefined });
    if (e.workflowExecutionCanceledEventAttributes) add(e, `${prefix}.cancelled`, `${type} cancelled`);
    if (e.workflowExecutionTimedOutEventAttributes) add(e, `${prefix}.timed-out`, `${type} timed out`);
  }
  return children;
}

/** Every management run of the tenant: what visibility lists, plus the continue-as-new chain (visibility may lag). */
async function managementRuns(client: Client, workflowId: string): Promise<string[]> {
  const runs: string[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = "${workflowId.replace(/["\\]/g, '\\$&')}"` })) runs.push(w.runId);
  let runId: string | undefined = await client.workflow.getHandle(workflowId).describe().then((d) => d.runId, (err: Error) => {
    if (err.name === 'WorkflowNotFoundError' && !runs.length) throw new UserFacingError(`unknown tenant: no workflow ${workflowId}`);
    return undefined;
  });
  while (runId && !runs.includes(runId)) {
    runs.push(runId);
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return runs;
}

export async function buildAudit(client: Client, tenant: string): Promise<AuditEvent[]> {
  const out: [number, AuditEvent][] = [];
  const pending = (await managementRuns(client, managementWorkflowId(tenant))).map((runId) => ({ workflowId: managementWorkflowId(tenant), runId }) as { workflowId: string; runId?: string });
  const seen = new Set<string>();
  while (pending.length) {
    const { workflowId, runId } = pending.shift()!;
    if (seen.has(`${workflowId}/${runId}`)) continue;
    seen.add(`${workflowId}/${runId}`);
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    pending.push(...readHistory(history.events ?? [], workflowId, runId, out));
  }
  // Refused signals are decided inside the workflow and kept only on its page: ask, but never wait long.
  const status = await Promise.race([getStatus(client, tenant).catch(() => undefined), new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000).unref())]);
  for (const r of status?.refusals ?? []) {
    out.push([Date.parse(r.at) * 1000, { at: r.at, kind: 'refusal', actor: r.requestedBy, summary: `Refused ${r.action}: ${r.reason} (from the status page)`, workflowId: managementWorkflowId(tenant), details: r }]);
  }
  return out.sort((a, b) => a[0] - b[0]).map(([, e]) => e);
}

// --- rendering ------------------------------------------------------------------------------------

const who = (e: AuditEvent): string => [e.actor && `by ${e.actor}`, e.reason && `reason: ${e.reason}`].filter(Boolean).join(', ');
const tablesOf = (e: AuditEvent): TableRunResult[] => (e.kind === 'run.completed' ? ((e.details as { tables?: TableRunResult[] }).tables ?? []) : []);
const tableLine = (t: TableRunResult): string =>
  `${t.key}: ${t.status}, ${rowsOf(t)} rows (full load ${t.fullLoadRows}, +${t.inserts} ~${t.updates} -${t.deletes}), ${t.errors} errors${t.errorMessage ? `, ${t.errorMessage}` : ''}`;

export function renderAuditText(tenant: string, events: AuditEvent[]): string {
  const lines = [`Audit of tenant ${tenant}: ${events.length} events, from Temporal workflow history`, ''];
  for (const e of events) {
    lines.push(`${e.at.replace('T', ' ').replace('Z', '')}  ${e.kind.padEnd(29)} ${e.summary}${who(e) ? `  [${who(e)}]` : ''}`);
    for (const t of tablesOf(e)) lines.push(`${' '.repeat(56)}${tableLine(t)}`);
  }
  return [...lines, '', NOT_IN_HISTORY, ''].join('\n');
}

export function renderAuditMarkdown(tenant: string, events: AuditEvent[]): string {
  const md = (s: string): string => s.replace(/([\\`*_|<>[\]])/g, '\\$1');
  const lines = [`# Audit of tenant \`${tenant}\``, '', `Built from Temporal workflow history: ${events.length} events. ${NOT_IN_HISTORY}`];
  let day = '';
  for (const e of events) {
    if (e.at.slice(0, 10) !== day) lines.push('', `## ${(day = e.at.slice(0, 10))}`, '');
    lines.push(`- **${e.at.slice(11, 23)}** \`${e.kind}\` ${md(e.summary)}${who(e) ? ` — *${md(who(e))}*` : ''} <sub>${md(e.workflowId)}</sub>`);
    const tables = tablesOf(e);
    if (tables.length) {
      lines.push('', '  | table | status | rows | full load | inserts | updates | deletes | errors | message |', '  | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
      for (const t of tables) {
        lines.push(`  | ${md(t.key)} | ${t.status} | ${rowsOf(t)} | ${t.fullLoadRows} | ${t.inserts} | ${t.updates} | ${t.deletes} | ${t.errors} | ${md(t.errorMessage ?? '')} |`);
      }
      lines.push('');
    }
  }
  return `${lines.join('\n')}\n`;
}
