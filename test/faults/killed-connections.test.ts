// Every MySQL connection of the worker killed mid-copy (and once more mid-delta): the worker logs in
// as a MySQL account of its own, on the source server and on the target server, so `KILL CONNECTION`
// can take every session of that account (in binlog mode also the binary log reader's) and none of
// this test's (root). The worker process lives on; its activities fail, are retried and resume. The
// run completes and the target equals the source. In both capture modes, with the source on the
// on-premises source server (binary log on) and the target on the machine server.
import type { Client } from '@temporalio/client';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { createTenant, getStatus, runMigrationNow, waitForRun } from '../../client/operations';
import {
  count, ensureBuilt, MYSQL_URL, sourcePool, testClient, testPool, uniqueName, type WorkerProcess,
} from '../helpers';
import {
  cleanUpTenant,
  activityAttempts, announceSeed, CAPTURE_MODES, createSource, expectFenceDown, expectSameAcrossServers, FAULT_COPY, faultSeed, isRunning, logPool,
  pendingLog, seededRng, sleep, sourceUrl, Workers,
} from './harness';

const BIG_ROWS = 40_000;
const seed = faultSeed();

describe.each(CAPTURE_MODES)('killed connections in %s mode', (mode) => {
  // Triggers mode keeps the stream it had before binlog mode came (a seed replays the same kill points).
  const rng = seededRng(seed, mode === 'triggers' ? 'killed-connections' : `killed-connections/${mode}`);
  const src = uniqueName(`fc${mode.slice(0, 1)}_src`);
  const tenant = uniqueName(`fc${mode.slice(0, 1)}`);
  const dst = `${tenant}_${src}`;
  const taskQueue = uniqueName('tq_fc');
  const dbUser = uniqueName('cm_fault_w');
  const dbPassword = `pw-${uniqueName('x')}`;
  const workers = new Workers({ taskQueue });
  /** The target server. */
  let pool: Pool;
  /** The source server. */
  let source: Pool;
  let client: Client;
  let worker: WorkerProcess;

  /** A server's URL with the worker's dedicated account. */
  function withWorkerAccount(url: string): string {
    const u = new URL(url);
    u.username = dbUser;
    u.password = dbPassword;
    return u.toString();
  }

  /** KILL CONNECTION for every session of the worker's account on one server; returns how many were killed. */
  async function killSessionsOn(server: Pool): Promise<number> {
    const [rows] = await server.query<RowDataPacket[]>('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [dbUser]);
    let killed = 0;
    for (const r of rows) {
      try {
        await server.query(`KILL CONNECTION ${Number(r.id)}`);
        killed++;
      } catch (err) {
        if ((err as { errno?: number }).errno !== 1094) throw err; // gone meanwhile (Unknown thread id)
      }
    }
    return killed;
  }

  /** Every session of the worker's account, on the source and on the target. */
  async function killWorkerSessions(): Promise<{ source: number; target: number }> {
    const [onSource, onTarget] = await Promise.all([killSessionsOn(source), killSessionsOn(pool)]);
    return { source: onSource, target: onTarget };
  }

  /** Rows waiting in the tenant's change log of a table, where the mode keeps it. */
  const pending = (table: string): Promise<number> => pendingLog(logPool(mode, source, pool), src, table, tenant);

  beforeAll(async () => {
    announceSeed(`killed-connections (${mode})`, seed);
    ensureBuilt();
    pool = testPool();
    source = sourcePool();
    await createSource(source, src, BIG_ROWS);
    for (const server of [pool, source]) {
      await server.query('CREATE USER ?@? IDENTIFIED BY ?', [dbUser, '%', dbPassword]);
      await server.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [dbUser, '%']);
    }
    client = await testClient();
    worker = await workers.start({ mysqlUrl: withWorkerAccount(MYSQL_URL), env: { CM_CONN_ONPREM_URL: withWorkerAccount(sourceUrl()) } });
  });

  afterAll(() => cleanUpTenant({
    client, workers, pool, source, tenant, src, targetSchemas: [dst],
    before: async () => {
      for (const server of [pool, source]) await server.query('DROP USER IF EXISTS ?@?', [dbUser, '%']);
    },
  }));

  it('every MySQL connection of the worker killed, repeatedly, mid-copy and mid-delta: the runs complete and the target equals the source', async () => {
    try {
      const { status } = await createTenant(client, taskQueue, {
        tenant, sourceConnection: 'onprem', captureMode: mode, companies: [{ source: src }], copy: FAULT_COPY,
      });
      expect(status.status).toBe('Ready');
      expect(status.capture?.mode).toBe(mode);
      // The test's own sessions are root's: the worker's account is the only one killed.
      for (const server of [pool, source]) {
        const [mine] = await server.query<RowDataPacket[]>('SELECT USER AS u FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()');
        expect(mine[0].u).not.toBe(dbUser);
      }
      // The worker really reads the source with its own account (else killing that account's sessions misses the source).
      const [reading] = await source.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?', [dbUser]);
      expect(Number(reading[0].n)).toBeGreaterThan(0);

      // Full copy: three rounds of kills at seeded points of the copy.
      const full = await runMigrationNow(client, tenant, { requestedBy: 'faults' });
      expect(full.kind).toBe('full');
      const marks = [rng.between(0.05, 0.3), rng.between(0.35, 0.6), rng.between(0.65, 0.9)];
      const rounds: string[] = [];
      for (const mark of marks) {
        const deadline = Date.now() + 120_000;
        while ((await count(pool, dst, 'big')) < mark * BIG_ROWS) {
          if (Date.now() > deadline) throw new Error(`the copy did not reach ${Math.round(mark * 100)}%`);
          await sleep(25);
        }
        const killed = await killWorkerSessions();
        rounds.push(`${Math.round(mark * 100)}%: ${killed.source} sessions on the source, ${killed.target} on the target`);
        expect(killed.source + killed.target).toBeGreaterThan(0);
      }
      console.log(`seed ${seed} (${mode}): killed the worker's sessions at ${rounds.join(', ')}`);
      const entry = await waitForRun(client, tenant, full);
      if (entry.status !== 'Completed') console.error(entry, (await getStatus(client, tenant)).tables);
      expect(entry.status).toBe('Completed');
      expect(isRunning(worker)).toBe(true); // the same process recovered
      const fullAttempts = await activityAttempts(client, full.workflowId);
      expect(fullAttempts.retried).toBeGreaterThan(0); // the kills really broke running activities
      await expectSameAcrossServers(source, src, pool, dst);
      expect(await pending('big')).toBe(0);

      // A delta run: killed once half of the change log is applied (binlog mode: of the log the run staged, from its peak).
      await source.query(`UPDATE ${src}.big SET qty = -qty WHERE id % 17 = ?`, [rng.int(0, 16)]);
      await source.query(`DELETE FROM ${src}.big WHERE id % 53 = ?`, [rng.int(0, 52)]);
      await source.query(`INSERT INTO ${src}.big SELECT id + 100000, 7, 'added', 2.5, '2025-03-03' FROM ${src}.big WHERE id <= 1500`);
      await source.query(`INSERT INTO ${src}.nokey VALUES (1, 'dup 1')`);
      let initial = await pending('big');
      const delta = await runMigrationNow(client, tenant, { requestedBy: 'faults' });
      expect(delta.kind).toBe('delta');
      const mark = rng.between(0.2, 0.8);
      let killedDuringDelta: { source: number; target: number } | undefined;
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
        const now = await pending('big');
        initial = Math.max(initial, now);
        if (initial > 0 && now <= mark * initial) {
          killedDuringDelta = await killWorkerSessions();
          break;
        }
        if ((await client.workflow.getHandle(delta.workflowId).describe()).status.name !== 'RUNNING') break; // missed it: the run is over
        await sleep(10);
      }
      console.log(`seed ${seed} (${mode}): killed ${killedDuringDelta?.source ?? 0} sessions on the source and ${killedDuringDelta?.target ?? 0} on the target with ${Math.round(mark * 100)}% of ${initial} log rows left`);
      expect(killedDuringDelta).toBeDefined(); // the delta really was hit
      expect((await waitForRun(client, tenant, delta)).status).toBe('Completed');
      await expectSameAcrossServers(source, src, pool, dst);
      expect(await pending('big')).toBe(0);
      await expectFenceDown(pool, client, tenant, [dst]);

      if (mode === 'binlog') {
        // One more delta, its sessions killed while the binary log reader's own connection (a
        // replication session: Binlog Dump) reads: every row of `big` changed, so the read takes a while.
        await source.query(`UPDATE ${src}.big SET label = CONCAT(label, '+') WHERE id % 2 = ?`, [rng.int(0, 1)]);
        const reread = await runMigrationNow(client, tenant, { requestedBy: 'faults' });
        expect(reread.kind).toBe('delta');
        let killedReading: { source: number; target: number } | undefined;
        for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
          const [dump] = await source.query<RowDataPacket[]>(
            "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ? AND COMMAND LIKE 'Binlog Dump%'", [dbUser],
          );
          if (Number(dump[0].n) > 0) {
            killedReading = await killWorkerSessions();
            break;
          }
          if ((await client.workflow.getHandle(reread.workflowId).describe()).status.name !== 'RUNNING') break; // missed it: the run is over
          await sleep(5);
        }
        console.log(`seed ${seed} (${mode}): killed ${killedReading?.source ?? 0} sessions on the source (the reader's among them) and ${killedReading?.target ?? 0} on the target while the binary log was read`);
        expect(killedReading).toBeDefined(); // the read really was hit
        expect((await waitForRun(client, tenant, reread)).status).toBe('Completed');
        const readAttempts = await activityAttempts(client, reread.workflowId);
        expect(readAttempts.byType.stageChanges?.some((n) => n >= 2)).toBe(true); // the read failed and was retried
        await expectSameAcrossServers(source, src, pool, dst);
        expect(await pending('big')).toBe(0);
        await expectFenceDown(pool, client, tenant, [dst]);
      }
    } catch (err) {
      console.error(workers.failure(`seed ${seed} (${mode})`, err));
      throw err;
    }
  });
});
