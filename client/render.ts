// The Cloud Migration Management page, drawn in the terminal.
import Table from 'cli-table3';
import { outputWidth, shareWidths, wrapLine } from './fit';
import { DEFAULT_HISTORY_TABLES } from '../lib/company-tables';
import type { CompanyMapping, FindingRow, HotfixRecord, LakeExportLogEntry, RunLogEntry, StatusPage, TableState, UpgradeLogEntry, VerificationResult } from '../lib/types';
import type { ChecklistItem } from '../lib/table-pages';
import type { TenantListing } from './operations';

const n = (v: number): string => v.toLocaleString('en-US');
const plain = { head: [] as string[], border: [] as string[] };
// One line per row: no separator between rows, so a page of many tables stays readable.
const compact = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/** Below this width the wide tables show fewer, combined columns (each still says everything that matters). */
const NARROW = 120;

/** A time of the last days, minutes enough: "12-01 10:05Z". */
const shortTime = (iso?: string): string => (iso ? iso.slice(5, 16).replace('T', ' ') + 'Z' : '');
const time = (iso?: string): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

/** A table as wide as the output allows: columns over their share wrap (see fit.ts). */
function table(head: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? n(c) : c)));
  const longest = (s: string): number => Math.max(0, ...s.split('\n').map((l) => l.length));
  const natural = head.map((h, i) => Math.max(longest(h), ...cells.map((r) => longest(r[i] ?? ''))));
  // Each column is drawn with a space either side and a border after it, plus one border first.
  const widths = shareWidths(natural, outputWidth() - 1 - 3 * head.length);
  const wrap = (s: string, i: number): string => s.split('\n').flatMap((l) => wrapLine(l, widths[i])).join('\n');
  const t = new Table({ head: head.map(wrap), style: plain, chars: compact, colWidths: widths.map((w) => w + 2) });
  t.push(...cells.map((r) => r.map(wrap)));
  return `${t.toString()}\n`;
}

export function renderTenantList(tenants: TenantListing[]): string {
  if (tenants.length === 0) return 'No tenants (create one with `cm tenant create <tenant> --company <schema>`; `--all` lists ended ones too).\n';
  return table(['Tenant', 'Status', 'Phase', 'Workflow', 'Started'], tenants.map((t) => [t.tenant, t.status, t.phase ?? '', t.workflow, time(t.startedAt)]));
}

export function renderTiles(s: StatusPage): string {
  return table(
    ['Tables successful', 'With warnings', 'Failed', 'Not migrated', 'Verified', 'Next scheduled run'],
    [[s.tiles.successful, s.tiles.warnings, s.tiles.failed, s.tiles.notMigrated, s.tiles.verified ?? 0, s.tiles.nextScheduledRun ?? 'not scheduled']],
  );
}

export function renderLog(log: RunLogEntry[], latest = 10): string {
  if (log.length === 0) return 'Migration Log: no runs yet (start one with `cm run <tenant>`).\n';
  const shown = [...log].reverse().slice(0, latest);
  const more = log.length > shown.length ? `(${log.length - shown.length} older runs: cm status <tenant> --json)\n` : '';
  if (outputWidth() < NARROW) {
    return `Migration Log\n${table(
      ['Run', 'Status', 'Started', 'Took', 'Rows', 'By, reason / failure'],
      shown.map((e) => [
        `#${e.run} ${e.kind === 'full' ? 'full' : 'delta'}`, e.status, shortTime(e.startedAt), e.endedAt ? duration(Date.parse(e.endedAt) - Date.parse(e.startedAt)) : '', e.rows,
        [`${e.requestedBy ?? '?'} (${e.trigger})`, e.tablesDone < e.tables ? `${e.tablesDone} of ${e.tables} tables` : '', e.reason, e.failure].filter(Boolean).join(' · '),
      ]),
    )}${more}`;
  }
  return `Migration Log\n${table(
    ['Run', 'Kind', 'Status', 'Started', 'Ended', 'Duration', 'Tables', 'Rows', 'By', 'Reason / failure'],
    shown.map((e) => [
      `#${e.run}`, e.kind === 'full' ? 'full copy' : 'changes', e.status, time(e.startedAt), time(e.endedAt),
      e.endedAt ? duration(Date.parse(e.endedAt) - Date.parse(e.startedAt)) : '', `${e.tablesDone}/${e.tables}`, e.rows,
      `${e.requestedBy ?? '?'} (${e.trigger})`, [e.reason, e.failure].filter(Boolean).join(' · '),
    ]),
  )}${more}`;
}

/** The source's schema changes the latest runs followed, and what each did to the target. */
export function renderSchemaChanges(log: RunLogEntry[], latest = 20): string {
  const rows = [...log].reverse().flatMap((e) => (e.schemaChanges ?? []).map((c) => [`#${e.run}`, c.key, c.change, c.action]));
  if (rows.length === 0) return '';
  const shown = rows.slice(0, latest);
  const more = rows.length > shown.length ? `(${rows.length - shown.length} more: cm status <tenant> --json)\n` : '';
  return `Schema changes on the source (followed by the runs)\n${table(['Run', 'Table', 'Change', 'Done'], shown)}${more}`;
}

/** Environment Operations: the data upgrades, with the stack trace of a failure when asked. */
/** How a failed upgrade ended: refused, restored (by whom), or with the fence still up, waiting for a decision. */
function upgradeOutcome(u: UpgradeLogEntry): string {
  if (u.refused) return ' (refused before the fence: nothing changed)';
  if (u.restored) return u.recoveredBy ? ' (ended from outside; restored by the tenant workflow)' : ' (restored)';
  if (u.restored === false) return ' (NOT restored: the fence stays up; cm upgrade <tenant> --resolve inspect|retry|release)';
  return '';
}

export function renderUpgrades(upgrades: UpgradeLogEntry[], withStack = false): string {
  if (upgrades.length === 0) return 'Environment Operations: no data upgrade yet (`cm upgrade <tenant>`).\n';
  const rows = [...upgrades].reverse().map((u) => [
    `#${u.number}`, u.status, time(u.startedAt), time(u.endedAt), u.from && u.to ? `${u.from} → ${u.to}` : '', u.requestedBy ?? '',
    u.status === 'Failed' ? `${u.failedStep ? `step ${u.failedStep}: ` : ''}${u.error ?? ''}${upgradeOutcome(u)}` : u.reason ?? '',
  ]);
  let out = `Environment Operations (data upgrades)\n${table(['Upgrade', 'Status', 'Started', 'Ended', 'Version', 'By', 'Result'], rows)}`;
  for (const u of upgrades.filter((x) => x.resolutions?.length)) {
    out += `\nDecisions on upgrade #${u.number}:\n${u.resolutions!.map((r) => `  ${time(r.at)} ${r.action} by ${r.requestedBy ?? 'unknown'}${r.reason ? ` (${r.reason})` : ''}: ${r.outcome}`).join('\n')}\n`;
  }
  if (withStack) {
    for (const u of upgrades.filter((x) => x.stackTrace)) out += `\nStack trace of upgrade #${u.number} (${u.workflowId}):\n${u.stackTrace}\n`;
  }
  return out;
}

function renderHotfixes(hotfixes: HotfixRecord[]): string {
  if (hotfixes.length === 0) return '';
  return `Hotfixes\n${table(['Applied', 'Name', 'Schemas', 'By', 'Reason'], hotfixes.slice(-10).reverse().map((h) => [time(h.appliedAt), h.name, h.schemas.join(', '), h.requestedBy ?? '', h.reason ?? '']))}`;
}

/** When the table was last proven equal to its source, or what its last verification found. */
function verifiedCell(t: TableState, at: (iso?: string) => string = time): string {
  const v = t.verification;
  if (!v) return t.notMigratedReason ? '' : 'not yet';
  return v.status === 'Verified' ? at(v.at) : `${v.status} ${at(v.at)}`;
}

export function renderLakeExports(list: StatusPage['lakeExports'], latest = 5): string {
  if (!list || list.length === 0) return '';
  const what = (e: LakeExportLogEntry): string => `${e.number !== undefined ? `#${e.number} ` : ''}${e.kind === 'history' ? 'history' : 'migrated'}`;
  const wrote = (e: LakeExportLogEntry): string =>
    e.rowsWritten === undefined ? '' : `${n(e.rowsWritten)} rows, ${n(e.deletesWritten ?? 0)} deletes of ${n(e.tables ?? 0)} tables (lake: ${n(e.rows ?? 0)} rows)`;
  return `Data lake exports\n${table(
    ['Export', 'Status', 'Started', 'Ended', 'Destination', 'Wrote', 'By'],
    [...list].reverse().slice(0, latest).map((e) => [
      what(e), e.status, shortTime(e.startedAt), shortTime(e.endedAt), e.destination ?? e.to ?? 'worker default', wrote(e), [e.requestedBy, e.failure].filter(Boolean).join(' · '),
    ]),
  )}`;
}

export function renderVerifications(list: StatusPage['verifications'], latest = 5): string {
  if (!list || list.length === 0) return 'Verifications: none yet (`cm verify <tenant>`).\n';
  if (outputWidth() < NARROW) {
    return `Verifications\n${table(
      ['Verification', 'Status', 'Started', 'Tables', 'Verified/differing/repaired', 'By'],
      [...list].reverse().slice(0, latest).map((v) => [
        `#${v.number}${v.repair ? ' (repair)' : ''} after #${v.afterRun}`, v.status, shortTime(v.startedAt), v.tables,
        [v.verified, v.differing, v.repaired].map((x) => (x === undefined ? '-' : n(x))).join('/'), [v.requestedBy, v.failure].filter(Boolean).join(' · '),
      ]),
    )}`;
  }
  return `Verifications\n${table(
    ['Verification', 'Status', 'After run', 'Started', 'Ended', 'Tables', 'Verified', 'Differing', 'Repaired rows', 'By'],
    [...list].reverse().slice(0, latest).map((v) => [
      `#${v.number}${v.repair ? ' (repair)' : ''}`, v.status, `#${v.afterRun}`, time(v.startedAt), time(v.endedAt), v.tables, v.verified ?? '', v.differing ?? '',
      v.repaired ?? '', [v.requestedBy, v.failure].filter(Boolean).join(' · '),
    ]),
  )}`;
}

export function renderTables(tables: TableState[]): string {
  if (tables.length === 0) return '';
  if (outputWidth() < NARROW) {
    return `Tables\n${table(
      ['Table', 'Status', 'Rows', '+/~/-', 'Verified', 'Message'],
      tables.map((t) => [
        t.key, t.status, t.fullLoadRows, `${n(t.inserts)}/${n(t.updates)}/${n(t.deletes)}`, verifiedCell(t, shortTime),
        [t.errors ? `${n(t.errors)} errors` : '', t.notMigratedReason ?? t.errorMessage ?? ''].filter(Boolean).join(': '),
      ]),
    )}`;
  }
  return `Tables\n${table(
    ['Table (source schema.table)', 'Status', 'Full load rows', 'Inserts', 'Updates', 'Deletes', 'Errors', 'Duration', 'Last sync position', 'Verified', 'Message'],
    tables.map((t) => [
      t.key, t.status, t.fullLoadRows, t.inserts, t.updates, t.deletes, t.errors,
      t.durationMs ? duration(t.durationMs) : '', t.lastSyncPosition ?? '', verifiedCell(t), t.notMigratedReason ?? t.errorMessage ?? '',
    ]),
  )}`;
}

export function renderFindings(findings: FindingRow[], minimum: 'info' | 'warning' = 'warning', total = findings.length): string {
  const shown = findings.filter((f) => minimum === 'info' || f.severity !== 'info');
  const hidden = total - shown.length;
  if (shown.length === 0) return hidden ? `Assessment: ${hidden} informational notes (cm status --json shows them).\n` : '';
  return `Assessment findings\n${table(['Severity', 'Table', 'Finding'], shown.map((f) => [f.severity, f.table ?? '', f.message]))}${
    hidden ? `(+${hidden} more, informational notes included: cm status <tenant> --json)\n` : ''
  }`;
}

export function renderSetup(s: StatusPage): string {
  const { total } = s.tableCounts;
  const notMigrated = s.tableCounts.byStatus['Not Migrated'] ?? 0;
  const head =
    s.status === 'Setup Failed'
      ? `Setup failed: ${s.setupError}\n`
      : `Status: ${s.status} · ${s.companies.length} companies · ${total} tables (${total - notMigrated} to migrate, ${notMigrated} not migrated)\n`;
  return head + renderFindings(s.findings, 'warning', s.findingsTotal);
}

/** Table counts per company, by status: the page's view of a tenant too large to list. */
export function renderCounts(s: StatusPage): string {
  if (s.tableCounts.companies.length < 2) return '';
  const statuses = ['Successful', 'Warning', 'Failed', 'Not Migrated', 'In Progress', 'Not Started'] as const;
  // Narrow: the statuses' short names (the tiles above spell them out).
  const heads = outputWidth() < NARROW ? ['OK', 'Warning', 'Failed', 'Not migr.', 'Running', 'Waiting'] : statuses;
  return `Tables per company\n${table(
    ['Company', 'Tables', ...heads],
    s.tableCounts.companies.map((c) => [c.company, c.total, ...statuses.map((st) => c.byStatus[st] ?? 0)]),
  )}`;
}

/** Which table rows the page lists: the summary's problem tables, or a page of the `tables` query. */
export interface ListedTables {
  rows: TableState[];
  /** Said under the rows: how many more there are and how to see them. */
  note?: string;
}

export function renderStatus(s: StatusPage, listed: ListedTables = { rows: s.problemTables }): string {
  const rows = listed.rows;
  const parts = [
    `Cloud Migration Management: ${s.tenant}\n`,
    `Status: ${s.status}   Environment: ${s.environmentState}   Data version: ${s.dataVersion}   Connections: ${s.sourceConnection} → ${s.targetConnection}\n`,
    s.companies.some((c) => c.includeTables || c.excludeTables || c.oldestYear !== undefined || c.historyTables)
      ? `Company configuration\n${renderCompanies(s.companies)}`
      : `Companies (source schema → target schema): ${s.companies.map((c) => `${c.source} → ${c.target}`).join(', ')}\n`,
    `Replication schedule: ${s.schedule ?? 'none (cm schedule <tenant> --daily HH:MM)'}\n`,
    `Runtime service key: ${s.runtimeKey ? `${s.runtimeKey.keyId}, issued ${s.runtimeKey.issuedAt} to ${s.runtimeKey.deliveredTo}` : 'not issued yet'}\n`,
    s.capture ? `Change capture: ${s.capture.mode} (${s.capture.reason})\n` : '',
    s.setupError ? `Setup error: ${s.setupError}\n` : '',
    s.tableRowsError ? `Table counts: ${s.tableRowsError}\n` : '',
    renderTiles(s),
    renderLog(s.log),
    renderSchemaChanges(s.log),
    renderUpgrades(s.upgrades),
    renderVerifications(s.verifications),
    renderLakeExports(s.lakeExports),
    renderHotfixes(s.hotfixes),
    renderCounts(s),
    renderTables(rows) + (listed.note ? `${listed.note}\n` : ''),
    renderFindings(s.findings, 'warning', s.findingsTotal),
    s.refusals.length
      ? `Refused requests (latest)\n${table(['At', 'Action', 'By', 'Reason'], s.refusals.slice(-5).map((r) => [time(r.at), r.action, r.requestedBy ?? '', r.reason]))}`
      : '',
  ];
  return parts.filter(Boolean).join('\n');
}

export function renderChecklist(items: ChecklistItem[]): string {
  if (items.length === 0) return 'Setup Checklist: nothing left to set up online; every table was migrated.\n';
  return `Setup Checklist\n${table(['What', 'Object', 'To do'], items.map((i) => [i.kind, i.object, i.action]))}`;
}

/** Company configuration, one line per company. */
export function renderCompanies(companies: CompanyMapping[]): string {
  return table(
    ['Company', 'Target schema', 'Include', 'Exclude', 'Oldest year', 'Historical tables'],
    companies.map((c) => [
      c.source, c.target, c.includeTables?.join(', ') ?? 'all', c.excludeTables?.join(', ') ?? 'none',
      c.oldestYear !== undefined ? String(c.oldestYear) : 'all years', (c.historyTables ?? DEFAULT_HISTORY_TABLES).join(', '),
    ]),
  );
}

/**
 * A verification's outcome, table by table: what was compared, what differs (with example keys and
 * definition differences), what was repaired. `reasons` gives the table's own error for rows the
 * target rejected (a zero date, say): those are missing for a known reason.
 */
export function renderVerification(result: VerificationResult, reasons: Record<string, string | undefined> = {}, opts: { notableOnly?: boolean } = {}): string {
  const shown = opts.notableOnly ? result.tables.filter((t) => t.status !== 'Verified' || t.rejected > 0 || t.repaired > 0) : result.tables;
  const rows = shown.map((t) => {
    const notes = [
      t.rejected > 0 && `${n(t.rejected)} rows missing: rejected by the target${reasons[t.key] ? ` (${reasons[t.key]})` : ''}`,
      t.pending > 0 && `${n(t.pending)} with a change still to apply`,
      ...t.definition.map((d) => `definition: ${d}`),
      t.examples.length > 0 && `e.g. ${t.examples.join(', ')}`,
      t.pauses > 0 && `paused ${t.pauses}× (${duration(t.pausedMs)}) while the source was busy`,
      t.error,
    ].filter(Boolean);
    return [t.key, t.status, t.rowsCompared, t.missing, t.extra, t.different, result.repair ? t.repaired : '', notes.join('; ')];
  });
  const verified = result.tables.filter((t) => t.status === 'Verified').length;
  const summary = `Verification #${result.number}: ${result.status} — ${verified} of ${result.tables.length} tables verified` +
    (result.repair ? `, ${n(result.tables.reduce((a, t) => a + t.repaired, 0))} rows repaired` : '');
  return `${rows.length ? table(['Table', 'Status', 'Rows compared', 'Missing', 'Extra', 'Different', 'Repaired', 'Notes'], rows) : ''}${summary}\n`;
}
