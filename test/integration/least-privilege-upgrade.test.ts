// Least privilege for the data upgrade (issue 11): the worker's target account holds exactly the
// grants README "Grants" lists for replication and upgrades, never root. A failing upgrade (restored)
// and a successful one both run under them, with an application account, a second writing account
// and an event defined by the application account; and a grant the fence needs, taken away, refuses
// the upgrade before anything changes, naming the grant.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { createTenant, getStatus, runDataUpgradeNow, runMigrationNow, waitForRun, waitForUpgrade } from '../../client/operations';
import { tableDigest } from '../../activities/verify';
import type { WorkerHandle } from '../../worker/main';
import { MYSQL_URL, testWorker, uniqueName } from '../helpers';
import { tenantFixture } from '../fixture';

/** README "Grants": the target account of a worker that replicates (binlog mode) and upgrades. */
export function upgradeTargetGrants(target: string): string[] {
  return [
    `GRANT ALL PRIVILEGES ON \`${target}\`.* TO %U WITH GRANT OPTION`,
    'GRANT ALL PRIVILEGES ON `cm_control`.* TO %U',
    'GRANT ALL PRIVILEGES ON `cm_capture`.* TO %U',
    'GRANT ALL PRIVILEGES ON `cm\\_rp\\_%`.* TO %U',
    'GRANT ALL PRIVILEGES ON `cm\\_rpc\\_%`.* TO %U',
    'GRANT ALL PRIVILEGES ON `cm\\_trash\\_%`.* TO %U',
    'GRANT ALL PRIVILEGES ON `cm\\_kept\\_%`.* TO %U',
    'GRANT SELECT ON `mysql`.* TO %U',
    'GRANT PROCESS, CONNECTION ADMIN, CREATE USER, SET USER ON *.* TO %U',
  ];
}

const workerUser = uniqueName('lpu_tgt');
const appUser = uniqueName('lpu_app');
const otherWriter = uniqueName('lpu_wr');
const password = `pw-${uniqueName('lpu')}`;
const conn = 'lpu_tgt';
const root = mkdtempSync(join(tmpdir(), 'cm-lpu-'));
let worker: WorkerHandle | undefined;
const f = tenantFixture('lpu', {
  source: 'onprem',
  worker: false,
  cleanup: async (fx) => {
    await worker?.stop();
    for (const u of [workerUser, appUser, otherWriter]) await fx.pool.query('DROP USER IF EXISTS ?@?', [u, '%']);
    rmSync(root, { recursive: true, force: true });
  },
});

function steps(files: Record<string, string>): void {
  const dir = join(root, '1.0-2.0');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
}

const login = (user: string) => createConnection({ uri: MYSQL_URL.replace(/\/\/[^@/]*@/, `//${user}:${password}@`), database: f.dst });

async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of ['item', 'orders']) out[t] = await tableDigest(f.pool, f.dst, t);
  const [events] = await f.pool.query<RowDataPacket[]>('SELECT EVENT_NAME AS n, STATUS AS s, DEFINER AS d FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?', [f.dst]);
  out['(events)'] = JSON.stringify(events);
  return out;
}

async function fenceDown(): Promise<void> {
  expect((await getStatus(f.client, f.tenant)).environmentState).toBe('Active');
  for (const u of [appUser, otherWriter]) await (await login(u)).end();
}

beforeAll(async () => {
  await f.source.query(`CREATE SCHEMA ${f.src}`);
  await f.source.query(`CREATE TABLE ${f.src}.item (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)`);
  await f.source.query(`INSERT INTO ${f.src}.item VALUES ?`, [Array.from({ length: 200 }, (_, i) => [i + 1, `item ${i + 1}`])]);
  await f.source.query(`CREATE TABLE ${f.src}.orders (id INT PRIMARY KEY, item_id INT NOT NULL, qty INT NOT NULL, CONSTRAINT fk_item FOREIGN KEY (item_id) REFERENCES item (id))`);
  await f.source.query(`INSERT INTO ${f.src}.orders VALUES ?`, [Array.from({ length: 300 }, (_, i) => [i + 1, 1 + (i % 200), i])]);
  await f.pool.query('CREATE USER ?@? IDENTIFIED BY ?', [workerUser, '%', password]);
  for (const g of upgradeTargetGrants(f.dst)) await f.pool.query(g.replace('%U', `'${workerUser}'@'%'`));
  process.env[`CM_CONN_${conn.toUpperCase()}_URL`] = `mysql://${workerUser}:${password}@127.0.0.1:3306`;
  worker = await testWorker(f.taskQueue, { upgradesRoot: root });
});

it('a failing and a successful upgrade run under exactly the listed grants; without PROCESS the upgrade is refused first', async () => {
  const { status } = await createTenant(f.client, f.taskQueue, {
    tenant: f.tenant, sourceConnection: 'onprem', targetConnection: conn, companies: [{ source: f.src }], appUsers: [appUser],
  });
  expect(status.setupError).toBeUndefined();
  expect((await waitForRun(f.client, f.tenant, await runMigrationNow(f.client, f.tenant, { requestedBy: 'jest' }))).status).toBe('Completed');

  // The tenant's applications: a listed account, one that is not listed, and an event of the first.
  for (const u of [appUser, otherWriter]) await f.pool.query('CREATE USER ?@? IDENTIFIED BY ?', [u, '%', password]);
  await f.pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE, EVENT ON \`${f.dst}\`.* TO ?@?`, [appUser, '%']);
  await f.pool.query(`GRANT SELECT, UPDATE ON \`${f.dst}\`.item TO ?@?`, [otherWriter, '%']);
  await f.pool.query(`CREATE DEFINER = ?@? EVENT \`${f.dst}\`.nightly ON SCHEDULE EVERY 1 DAY STARTS NOW() + INTERVAL 1 DAY DO UPDATE \`${f.dst}\`.item SET name = name`, [appUser, '%']);
  const before = await snapshot();

  // Without PROCESS the fence could not see other sessions: refused, nothing changed.
  await f.pool.query('REVOKE PROCESS ON *.* FROM ?@?', [workerUser, '%']);
  steps({ '001_touch.sql': "UPDATE item SET name = 'touched';" });
  const session = await login(appUser); // an application session open before: it must survive
  const refused = await waitForUpgrade(f.client, f.tenant, await runDataUpgradeNow(f.client, f.tenant, { requestedBy: 'jest' }));
  expect(refused).toMatchObject({ status: 'Failed', refused: true });
  expect(refused.restored).toBeUndefined();
  expect(refused.error).toMatch(/upgrade refused before the fence was raised, nothing changed: .*PROCESS ON \*\.\*/);
  await session.query('SELECT 1');
  await session.end();
  await fenceDown();
  expect(await snapshot()).toEqual(before);
  await f.pool.query('GRANT PROCESS ON *.* TO ?@?', [workerUser, '%']);

  // A failing upgrade: everything put back, the event with its definer.
  steps({ '001_touch.sql': "UPDATE item SET name = 'touched'; INSERT INTO orders VALUES (9999, 1, 1);", '002_broken.sql': 'UPDATE no_such_table SET x = 1;' });
  const failed = await waitForUpgrade(f.client, f.tenant, await runDataUpgradeNow(f.client, f.tenant, { requestedBy: 'jest' }));
  expect(failed).toMatchObject({ status: 'Failed', restored: true, failedStep: '002_broken' });
  await fenceDown();
  expect(await snapshot()).toEqual(before);

  // A successful one.
  steps({ '001_note.sql': 'ALTER TABLE item ADD COLUMN note VARCHAR(20) NULL;', '002_fill.sql': "UPDATE item SET note = 'v2';" });
  const done = await waitForUpgrade(f.client, f.tenant, await runDataUpgradeNow(f.client, f.tenant, { requestedBy: 'jest' }));
  expect(done).toMatchObject({ status: 'Complete', to: '2.0' });
  await fenceDown();
  const [notes] = await f.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${f.dst}\`.item WHERE note = 'v2'`);
  expect(Number(notes[0].n)).toBe(200);
  const [events] = await f.pool.query<RowDataPacket[]>('SELECT STATUS AS s, DEFINER AS d FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?', [f.dst]);
  expect(events.map((e) => `${e.s} ${e.d}`)).toEqual([`ENABLED ${appUser}@%`]);
});
