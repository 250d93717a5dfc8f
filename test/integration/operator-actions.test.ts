// Operator actions of the management page beyond runs and upgrades: Setup Checklist, Reset Cloud Data,
// the replication schedule, and Disable Cloud Migration (last: it ends the tenant's workflow).
import {
  createTenant, disableCloudMigration, getStatus, resetCloudData, runMigrationNow, setReplicationSchedule, setupChecklist, tenantHandle, verifyNow, waitForRun, waitForVerification,
  waitForStatus,
} from '../../client/operations';
import { scheduleId } from '../../activities/schedule';
import { count, expectSameTable, expectTableRowsMatchPage } from '../helpers';
import { tenantFixture } from '../fixture';

const f = tenantFixture('ops');
// Issue 12: the table rows on the target say what the page says after every step.
afterEach(() => expectTableRowsMatchPage(f.pool, f.client, f.tenant), 120_000);
const { src, tenant, dst } = f;

beforeAll(async () => {
  await f.pool.query(`CREATE SCHEMA ${src}`);
  await f.pool.query(`CREATE TABLE ${src}.item (no VARCHAR(20) PRIMARY KEY, price DECIMAL(10,2) NOT NULL)`);
  await f.pool.query(`CREATE TABLE ${src}.item_log (id INT AUTO_INCREMENT PRIMARY KEY, no VARCHAR(20) NOT NULL)`);
  await f.pool.query(`CREATE TABLE ${src}.permission_set (id INT PRIMARY KEY, name VARCHAR(20))`);
  await f.pool.query(`CREATE TRIGGER ${src}.item_audit AFTER UPDATE ON ${src}.item FOR EACH ROW INSERT INTO ${src}.item_log (no) VALUES (NEW.no)`);
  await f.pool.query(`CREATE VIEW ${src}.expensive_items AS SELECT no FROM ${src}.item WHERE price > 100`);
  await f.pool.query(`INSERT INTO ${src}.item VALUES ?`, [Array.from({ length: 300 }, (_, i) => [`I${i}`, `${i}.50`])]);
  await f.pool.query(`INSERT INTO ${src}.permission_set VALUES (1, 'SUPER')`);
  await createTenant(f.client, f.taskQueue, { tenant, companies: [{ source: src }] });
  await waitForRun(f.client, tenant, await runMigrationNow(f.client, tenant, { requestedBy: 'jest' }));
});

it('the Setup Checklist lists what was not migrated, with its reason, and the secondary objects to recreate', async () => {
  const items = await setupChecklist(f.client, tenant);
  expect(items).toContainEqual({ kind: 'table not migrated', object: `${src}.permission_set`, action: expect.stringMatching(/^by design: permissions and users/) });
  expect(items).toContainEqual({ kind: 'secondary object', object: `${src}.item`, action: 'trigger item_audit is not created on the target: its effects arrive as row changes' });
  expect(items).toContainEqual({ kind: 'secondary object', object: '', action: `view ${src}.expensive_items is not replicated: recreate it on the target after cut-over` });
  expect(items.filter((i) => i.object === `${src}.item` && i.kind !== 'secondary object')).toEqual([]); // migrated fine
});

it('Reset Cloud Data needs confirmation, empties the target, and the next run is a full copy again', async () => {
  await expect(resetCloudData(f.client, tenant, { requestedBy: 'jest' })).rejects.toThrow(
    'reset refused: Reset Cloud Data empties every migrated table of the target: send {"confirm": true} to confirm',
  );
  expect(await count(f.pool, dst, 'item')).toBe(300);

  const out = await resetCloudData(f.client, tenant, { confirm: true, requestedBy: 'jest', reason: 'start over' });
  expect(out).toEqual({ tablesEmptied: 2, rowsDeleted: 300 });
  expect(await count(f.pool, dst, 'item')).toBe(0);
  const status = await getStatus(f.client, tenant);
  expect(status.status).toBe('Ready');
  expect(status.tables.find((t) => t.table === 'item')).toMatchObject({ status: 'Not Started', fullLoadRows: 0, fullLoadDone: false });

  await f.pool.query(`UPDATE ${src}.item SET price = price + 1 WHERE no = 'I1'`); // a change while the target was empty
  const next = await runMigrationNow(f.client, tenant, { requestedBy: 'jest' });
  expect(next.kind).toBe('full');
  expect((await waitForRun(f.client, tenant, next)).status).toBe('Completed');
  await expectSameTable(f.pool, [src, 'item'], [dst, 'item']);
  await expectSameTable(f.pool, [src, 'item_log'], [dst, 'item_log']);
});

it('a replication schedule is a Temporal Schedule that requests runs, with the next run as a tile', async () => {
  await expect(setReplicationSchedule(f.client, tenant, { schedule: { frequency: 'weekly', at: '03:30' } as never })).rejects.toThrow(
    /schedule refused: invalid request: schedule.weekday: a weekly schedule needs a weekday/,
  );
  expect(await setReplicationSchedule(f.client, tenant, { schedule: { frequency: 'daily', at: '02:00' }, requestedBy: 'jest' })).toBe('daily at 02:00 UTC');
  const status = await getStatus(f.client, tenant);
  expect(status.schedule).toBe('daily at 02:00 UTC');
  expect(status.tiles.nextScheduledRun).toMatch(/T02:00:00\.000Z$/);
  const handle = f.client.schedule.getHandle(scheduleId(tenant));
  const described = await handle.describe();
  expect(described.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 2, end: 2, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] });
  expect(new Date(described.info.nextActionTimes[0]).toISOString()).toBe(status.tiles.nextScheduledRun);

  // Firing it now requests a run, recorded as the schedule's.
  const before = status.log.length;
  await handle.trigger();
  const fired = await waitForStatus(f.client, tenant, (s) => s.log.length > before && !!s.log[s.log.length - 1].endedAt);
  expect(fired.log[fired.log.length - 1]).toMatchObject({ trigger: 'signal', requestedBy: 'schedule', reason: 'scheduled replication', status: 'Completed' });

  expect(await setReplicationSchedule(f.client, tenant, { schedule: null, requestedBy: 'jest' })).toBe('off');
  await expect(handle.describe()).rejects.toThrow(/not found/i);
  expect((await getStatus(f.client, tenant)).tiles.nextScheduledRun).toBeNull();
});

it('Disable Cloud Migration works through its checklist, removes change capture and ends the workflow', async () => {
  // Checklist: the final run must be done (or skipped explicitly).
  await f.pool.query(`UPDATE ${src}.item SET price = 0 WHERE no = 'I2'`);
  const run = await runMigrationNow(f.client, tenant, { requestedBy: 'jest' });
  await expect(disableCloudMigration(f.client, tenant, { requestedBy: 'jest' })).rejects.toThrow(/disable refused: checklist: nothing may be running, but run #\d+ is in progress/);
  await waitForRun(f.client, tenant, run);
  const [before] = await f.pool.query('SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME LIKE ?', [src, 'cm\\_capture\\_%']);
  expect((before as unknown[]).length).toBe(6); // item and item_log: insert, update, delete

  // Checklist: a verification with no difference after the final run (or skipped explicitly).
  await expect(disableCloudMigration(f.client, tenant, { requestedBy: 'jest' })).rejects.toThrow(
    new RegExp(`disable refused: checklist: the target has not been verified equal to the source after the final run #${run.run} \\(no verification yet\\)`),
  );
  const verification = await verifyNow(f.client, tenant, { requestedBy: 'jest' });
  expect((await waitForVerification(f.client, tenant, verification)).status).toBe('Equal');
  const out = await disableCloudMigration(f.client, tenant, { requestedBy: 'jest', reason: 'cut-over done' });
  expect(out).toMatchObject({
    requestedBy: 'jest', reason: 'cut-over done', captureRemoved: 2, finalRun: expect.stringMatching(/^run #\d+ Completed$/),
    verification: `verification #${verification.number} after run #${run.run}: Equal`,
  });
  const [after] = await f.pool.query('SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?', [src]);
  expect((after as { TRIGGER_NAME: string }[]).map((t) => t.TRIGGER_NAME)).toEqual(['item_audit']); // the source's own trigger stays
  const [registered] = await f.pool.query('SELECT id FROM cm_capture.capture_table WHERE schema_name = ?', [src]);
  expect(registered).toEqual([]); // the logs and their registry rows are gone too, not only the triggers
  const handle = tenantHandle(f.client, tenant);
  expect(await handle.result()).toEqual(out);
  expect((await getStatus(f.client, tenant))).toMatchObject({ status: 'Cloud Migration Disabled', disabled: out });
  expect(await count(f.pool, dst, 'item')).toBe(300); // the target keeps its data
});
