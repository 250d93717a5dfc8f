// Contract item 7, from the operator's side: bad input gets a clear error, and loses nothing.
// Each test asserts the exact text the user sees (the `cm` binary's output, or the update's refusal
// the UI shows) and that the rest still arrives: other tables and rows, the tenant, the next run.
//   1. an unknown company, at tenant creation and at company configuration;
//   2. a table without a primary key;
//   3. odd identifiers (quotes, backticks, unicode) in tables, columns, company schemas and tenant names;
//   4. zero dates; 5. values too long for the target: counted, reported per table, fixed rows arrive;
//   8. updates with missing or extra fields: the validator's message, and no trace in history.
// The source is on a server of its own (binary log on), and every test runs in both capture modes.
// Items 6 (a 50 MB BLOB) and 7 (malformed Start Workflow input) are in bad-input-blob / bad-input-ui.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { getStatus, runMigrationNow, tenantHandle, waitForRun, type FullStatus } from '../../client/operations';
import { NO_PRIMARY_KEY_WARNING } from '../../activities/assess';
import { id, qualified } from '../../activities/sql';
import type { CaptureModeSetting, StatusPage } from '../../lib/types';
import {
  configureCompaniesUpdate, resetCloudDataUpdate, runDataUpgradeNowUpdate, runMigrationNowUpdate,
} from '../../workflows/messages';
import { PATHS_REFUSED } from '../../lib/upgrade-versions';
import { count, dropCaptureFor, dropSchemas, ensureBuilt, expectSameAcross, settingsFor, uniqueName } from '../helpers';
import { tenantFixture } from '../fixture';

const CM = join(__dirname, '..', '..', 'bin', 'cm.js');
describe.each(['binlog', 'triggers'] as const)('bad input in %s mode', (mode: CaptureModeSetting) => {
  const missing = uniqueName('no_such_company');
  /** A second company whose schema name needs quoting everywhere: a quote, a backtick, a space, unicode. */
  const oddSchema = `${uniqueName('bi')} ü'q\`s`;
  const ODD_TABLE = `quo"te 'x' ü\`t`;
  const ODD_COL = 'va"l `ü`';
  // Unique (the dev server is shared by every test file), each with one character the rule refuses.
  const badNames = [`${uniqueName('acme')} corp`, `${uniqueName('a')}\`b`, `${uniqueName('o')}'brien`, `${uniqueName('x')}_ünïcødé`];

  const f = tenantFixture(`bad_${mode.slice(0, 3)}`, {
    source: 'onprem',
    cleanup: async (f) => {
      for (const t of badNames) await tenantHandle(f.client, t).terminate('test done').catch(() => undefined);
      await dropCaptureFor(f.pool, oddSchema);
      await dropCaptureFor(f.source, oddSchema);
      await dropSchemas(f.pool, `${f.tenant}_${oddSchema}`);
      await dropSchemas(f.source, oddSchema);
    },
  });
  const { src, tenant, dst } = f;

  function cm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [CM, ...args], {
        env: { ...process.env, TEMPORAL_ADDRESS: settingsFor(f.taskQueue).address, CM_TASK_QUEUE: f.taskQueue },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  const statusJson = async (): Promise<FullStatus> => {
    const out = await cm(['status', tenant, '--json', '--all']);
    expect(out.stderr).toBe('');
    return JSON.parse(out.stdout) as FullStatus;
  };
  const tableOf = (s: FullStatus, table: string, schema = src) => s.tables.find((t) => t.key === `${schema}.${table}`)!;

  /** The "known schemas: a, b, c" list at the end of an unknown-company message. */
  function knownSchemas(message: string): string[] {
    const m = /known schemas: (.*)$/.exec(message.trim());
    if (!m) throw new Error(`no list of known schemas in: ${message}`);
    return m[1].split(', ');
  }

  /** `cm tenant companies` output: its first line, then [source, target] of each company row, as printed. */
  function companyRows(stdout: string): string[][] {
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^Companies of ${tenant}:`));
    // Either "src → dst, …" on the first line or a table with one row per company: read both.
    const inline = /^Companies of [^:]+: (.+)$/.exec(lines[0]);
    if (inline) return inline[1].split(', ').map((pair) => pair.split(' → '));
    return lines
      .map((l) => l.split(/[│|]/).map((c) => c.trim()))
      .filter((cells) => cells.length > 3 && cells[1] !== 'Company' && cells[1] !== '')
      .map((cells) => [cells[1], cells[2]]);
  }

  /** Events in the tenant workflow's history that belong to updates, by update name. */
  async function updateEvents(): Promise<{ total: number; names: string[] }> {
    const { events } = await tenantHandle(f.client, tenant).fetchHistory();
    const names = (events ?? []).flatMap((e) => {
      const accepted = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name;
      const rejected = (e as { workflowExecutionUpdateRejectedEventAttributes?: { rejectedRequest?: { input?: { name?: string } } } })
        .workflowExecutionUpdateRejectedEventAttributes?.rejectedRequest?.input?.name;
      return [accepted, rejected].filter((n): n is string => !!n);
    });
    return { total: events?.length ?? 0, names };
  }

  beforeAll(async () => {
    ensureBuilt(); // the `cm` binary runs dist/
    const p = f.source;
    await p.query(`CREATE SCHEMA ${src}`);
    await p.query(`CREATE TABLE ${src}.item (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL) ENGINE=InnoDB`);
    await p.query(`INSERT INTO ${src}.item VALUES ?`, [Array.from({ length: 50 }, (_, i) => [i + 1, `item ${i + 1}`])]);
    // No primary key, and two identical rows: both must arrive.
    await p.query(`CREATE TABLE ${src}.nokey (txt VARCHAR(20) NOT NULL, n INT NULL) ENGINE=InnoDB`);
    await p.query(`INSERT INTO ${src}.nokey VALUES ('a', 1), ('a', 1), ('b', 2)`);
    await p.query(`CREATE TABLE ${src}.zero_dates (id INT PRIMARY KEY, d DATE NOT NULL, note VARCHAR(20) NOT NULL) ENGINE=InnoDB`);
    await p.query(`CREATE TABLE ${src}.narrow (id INT PRIMARY KEY, name VARCHAR(10) NOT NULL) ENGINE=InnoDB`);
    await p.query(`INSERT INTO ${src}.narrow VALUES (1, 'short'), (2, 'tiny'), (3, 'ten chars!')`);
    await p.query(`CREATE TABLE ${qualified(src, ODD_TABLE)} (${id('k`ey')} VARCHAR(10) PRIMARY KEY, ${id(ODD_COL)} VARCHAR(40) NOT NULL) ENGINE=InnoDB`);
    await p.query(`INSERT INTO ${qualified(src, ODD_TABLE)} VALUES ('a', 'ä \` " \\' x'), ('b', '😀')`);
    const lax = await p.getConnection();
    try {
      await lax.query("SET SESSION sql_mode = ''"); // what an old on-premises server accepted
      await lax.query(`INSERT INTO ${src}.zero_dates VALUES (1, '2024-01-01', 'fine'), (2, '0000-00-00', 'zero date'), (3, '2024-02-02', 'fine'), (4, '2024-02-00', 'zero day')`);
    } finally {
      lax.release();
    }
    await p.query(`CREATE SCHEMA ${id(oddSchema)}`);
    await p.query(`CREATE TABLE ${qualified(oddSchema, 'ledger')} (id INT PRIMARY KEY, amount DECIMAL(10,2) NOT NULL) ENGINE=InnoDB`);
    await p.query(`INSERT INTO ${qualified(oddSchema, 'ledger')} VALUES (1, 1.50), (2, 2.50)`);
  });

  it('item 1: an unknown company at tenant creation fails setup with the reason, creates nothing, and fixing the companies recovers', async () => {
    const created = await cm(['tenant', 'create', tenant, '--source', 'onprem', '--capture', mode, '--company', src, '--company', missing]);
    expect(created.code).toBe(1);
    expect(created.stderr).toBe('');
    const lines = created.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`Tenant ${tenant} created.`);
    expect(lines[1]).toMatch(new RegExp(`^Setup failed: unknown company '${missing}': no such schema on the source; known schemas: `));
    // The list helps: it names the schemas that do exist (the valid company among them), not system or cm_ ones.
    const known = knownSchemas(lines[1]);
    expect(known).toContain(src);
    expect(known).not.toContain(missing);
    expect(known.filter((s) => /^(mysql|information_schema|performance_schema|sys|cm_.*)$/.test(s))).toEqual([]);

    // Nothing half-done: no target schema, no change capture on the valid company's source.
    const [schemas] = await f.pool.query<RowDataPacket[]>('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [dst]);
    expect(schemas).toEqual([]);
    const [triggers] = await f.source.query<RowDataPacket[]>('SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?', [src]);
    expect(triggers).toEqual([]);

    const status = await cm(['status', tenant]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Status: Setup Failed');
    expect(status.stdout).toContain(`Setup error: unknown company '${missing}': no such schema on the source; known schemas: `);
    const run = await cm(['run', tenant]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^cm: run refused: setup failed: unknown company '${missing}': no such schema on the source; known schemas: .*\\n$`));

    const fixed = await cm(['tenant', 'companies', tenant, '--company', src]);
    expect(fixed.stderr).toBe('');
    expect(fixed.code).toBe(0);
    expect(companyRows(fixed.stdout)).toEqual([[src, dst]]);
    expect((await statusJson()).status).toBe('Ready');
  });

  it('items 2, 3, 4, 5: the first run copies what fits and reports the rest per table, with the message', async () => {
    // Schema drift after setup: the source column widened, the target's did not: a value that does not fit.
    await f.source.query(`ALTER TABLE ${src}.narrow MODIFY name VARCHAR(40) NOT NULL`);
    await f.source.query(`INSERT INTO ${src}.narrow VALUES (4, 'a name far longer than ten')`);

    const run = await cm(['run', tenant, '--wait', '--reason', 'bad input']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0); // completed, with warnings
    const out = run.stdout.split('\n');
    expect(out[0]).toBe(`Run #1 started (full copy): cloud-migration/${tenant}/run-1`);
    expect(out).toEqual(expect.arrayContaining([
      `✔ ${src}.item: Successful, 50 rows`,
      `! ${src}.nokey: Warning, 3 rows`,
      `! ${src}.zero_dates: Warning, 2 rows`,
      `✔ ${src}.narrow: Successful, 5 rows`, // 4 copied, and the insert its capture logged
      `✔ ${src}.${ODD_TABLE}: Successful, 2 rows`,
      'Run #1 Completed: 5 tables, 62 rows',
    ]));

    const s = await statusJson();
    expect(s.status).toBe('Upgrade Pending');
    expect(s.tiles).toMatchObject({ successful: 3, warnings: 2, failed: 0, notMigrated: 0 });
    // 2: the key-less table arrives whole (duplicates included), marked Warning with the reason.
    expect(tableOf(s, 'nokey')).toMatchObject({ status: 'Warning', fullLoadRows: 3, errors: 0, errorMessage: NO_PRIMARY_KEY_WARNING });
    expect(s.findings).toContainEqual({ severity: 'warning', table: `${src}.nokey`, message: NO_PRIMARY_KEY_WARNING });
    // 4: zero dates: counted, the first message given, the rest of the table there.
    expect(tableOf(s, 'zero_dates')).toMatchObject({
      status: 'Warning', fullLoadRows: 2, errors: 2,
      errorMessage: `2 rows rejected by the target; first: Incorrect date value: '0000-00-00' for column \`${dst}\`.\`zero_dates\`.\`d\` at row 1`,
    });
    expect(s.findings).toContainEqual({
      severity: 'warning', table: `${src}.zero_dates`,
      message: '2 rows have a zero date in column "d"; the target rejects them and they are counted as errors until fixed at the source',
    });
    // 5: a value too long for the target column as setup created it: the run follows the source's
    // widened column first (issue 10), so the value arrives whole.
    expect(tableOf(s, 'narrow')).toMatchObject({
      status: 'Successful', fullLoadRows: 4, errors: 0,
      schemaChange: 'run #1: column name varchar(10) → varchar(40): applied to the target table in place',
    });
    // 3: odd names come back exactly as they are.
    expect(tableOf(s, ODD_TABLE)).toMatchObject({ table: ODD_TABLE, sourceSchema: src, targetSchema: dst, status: 'Successful', fullLoadRows: 2 });

    // The same as the operator reads it on the page and in the Setup Checklist.
    const page = await cm(['status', tenant, '--all']);
    expect(page.code).toBe(0);
    // The table's row (with its status), not its line among the findings or the schema changes.
    const row = (table: string) => page.stdout.split('\n').find((l) => l.includes(` ${src}.${table} `) && / (Successful|Warning|Failed) /.test(l)) ?? `(no row for ${table})`;
    expect(row('zero_dates')).toMatch(/ Warning .* 2 rows rejected by the target; first: Incorrect date value: '0000-00-00' for column /);
    expect(row('narrow')).toMatch(/ Successful /);
    expect(row('nokey')).toContain(NO_PRIMARY_KEY_WARNING);
    expect(row(ODD_TABLE)).toMatch(/ Successful /);
    const checklist = await cm(['checklist', tenant, '--json']);
    expect(JSON.parse(checklist.stdout)).toEqual(expect.arrayContaining([
      { kind: 'rows rejected', object: `${src}.zero_dates`, action: `fix them at the source; the next run brings them: ${tableOf(s, 'zero_dates').errorMessage}` },
    ]));

    // Nothing else lost: every row that fits is on the target.
    await expectSameAcross(f.source, [src, 'item'], f.pool, [dst, 'item']);
    await expectSameAcross(f.source, [src, 'nokey'], f.pool, [dst, 'nokey']);
    await expectSameAcross(f.source, [src, ODD_TABLE], f.pool, [dst, ODD_TABLE]);
    const [dates] = await f.pool.query<RowDataPacket[]>(`SELECT id FROM ${dst}.zero_dates ORDER BY id`);
    expect(dates.map((r) => r.id)).toEqual([1, 3]);
    const [names] = await f.pool.query<RowDataPacket[]>(`SELECT id FROM ${dst}.narrow ORDER BY id`);
    expect(names.map((r) => r.id)).toEqual([1, 2, 3, 4]);
  });

  it('items 4, 5: rows fixed at the source arrive with the next run; a key-less table follows inserts and deletes', async () => {
    await f.source.query(`UPDATE ${src}.zero_dates SET d = '2024-03-03' WHERE id = 2`);
    await f.source.query(`UPDATE ${src}.zero_dates SET d = '2024-02-01' WHERE id = 4`);
    await f.source.query(`UPDATE ${src}.narrow SET name = 'fits now' WHERE id = 4`);
    await f.source.query(`DELETE FROM ${src}.nokey WHERE txt = 'b'`);
    await f.source.query(`INSERT INTO ${src}.nokey VALUES ('c', NULL)`);

    const run = await cm(['run', tenant, '--wait']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Run #2 started \(changes only\)/);
    const s = await statusJson();
    expect(tableOf(s, 'zero_dates')).toMatchObject({ status: 'Successful', errors: 0, updates: 2 });
    expect(tableOf(s, 'zero_dates').errorMessage).toBeUndefined();
    // The widened column was followed by run #1: the row changed since arrives like any other.
    expect(tableOf(s, 'narrow')).toMatchObject({ status: 'Successful', errors: 0, updates: 1 });
    expect(tableOf(s, 'nokey')).toMatchObject({ status: 'Warning', fullLoadRows: 3, errorMessage: NO_PRIMARY_KEY_WARNING });
    for (const t of ['item', 'nokey', 'zero_dates', 'narrow', ODD_TABLE]) await expectSameAcross(f.source, [src, t], f.pool, [dst, t]);
    const [rows] = await f.pool.query<RowDataPacket[]>(`SELECT id, name FROM ${dst}.narrow ORDER BY id`);
    expect(rows.map((r) => [r.id, r.name])).toEqual([[1, 'short'], [2, 'tiny'], [3, 'ten chars!'], [4, 'fits now']]);
    expect((await cm(['checklist', tenant, '--json'])).stdout).not.toMatch(/rows rejected/);
  });

  it('item 1: an unknown company at company configuration is refused with the reason and changes nothing', async () => {
    const before = await updateEvents();
    const refused = await cm(['tenant', 'companies', tenant, '--company', src, '--company', missing]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(new RegExp(`^cm: companies refused: unknown company '${missing}': no such schema on the source; known schemas: .*\\n$`));
    expect(knownSchemas(refused.stderr)).toContain(src);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);

    const s = await statusJson();
    expect(s.companies).toEqual([{ source: src, target: dst }]);
    expect(s.status).toBe('Upgrade Pending');
    expect(await updateEvents()).toEqual(before); // a refusal leaves no trace in history
    expect(await count(f.pool, dst, 'item')).toBe(50);
  });

  it('item 3: a company schema with a quote, a backtick, a space and unicode is set up, copied and shown as it is', async () => {
    const target = `${tenant}_${oddSchema}`;
    const configured = await cm(['tenant', 'companies', tenant, '--company', src, '--company', oddSchema]);
    expect(configured.stderr).toBe('');
    expect(companyRows(configured.stdout)).toEqual([[src, dst], [oddSchema, target]]);
    const run = await cm(['run', tenant, '--wait']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain(`✔ ${oddSchema}.ledger: Successful, 2 rows`);
    await expectSameAcross(f.source, [oddSchema, 'ledger'], f.pool, [target, 'ledger']);
    expect(tableOf(await statusJson(), 'ledger', oddSchema)).toMatchObject({ status: 'Successful', sourceSchema: oddSchema, targetSchema: target });
    const page = await cm(['status', tenant, '--company', oddSchema]);
    expect(page.stdout).toContain(`Companies (source schema → target schema): ${src} → ${dst}, ${oddSchema} → ${target}\n`);
    const row = page.stdout.split('\n').find((l) => l.includes(` ${oddSchema}.ledger `));
    expect(row).toMatch(/ Successful /);
  });

  it('item 3: a tenant name with a space, a backtick, a quote or unicode is refused before anything starts, with the rule', async () => {
    for (const name of badNames) {
      const out = await cm(['tenant', 'create', name, '--source', 'onprem', '--capture', mode, '--company', src]);
      expect({ name, code: out.code, stdout: out.stdout, stderr: out.stderr }).toEqual({
        name, code: 1, stdout: '', stderr: 'cm: invalid tenant: tenant: use letters, digits, _ . - (at most 64)\n',
      });
      await expect(tenantHandle(f.client, name).describe()).rejects.toThrow(/not found/i);
    }
  });

  it('item 8: updates with a missing or an unknown field are refused by the validator, with its message, and leave no trace', async () => {
    const handle = tenantHandle(f.client, tenant);
    const before = await updateEvents();
    const rowsBefore = await count(f.pool, dst, 'item');
    const refusal = async (promise: Promise<unknown>): Promise<string> => {
      const err = await promise.then(() => undefined, (e: unknown) => e);
      if (!err) throw new Error('the update was accepted');
      return String((err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message);
    };
    const cases: [string, Promise<unknown>, string][] = [
      ['resetCloudData without confirm', handle.executeUpdate(resetCloudDataUpdate, { args: [{ requestedBy: 'jest' }], updateId: `bi-1-${tenant}` }),
        'Reset Cloud Data empties every migrated table of the target: send {"confirm": true} to confirm'],
      ['resetCloudData with a misspelt confirm', handle.executeUpdate(resetCloudDataUpdate, { args: [{ confirmed: true } as never], updateId: `bi-2-${tenant}` }),
        'invalid request: input: Unrecognized key: "confirmed"'],
      ['resetCloudData with confirm "yes"', handle.executeUpdate(resetCloudDataUpdate, { args: [{ confirm: 'yes' } as never], updateId: `bi-3-${tenant}` }),
        'invalid request: confirm: Invalid input: expected boolean, received string'],
      ['configureCompanies without companies', handle.executeUpdate(configureCompaniesUpdate, { args: [{ requestedBy: 'jest' } as never], updateId: `bi-4-${tenant}` }),
        'invalid request: companies: Invalid input: expected array, received undefined'],
      ['configureCompanies with a misspelt target', handle.executeUpdate(configureCompaniesUpdate, { args: [{ companies: [{ source: src, targt: 'x' }] } as never], updateId: `bi-5-${tenant}` }),
        'invalid request: companies.0: Unrecognized key: "targt"'],
      ['runDataUpgradeNow with a misspelt to', handle.executeUpdate(runDataUpgradeNowUpdate, { args: [{ too: '2.0' } as never], updateId: `bi-6-${tenant}` }),
        'invalid request: input: Unrecognized key: "too"'],
      ['runMigrationNow with a number for requestedBy', handle.executeUpdate(runMigrationNowUpdate, { args: [{ requestedBy: 7 } as never], updateId: `bi-7-${tenant}` }),
        'invalid request: requestedBy: Invalid input: expected string, received number'],
      // Requests name a version; a path to steps (what stepsDir once carried) is refused, saying so.
      ['runDataUpgradeNow with a steps path', handle.executeUpdate(runDataUpgradeNowUpdate, { args: [{ stepsDir: '../../tmp/steps' } as never], updateId: `bi-8-${tenant}` }),
        `invalid request: stepsDir: ${PATHS_REFUSED}`],
      ['runDataUpgradeNow with a path for to', handle.executeUpdate(runDataUpgradeNowUpdate, { args: [{ to: '/tmp/2.0' }], updateId: `bi-9-${tenant}` }),
        `invalid request: to: ${PATHS_REFUSED}`],
    ];
    const seen: Record<string, string> = {};
    for (const [what, promise] of cases) seen[what] = await refusal(promise);
    expect(seen).toEqual(Object.fromEntries(cases.map(([what, , message]) => [what, message])));

    // The CLI says the same, as a usage error (exit 2): nothing is sent.
    const reset = await cm(['reset', tenant]);
    expect({ code: reset.code, stdout: reset.stdout, stderr: reset.stderr }).toEqual({
      code: 2, stdout: '', stderr: 'error: reset refused: Reset Cloud Data empties every migrated table of the target: add --confirm to go ahead\n(add --help for usage)\n',
    });
    // --steps is a usage error: nothing is sent.
    const steps = await cm(['upgrade', tenant, '--steps', '/tmp/steps']);
    expect({ code: steps.code, stdout: steps.stdout, stderr: steps.stderr }).toEqual({
      code: 2, stdout: '', stderr: `error: --steps is refused: ${PATHS_REFUSED}\n(add --help for usage)\n`,
    });

    // No trace: not one event more in the history, no update of these ids; the target untouched.
    expect(await updateEvents()).toEqual(before);
    for (let i = 1; i <= cases.length; i++) {
      await expect(handle.getUpdateHandle(`bi-${i}-${tenant}`).result()).rejects.toThrow();
    }
    expect(await count(f.pool, dst, 'item')).toBe(rowsBefore);
    expect((await getStatus(f.client, tenant)).status).toBe('Upgrade Pending');

    // And the tenant still works: a run goes through.
    await f.source.query(`INSERT INTO ${src}.item VALUES (51, 'after the refusals')`);
    const started = await runMigrationNow(f.client, tenant, { requestedBy: 'jest' });
    expect((await waitForRun(f.client, tenant, started)).status).toBe('Completed');
    expect(await count(f.pool, dst, 'item')).toBe(51);
  });
});
