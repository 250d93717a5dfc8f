// The Cloud Migration Management page (seed 003), in the browser. It reads and acts only through
// cm ui's small API (client/ui-server.ts), which is the tenant workflow's queries and updates.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { RunLogEntry, StatusPage, TablePage, TableState, UpgradeLogEntry } from '../lib/types';
import type { ChecklistItem } from '../lib/table-pages';
import type { TenantListing } from '../client/operations';

// --- talking to cm ui ------------------------------------------------------------------------------

/** The access token of a page served to other machines (`cm ui --host …` prints the address with it). */
const TOKEN = new URLSearchParams(location.search).get('token');

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const headers = new Headers(init?.headers);
  if (TOKEN) headers.set('x-cm-token', TOKEN);
  const res = await fetch(path, { ...init, headers });
  const body = (await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }))) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body;
}
const tenantPath = (tenant: string, what = ''): string => `/api/tenants/${encodeURIComponent(tenant)}${what ? `/${what}` : ''}`;
const act = (tenant: string, action: string, body: Record<string, unknown>): Promise<{ result: any }> =>
  api(tenantPath(tenant, action), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Polls `load` every `ms` while mounted; answers the latest value and error. */
function usePolled<T>(load: () => Promise<T>, ms: number, deps: unknown[]): { value?: T; error?: string; reload: () => void } {
  const [value, setValue] = useState<T>();
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);
  const asked = useRef('');
  useEffect(() => {
    let live = true;
    // Another question (not a reload): never show the previous answer as this one's.
    const key = JSON.stringify(deps);
    if (asked.current !== key) setValue(undefined);
    asked.current = key;
    const once = () => load().then((v) => live && (setValue(v), setError(undefined)), (e: Error) => live && setError(e.message));
    once();
    const timer = ms > 0 ? setInterval(once, ms) : undefined;
    return () => {
      live = false;
      if (timer) clearInterval(timer);
    };
  }, [...deps, tick]);
  return { value, error, reload: () => setTick((t) => t + 1) };
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

// --- small pieces ------------------------------------------------------------------------------------

const n = (v?: number | null): string => (v === undefined || v === null ? '' : v.toLocaleString('en-US'));
const time = (iso?: string | null): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');
const took = (a?: string, b?: string): string => {
  if (!a || !b) return '';
  const s = (Date.parse(b) - Date.parse(a)) / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
};
const Status = ({ s }: { s: string }) => <span class={`status-${s.replace(/\s+/g, '')}`}>{s}</span>;
const Flash = ({ kind, children }: { kind: 'ok' | 'error'; children: unknown }) => (
  <div class={`flash ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>{children as never}</div>
);

// --- the list of tenants ----------------------------------------------------------------------------------

function TenantList() {
  const [filter, setFilter] = useState('');
  const { value: tenants, error } = usePolled(() => api<TenantListing[]>('/api/tenants?all=1'), 5000, []);
  const shown = (tenants ?? []).filter((t) => t.tenant.toLowerCase().includes(filter.toLowerCase()));
  return (
    <main>
      <h1>Tenants</h1>
      {error && <Flash kind="error">{error}</Flash>}
      <div class="filters">
        <label>Find a tenant <input aria-label="Find a tenant" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} /></label>
      </div>
      {tenants && shown.length === 0 && <p class="muted">No tenants{filter ? ' match' : ' yet: create one with `cm tenant create`'}.</p>}
      {shown.length > 0 && (
        <table>
          <thead><tr><th>Tenant</th><th>Status</th><th>Phase</th><th>Workflow</th><th>Started</th></tr></thead>
          <tbody>
            {shown.map((t) => (
              <tr key={t.tenant}>
                <td><a href={`#/tenant/${encodeURIComponent(t.tenant)}`}>{t.tenant}</a></td>
                <td><Status s={t.status} /></td><td>{t.phase ?? ''}</td><td>{t.workflow}</td><td>{time(t.startedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}

// --- one tenant's page ---------------------------------------------------------------------------------

type Filter = { status?: string; company?: string; table?: string; page: number };

function TenantPage({ tenant }: { tenant: string }) {
  const { value: s, error, reload } = usePolled(() => api<StatusPage>(tenantPath(tenant)), 2000, [tenant]);
  const [filter, setFilter] = useState<Filter>({ page: 1 });
  const open = (status?: string) => {
    setFilter({ status, page: 1 });
    setTimeout(() => document.getElementById('tables')?.scrollIntoView(), 0);
  };
  if (!s) return <main>{error ? <Flash kind="error">{error}</Flash> : <p class="muted">Loading {tenant}…</p>}</main>;
  return (
    <main>
      <h1>Cloud Migration Management: {tenant}</h1>
      {error && <Flash kind="error">Refresh failed: {error}</Flash>}
      <div class="facts">
        <span>Status: <strong data-testid="tenant-status">{s.status}</strong></span>
        <span>Environment: {s.environmentState}</span>
        <span>Data version: {s.dataVersion}</span>
        <span>Connections: {s.sourceConnection} → {s.targetConnection}</span>
        {s.capture && <span>Change capture: {s.capture.mode}</span>}
        <span>Schedule: {s.schedule ?? 'none'}</span>
        <span>Runtime key: {s.runtimeKey?.keyId ?? 'not issued yet'}</span>
      </div>
      {s.setupError && <Flash kind="error">Setup error: {s.setupError}</Flash>}
      <Live s={s} />
      <section aria-label="Tiles" class="tiles">
        <Tile label="Tables successful" value={s.tiles.successful} kind="ok" active={filter.status === 'Successful'} onClick={() => open('Successful')} />
        <Tile label="With warnings" value={s.tiles.warnings} kind="warn" active={filter.status === 'Warning'} onClick={() => open('Warning')} />
        <Tile label="Failed" value={s.tiles.failed} kind="bad" active={filter.status === 'Failed'} onClick={() => open('Failed')} />
        <Tile label="Not migrated" value={s.tiles.notMigrated} active={filter.status === 'Not Migrated'} onClick={() => open('Not Migrated')} />
        <Tile label="Verified" value={s.tiles.verified ?? 0} kind="ok" active={false} onClick={() => open(undefined)} />
        <Tile label="Next scheduled run" value={s.tiles.nextScheduledRun ? time(s.tiles.nextScheduledRun) : 'not scheduled'} active={false} onClick={() => document.getElementById('actions')?.scrollIntoView()} />
      </section>
      <Actions tenant={tenant} s={s} onDone={reload} />
      <Tables tenant={tenant} s={s} filter={filter} setFilter={setFilter} />
      <MigrationLog log={s.log} total={s.logTotal} />
      <EnvironmentOperations upgrades={s.upgrades} />
      <Verifications s={s} />
      <LakeExports s={s} />
      <Checklist tenant={tenant} />
      {s.findings.length > 0 && (
        <section><h2>Assessment findings</h2>
          <table><thead><tr><th>Severity</th><th>Table</th><th>Finding</th></tr></thead>
            <tbody>{s.findings.map((f, i) => <tr key={i}><td>{f.severity}</td><td>{f.table ?? ''}</td><td>{f.message}</td></tr>)}</tbody></table>
        </section>
      )}
      {s.refusals.length > 0 && (
        <section><h2>Refused requests</h2>
          <table><thead><tr><th>At</th><th>Action</th><th>By</th><th>Reason</th></tr></thead>
            <tbody>{[...s.refusals].reverse().slice(0, 10).map((r, i) => <tr key={i}><td>{time(r.at)}</td><td>{r.action}</td><td>{r.requestedBy ?? ''}</td><td>{r.reason}</td></tr>)}</tbody></table>
        </section>
      )}
    </main>
  );
}

function Tile(p: { label: string; value: number | string; kind?: string; active: boolean; onClick: () => void }) {
  return (
    <button class={`tile ${p.kind ?? ''} ${p.active ? 'active' : ''}`} onClick={p.onClick} aria-label={`${p.label}: ${p.value}`}>
      <span class="n">{typeof p.value === 'number' ? n(p.value) : p.value}</span>{p.label}
    </button>
  );
}

/** A run or an upgrade in progress, refreshed with the page. */
function Live({ s }: { s: StatusPage }) {
  const run = s.currentRun;
  const upgrade = s.upgrades.find((u) => u.status === 'In Progress');
  if (!run && !upgrade) return null;
  return (
    <section aria-label="In progress">
      {run && (
        <div>
          <p>Run #{run.run} ({run.kind === 'full' ? 'full copy' : 'changes'}) in progress: {n(run.tablesDone)} of {n(run.tables)} tables, {n(run.rows)} rows</p>
          <div class="progress"><div style={{ width: `${run.tables ? (100 * run.tablesDone) / run.tables : 0}%` }} /></div>
        </div>
      )}
      {upgrade && <p>Data upgrade #{upgrade.number} running{upgrade.to ? ` to ${upgrade.to}` : ''}: the fence is up, applications are kept out.</p>}
    </section>
  );
}

function Tables({ tenant, s, filter, setFilter }: { tenant: string; s: StatusPage; filter: Filter; setFilter: (f: Filter) => void }) {
  const q = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => [k, String(v)]));
  const { value: page, error } = usePolled(() => api<TablePage>(`${tenantPath(tenant, 'tables')}?${q}`), s.currentRun ? 3000 : 0, [tenant, q.toString(), s.log.length]);
  const set = (patch: Partial<Filter>) => setFilter({ ...filter, ...patch, page: patch.page ?? 1 });
  return (
    <section id="tables" aria-label="Tables">
      <h2>Tables{filter.status ? `: ${filter.status}` : ''}</h2>
      <div class="filters">
        <label>Status
          <select aria-label="Status filter" value={filter.status ?? ''} onChange={(e) => set({ status: (e.target as HTMLSelectElement).value || undefined })}>
            <option value="">every status</option>
            {['Failed', 'Warning', 'Not Migrated', 'In Progress', 'Not Started', 'Successful'].map((st) => <option key={st} value={st}>{st}</option>)}
          </select>
        </label>
        <label>Company
          <select aria-label="Company filter" value={filter.company ?? ''} onChange={(e) => set({ company: (e.target as HTMLSelectElement).value || undefined })}>
            <option value="">every company</option>
            {s.companies.map((c) => <option key={c.source} value={c.source}>{c.source}</option>)}
          </select>
        </label>
        <label>Table name (* and ?)
          <input aria-label="Table name filter" value={filter.table ?? ''} onChange={(e) => set({ table: (e.target as HTMLInputElement).value || undefined })} />
        </label>
      </div>
      {error && <Flash kind="error">{error}</Flash>}
      {page && (
        <>
          <div class="pager">
            <button disabled={page.page <= 1} onClick={() => set({ page: page.page - 1 })}>Previous</button>
            <span>Page {page.page} of {Math.max(1, page.pages)} ({n(page.total)} tables)</span>
            <button disabled={page.page >= page.pages} onClick={() => set({ page: page.page + 1 })}>Next</button>
          </div>
          <table>
            <thead><tr><th>Table</th><th>Status</th><th>Rows copied</th><th>Inserts</th><th>Updates</th><th>Deletes</th><th>Errors</th><th>Verified</th><th>Reason / message</th></tr></thead>
            <tbody>{page.tables.map((t) => <TableRow key={t.key} t={t} />)}</tbody>
          </table>
        </>
      )}
    </section>
  );
}

function TableRow({ t }: { t: TableState }) {
  const v = t.verification;
  return (
    <tr>
      <td>{t.key}</td><td><Status s={t.status} /></td><td class="num">{n(t.fullLoadRows)}</td><td class="num">{n(t.inserts)}</td><td class="num">{n(t.updates)}</td>
      <td class="num">{n(t.deletes)}</td><td class="num">{n(t.errors)}</td><td>{v ? `${v.status} ${time(v.at)}` : ''}</td><td>{t.notMigratedReason ?? t.errorMessage ?? ''}</td>
    </tr>
  );
}

function MigrationLog({ log, total }: { log: RunLogEntry[]; total: number }) {
  return (
    <section aria-label="Migration Log">
      <h2>Migration Log</h2>
      {log.length === 0 ? <p class="muted">No runs yet.</p> : (
        <table>
          <thead><tr><th>Run</th><th>Kind</th><th>Status</th><th>Started</th><th>Took</th><th>Tables</th><th>Rows</th><th>By</th><th>Reason / failure</th></tr></thead>
          <tbody>{[...log].reverse().map((e) => (
            <tr key={e.run}>
              <td>#{e.run}</td><td>{e.kind === 'full' ? 'full copy' : 'changes'}</td><td><Status s={e.status} /></td><td>{time(e.startedAt)}</td><td>{took(e.startedAt, e.endedAt)}</td>
              <td class="num">{n(e.tablesDone)}/{n(e.tables)}</td><td class="num">{n(e.rows)}</td><td>{e.requestedBy ?? '?'} ({e.trigger})</td><td>{[e.reason, e.failure].filter(Boolean).join(' · ')}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
      {total > log.length && <p class="muted">{total - log.length} older runs: cm status --json.</p>}
    </section>
  );
}

function upgradeOutcome(u: UpgradeLogEntry): string {
  if (u.refused) return 'refused before the fence: nothing changed';
  if (u.restored) return 'restored to the point before the upgrade';
  if (u.restored === false) return 'NOT restored: the fence stays up until an operator decides';
  return '';
}

function EnvironmentOperations({ upgrades }: { upgrades: UpgradeLogEntry[] }) {
  return (
    <section aria-label="Environment Operations">
      <h2>Environment Operations</h2>
      {upgrades.length === 0 ? <p class="muted">No data upgrade yet.</p> : (
        <table>
          <thead><tr><th>Upgrade</th><th>Status</th><th>Started</th><th>Ended</th><th>Version</th><th>By</th><th>Result</th></tr></thead>
          <tbody>{[...upgrades].reverse().map((u) => (
            <tr key={u.number}>
              <td>#{u.number}</td><td><Status s={u.status} /></td><td>{time(u.startedAt)}</td><td>{time(u.endedAt)}</td><td>{u.from && u.to ? `${u.from} → ${u.to}` : ''}</td>
              <td>{u.requestedBy ?? ''}</td>
              <td>
                {u.status === 'Failed' ? <><span>{`${u.failedStep ? `step ${u.failedStep}: ` : ''}${u.error ?? ''}`}</span> <em>({upgradeOutcome(u)})</em></> : u.reason ?? ''}
                {u.stackTrace && <details><summary>Stack trace</summary><pre class="stack">{u.stackTrace}</pre></details>}
              </td>
            </tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}

function Verifications({ s }: { s: StatusPage }) {
  const list = s.verifications ?? [];
  return (
    <section aria-label="Verifications">
      <h2>Verifications</h2>
      {list.length === 0 ? <p class="muted">None yet.</p> : (
        <table>
          <thead><tr><th>Verification</th><th>Status</th><th>After run</th><th>Started</th><th>Tables</th><th>Verified</th><th>Differing</th><th>By</th></tr></thead>
          <tbody>{[...list].reverse().slice(0, 10).map((v) => (
            <tr key={v.number}><td>#{v.number}{v.repair ? ' (repair)' : ''}</td><td><Status s={v.status} /></td><td>#{v.afterRun}</td><td>{time(v.startedAt)}</td>
              <td class="num">{n(v.tables)}</td><td class="num">{n(v.verified)}</td><td class="num">{n(v.differing)}</td><td>{v.requestedBy ?? ''}</td></tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}

function LakeExports({ s }: { s: StatusPage }) {
  const list = s.lakeExports ?? [];
  if (list.length === 0) return null;
  return (
    <section aria-label="Data lake exports">
      <h2>Data lake exports</h2>
      <table>
        <thead><tr><th>Export</th><th>Status</th><th>Started</th><th>Destination</th><th>Tables</th><th>Rows written</th><th>Deletes</th><th>Rows in the lake</th><th>By</th></tr></thead>
        <tbody>{[...list].reverse().slice(0, 10).map((e) => (
          <tr key={e.workflowId}><td>{e.number !== undefined ? `#${e.number} ` : ''}{e.kind}</td><td><Status s={e.status} />{e.failure ? ` ${e.failure}` : ''}</td><td>{time(e.startedAt)}</td>
            <td>{e.destination ?? e.to ?? 'worker default'}</td><td class="num">{n(e.tables)}</td><td class="num">{n(e.rowsWritten)}</td><td class="num">{n(e.deletesWritten)}</td><td class="num">{n(e.rows)}</td><td>{e.requestedBy ?? ''}</td></tr>
        ))}</tbody>
      </table>
    </section>
  );
}

function Checklist({ tenant }: { tenant: string }) {
  const [items, setItems] = useState<ChecklistItem[]>();
  const [error, setError] = useState<string>();
  return (
    <section aria-label="Setup Checklist">
      <h2>Setup Checklist</h2>
      {!items && <button onClick={() => api<ChecklistItem[]>(tenantPath(tenant, 'checklist')).then(setItems, (e: Error) => setError(e.message))}>Show the Setup Checklist</button>}
      {error && <Flash kind="error">{error}</Flash>}
      {items && (items.length === 0 ? <p>Nothing left to set up online; every table was migrated.</p> : (
        <table><thead><tr><th>What</th><th>Object</th><th>To do</th></tr></thead>
          <tbody>{items.map((i, k) => <tr key={k}><td>{i.kind}</td><td>{i.object}</td><td>{i.action}</td></tr>)}</tbody></table>
      ))}
    </section>
  );
}

// --- actions -------------------------------------------------------------------------------------------

type Field = { name: string; label: string; kind?: 'text' | 'textarea' | 'checkbox' | 'select'; options?: string[]; placeholder?: string; required?: boolean };
interface ActionSpec {
  action: string;
  title: string;
  help: string;
  fields: Field[];
  danger?: boolean;
  /** The tenant's name must be typed to submit. */
  confirm?: boolean;
  done: (r: any) => string;
}

const ACTIONS: ActionSpec[] = [
  { action: 'run', title: 'Run Migration Now', help: 'Copies what changed on the source since the last run (the first run copies everything).', fields: [], done: (r) => `Run #${r.run} started (${r.kind === 'full' ? 'full copy' : 'changes only'}).` },
  { action: 'verify', title: 'Verify Now', help: 'Compares every table with its source by content, chunk by chunk.', fields: [{ name: 'repair', label: 'Repair: make every differing row equal to the source', kind: 'checkbox' }], done: (r) => `Verification #${r.number} of ${n(r.tables)} tables started.` },
  { action: 'upgrade', title: 'Run Data Upgrade Now', help: 'Raises the fence, takes a restore point and runs the upgrade steps; a failure restores everything.', fields: [{ name: 'to', label: 'To version (empty: the next one)', placeholder: '2.0' }], done: (r) => `Data upgrade #${r.number} started.` },
  { action: 'hotfix', title: 'Apply Hotfix', help: 'Runs SQL on every target schema, once, outside an upgrade.', fields: [{ name: 'name', label: 'Name', required: true }, { name: 'sql', label: 'SQL', kind: 'textarea', required: true }], done: (r) => `Hotfix ${r.name} applied to ${r.applied.join(', ') || 'no schema'}${r.skipped.length ? `; already on ${r.skipped.join(', ')}` : ''}.` },
  { action: 'schedule', title: 'Replication schedule', help: 'A run requested at this time (UTC), every day or every week.', fields: [{ name: 'at', label: 'Time (HH:MM, UTC)', placeholder: '02:00' }, { name: 'weekday', label: 'Weekly on (empty: daily)', kind: 'select', options: ['', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] }, { name: 'off', label: 'Remove the schedule', kind: 'checkbox' }], done: (r) => `Replication schedule: ${r}.` },
  { action: 'snapshot', title: 'Rerun Detail Snapshot', help: 'Empties the historical tables on the target and copies them again.', fields: [], done: (r) => `Rerun Detail Snapshot: ${n(r.tables)} tables; run #${r.run} copies them again.` },
  { action: 'lake', title: 'Azure Data Lake', help: 'Exports the migrated tables (or the historical rows older than each company\'s oldest year) as Parquet files with a manifest; later exports write only what changed. The destination\'s keys stay on the worker.', fields: [{ name: 'to', label: 'Destination, by its name on the workers (CM_LAKE_<NAME>_URI; empty: CM_LAKE_URI)', placeholder: 'archive' }, { name: 'companies', label: 'Companies (source schemas, comma separated; empty: all)' }, { name: 'historyOnly', label: 'Only the historical rows the oldest year keeps out of the cloud tenant', kind: 'checkbox' }], done: (r) => `Data lake export started: ${r.workflowId}.` },
  { action: 'resync', title: 'Resync tables', help: 'Rebuilds these tables from the source in the next run.', fields: [{ name: 'tables', label: 'Tables (names, schema.table or patterns; comma separated)', required: true }], done: (r) => `Resync: run #${r.run} rebuilds them.` },
  { action: 'reset', title: 'Reset Cloud Data', help: 'Empties every target table of the tenant; the next run copies everything again.', fields: [], danger: true, confirm: true, done: (r) => `Target emptied: ${n(r.tablesEmptied)} tables, ${n(r.rowsDeleted)} rows. The next run is a full copy.` },
  { action: 'disable', title: 'Disable Cloud Migration', help: 'The end of the migration: removes change capture from the source and ends the tenant\'s workflow. It cannot be undone.', fields: [{ name: 'skipFinalRun', label: 'Disable even though the latest run did not complete', kind: 'checkbox' }, { name: 'skipVerification', label: 'Disable without a verification after the final run (recorded)', kind: 'checkbox' }], danger: true, confirm: true, done: (r) => `Cloud migration disabled at ${time(r.disabledAt)}.` },
];

function Actions({ tenant, s, onDone }: { tenant: string; s: StatusPage; onDone: () => void }) {
  const [open, setOpen] = useState<string>();
  const [flash, setFlash] = useState<{ kind: 'ok' | 'error'; text: string }>();
  const spec = ACTIONS.find((a) => a.action === open);
  const stuck = s.upgrades.find((u) => u.status === 'Failed' && u.restored === false);
  return (
    <section id="actions" aria-label="Actions">
      <h2>Actions</h2>
      <div class="actions">
        {ACTIONS.map((a) => (
          <button key={a.action} class={a.danger ? 'danger' : a.action === 'run' ? 'primary' : ''} onClick={() => { setOpen(a.action); setFlash(undefined); }}>{a.title}</button>
        ))}
      </div>
      {stuck && (
        <Flash kind="error">
          Upgrade #{stuck.number} failed and its restore could not be verified: the fence stays up.{' '}
          {(['inspect', 'retry', 'release'] as const).map((action) => (
            <button key={action} onClick={() => act(tenant, 'resolve', { action }).then((r) => setFlash({ kind: 'ok', text: r.result.outcome }), (e: Error) => setFlash({ kind: 'error', text: e.message }))}>{action}</button>
          ))}
        </Flash>
      )}
      {flash && <Flash kind={flash.kind}>{flash.text}</Flash>}
      {spec && <ActionForm key={spec.action} tenant={tenant} spec={spec} s={s} onCancel={() => setOpen(undefined)} onResult={(kind, text) => { setFlash({ kind, text }); if (kind === 'ok') { setOpen(undefined); onDone(); } }} />}
    </section>
  );
}

function ActionForm({ tenant, spec, s, onCancel, onResult }: { tenant: string; spec: ActionSpec; s: StatusPage; onCancel: () => void; onResult: (k: 'ok' | 'error', t: string) => void }) {
  const [values, setValues] = useState<Record<string, string | boolean>>({});
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const set = (name: string, v: string | boolean) => setValues({ ...values, [name]: v });
  const missing = spec.fields.filter((f) => f.required && !String(values[f.name] ?? '').trim()).map((f) => f.label);
  const confirmed = !spec.confirm || values.confirm === tenant;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (missing.length) return setProblem(`Required: ${missing.join(', ')}.`);
    if (!confirmed) return setProblem(`Type the tenant's name (${tenant}) to confirm.`);
    setBusy(true);
    setProblem(undefined);
    try {
      const { result } = await act(tenant, spec.action, values);
      onResult('ok', spec.done(result));
    } catch (err) {
      setProblem((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const lastRun = s.log[s.log.length - 1];
  const lastVerification = (s.verifications ?? [])[(s.verifications ?? []).length - 1];
  return (
    <form class="action" aria-label={spec.title} onSubmit={submit}>
      <strong>{spec.title}</strong>
      <span class="muted">{spec.help}</span>
      {spec.action === 'disable' && (
        <ol aria-label="Before disabling">
          <li>Nothing runs: {s.currentRun ? `run #${s.currentRun.run} is still running` : 'yes'}.</li>
          <li>The final run completed: {lastRun ? `run #${lastRun.run} ${lastRun.status}` : 'no run yet'}.</li>
          <li>A verification after it found no difference: {lastVerification ? `verification #${lastVerification.number} after run #${lastVerification.afterRun}: ${lastVerification.status}` : 'none yet (Verify Now)'}.</li>
          <li>The Setup Checklist is done on the cloud side (Show the Setup Checklist below).</li>
        </ol>
      )}
      {spec.fields.map((f) => (
        <label key={f.name}>
          {f.kind === 'checkbox' ? (
            <span><input type="checkbox" aria-label={f.label} checked={values[f.name] === true} onChange={(e) => set(f.name, (e.target as HTMLInputElement).checked)} /> {f.label}</span>
          ) : (
            <>
              {f.label}
              {f.kind === 'textarea' ? (
                <textarea aria-label={f.label} value={String(values[f.name] ?? '')} onInput={(e) => set(f.name, (e.target as HTMLTextAreaElement).value)} />
              ) : f.kind === 'select' ? (
                <select aria-label={f.label} value={String(values[f.name] ?? '')} onChange={(e) => set(f.name, (e.target as HTMLSelectElement).value)}>
                  {f.options!.map((o) => <option key={o} value={o}>{o || '(none)'}</option>)}
                </select>
              ) : (
                <input aria-label={f.label} placeholder={f.placeholder} value={String(values[f.name] ?? '')} onInput={(e) => set(f.name, (e.target as HTMLInputElement).value)} />
              )}
            </>
          )}
        </label>
      ))}
      <label>Reason (kept in the audit trail)<input aria-label="Reason" value={String(values.reason ?? '')} onInput={(e) => set('reason', (e.target as HTMLInputElement).value)} /></label>
      {spec.confirm && (
        <label>Type the tenant's name ({tenant}) to confirm<input aria-label="Confirm tenant name" value={String(values.confirm ?? '')} onInput={(e) => set('confirm', (e.target as HTMLInputElement).value)} /></label>
      )}
      {problem && <Flash kind="error">{problem}</Flash>}
      <div class="actions">
        <button type="submit" class={spec.danger ? 'danger' : 'primary'} disabled={busy || !confirmed}>{busy ? 'Working…' : spec.title}</button>
        <button type="button" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}

// --- the app -------------------------------------------------------------------------------------------

function App() {
  const hash = useHash();
  const m = /^#\/tenant\/(.+)$/.exec(hash);
  const tenant = m ? decodeURIComponent(m[1]) : undefined;
  return (
    <>
      <header class="top"><a href="#/">Cloud Migration Management</a>{tenant && <span>{tenant}</span>}</header>
      {tenant ? <TenantPage key={tenant} tenant={tenant} /> : <TenantList />}
    </>
  );
}

const root = document.getElementById('app')!;
root.textContent = ''; // the "Loading…" shown before the script ran
render(<App />, root);
