// Scenario `scale` (issue 12): a Business Central tenant, 20 companies × 2,000 small tables, end to end:
// setup, the first run, a delta run, a verification, the status page and a page of its tables, a data
// upgrade whose step fails (its restore point taken and restored over every schema), and a
// continue-as-new, each phase timed, beside mysqldump | mysql of the same schemas. Also the largest
// payload and the history events of every workflow of the tenant. The source is a server of its own
// with the binary log on, and the tenant in binlog mode (what `auto` chooses there): nothing is
// installed on the source, as for test:scale's 12,000 tables.
import type { Client } from '@temporalio/client';
import { createMysqlPool } from '../activities/connections';
import { id } from '../activities/sql';
import {
  createTenant, getSummary, getTablePage, runDataUpgradeNow, runMigrationNow, tenantHandle, verifyNow, waitForRun, waitForUpgrade, waitForVerification,
} from '../client/operations';
import { TenantIdKey } from '../lib/constants';
import { type BenchContext } from './context';
import { dropTenant, dumpAndLoadEach, largestPayload, settle, timed } from './harness';
import { ms, n, times, verdict, type Section } from './report';
import { settleSource, withSourceServer } from './source';

const SCALE = { source: 'bench_src_scale', target: 'bench_dst_scale', anchor: 'bench_anchor_scale', tenant: 'bench_scale', taskQueue: 'bench-scale', connection: 'bench_scale_src' };
/** Business Central-like names: long, with spaces and dollar signs. */
const scaleTable = (i: number): string => `CRONUS Ltd_$Table ${String(i).padStart(4, '0')}$437dbf0e-84ff-417a`;

export interface ScaleFigures {
  companies: number;
  perCompany: number;
  tables: number;
  dumpMs: number;
  phases: { phase: string; ms: number; detail: string }[];
  continuedAsNew: boolean;
  largestPayloadBytes: number;
  largestPayloadWhere: string;
  events: { workflow: string; events: number; bytes: number }[];
}

/** Every workflow of the tenant (visibility by its TenantId), with its history length. */
async function tenantWorkflows(client: Client, tenant: string): Promise<{ workflow: string; runId: string; events: number; bytes: number }[]> {
  const out = [];
  for await (const wf of client.workflow.list({ query: `${TenantIdKey.name} = '${tenant}'` })) {
    // Visibility's count can lag for a closed execution: the server's own description has it.
    const d = await client.workflow.getHandle(wf.workflowId, wf.runId).describe();
    out.push({ workflow: wf.workflowId, runId: wf.runId, events: d.historyLength, bytes: d.historySize ?? 0 });
  }
  return out;
}

export async function benchScale(ctx: BenchContext, perCompany = 2000, companies = 20): Promise<ScaleFigures> {
  const h = await ctx.harness();
  ctx.log(`scale: a source server of its own, ${companies} × ${n(perCompany)} tables of 2 rows…`);
  return withSourceServer(SCALE.connection, ctx.log, async (src) => scaleOn(ctx, h, src, perCompany, companies));
}

async function scaleOn(
  ctx: BenchContext, h: Awaited<ReturnType<BenchContext['harness']>>, src: Parameters<Parameters<typeof withSourceServer>[2]>[0], perCompany: number, companies: number,
): Promise<ScaleFigures> {
  const names = Array.from({ length: companies }, (_, i) => ({ source: `${SCALE.source}_${i}`, target: `${SCALE.target}_${i}` }));
  const tables = perCompany * companies;
  const drop = async () => {
    for (const c of names) await dropTenant(h.client, ctx.pool, SCALE.tenant, c.source, [c.target, `${c.target}__cm_rp`, SCALE.anchor]);
  };
  await drop();
  try {
    // Many statements a round trip: 40,000 tables take a minute or two, not ten.
    const ddl = createMysqlPool(src.server.url, { connectionLimit: 1, multipleStatements: true });
    try {
      for (const c of names) {
        await ddl.query(`CREATE SCHEMA ${id(c.source)}`);
        for (let from = 1; from <= perCompany; from += 200) {
          const statements: string[] = [];
          for (let i = from; i < from + 200 && i <= perCompany; i++) {
            const t = `${id(c.source)}.${id(scaleTable(i))}`;
            statements.push(`CREATE TABLE ${t} (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL) ENGINE=InnoDB`, `INSERT INTO ${t} VALUES (1, 'one'), (2, 'two')`);
          }
          await ddl.query(statements.join(';\n'));
        }
      }
    } finally {
      await ddl.end();
    }
    ctx.log('  anchor: mysqldump (source server) | mysql (target server) of the schemas…');
    await settleSource(src, ctx.log);
    await settle(ctx.pool, ctx.log);
    const dumpMs = await dumpAndLoadEach(ctx.pool, ctx.url, names.map((c) => c.source), SCALE.anchor, src.server.url);
    ctx.log(`    ${ms(dumpMs)}; the tenant, phase by phase…`);

    await h.worker(SCALE.taskQueue); // after withSourceServer set the connection's variable: the worker inherits it
    await settleSource(src, ctx.log);
    await settle(ctx.pool, ctx.log);
    const phases: ScaleFigures['phases'] = [];
    const phase = async <T>(name: string, fn: () => Promise<T>, detail: (v: T) => string): Promise<T> => {
      const { ms: took, value } = await timed(fn);
      phases.push({ phase: name, ms: took, detail: detail(value) });
      ctx.log(`    ${name}: ${ms(took)} (${detail(value)})`);
      return value;
    };
    const created = await phase('setup (assessment, target tables, change capture: binlog position, a change log per table on the target)', () => createTenant(h.client, SCALE.taskQueue, {
      tenant: SCALE.tenant, companies: names, sourceConnection: SCALE.connection, captureMode: 'binlog', requestedBy: 'bench', continueAsNewAfterEvents: 200,
    }), (c) => `${c.status.status}, ${n(c.status.tableCounts.total)} tables`);
    if (created.status.status !== 'Ready') throw new Error(`bench tenant setup ended ${created.status.status}: ${created.status.setupError ?? ''}`);
    const run = async (reason: string) => {
      const entry = await waitForRun(h.client, SCALE.tenant, await runMigrationNow(h.client, SCALE.tenant, { requestedBy: 'bench', reason }));
      if (entry.status !== 'Completed') throw new Error(`run #${entry.run} ended ${entry.status}: ${entry.failure ?? ''}`);
      return entry;
    };
    await phase('first run (full copy)', () => run('scale: full copy'), (e) => `${n(e.tablesDone)} tables, ${n(e.rows)} rows`);
    const changed = names.slice(0, 10);
    for (const c of changed) await src.pool.query(`UPDATE ${id(c.source)}.${id(scaleTable(7))} SET v = 'changed' WHERE id = 2`);
    await phase(`delta run (${changed.length} rows changed)`, () => run('scale: delta'), (e) => `${e.kind}, ${n(e.tablesDone)} tables, ${n(e.rows)} rows`);
    await phase('verification of every table', async () => waitForVerification(h.client, SCALE.tenant, await verifyNow(h.client, SCALE.tenant, { requestedBy: 'bench' })),
      (v) => `${v.status}, ${n(v.counts?.verified ?? 0)} of ${n(v.counts?.tables ?? 0)} verified`);
    await phase('cm status (the summary query)', () => getSummary(h.client, SCALE.tenant), (s) => `${n(s.tiles.successful)} successful, ${n(s.tiles.verified)} verified`);
    await phase('a page of one company\'s tables (read from the rows)', () => getTablePage(h.client, SCALE.tenant, { company: names[companies - 1].source, page: Math.min(3, Math.ceil(perCompany / 100)) }),
      (p) => `page ${p.page} of ${p.pages}, ${p.tables.length} rows`);
    // The sample's upgrade steps do not fit these schemas: its first step fails, and the restore point
    // taken over every table of every schema is restored.
    await phase('data upgrade: fence, restore point, failed step, restore', async () =>
      waitForUpgrade(h.client, SCALE.tenant, await runDataUpgradeNow(h.client, SCALE.tenant, { requestedBy: 'bench', reason: 'scale: restore point' })),
    (u) => `${u.status}${u.restored ? ', restored' : ''}${u.failedStep ? ` at ${u.failedStep}` : ''}`);

    // Continue-as-new: past 200 events the idle tenant starts a new execution, its page intact.
    const handle = tenantHandle(h.client, SCALE.tenant);
    const before = await getSummary(h.client, SCALE.tenant);
    const first = (await handle.describe()).runId;
    for (let i = 0; i < 20 && (await handle.describe()).runId === first; i++) {
      await waitForVerification(h.client, SCALE.tenant, await verifyNow(h.client, SCALE.tenant, { requestedBy: 'bench', company: names[0].source, table: scaleTable(1) }));
      await new Promise((r) => setTimeout(r, 2000));
    }
    const after = await getSummary(h.client, SCALE.tenant);
    const continuedAsNew = (await handle.describe()).runId !== first && after.tableCounts.total === before.tableCounts.total && after.log.length === before.log.length;

    const workflows = await tenantWorkflows(h.client, SCALE.tenant);
    const largest = { bytes: 0, where: 'none' };
    for (const w of workflows) {
      const l = await largestPayload(h.client, [w.workflow], w.runId);
      if (l.bytes > largest.bytes) Object.assign(largest, l);
    }
    return {
      companies, perCompany, tables, dumpMs, phases, continuedAsNew, largestPayloadBytes: largest.bytes, largestPayloadWhere: largest.where,
      events: workflows.map((w) => ({ workflow: w.workflow.replace(`cloud-migration/${SCALE.tenant}`, 'tenant'), events: w.events, bytes: w.bytes })),
    };
  } finally {
    await drop();
  }
}

export const SCALE_HEADING = 'A Business Central tenant';

export function scaleSection(f: ScaleFigures): Section {
  const endToEnd = f.phases.slice(0, 2).reduce((s, p) => s + p.ms, 0);
  const ratio = endToEnd / f.dumpMs;
  const maxEvents = Math.max(...f.events.map((e) => e.events));
  // The page-read workflows are many and tiny: the table lists the workflows that carry the tenant's work.
  const shown = f.events.filter((e) => !e.workflow.includes('/read/')).sort((a, b) => b.bytes - a.bytes);
  const biggest = shown[0] ?? f.events[0];
  return {
    heading: `${SCALE_HEADING}: ${f.companies} companies × ${n(f.perCompany)} tables (${n(f.tables)}), binlog mode`,
    rows: [
      `| setup and the first run (client-side times) | ${ms(endToEnd)} | mysqldump \\| mysql of the schemas ${ms(f.dumpMs)}: ${times(ratio)} | | |`,
      ...f.phases.map((p) => `| ${p.phase} | ${ms(p.ms)} | ${p.detail.replace(/\|/g, '\\|')} | | |`),
      `| continue-as-new, the page intact | ${f.continuedAsNew ? 'yes' : 'no'} | the same table counts and log after it | yes | ${verdict(f.continuedAsNew)} |`,
      `| largest payload in any of the tenant's histories | ${n(Math.round(f.largestPayloadBytes / 1024))} KiB | ${f.largestPayloadWhere.replace(/\|/g, '\\|')}; Temporal's limit 2 MiB | ≤ 512 KiB | ${verdict(f.largestPayloadBytes <= 512 * 1024)} |`,
      `| longest history (events) | ${n(maxEvents)} | ${shown.map((e) => `${e.workflow} ${n(e.events)}`).join(', ').replace(/\|/g, '\\|')} | ≤ 51,200 | ${verdict(maxEvents <= 51_200)} |`,
      `| largest history (bytes) | ${n(Math.round((biggest?.bytes ?? 0) / 2 ** 20 * 10) / 10)} MiB | ${biggest?.workflow ?? 'none'}; Temporal warns from 10 MiB and ends a workflow at 50 MiB | ≤ 50 MiB | ${verdict((biggest?.bytes ?? 0) <= 50 * 2 ** 20)} |`,
    ],
    notes: [
      'Every table\'s row lives on the target (cm_control.table_state): the management workflow keeps a summary, a run and a verification read their tables 500 at a time and answer counts, ' +
        'so no payload grows with the number of tables. A run\'s own history still does (its activities list their batch of tables): about 0.75 KB a table.',
    ],
  };
}
