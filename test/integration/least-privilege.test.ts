// Least privilege (issue 10): the worker runs as accounts holding exactly the grants the README lists
// for each capture mode, never root, on the source (a server of its own, binary log on) and on the
// target. Setup, a full copy, changes (a TRUNCATE, a column added, a new table) and a verification
// all work under them; and the grants are really the floor: without the replication privilege the
// binary log is not chosen, and the reason names the missing grant.
import type { RowDataPacket } from 'mysql2/promise';
import { createTenant, runMigrationNow, verifyNow, waitForRun, waitForVerification } from '../../client/operations';
import type { CaptureModeSetting } from '../../lib/types';
import { expectSameAcross, uniqueName } from '../helpers';
import { tenantFixture } from '../fixture';

/** The grants of README "Grants", for one company schema and its target schema. */
function sourceGrants(mode: 'binlog' | 'triggers', schema: string): string[] {
  return mode === 'binlog'
    ? [`GRANT SELECT ON \`${schema}\`.* TO %U`, 'GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO %U']
    : [`GRANT SELECT, TRIGGER ON \`${schema}\`.* TO %U`, 'GRANT ALL PRIVILEGES ON `cm_capture`.* TO %U', 'GRANT PROCESS ON *.* TO %U'];
}
function targetGrants(mode: 'binlog' | 'triggers', schema: string): string[] {
  return [
    `GRANT ALL PRIVILEGES ON \`${schema}\`.* TO %U`, 'GRANT ALL PRIVILEGES ON `cm_control`.* TO %U',
    ...(mode === 'binlog' ? ['GRANT ALL PRIVILEGES ON `cm_capture`.* TO %U'] : []),
  ];
}

describe.each(['binlog', 'triggers'] as const)('least privilege in %s mode', (mode: 'binlog' | 'triggers') => {
  const suffix = mode.slice(0, 3);
  const sourceUser = uniqueName(`lp_src_${suffix}`);
  const targetUser = uniqueName(`lp_tgt_${suffix}`);
  const password = `pw-${uniqueName('lp')}`;
  const conn = { source: `lpsrc_${suffix}`, target: `lptgt_${suffix}` };
  const f = tenantFixture(`lp_${suffix}`, {
    source: 'onprem',
    cleanup: async (fx) => {
      await fx.source.query('DROP USER IF EXISTS ?@?', [sourceUser, '%']);
      await fx.pool.query('DROP USER IF EXISTS ?@?', [targetUser, '%']);
    },
  });
  const user = (name: string) => `'${name}'@'%'`;

  beforeAll(async () => {
    await f.source.query(`CREATE SCHEMA ${f.src}`);
    await f.source.query(`CREATE TABLE ${f.src}.item (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, price DECIMAL(12,4) NOT NULL)`);
    await f.source.query(`INSERT INTO ${f.src}.item VALUES ?`, [Array.from({ length: 300 }, (_, i) => [i + 1, `item ${i + 1}`, (i * 1.0625).toFixed(4)])]);
    await f.source.query(`CREATE TABLE ${f.src}.wipe (id INT PRIMARY KEY, v VARCHAR(10) NOT NULL)`);
    await f.source.query(`INSERT INTO ${f.src}.wipe VALUES (1, 'a'), (2, 'b')`);
    await f.source.query('CREATE USER ?@? IDENTIFIED BY ?', [sourceUser, '%', password]);
    for (const g of sourceGrants(mode, f.src)) await f.source.query(g.replace('%U', user(sourceUser)));
    // Triggers on a server that writes a binary log: the DBA allows them for accounts without SUPER.
    if (mode === 'triggers') await f.source.query('SET GLOBAL log_bin_trust_function_creators = 1');
    await f.pool.query('CREATE USER ?@? IDENTIFIED BY ?', [targetUser, '%', password]);
    for (const g of targetGrants(mode, f.dst)) await f.pool.query(g.replace('%U', user(targetUser)));
    const sourceUrl = new URL(process.env.CM_TEST_SOURCE_URL!);
    Object.assign(sourceUrl, { username: sourceUser, password });
    process.env[`CM_CONN_${conn.source.toUpperCase()}_URL`] = sourceUrl.toString();
    process.env[`CM_CONN_${conn.target.toUpperCase()}_URL`] = `mysql://${targetUser}:${password}@127.0.0.1:3306`;
  });

  it('sets up, copies, follows changes and verifies equal under exactly the listed grants', async () => {
    const { status } = await createTenant(f.client, f.taskQueue, {
      tenant: f.tenant, sourceConnection: conn.source, targetConnection: conn.target, companies: [{ source: f.src }],
    });
    expect(status.setupError).toBeUndefined();
    expect(status.status).toBe('Ready');
    // auto: the binary log when the account may read it, else triggers (and the reason names the grant).
    expect(status.capture).toMatchObject({ mode, reason: mode === 'triggers' ? expect.stringMatching(/REPLICATION SLAVE/) : expect.any(String) });
    const run = async () => waitForRun(f.client, f.tenant, await runMigrationNow(f.client, f.tenant, { requestedBy: 'jest' }));
    expect((await run()).status).toBe('Completed');

    await f.source.query(`UPDATE ${f.src}.item SET price = price * 2 WHERE id % 5 = 0`);
    await f.source.query(`DELETE FROM ${f.src}.item WHERE id % 17 = 0`);
    await f.source.query(`TRUNCATE TABLE ${f.src}.wipe`);
    await f.source.query(`INSERT INTO ${f.src}.wipe VALUES (7, 'after')`);
    await f.source.query(`ALTER TABLE ${f.src}.item ADD COLUMN qty INT NOT NULL DEFAULT 3`);
    await f.source.query(`CREATE TABLE ${f.src}.fresh (id INT PRIMARY KEY, v VARCHAR(10))`);
    await f.source.query(`INSERT INTO ${f.src}.fresh VALUES (1, 'new')`);
    const second = await run();
    if (second.status !== 'Completed') console.error(second);
    expect(second.status).toBe('Completed');
    for (const t of ['item', 'wipe', 'fresh']) await expectSameAcross(f.source, [f.src, t], f.pool, [f.dst, t]);
    const verified = await waitForVerification(f.client, f.tenant, await verifyNow(f.client, f.tenant, { requestedBy: 'jest' }));
    expect(verified.status).toBe('Equal');

    // Nothing of cm's on the source in binlog mode: no trigger, no schema written by this account.
    const [triggers] = await f.source.query<RowDataPacket[]>('SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?', [f.src]);
    expect(triggers.length).toBe(mode === 'binlog' ? 0 : 9);
  });
});
