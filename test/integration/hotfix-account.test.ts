// Hotfixes run as the tenant's own account (activities/tenant-account.ts), whose grants cover exactly
// the tenant's target schemas: the database itself refuses a hotfix that reaches another schema,
// creates or grants accounts, sets a global variable or reads a server file. A legitimate hotfix
// still works and is recorded; a refused one is recorded as failed with the database's error; the
// account's password appears nowhere in workflow history.
import type { RowDataPacket } from 'mysql2/promise';
import { buildAudit } from '../../client/audit';
import { applyHotfix, createTenant, getStatus, runMigrationNow, tenantHandle, waitForRun } from '../../client/operations';
import { PASSWORD_FORMAT, TENANT_PRIVILEGES, tenantAccountName } from '../../activities/tenant-account';
import { tableDigest } from '../../activities/verify';
import { dropCaptureFor, dropSchemas, dropTenantState, historyText, uniqueName } from '../helpers';
import { tenantFixture } from '../fixture';

const other = uniqueName('hfa_other'); // not a schema of the tenant
const evil = uniqueName('hfa_evil');
let host = '';
let netRetryBefore = 0;
const f = tenantFixture('hfa', {
  cleanup: async (fx) => {
    await fx.pool.query(`DROP SCHEMA IF EXISTS \`${other}\``);
    await fx.pool.query('DROP USER IF EXISTS ?@?', [evil, '%']);
    if (host) await fx.pool.query('DROP USER IF EXISTS ?@?', [tenantAccountName(fx.tenant), host]);
    if (netRetryBefore) await fx.pool.query('SET GLOBAL net_retry_count = ?', [netRetryBefore]); // in case a hotfix changed it
  },
});
const { src, tenant, dst } = f;
const account = (): string => tenantAccountName(tenant);
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function rows<T = RowDataPacket>(sql: string, values: unknown[] = []): Promise<T[]> {
  const [r] = await f.pool.query<RowDataPacket[]>(sql, values);
  return r as T[];
}
const otherDigest = (): Promise<string> => tableDigest(f.pool, other, 'secret');
const hotfixLog = async (name: string): Promise<string[]> =>
  (await rows('SELECT target_schema AS s FROM cm_control.hotfix_log WHERE tenant = ? AND name = ?', [tenant, name])).map((r) => String(r.s));
/** The tenant account's grants as SHOW GRANTS prints them, without the password hash. */
const grantsOfAccount = async (): Promise<string[]> =>
  (await rows(`SHOW GRANTS FOR ?@?`, [account(), host])).map((r) => String(Object.values(r)[0]).replace(/ IDENTIFIED BY .*$/, ''));
/** A hotfix the database must refuse: the update fails with the database's error for the tenant account, nothing recorded. */
async function refused(name: string, sql: string, error: string): Promise<void> {
  await expect(applyHotfix(f.client, tenant, { name, sql, requestedBy: 'jest' })).rejects.toThrow(
    new RegExp(`hotfix refused: hotfix ${name} failed on ${dst}: ${error}`),
  );
  expect(await hotfixLog(name)).toEqual([]);
}

beforeAll(async () => {
  host = String((await rows("SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', -1) AS h"))[0].h); // the worker's account host (same account as the tests')
  netRetryBefore = Number((await rows("SELECT @@GLOBAL.net_retry_count AS n"))[0].n);
  await f.pool.query(`CREATE SCHEMA \`${src}\``);
  await f.pool.query(`CREATE TABLE \`${src}\`.item (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)`);
  await f.pool.query(`INSERT INTO \`${src}\`.item VALUES (1, 'one'), (2, 'two'), (3, 'three')`);
  await f.pool.query(`CREATE SCHEMA \`${other}\``);
  await f.pool.query(`CREATE TABLE \`${other}\`.secret (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL)`);
  await f.pool.query(`INSERT INTO \`${other}\`.secret VALUES (1, 'keep'), (2, 'me')`);
  // The account left by an earlier run with grants it must not keep: on another schema, and FILE.
  await f.pool.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [account(), host, 'left-from-before']);
  await f.pool.query(`GRANT SELECT, UPDATE ON \`${other}\`.* TO ?@?`, [account(), host]);
  await f.pool.query('GRANT FILE ON *.* TO ?@?', [account(), host]);
  await createTenant(f.client, f.taskQueue, { tenant, companies: [{ source: src }] });
  await waitForRun(f.client, tenant, await runMigrationNow(f.client, tenant, { requestedBy: 'jest' }));
});

it('names the account from the tenant, in at most 32 characters', () => {
  expect(account()).toMatch(/^cm_t_[0-9a-f]+$/);
  expect(account().length).toBeLessThanOrEqual(32);
  expect(tenantAccountName(tenant)).toBe(account()); // stable
  expect(tenantAccountName(`${tenant}x`)).not.toBe(account());
});

it('a legitimate hotfix works, is recorded, and leaves the account with exactly its grants on the tenant schema', async () => {
  const sql = [
    "UPDATE item SET name = 'hotfixed' WHERE id = 1;",
    'CREATE TABLE loot (id INT AUTO_INCREMENT PRIMARY KEY, v LONGTEXT);',
    'CREATE INDEX item_name ON item (name);',
    'CREATE VIEW item_names AS SELECT id, name FROM item;',
    'CREATE TEMPORARY TABLE scratch (id INT); INSERT INTO scratch VALUES (1); DROP TEMPORARY TABLE scratch;',
  ].join('\n');
  const out = await applyHotfix(f.client, tenant, { name: 'legit', sql, requestedBy: 'jest' });
  expect(out.applied).toEqual([dst]);
  expect((await rows(`SELECT name FROM \`${dst}\`.item WHERE id = 1`))[0].name).toBe('hotfixed');
  expect(await hotfixLog('legit')).toEqual([dst]);
  expect((await getStatus(f.client, tenant)).hotfixes.map((h) => h.name)).toEqual(['legit']);
  // Objects the hotfix made are defined by the tenant account (so they keep working under its grants).
  expect((await rows('SELECT DEFINER AS d FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [dst, 'item_names']))[0].d).toBe(`${account()}@${host}`);

  // The grants left from before (another schema, FILE) are gone; exactly the tenant schema's remain.
  const grants = await grantsOfAccount();
  expect(grants).toHaveLength(2);
  expect(grants[0]).toBe(`GRANT USAGE ON *.* TO \`${account()}\`@\`${host}\``);
  const db = /^GRANT (.+) ON `(.+)`\.\* TO /.exec(grants[1])!;
  expect(db[2]).toBe(dst.replace(/_/g, '\\_')); // the name escaped: `_` is a wildcard in a grant
  expect(db[1].split(', ').sort()).toEqual([...TENANT_PRIVILEGES].sort());
  expect(grants.join('\n')).not.toMatch(/GRANT OPTION|FILE|SUPER|ALL PRIVILEGES/);
  // Between uses the account is locked (its password is random and already forgotten anyway).
  expect(String(Object.values((await rows('SHOW CREATE USER ?@?', [account(), host]))[0])[0])).toMatch(/ACCOUNT LOCK/);

  // Again: the same hotfix is skipped, reconciling the grants twice changes nothing, and the use set a new password.
  const passwordHash = async (): Promise<string> => String((await rows('SELECT authentication_string AS a FROM mysql.user WHERE User = ? AND Host = ?', [account(), host]))[0].a);
  const hashBefore = await passwordHash();
  expect(await applyHotfix(f.client, tenant, { name: 'legit', sql, requestedBy: 'jest' })).toMatchObject({ applied: [], skipped: [dst] });
  expect(await grantsOfAccount()).toEqual(grants);
  expect(await passwordHash()).not.toBe(hashBefore);
});

it('refuses to write another schema: UPDATE and INSERT are denied by the database, the other schema unchanged', async () => {
  const before = await otherDigest();
  await refused('reach-update', `UPDATE \`${other}\`.secret SET v = 'stolen';`, `UPDATE command denied to user '${account()}'@'${escapeRe(host)}' for table`);
  await refused('reach-insert', `INSERT INTO \`${other}\`.secret VALUES (3, 'planted');`, `INSERT command denied to user '${account()}'`);
  await refused('reach-select', `INSERT INTO loot (v) SELECT v FROM \`${other}\`.secret;`, `SELECT command denied to user '${account()}'`);
  expect(await otherDigest()).toBe(before);
  expect((await rows(`SELECT COUNT(*) AS n FROM \`${dst}\`.loot`))[0].n).toBe('0');
});

it('refuses CREATE USER and GRANT: no account is created, none gains a privilege', async () => {
  await refused('create-user', `CREATE USER '${evil}'@'%' IDENTIFIED BY 'x';`, 'Access denied; you need \\(at least one of\\) the CREATE USER privilege');
  await refused('grant-self', 'GRANT ALL PRIVILEGES ON *.* TO CURRENT_USER();', `Access denied for user '${account()}'`);
  await refused('grant-other', `GRANT SELECT ON \`${dst}\`.* TO '${evil}'@'%' IDENTIFIED BY 'x';`, `(Access denied|denied to user) .*'${account()}'`);
  expect(await rows('SELECT User FROM mysql.user WHERE User = ?', [evil])).toEqual([]);
  expect((await grantsOfAccount()).join('\n')).not.toMatch(/ALL PRIVILEGES|ON \*\.\* TO .*GRANT|GRANT OPTION/);
});

it('refuses SET GLOBAL: the value is unchanged', async () => {
  await refused('set-global', `SET GLOBAL net_retry_count = ${netRetryBefore + 7};`, 'Access denied; you need \\(at least one of\\) the SUPER');
  expect(Number((await rows('SELECT @@GLOBAL.net_retry_count AS n'))[0].n)).toBe(netRetryBefore);
});

it('reads no server file: LOAD DATA INFILE is refused, LOAD_FILE gives NULL, LOCAL INFILE is not served', async () => {
  await refused('load-data', "LOAD DATA INFILE '/etc/hostname' INTO TABLE loot (v);", `Access denied for user '${account()}'`);
  // LOAD_FILE without the FILE privilege is NULL, not an error: the hotfix succeeds and reads nothing.
  await applyHotfix(f.client, tenant, { name: 'load-file', sql: "INSERT INTO loot (v) SELECT LOAD_FILE('/etc/passwd');", requestedBy: 'jest' });
  // A client-side file is not sent either (the connection does not offer LOCAL INFILE).
  await expect(applyHotfix(f.client, tenant, { name: 'load-local', sql: "LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE loot (v);", requestedBy: 'jest' }))
    .rejects.toThrow(/hotfix refused: hotfix load-local failed on/);
  expect(await rows(`SELECT v FROM \`${dst}\`.loot`)).toEqual([{ v: null }]);
});

it('a multi-statement hotfix whose second statement reaches out: the first stays applied, the second is refused, the hotfix is recorded as failed', async () => {
  const before = await otherDigest();
  await refused('mixed', `UPDATE item SET name = 'first' WHERE id = 2;\nUPDATE \`${other}\`.secret SET v = 'stolen';`, `UPDATE command denied to user '${account()}'`);
  // Statements run one after another with autocommit, as from the mysql client: what ran before the
  // refused statement is applied (DDL could not be rolled back anyway); the hotfix is not in the
  // hotfix log, so the operator sees it failed and fixes it up.
  expect((await rows(`SELECT name FROM \`${dst}\`.item WHERE id = 2`))[0].name).toBe('first');
  expect(await otherDigest()).toBe(before);
  expect((await getStatus(f.client, tenant)).hotfixes.map((h) => h.name)).not.toContain('mixed');
  const audit = await buildAudit(f.client, tenant);
  const mixed = audit.filter((e) => e.kind === 'update.applyHotfix' && /"name":"mixed"/.test(JSON.stringify(e.details)));
  expect(mixed).toHaveLength(1);
  expect(mixed[0].summary).toMatch(new RegExp(`→ failed: hotfix mixed failed on ${dst}: UPDATE command denied to user '${account()}'`));
});

it('no password of the account appears in workflow history, and no password statement', async () => {
  const text = historyText(await tenantHandle(f.client, tenant).fetchHistory());
  expect(text).toContain(account()); // the refusals above name the account: the search reads those failures
  expect(text).toContain('secret'); // and the hotfixes' SQL
  expect(text).not.toMatch(PASSWORD_FORMAT); // the format of every password the account is given
  expect(text).not.toMatch(/IDENTIFIED BY '(?!x')/); // only the tests' own hotfix text says IDENTIFIED BY ('x')
  expect(text).not.toContain('left-from-before'); // the password the test gave it, for good measure
});

describe("under a worker account with only the README's grants (no SELECT on mysql: the grants cannot be read, so they are set again each time)", () => {
  const src2 = uniqueName('hfa_lp_src');
  const tenant2 = uniqueName('hfa_lp');
  const dst2 = `${tenant2}_${src2}`;
  const worker = uniqueName('hfa_lpw');
  const password = `pw-${uniqueName('lp')}`;
  const account2 = (): string => tenantAccountName(tenant2);
  const grants2 = async (): Promise<string[]> =>
    (await rows('SHOW GRANTS FOR ?@?', [account2(), '%'])).map((r) => String(Object.values(r)[0]).replace(/ IDENTIFIED BY .*$/, ''));

  beforeAll(async () => {
    await f.pool.query(`CREATE SCHEMA \`${src2}\``);
    await f.pool.query(`CREATE TABLE \`${src2}\`.item (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)`);
    await f.pool.query(`INSERT INTO \`${src2}\`.item VALUES (1, 'one'), (2, 'two')`);
    await f.pool.query('CREATE USER ?@? IDENTIFIED BY ?', [worker, '%', password]);
    await f.pool.query(`GRANT ALL PRIVILEGES ON \`${dst2}\`.* TO ?@? WITH GRANT OPTION`, [worker, '%']);
    await f.pool.query('GRANT ALL PRIVILEGES ON `cm_control`.* TO ?@?', [worker, '%']);
    await f.pool.query('GRANT CREATE USER ON *.* TO ?@?', [worker, '%']);
    process.env.CM_CONN_HFALP_URL = `mysql://${worker}:${password}@127.0.0.1:3306`;
    await createTenant(f.client, f.taskQueue, { tenant: tenant2, targetConnection: 'hfalp', companies: [{ source: src2 }] });
    await waitForRun(f.client, tenant2, await runMigrationNow(f.client, tenant2, { requestedBy: 'jest' }));
  });

  afterAll(async () => {
    await tenantHandle(f.client, tenant2).terminate('test done').catch(() => undefined);
    await dropCaptureFor(f.pool, src2);
    await dropSchemas(f.pool, src2, dst2);
    await dropTenantState(f.pool, tenant2);
    await f.pool.query('DROP USER IF EXISTS ?@?', [account2(), '%']);
    await f.pool.query('DROP USER IF EXISTS ?@?', [worker, '%']);
  });

  it('applies a hotfix as the tenant account at the worker account\'s host, and takes back a grant added between uses', async () => {
    await applyHotfix(f.client, tenant2, { name: 'lp-1', sql: "UPDATE item SET name = 'lp' WHERE id = 1;", requestedBy: 'jest' });
    expect((await rows(`SELECT name FROM \`${dst2}\`.item WHERE id = 1`))[0].name).toBe('lp');
    const grants = await grants2(); // the worker's account is 'hfa_lpw…'@'%': so is the tenant's
    expect(grants).toHaveLength(2);
    expect(grants[0]).toBe(`GRANT USAGE ON *.* TO \`${account2()}\`@\`%\``);
    expect(grants[1]).toMatch(new RegExp(`^GRANT [A-Z ,]+ ON ${escapeRe(`\`${dst2.replace(/_/g, '\\_')}\`.* TO \`${account2()}\`@\`%\``)}$`));

    await f.pool.query(`GRANT SELECT, UPDATE ON \`${other}\`.* TO ?@?`, [account2(), '%']); // as if left by someone
    await refused2('lp-2', `UPDATE \`${other}\`.secret SET v = 'stolen';`, `UPDATE command denied to user '${account2()}'@`);
    expect((await grants2()).join('\n')).not.toContain(other);
  });

  async function refused2(name: string, sql: string, error: string): Promise<void> {
    await expect(applyHotfix(f.client, tenant2, { name, sql, requestedBy: 'jest' })).rejects.toThrow(new RegExp(`hotfix refused: hotfix ${name} failed on ${dst2}: ${escapeRe(error)}`));
  }
});
