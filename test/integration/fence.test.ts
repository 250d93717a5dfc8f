// Contract item 3, the fence, on the real server: it covers every account that can write to the
// tenant's schemas (not only the listed application account), an event in another schema that
// writes into them and an event execution already running, while an exempt DBA keeps working.
// Nothing acknowledged before the fence is lost, nothing lands while it is up, and releasing it
// puts back the same accounts and events, with their definers. A worker that lacks a grant the
// fence needs is refused before anything changes.
import { createConnection, createPool, type Connection, type Pool, type RowDataPacket } from 'mysql2/promise';
import { FencePrivilegeError, raiseFence, releaseFence } from '../../activities/fence';
import { ensureControlSchema, writeEnvironmentState } from '../../activities/target-schema';
import { dropSchemas, MYSQL_URL, testPool, uniqueName, waitUntil } from '../helpers';

const tenant = uniqueName('fence');
const dst = uniqueName('fence_dst');
const other = uniqueName('fence_other');
const pw = 'Pw-fence-1';
const users = {
  app: uniqueName('f_app'), // listed by the tenant
  writer: uniqueName('f_wr'), // not listed: INSERT through a table grant
  roleUser: uniqueName('f_ru'), // not listed: INSERT through a role
  reader: uniqueName('f_rd'), // SELECT only
  dba: uniqueName('f_dba'), // exempt
  limited: uniqueName('f_lim'), // a worker account without PROCESS
};
const role = uniqueName('f_role');
let pool: Pool;
let schedulerBefore = 'OFF';

const login = (user: string, database: string | null = dst): Promise<Connection> =>
  createConnection({ uri: MYSQL_URL.replace(/\/\/[^@/]*@/, `//${user}:${pw}@`), ...(database ? { database } : {}) });

const isLocked = async (user: string): Promise<boolean> => {
  const [rows] = await pool.query<RowDataPacket[]>('SHOW CREATE USER ?@?', [user, '%']);
  return /\bACCOUNT LOCK\b/.test(String(Object.values(rows[0])[0]));
};

const events = async (): Promise<string[]> => {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT EVENT_SCHEMA AS s, EVENT_NAME AS n, STATUS AS st, DEFINER AS d FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (?) ORDER BY 1, 2',
    [[dst, other]],
  );
  return rows.map((r) => `${r.s === dst ? 'dst' : 'other'}.${r.n} ${r.st} ${r.d}`);
};

/** Rows in the fenced table by writer. */
async function rowsBy(): Promise<Record<string, number>> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT who, COUNT(*) AS n FROM \`${dst}\`.log GROUP BY who`);
  return Object.fromEntries(rows.map((r) => [String(r.who), Number(r.n)]));
}

/** A client that inserts as fast as it can and remembers every insert the server acknowledged. */
function writer(user: string, who: string, database: string | null = dst) {
  const acked: number[] = [];
  let stop = false;
  let refusal = '';
  const done = (async () => {
    while (!stop) {
      let conn: Connection | undefined;
      try {
        conn = await login(user, database);
        while (!stop) {
          const [res] = await conn.query(`INSERT INTO \`${dst}\`.log (who) VALUES (?)`, [who]);
          acked.push((res as { insertId: number }).insertId);
        }
      } catch (err) {
        refusal = String((err as Error).message);
        await new Promise((r) => setTimeout(r, 20));
      } finally {
        conn?.destroy();
      }
    }
  })();
  return { acked, done, stop: () => { stop = true; return done; }, refusal: () => refusal };
}

beforeAll(async () => {
  pool = testPool();
  await ensureControlSchema(pool);
  await writeEnvironmentState(pool, tenant, 'Active', 'jest');
  await pool.query(`CREATE SCHEMA \`${dst}\``);
  await pool.query(`CREATE SCHEMA \`${other}\``);
  await pool.query(`CREATE TABLE \`${dst}\`.log (id INT AUTO_INCREMENT PRIMARY KEY, who VARCHAR(40) NOT NULL, at DATETIME(6) NOT NULL DEFAULT NOW(6))`);
  for (const u of Object.values(users)) await pool.query('CREATE USER ?@? IDENTIFIED BY ?', [u, '%', pw]);
  await pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE, EVENT ON \`${dst}\`.* TO ?@?`, [users.app, '%']);
  await pool.query(`GRANT SELECT, INSERT ON \`${dst}\`.log TO ?@?`, [users.writer, '%']);
  await pool.query(`GRANT EVENT ON \`${other}\`.* TO ?@?`, [users.writer, '%']);
  await pool.query('CREATE ROLE ?', [role]);
  await pool.query(`GRANT SELECT, INSERT ON \`${dst}\`.* TO ?`, [role]);
  await pool.query('GRANT ? TO ?@?', [role, users.roleUser, '%']);
  await pool.query('SET DEFAULT ROLE ? FOR ?@?', [role, users.roleUser, '%']);
  await pool.query(`GRANT SELECT ON \`${dst}\`.* TO ?@?`, [users.reader, '%']);
  await pool.query(`GRANT ALL PRIVILEGES ON \`${dst}\`.* TO ?@?`, [users.dba, '%']);
  await pool.query(`GRANT ALL PRIVILEGES ON \`${dst}\`.* TO ?@?`, [users.limited, '%']);
  await pool.query('GRANT SELECT ON mysql.* TO ?@?', [users.limited, '%']);
  await pool.query('GRANT CREATE USER, CONNECTION ADMIN ON *.* TO ?@?', [users.limited, '%']);
  await pool.query(`GRANT ALL PRIVILEGES ON cm_control.* TO ?@?`, [users.limited, '%']);

  // An event in another schema that writes into the tenant's, defined by the writer; an event in
  // the tenant's schema whose execution is still running (between its two inserts) when the fence
  // comes up; one disabled before, which must stay disabled.
  await pool.query(`CREATE DEFINER = ?@? EVENT \`${other}\`.feeder ON SCHEDULE EVERY 1 SECOND DO INSERT INTO \`${dst}\`.log (who) VALUES ('feeder')`, [users.writer, '%']);
  await pool.query(`CREATE DEFINER = ?@? EVENT \`${dst}\`.runner ON SCHEDULE EVERY 1 SECOND DO BEGIN INSERT INTO \`${dst}\`.log (who) VALUES ('runner-1'); DO SLEEP(3); INSERT INTO \`${dst}\`.log (who) VALUES ('runner-2'); END`, [users.app, '%']);
  await pool.query(`CREATE DEFINER = ?@? EVENT \`${dst}\`.dormant ON SCHEDULE EVERY 1 SECOND DISABLE DO INSERT INTO \`${dst}\`.log (who) VALUES ('dormant')`, [users.app, '%']);
  const [sched] = await pool.query<RowDataPacket[]>('SELECT @@GLOBAL.event_scheduler AS s');
  schedulerBefore = String(sched[0].s);
  await pool.query('SET GLOBAL event_scheduler = ON');
});

afterAll(async () => {
  await releaseFence(pool, tenant, 'upgrade-fence-test').catch(() => undefined);
  await pool.query(`SET GLOBAL event_scheduler = ${schedulerBefore === 'ON' ? 'ON' : 'OFF'}`);
  for (const u of Object.values(users)) await pool.query('DROP USER IF EXISTS ?@?', [u, '%']);
  await pool.query('DROP ROLE IF EXISTS ?', [role]).catch(() => undefined);
  await pool.query('DELETE FROM cm_control.environment WHERE tenant = ?', [tenant]);
  await dropSchemas(pool, dst, other);
  await pool.end();
});

it('a worker without PROCESS is refused before anything changes, naming the grant', async () => {
  const limited = createPool({ uri: MYSQL_URL.replace(/\/\/[^@/]*@/, `//${users.limited}:${pw}@`), connectionLimit: 2 });
  const eventsBefore = await events();
  try {
    const err = await raiseFence(limited, { tenant, holder: 'upgrade-limited', schemas: [dst], appUsers: [users.app] }, () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FencePrivilegeError);
    expect(String((err as Error).message)).toMatch(/PROCESS ON \*\.\*/);
    expect(String((err as Error).message)).toMatch(/SET USER/); // the events' definers are other accounts
  } finally {
    await limited.end();
  }
  const [fence] = await pool.query<RowDataPacket[]>('SELECT * FROM cm_control.fence WHERE tenant = ?', [tenant]);
  expect(fence).toHaveLength(0);
  expect(await isLocked(users.app)).toBe(false);
  expect(await events()).toEqual(eventsBefore);
  const [env] = await pool.query<RowDataPacket[]>('SELECT state FROM cm_control.environment WHERE tenant = ?', [tenant]);
  expect(env[0].state).toBe('Active');
});

it('stops every writer, event and running execution; loses nothing acknowledged; releases exactly', async () => {
  const eventsBefore = await events();
  expect(eventsBefore).toEqual([
    `dst.dormant DISABLED ${users.app}@%`, `dst.runner ENABLED ${users.app}@%`, `other.feeder ENABLED ${users.writer}@%`,
  ]);
  const clients = {
    app: writer(users.app, 'app'),
    writer: writer(users.writer, 'writer', null), // no default schema: only its account gives it away
    roleUser: writer(users.roleUser, 'role'),
    dba: writer(users.dba, 'dba'),
  };
  const reader = await login(users.reader);
  // Fence while every writer is writing, the feeder has fired, and a runner execution sits in its SLEEP.
  await waitUntil('every writer and both events to have written', async () => {
    const by = await rowsBy();
    return ['app', 'writer', 'role', 'dba', 'feeder', 'runner-1'].every((w) => (by[w] ?? 0) > 0) && clients.app.acked.length > 0;
  }, 30_000).catch(async (err: Error) => {
    throw new Error(`${err.message}: rows ${JSON.stringify(await rowsBy())}, refusals ${JSON.stringify(Object.values(clients).map((c) => c.refusal()))}`);
  });
  await waitUntil('a runner execution in its sleep', async () => {
    const [rows] = await pool.query<RowDataPacket[]>("SELECT 1 FROM information_schema.PROCESSLIST WHERE DB = ? AND COMMAND = 'Connect' AND STATE = 'User sleep'", [dst]);
    return rows.length > 0;
  }, 30_000);

  const summary = await raiseFence(pool, {
    tenant, holder: 'upgrade-fence-test', schemas: [dst], appUsers: [users.app], exemptAccounts: [users.dba],
  }, () => undefined);
  const atRaise = await rowsBy();
  const locked = summary.lockedAccounts;
  for (const u of [users.app, users.writer, users.roleUser]) expect(locked).toContain(`'${u}'@'%'`);
  for (const u of [users.reader, users.dba]) expect(locked).not.toContain(`'${u}'@'%'`);
  expect(locked.some((a) => a.startsWith("'root'@"))).toBe(false); // cm's own account
  expect(summary.disabledEvents.sort()).toEqual([`${dst}.runner`, `${other}.feeder`]);
  await expect(reader.query('SELECT 1')).rejects.toThrow(); // a session using the schema, even a reader's
  reader.destroy();

  // Nothing of the fenced writers lands while the fence is up (the runner's second insert included);
  // the exempt DBA goes on.
  await new Promise((r) => setTimeout(r, 4000));
  const later = await rowsBy();
  for (const w of ['app', 'writer', 'role', 'feeder', 'runner-1', 'runner-2']) expect(later[w] ?? 0).toBe(atRaise[w] ?? 0);
  expect(later['runner-2'] ?? 0).toBe(0); // the running execution was killed before its second insert
  expect(later.dba).toBeGreaterThan(atRaise.dba);
  for (const c of [clients.app, clients.writer, clients.roleUser]) expect(c.refusal()).toMatch(/locked|denied|killed|closed|Connection lost|ECONNRESET|PROTOCOL/i);
  await expect(login(users.writer, null)).rejects.toThrow(/locked/i);

  // Nothing acknowledged is lost.
  await Promise.all(Object.values(clients).map((c) => c.stop()));
  const [ids] = await pool.query<RowDataPacket[]>(`SELECT id FROM \`${dst}\`.log`);
  const present = new Set(ids.map((r) => Number(r.id)));
  for (const c of Object.values(clients)) expect(c.acked.filter((i) => !present.has(i))).toEqual([]);
  expect(eventsBefore.length).toBe(3);

  const released = await releaseFence(pool, tenant, 'upgrade-fence-test');
  expect(released.enabledEvents.sort()).toEqual([`${dst}.runner`, `${other}.feeder`]);
  expect(await events()).toEqual(eventsBefore); // same status, same definers
  for (const u of [users.app, users.writer, users.roleUser]) expect(await isLocked(u)).toBe(false);
  const back = await login(users.writer, null);
  await back.query(`INSERT INTO \`${dst}\`.log (who) VALUES ('after')`);
  await back.end();
  await waitUntil('the feeder to fire again', async () => ((await rowsBy()).feeder ?? 0) > (later.feeder ?? 0), 15_000);
});

it("two tenants' fences over one account: the first released leaves it locked for the second", async () => {
  const tenantB = `${tenant}_b`;
  await writeEnvironmentState(pool, tenantB, 'Active', 'jest');
  await pool.query(`GRANT INSERT ON \`${other}\`.* TO ?@?`, [users.app, '%']); // it can write to both tenants' schemas
  try {
    await raiseFence(pool, { tenant, holder: 'upgrade-a', schemas: [dst], appUsers: [], exemptAccounts: [users.dba] }, () => undefined);
    const b = await raiseFence(pool, { tenant: tenantB, holder: 'upgrade-b', schemas: [other], appUsers: [], exemptAccounts: [users.dba] }, () => undefined);
    expect(b.alreadyLockedAccounts).toContain(`'${users.app}'@'%'`); // locked by the first fence
    await releaseFence(pool, tenant, 'upgrade-a');
    expect(await isLocked(users.app)).toBe(true); // the second fence still holds it
    await releaseFence(pool, tenantB, 'upgrade-b');
    expect(await isLocked(users.app)).toBe(false); // and puts back what was there before either
    expect(await events()).toContain(`other.feeder ENABLED ${users.writer}@%`);
  } finally {
    await releaseFence(pool, tenant, 'upgrade-a').catch(() => undefined);
    await releaseFence(pool, tenantB, 'upgrade-b').catch(() => undefined);
    await pool.query('DELETE FROM cm_control.environment WHERE tenant = ?', [tenantB]);
  }
});
