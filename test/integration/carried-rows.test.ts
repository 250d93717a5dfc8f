// Issue 12: a tenant from before 1.6.0 carries its tables' rows in its continue-as-new input. The
// next execution takes them over into cm_control.table_state (a part at a time) and from then on
// keeps only their summary; nothing is lost, and the next run goes on from where the rows say.
import { createTenant, getAllTables, getSummary, runMigrationNow, tenantHandle, waitForRun } from '../../client/operations';
import { readTableStates } from '../../activities/table-store';
import { CONTROL_SCHEMA, managementWorkflowId, SERVICE_VERSION, TenantIdKey } from '../../lib/constants';
import { parseTenantInput } from '../../lib/schemas';
import type { TableState } from '../../lib/types';
import { initialState } from '../../workflows/tenant-state';
import { tenantFixture } from '../fixture';
import { expectSameTable } from '../helpers';

const f = tenantFixture('carried');
const { src, tenant, dst } = f;
const byKey = (a: TableState, b: TableState): number => (a.key < b.key ? -1 : 1);

beforeAll(async () => {
  await f.pool.query(`CREATE SCHEMA ${src}`);
  for (const t of ['item', 'entry']) {
    await f.pool.query(`CREATE TABLE ${src}.${t} (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)`);
    await f.pool.query(`INSERT INTO ${src}.${t} VALUES (1, 'one'), (2, 'two')`);
  }
});

it('an execution carrying its rows in the page hands them to the target, and runs on from them', async () => {
  await createTenant(f.client, f.taskQueue, { tenant, companies: [{ source: src }] });
  const first = await waitForRun(f.client, tenant, await runMigrationNow(f.client, tenant, { requestedBy: 'jest' }));
  expect(first.status).toBe('Completed');
  const rows = (await getAllTables(f.client, tenant)).sort(byKey);
  expect(rows.map((t) => [t.table, t.status, t.fullLoadRows])).toEqual([['entry', 'Successful', 2], ['item', 'Successful', 2]]);
  const summary = await getSummary(f.client, tenant);

  // As a 1.5 execution would hand on: the rows in the page, none on the target.
  await tenantHandle(f.client, tenant).terminate('replaced by a carried execution');
  await f.pool.query(`DELETE FROM ${CONTROL_SCHEMA}.table_state WHERE tenant = ?`, [tenant]);
  const config = parseTenantInput({ tenant, companies: [{ source: src }] });
  const state = {
    ...initialState(), status: 'Upgrade Pending' as const, setupDone: true, setupPending: false, sourceSchemas: [src],
    tables: Object.fromEntries(rows.map((t) => [t.key, t])), log: summary.log, nextRun: 2, capture: summary.capture,
    findings: [{ severity: 'warning' as const, table: `${src}.item`, message: `trigger t_item on ${src}.item is not replicated: recreate it online` }],
  };
  await f.client.workflow.start('cloudMigration', {
    workflowId: managementWorkflowId(tenant), taskQueue: f.taskQueue, args: [{ tenant, companies: [{ source: src }], carried: { config, state, serviceVersion: SERVICE_VERSION } }],
    typedSearchAttributes: [{ key: TenantIdKey, value: tenant }],
  });

  // Taken over: the rows on the target are the carried ones, the page keeps their summary.
  for (let i = 0; i < 100 && (await readTableStates(f.pool, tenant)).size < 2; i++) await new Promise((r) => setTimeout(r, 100));
  const after = await getSummary(f.client, tenant);
  expect(after.tableRows).toBeDefined();
  expect(after.tableCounts).toEqual(summary.tableCounts);
  expect(after.log.map((e) => e.run)).toEqual([1]);
  expect((await getAllTables(f.client, tenant)).sort(byKey)).toEqual(rows);
  expect(after.findings).toEqual(state.findings);

  // And the next run goes on from them: a delta, numbered 2.
  await f.pool.query(`UPDATE ${src}.item SET v = 'changed' WHERE id = 2`);
  const next = await waitForRun(f.client, tenant, await runMigrationNow(f.client, tenant, { requestedBy: 'jest' }));
  expect(next).toMatchObject({ run: 2, kind: 'delta', status: 'Completed', rows: 1 });
  await expectSameTable(f.pool, [src, 'item'], [dst, 'item']);
  expect((await getAllTables(f.client, tenant)).find((t) => t.table === 'item')).toMatchObject({ updates: 1, lastRun: 2, status: 'Successful' });
});
