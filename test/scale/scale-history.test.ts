// Issue 12: a 12,000-table tenant (6 companies of 2,000 tables) through setup, a full copy, a delta
// run, a verification, the status page and its pages, and a continue-as-new, with no payload in any
// of its histories over 512 KiB. Before, the management workflow carried one row per table (about
// 350 bytes each) through every continue-as-new, the run's input and result and setup's assessment
// listed every table, and past about 5,900 tables the tenant's workflow was terminated.
import type { Client } from '@temporalio/client';
import { createMysqlPool } from '../../activities/connections';
import {
  createTenant, getAllTables, getSummary, runMigrationNow, setupChecklist, tenantHandle, verifyNow, waitForRun, waitForVerification,
} from '../../client/operations';
import { TenantIdKey } from '../../lib/constants';
import { tenantFixture } from '../fixture';
import { dropSchemas, expectSameAcross, uniqueName } from '../helpers';

const COMPANIES = 6;
const PER_COMPANY = 2_000;
const TABLES = COMPANIES * PER_COMPANY;
const LIMIT = 512 * 1024;
const f = tenantFixture('scale', { source: 'onprem', cleanup: async (fx) => dropSchemas(fx.source, ...companies.slice(1)).then(() => dropSchemas(fx.pool, ...companies.map((c) => `${fx.tenant}_${c}`))) });
const companies = [f.src, ...Array.from({ length: COMPANIES - 1 }, (_, i) => uniqueName(`scale_c${i + 2}`))];
// Business Central-like names: long, with spaces and dollar signs.
const tableName = (i: number): string => `CRONUS Ltd_$Table ${String(i).padStart(4, '0')}$437dbf0e-84ff-417a-965d`;

/** The largest payload of a history: every Payloads in every event, measured as stored. */
function largestPayload(history: unknown): { bytes: number; where: string } {
  let largest = { bytes: 0, where: '' };
  const walk = (node: unknown, path: string): void => {
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (Array.isArray(o.payloads)) {
      const bytes = (o.payloads as { data?: Uint8Array; metadata?: Record<string, Uint8Array> }[])
        .reduce((n, p) => n + (p.data?.length ?? 0) + Object.values(p.metadata ?? {}).reduce((m, v) => m + (v?.length ?? 0), 0), 0);
      if (bytes > largest.bytes) largest = { bytes, where: path };
      return;
    }
    for (const [k, v] of Object.entries(o)) if (v && typeof v === 'object' && !(v instanceof Uint8Array)) walk(v, `${path}.${k}`);
  };
  walk(history, '');
  return largest;
}

async function histories(client: Client, tenant: string): Promise<{ id: string; events: number; largest: { bytes: number; where: string } }[]> {
  const out = [];
  for await (const wf of client.workflow.list({ query: `${TenantIdKey.name} = '${tenant}'` })) {
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    out.push({ id: `${wf.workflowId}#${wf.runId.slice(0, 8)}`, events: history.events?.length ?? 0, largest: largestPayload(history) });
  }
  return out;
}

beforeAll(async () => {
  // DDL in batches of statements per round trip: 12,000 tables take seconds, not minutes.
  const ddl = createMysqlPool(process.env.CM_TEST_SOURCE_URL!, { connectionLimit: 1, multipleStatements: true });
  try {
    for (const company of companies) {
      await ddl.query(`CREATE SCHEMA \`${company}\``);
      for (let from = 1; from <= PER_COMPANY; from += 200) {
        const statements: string[] = [];
        for (let i = from; i < from + 200 && i <= PER_COMPANY; i++) {
          const t = `\`${company}\`.\`${tableName(i)}\``;
          statements.push(`CREATE TABLE ${t} (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL) ENGINE=InnoDB`, `INSERT INTO ${t} VALUES (1, 'one'), (2, 'two')`);
        }
        await ddl.query(statements.join(';\n'));
      }
    }
  } finally {
    await ddl.end();
  }
}, 600_000);

it(`a tenant of ${TABLES} tables: setup, a full copy, deltas, a verification, its pages and a continue-as-new, no payload over 512 KiB`, async () => {
  const t0 = Date.now();
  const { status } = await createTenant(f.client, f.taskQueue, {
    tenant: f.tenant, sourceConnection: 'onprem', companies: companies.map((source) => ({ source })), continueAsNewAfterEvents: 100,
  });
  expect(status.setupError).toBeUndefined();
  expect(status.status).toBe('Ready');
  expect(status.tableCounts.total).toBe(TABLES);
  expect(status.tableCounts.companies.map((c) => c.total)).toEqual(companies.map(() => PER_COMPANY));
  const t1 = Date.now();

  const full = await waitForRun(f.client, f.tenant, await runMigrationNow(f.client, f.tenant, { requestedBy: 'jest', reason: 'scale: full copy' }));
  expect(full).toMatchObject({ status: 'Completed', kind: 'full', tablesDone: TABLES, rows: 2 * TABLES });
  const t2 = Date.now();

  await f.source.query(`INSERT INTO \`${companies[3]}\`.\`${tableName(1234)}\` VALUES (3, 'three')`);
  await f.source.query(`UPDATE \`${companies[5]}\`.\`${tableName(2000)}\` SET v = 'changed' WHERE id = 2`);
  const delta = await waitForRun(f.client, f.tenant, await runMigrationNow(f.client, f.tenant, { requestedBy: 'jest', reason: 'scale: delta' }));
  expect(delta).toMatchObject({ status: 'Completed', kind: 'delta', tablesDone: TABLES, rows: 2 });
  await expectSameAcross(f.source, [companies[3], tableName(1234)], f.pool, [`${f.tenant}_${companies[3]}`, tableName(1234)]);
  await expectSameAcross(f.source, [companies[5], tableName(2000)], f.pool, [`${f.tenant}_${companies[5]}`, tableName(2000)]);
  const t3 = Date.now();

  const verified = await waitForVerification(f.client, f.tenant, await verifyNow(f.client, f.tenant, { requestedBy: 'jest' }));
  expect(verified.status).toBe('Equal');
  expect(verified.counts).toEqual({ tables: TABLES, verified: TABLES, differing: 0, repaired: 0 });
  const t4 = Date.now();

  // The page, its tables a page at a time, one company's, and the checklist.
  const summary = await getSummary(f.client, f.tenant);
  expect(summary.tiles).toMatchObject({ successful: TABLES, failed: 0, verified: TABLES });
  expect(await getAllTables(f.client, f.tenant, { company: companies[2], table: '*Table 00??$*' })).toHaveLength(99);
  expect(await setupChecklist(f.client, f.tenant)).toEqual([]);

  // A history grown long (verifications of one table add to it): it continues as new, and the page is the same after it.
  const handle = tenantHandle(f.client, f.tenant);
  const first = (await handle.describe()).runId;
  for (let i = 0; i < 20 && (await handle.describe()).runId === first; i++) {
    await waitForVerification(f.client, f.tenant, await verifyNow(f.client, f.tenant, { requestedBy: 'jest', company: companies[0], table: tableName(1) }));
    for (let k = 0; k < 50 && (await handle.describe()).runId === first; k++) await new Promise((r) => setTimeout(r, 100));
  }
  expect((await handle.describe()).runId).not.toBe(first);
  const after = await getSummary(f.client, f.tenant);
  expect(after.tableCounts).toEqual(summary.tableCounts);
  expect(after.tiles).toMatchObject({ successful: TABLES, failed: 0, verified: TABLES });
  expect(after.log.map((e) => e.run)).toEqual([1, 2]);

  const all = await histories(f.client, f.tenant);
  console.log(`${TABLES} tables: setup ${t1 - t0} ms, full copy ${t2 - t1} ms, delta ${t3 - t2} ms, verification ${t4 - t3} ms\n${all.map((h) => `${h.id}: ${h.events} events, largest payload ${h.largest.bytes} B at ${h.largest.where}`).join('\n')}`);
  expect(all.length).toBeGreaterThanOrEqual(6); // two management executions, setup, two runs, a verification
  for (const h of all) expect({ id: h.id, bytes: h.largest.bytes }).toEqual({ id: h.id, bytes: expect.any(Number) });
  expect(all.filter((h) => h.largest.bytes > LIMIT).map((h) => `${h.id}: ${h.largest.bytes} B at ${h.largest.where}`)).toEqual([]);
}, 1_800_000);
