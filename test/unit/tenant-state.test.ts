import {
  applyAssessment, applyRunResult, applyVerification, busyWith, initialState, recordRefusal, refuseCompanies, refuseDisable, refuseHotfix, refuseKeyReset, refuseReset,
  refuseRun, refuseSchedule, refuseSnapshot, refuseUpgrade, refuseVerify, runKind,
  startRunEntry, tiles,
  type TenantState,
} from '../../workflows/tenant-state';
import { DEFAULT_COPY } from '../../lib/constants';
import type { Assessment, RunLogEntry, TablePlan, TableRunResult, TableState, TableVerification, TenantConfig, VerificationLogEntry } from '../../lib/types';

function plan(name: string, over: Partial<TablePlan> = {}): TablePlan {
  return {
    key: `cronus.${name}`, sourceSchema: 'cronus', targetSchema: 'acme_cronus', table: name,
    hasPrimaryKey: true, splittable: true, estimatedRows: 100, ...over,
  };
}
function tableState(name: string, over: Partial<TableState> = {}): TableState {
  return {
    ...plan(name), status: 'Not Started', fullLoadRows: 0, inserts: 0, updates: 0, deletes: 0, errors: 0, durationMs: 0, fullLoadDone: false,
    ...over,
  };
}
function readyState(over: Partial<TenantState> = {}): TenantState {
  return { ...initialState(), status: 'Ready', setupDone: true, setupPending: false, sourceSchemas: ['cronus', 'fabrikam'], ...over };
}
function verificationEntry(number: number, over: Partial<VerificationLogEntry> = {}): VerificationLogEntry {
  return {
    number, workflowId: `cloud-migration/acme/verify-${number}`, status: 'In Progress', repair: false, afterRun: 1,
    startedAt: '2024-01-01T00:30:00.000Z', tables: 1, ...over,
  };
}
function logEntry(run: number, over: Partial<RunLogEntry> = {}): RunLogEntry {
  return {
    run, workflowId: `cloud-migration/acme/run-${run}`, kind: 'full', status: 'In Progress', trigger: 'update',
    startedAt: '2024-01-01T00:00:00.000Z', tables: 2, tablesDone: 0, rows: 0, ...over,
  };
}
function result(key: string, over: Partial<TableRunResult> = {}): TableRunResult {
  return {
    key, status: 'Successful', fullLoadRows: 0, inserts: 0, updates: 0, deletes: 0, errors: 0, durationMs: 10, fullLoadDone: true, ...over,
  };
}
const assessment = (tables: TablePlan[], over: Partial<Assessment> = {}): Assessment => ({ sourceSchemas: ['cronus'], tables, findings: [], ...over });

describe('initialState', () => {
  it('starts in setup with nothing recorded', () => {
    expect(initialState()).toEqual({
      status: 'Setup In Progress', environmentState: 'Active', setupDone: false, setupPending: true,
      sourceSchemas: [], tables: {}, findings: [], log: [], refusals: [], nextRun: 1,
      dataVersion: '1.0', upgrades: [], nextUpgrade: 1, hotfixes: [], verifications: [], nextVerification: 1,
    });
    expect(initialState('3.1').dataVersion).toBe('3.1');
  });
});

describe('refuseRun', () => {
  it('allows a run when ready and idle', () => {
    expect(refuseRun(readyState())).toBeUndefined();
  });

  it('refuses while a data upgrade holds the fence, naming the holder', () => {
    expect(refuseRun(readyState({ fence: { holder: 'upgrade-42' } }))).toBe(
      'a data upgrade (upgrade-42) holds the fence: replication is refused until it ends',
    );
  });

  it('refuses when setup failed, with the setup error', () => {
    expect(refuseRun(readyState({ setupError: 'access denied' }))).toBe('setup failed: access denied');
  });

  it('refuses before setup is done, and while a new setup is pending', () => {
    const msg = 'setup has not completed yet: wait until the status is Ready';
    expect(refuseRun(initialState())).toBe(msg);
    expect(refuseRun(readyState({ setupDone: false }))).toBe(msg);
    expect(refuseRun(readyState({ setupPending: true }))).toBe(msg);
  });

  it('refuses while a run is in progress, naming it (run #0 included)', () => {
    expect(refuseRun(readyState({ currentRun: 7 }))).toBe('run #7 is already in progress');
    expect(refuseRun(readyState({ currentRun: 0 }))).toBe('run #0 is already in progress');
  });

  it('refuses while a requested run is starting', () => {
    expect(refuseRun(readyState({ pendingRun: { trigger: 'signal' } }))).toBe('a run was just requested and is starting');
  });

  it('gives the fence precedence over every other reason', () => {
    const s = readyState({ fence: { holder: 'u' }, setupError: 'x', setupDone: false, currentRun: 1, pendingRun: { trigger: 'update' } });
    expect(refuseRun(s)).toMatch(/^a data upgrade \(u\)/);
    expect(refuseRun({ ...s, fence: undefined })).toBe('setup failed: x');
  });
});

describe('refuseCompanies', () => {
  it('allows known source schemas', () => {
    expect(refuseCompanies(readyState(), [{ source: 'cronus', target: 'a' }, { source: 'fabrikam', target: 'b' }])).toBeUndefined();
  });

  it('names every unknown company and the known schemas', () => {
    expect(refuseCompanies(readyState(), [{ source: 'cronus', target: 'a' }, { source: 'nope', target: 'b' }, { source: 'gone', target: 'c' }])).toBe(
      "unknown company 'nope', 'gone': no such schema on the source; known schemas: cronus, fabrikam",
    );
  });

  it("says 'none' when the source has no schemas", () => {
    expect(refuseCompanies(readyState({ sourceSchemas: [] }), [{ source: 'x', target: 'y' }])).toBe(
      "unknown company 'x': no such schema on the source; known schemas: none",
    );
  });

  it('refuses during a run or a pending run, before looking at the companies', () => {
    const msg = 'a run is in progress: change the companies after it ends';
    expect(refuseCompanies(readyState({ currentRun: 3 }), [{ source: 'cronus', target: 'a' }])).toBe(msg);
    expect(refuseCompanies(readyState({ pendingRun: { trigger: 'update' } }), [{ source: 'nope', target: 'a' }])).toBe(msg);
  });
});

describe('recordRefusal', () => {
  it('appends entries in order', () => {
    const s = readyState();
    recordRefusal(s, { at: 't1', action: 'runMigrationNow', reason: 'r1', requestedBy: 'ann' });
    recordRefusal(s, { at: 't2', action: 'runMigrationNow (signal)', reason: 'r2' });
    expect(s.refusals).toEqual([
      { at: 't1', action: 'runMigrationNow', reason: 'r1', requestedBy: 'ann' },
      { at: 't2', action: 'runMigrationNow (signal)', reason: 'r2' },
    ]);
  });

  it('keeps what a refused request carried bounded: a 1.5 MB requestedBy is cut to what the schema allows, saying how long it was', () => {
    const s = readyState();
    for (let i = 0; i < 4; i++) recordRefusal(s, { at: `t${i}`, action: 'runMigrationNow (signal)', reason: 'x'.repeat(1_500_000), requestedBy: 'y'.repeat(1_500_000) });
    expect(JSON.stringify(s.refusals).length).toBeLessThan(20_000);
    expect(s.refusals[0].requestedBy).toMatch(/^y{200}… \(1500000 characters\)$/);
    expect(s.refusals[0].reason).toMatch(/^x{2000}… \(1500000 characters\)$/);
  });

  it('keeps only the latest 50', () => {
    const s = readyState();
    for (let i = 1; i <= 50; i++) recordRefusal(s, { at: `t${i}`, action: 'a', reason: `r${i}` });
    expect(s.refusals).toHaveLength(50);
    expect(s.refusals[0].reason).toBe('r1');
    for (let i = 51; i <= 120; i++) recordRefusal(s, { at: `t${i}`, action: 'a', reason: `r${i}` });
    expect(s.refusals).toHaveLength(50);
    expect(s.refusals[0].reason).toBe('r71');
    expect(s.refusals[49].reason).toBe('r120');
  });
});

describe('applyAssessment', () => {
  it('adds new tables as Not Started, or Not Migrated when they have a reason, with zeroed stats', () => {
    const s = readyState();
    const findings = [{ severity: 'warning' as const, table: 'cronus.log', message: 'no primary key' }];
    applyAssessment(s, assessment([plan('item'), plan('user', { notMigratedReason: 'by design' })], { sourceSchemas: ['cronus', 'x'], findings }));
    expect(s.sourceSchemas).toEqual(['cronus', 'x']);
    expect(s.findings).toEqual(findings);
    expect(s.tables).toEqual({
      'cronus.item': tableState('item'),
      'cronus.user': tableState('user', { notMigratedReason: 'by design', status: 'Not Migrated' }),
    });
  });

  it('keeps the stats and status of known tables, and takes the new plan', () => {
    const known = tableState('item', {
      status: 'Successful', fullLoadRows: 500, inserts: 3, updates: 4, deletes: 5, errors: 0, durationMs: 99,
      fullLoadDone: true, lastRun: 2, lastSyncPosition: 'change log seq 9',
    });
    const s = readyState({ tables: { 'cronus.item': known } });
    applyAssessment(s, assessment([plan('item', { estimatedRows: 777 })]));
    expect(s.tables['cronus.item']).toEqual({ ...known, estimatedRows: 777 });
  });

  it('turns a known table Not Migrated when it gets a reason, and back to Not Started when the reason is gone', () => {
    const s = readyState({ tables: { 'cronus.geo': tableState('geo', { status: 'Successful', fullLoadDone: true, fullLoadRows: 5 }) } });
    applyAssessment(s, assessment([plan('geo', { notMigratedReason: 'unsupported column type point in column p' })]));
    expect(s.tables['cronus.geo'].status).toBe('Not Migrated');
    expect(s.tables['cronus.geo'].notMigratedReason).toBe('unsupported column type point in column p');

    applyAssessment(s, assessment([plan('geo')]));
    expect(s.tables['cronus.geo'].status).toBe('Not Started');
    // The reason must be gone too, or the table stays out of every run.
    expect(s.tables['cronus.geo'].notMigratedReason).toBeUndefined();
    expect('notMigratedReason' in s.tables['cronus.geo']).toBe(false);
    expect(runKind(s)).toBe('delta');
    expect(s.tables['cronus.geo'].fullLoadRows).toBe(5);
  });

  it('drops a standing warning that no longer applies, and takes a new one', () => {
    const s = readyState({ tables: { 'cronus.log': tableState('log', { warning: 'no primary key', status: 'Warning' }) } });
    applyAssessment(s, assessment([plan('log')]));
    expect('warning' in s.tables['cronus.log']).toBe(false);
    applyAssessment(s, assessment([plan('log', { warning: 'another' })]));
    expect(s.tables['cronus.log'].warning).toBe('another');
  });

  it('removes tables the assessment no longer lists', () => {
    const s = readyState({ tables: { 'cronus.a': tableState('a'), 'cronus.b': tableState('b', { status: 'Successful' }) } });
    applyAssessment(s, assessment([plan('b')]));
    expect(Object.keys(s.tables)).toEqual(['cronus.b']);
    expect(s.tables['cronus.b'].status).toBe('Successful');
  });

  it('starts over a table remapped to another target schema (nothing was loaded there)', () => {
    const s = readyState({
      tables: { 'cronus.item': tableState('item', { status: 'Successful', fullLoadDone: true, fullLoadRows: 500, inserts: 3, lastRun: 1 }) },
    });
    applyAssessment(s, assessment([plan('item', { targetSchema: 'elsewhere' })]));
    expect(s.tables['cronus.item']).toEqual(tableState('item', { targetSchema: 'elsewhere' }));
    expect(runKind(s)).toBe('full');
  });
});

describe('runKind', () => {
  it('is full while a migratable table with a primary key has no full load', () => {
    expect(runKind(readyState({ tables: { a: tableState('a', { fullLoadDone: true }), b: tableState('b') } }))).toBe('full');
  });
  it('is delta once every such table is loaded', () => {
    expect(runKind(readyState({ tables: { a: tableState('a', { fullLoadDone: true }), b: tableState('b', { fullLoadDone: true }) } }))).toBe('delta');
  });
  it('ignores tables without a primary key (always copied in full anyway)', () => {
    expect(runKind(readyState({ tables: { a: tableState('a', { fullLoadDone: true }), b: tableState('b', { hasPrimaryKey: false }) } }))).toBe('delta');
  });
  it('ignores tables that are not migrated', () => {
    expect(runKind(readyState({ tables: { a: tableState('a', { fullLoadDone: true }), u: tableState('u', { notMigratedReason: 'x' }) } }))).toBe('delta');
  });
  it('is delta with no tables', () => {
    expect(runKind(readyState())).toBe('delta');
  });
});

describe('startRunEntry', () => {
  it('logs the run and makes it current', () => {
    const s = readyState();
    startRunEntry(s, logEntry(4));
    expect(s.currentRun).toBe(4);
    expect(s.log).toEqual([logEntry(4)]);
  });
});

describe('applyRunResult', () => {
  function twoTables(): TenantState {
    const s = readyState({
      tables: {
        'cronus.new': tableState('new'),
        'cronus.done': tableState('done', {
          status: 'Successful', fullLoadDone: true, fullLoadRows: 1000, inserts: 10, updates: 20, deletes: 30, errors: 2,
          lastSyncPosition: 'change log seq 5', lastRun: 1, errorMessage: 'old',
        }),
        'cronus.nopk': tableState('nopk', { hasPrimaryKey: false, splittable: false, fullLoadDone: true, fullLoadRows: 70, status: 'Successful', lastRun: 1 }),
        'cronus.idle': tableState('idle', { status: 'Successful', fullLoadDone: true, fullLoadRows: 9, lastRun: 1 }),
      },
    });
    startRunEntry(s, logEntry(1, { status: 'Completed', rows: 1, endedAt: 'e1', tablesDone: 1 }));
    startRunEntry(s, logEntry(2));
    return s;
  }

  it('folds per-table results: full loads replace fullLoadRows, changes accumulate', () => {
    const s = twoTables();
    applyRunResult(
      s,
      {
        run: 2, status: 'Completed',
        tables: [
          result('cronus.new', { fullLoadRows: 400, inserts: 1, updates: 2, deletes: 0, durationMs: 50, lastSyncPosition: 'change log seq 3' }),
          result('cronus.done', { fullLoadRows: 0, inserts: 1, updates: 2, deletes: 3, errors: 1, status: 'Warning', errorMessage: 'new' }),
          result('cronus.nopk', { fullLoadRows: 75 }),
        ],
      },
      '2024-01-02T00:00:00.000Z',
    );
    expect(s.tables['cronus.new']).toEqual(
      tableState('new', {
        status: 'Successful', fullLoadRows: 400, inserts: 1, updates: 2, deletes: 0, errors: 0, durationMs: 50,
        lastSyncPosition: 'change log seq 3', fullLoadDone: true, lastRun: 2,
      }),
    );
    expect(s.tables['cronus.done']).toEqual(
      tableState('done', {
        status: 'Warning', fullLoadDone: true, fullLoadRows: 1000, inserts: 11, updates: 22, deletes: 33, errors: 1, durationMs: 10,
        lastSyncPosition: 'change log seq 5', lastRun: 2, errorMessage: 'new',
      }),
    );
    // No primary key: every run is a full load, so its row count is replaced.
    expect(s.tables['cronus.nopk'].fullLoadRows).toBe(75);
    expect(s.tables['cronus.nopk'].lastRun).toBe(2);
    // A table absent from the result is untouched.
    expect(s.tables['cronus.idle']).toEqual(tableState('idle', { status: 'Successful', fullLoadDone: true, fullLoadRows: 9, lastRun: 1 }));

    expect(s.currentRun).toBeUndefined();
    expect(s.log[0]).toEqual(logEntry(1, { status: 'Completed', rows: 1, endedAt: 'e1', tablesDone: 1 }));
    expect(s.log[1]).toEqual(
      logEntry(2, { status: 'Completed', endedAt: '2024-01-02T00:00:00.000Z', tablesDone: 3, rows: 400 + 1 + 2 + 1 + 2 + 3 + 75, failure: undefined }),
    );
  });

  it('a failed table takes the status and message of the result, and loses its full load', () => {
    const s = twoTables();
    applyRunResult(s, { run: 2, status: 'Failed', tables: [result('cronus.done', { status: 'Failed', fullLoadDone: false, errorMessage: 'gone' })], failure: 'x' }, 'e2');
    expect(s.tables['cronus.done'].status).toBe('Failed');
    expect(s.tables['cronus.done'].fullLoadDone).toBe(false);
    expect(s.tables['cronus.done'].errorMessage).toBe('gone');
    expect(s.log[1].failure).toBe('x');
    expect(s.log[1].status).toBe('Failed');
  });

  it('ignores results for tables it does not know (not counted in rows)', () => {
    const s = twoTables();
    applyRunResult(s, { run: 2, status: 'Completed', tables: [result('cronus.dropped', { inserts: 5, fullLoadRows: 5 })] }, 'e');
    expect(s.tables['cronus.dropped']).toBeUndefined();
    expect(s.log[1].rows).toBe(0);
  });

  it('records a run that failed before any table, and clears currentRun', () => {
    const s = twoTables();
    const before = JSON.parse(JSON.stringify(s.tables));
    applyRunResult(s, { run: 2, status: 'Failed', tables: [], failure: 'worker gone' }, 'e');
    expect(s.tables).toEqual(before);
    expect(s.log[1]).toEqual(logEntry(2, { status: 'Failed', endedAt: 'e', tablesDone: 0, rows: 0, failure: 'worker gone' }));
    expect(s.currentRun).toBeUndefined();
  });

  it('still clears currentRun when the run has no log entry', () => {
    const s = readyState({ currentRun: 9 });
    applyRunResult(s, { run: 9, status: 'Completed', tables: [] }, 'e');
    expect(s.currentRun).toBeUndefined();
    expect(s.log).toEqual([]);
  });
});

describe('tiles', () => {
  it('counts tables by status', () => {
    const s = readyState({
      tables: {
        a: tableState('a', { status: 'Successful' }),
        b: tableState('b', { status: 'Successful' }),
        c: tableState('c', { status: 'Warning' }),
        d: tableState('d', { status: 'Failed' }),
        e: tableState('e', { status: 'Not Migrated' }),
        f: tableState('f', { status: 'Not Migrated' }),
        g: tableState('g', { status: 'Not Migrated' }),
        h: tableState('h', { status: 'Not Started' }),
        i: tableState('i', { status: 'In Progress' }),
      },
    });
    expect(tiles(s)).toEqual({ successful: 2, warnings: 1, failed: 1, notMigrated: 3, verified: 0, nextScheduledRun: null });
    expect(tiles(s, '2024-05-01T00:00:00Z').nextScheduledRun).toBe('2024-05-01T00:00:00Z');
  });
  it('is all zero with no tables', () => {
    expect(tiles(initialState())).toEqual({ successful: 0, warnings: 0, failed: 0, notMigrated: 0, verified: 0, nextScheduledRun: null });
  });
});

describe('refuseUpgrade', () => {
  const replicated = (over: Partial<TenantState> = {}): TenantState =>
    readyState({ status: 'Upgrade Pending', log: [logEntry(1, { status: 'Completed' })], ...over });

  it('allows an upgrade after a completed run, when nothing else is going on', () => {
    expect(refuseUpgrade(replicated())).toBeUndefined();
    expect(refuseUpgrade(replicated({ status: 'Upgrade pending' }))).toBeUndefined(); // after a restored failure
  });
  it('refuses until a replication run has completed', () => {
    expect(refuseUpgrade(readyState({ log: [logEntry(1, { status: 'Failed' })] }))).toBe(
      'replication has not completed yet: a data upgrade needs at least one completed migration run',
    );
  });
  it('refuses while a run is in progress or requested, instead of queueing behind it', () => {
    expect(refuseUpgrade(replicated({ currentRun: 2 }))).toBe('run #2 is in progress: a data upgrade needs a complete, quiet copy; start it after the run ends');
    expect(refuseUpgrade(replicated({ pendingRun: { trigger: 'signal' }, nextRun: 3 }))).toMatch(/^run #3 is in progress/);
  });
  it('refuses a second upgrade, an upgraded tenant, a hotfix in flight and a tenant not set up', () => {
    expect(refuseUpgrade(replicated({ currentUpgrade: 1 }))).toBe('data upgrade #1 is already in progress');
    expect(refuseUpgrade(replicated({ status: 'Upgrade completed successfully', dataVersion: '2.0' }))).toBe('the tenant is already upgraded to version 2.0');
    expect(refuseUpgrade(replicated({ hotfixInProgress: 'fix-9' }))).toBe('hotfix fix-9 is being applied: start the upgrade after it ends');
    expect(refuseUpgrade(replicated({ setupDone: false }))).toBe('setup has not completed yet');
  });
  it('makes replication refuse after a successful upgrade', () => {
    expect(refuseRun(replicated({ status: 'Upgrade completed successfully', dataVersion: '2.0' }))).toMatch(
      /^the tenant's data was upgraded to version 2.0: replication from the on-premises version is refused/,
    );
  });
});

describe('refuseHotfix', () => {
  it('refuses under the fence, for unknown schemas, and while another hotfix runs', () => {
    const s = readyState();
    expect(refuseHotfix(s, [], ['acme_cronus'])).toBeUndefined();
    expect(refuseHotfix(s, ['acme_cronus'], ['acme_cronus'])).toBeUndefined();
    expect(refuseHotfix(readyState({ fence: { holder: 'up-1' } }), [], ['acme_cronus'])).toBe('a data upgrade (up-1) holds the fence: hotfixes are refused until it ends');
    expect(refuseHotfix(s, ['mysql'], ['acme_cronus'])).toBe('not a target schema of this tenant: mysql (known: acme_cronus)');
    expect(refuseHotfix(readyState({ hotfixInProgress: 'h' }), [], ['acme_cronus'])).toBe('hotfix h is being applied');
  });
});

describe('actions never overlap work they must not (one busyWith list for all)', () => {
  // A tenant that has completed a run, with history tables: every action would be allowed when idle.
  const idle = (): TenantState =>
    readyState({
      status: 'Upgrade Pending', log: [logEntry(1, { status: 'Completed' })], nextRun: 2,
      tables: { 'cronus.gl_entry': tableState('gl_entry', { history: true, fullLoadDone: true }) },
      verifications: [verificationEntry(1, { afterRun: 1, status: 'Equal', endedAt: '2024-01-01T01:00:00.000Z' })], nextVerification: 2,
    });
  const actions: Record<string, (s: TenantState) => string | undefined> = {
    run: refuseRun,
    upgrade: refuseUpgrade,
    reset: (s) => refuseReset(s, true),
    snapshot: refuseSnapshot,
    hotfix: (s) => refuseHotfix(s, [], ['acme_cronus']),
    companies: (s) => refuseCompanies(s, [{ source: 'cronus', target: 'acme_cronus' }]),
    keyReset: refuseKeyReset,
    schedule: refuseSchedule,
    disable: (s) => refuseDisable(s, false),
    verify: (s) => refuseVerify(s, {}, [{ source: 'cronus', target: 'acme_cronus' }]),
  };
  const work: Record<string, Partial<TenantState>> = {
    'a run starting': { pendingRun: { trigger: 'update' } },
    'a run going': { currentRun: 2 },
    'an upgrade requested, not started yet': { pendingUpgrade: { trigger: 'update' } },
    'an upgrade holding the fence': { currentUpgrade: 1, fence: { holder: 'cloud-migration/acme/upgrade-1' } },
    'setup': { setupPending: true },
    'a hotfix': { hotfixInProgress: 'fix-1' },
    'a reset or snapshot emptying tables': { resetInProgress: true },
    'a disable request': { disableRequest: { trigger: 'update', skipFinalRun: true } },
    'a verification requested': { pendingVerification: { trigger: 'update' } },
    'a verification going': { currentVerification: 2 },
  };
  // What may run beside what: everything else must be refused.
  const allowed = new Set([
    'run|a hotfix', 'hotfix|a run starting', 'hotfix|a run going', 'keyReset|a run starting', 'keyReset|a run going',
    'keyReset|a hotfix', 'keyReset|a reset or snapshot emptying tables',
    'schedule|a run starting', 'schedule|a run going', 'schedule|an upgrade requested, not started yet', 'schedule|an upgrade holding the fence',
    'schedule|setup', 'schedule|a hotfix', 'schedule|a reset or snapshot emptying tables',
    'keyReset|a verification requested', 'keyReset|a verification going', 'schedule|a verification requested', 'schedule|a verification going',
  ]);

  it('every action is allowed on an idle tenant', () => {
    for (const [name, refuse] of Object.entries(actions)) expect({ name, refusal: refuse(idle()) }).toEqual({ name, refusal: undefined });
  });

  for (const [during, over] of Object.entries(work)) {
    it(`during ${during}`, () => {
      for (const [name, refuse] of Object.entries(actions)) {
        const refusal = refuse({ ...idle(), ...over });
        expect({ name, refused: refusal !== undefined }).toEqual({ name, refused: !allowed.has(`${name}|${during}`) });
      }
    });
  }

  it('names what is going on', () => {
    expect(busyWith({ ...idle(), pendingUpgrade: { trigger: 'update' } })).toBe('a data upgrade');
    expect(refuseRun({ ...idle(), pendingUpgrade: { trigger: 'update' } })).toBe('a data upgrade is in progress');
    expect(refuseReset({ ...idle(), hotfixInProgress: 'fix-1' }, true)).toBe('hotfix fix-1 is in progress: reset after it ends');
    expect(busyWith({ ...idle(), hotfixInProgress: 'fix-1', currentRun: 2 }, ['run'])).toBe('hotfix fix-1');
  });
});

describe('verification on the page', () => {
  const verified = (key: string, over: Partial<TableVerification> = {}): TableVerification => ({
    key, status: 'Verified', at: '2024-01-02T00:00:00.000Z', missing: 0, extra: 0, different: 0, rejected: 0, repaired: 0, examples: [], definition: [],
    rowsCompared: 10, chunks: 1, pending: 0, pauses: 0, pausedMs: 0, ...over,
  });
  const loaded = (): TenantState => readyState({
    status: 'Upgrade Pending', log: [logEntry(1, { status: 'Completed' })], nextRun: 2,
    tables: { 'cronus.item': tableState('item', { status: 'Successful', fullLoadDone: true }) },
    verifications: [verificationEntry(1)], nextVerification: 2, currentVerification: 1,
  });

  it('a table that does not verify is Warning with the reason, and stays so after a run until it verifies', () => {
    const s = loaded();
    applyVerification(s, { number: 1, status: 'Differences', repair: false, tables: [verified('cronus.item', { status: 'Differs', missing: 2, examples: ['missing ["7"]'] })] }, '2024-01-02T00:00:01.000Z');
    expect(s.tables['cronus.item']).toMatchObject({ status: 'Warning', errorMessage: 'verification at 2024-01-02T00:00:00.000Z: 2 rows missing (e.g. missing ["7"])' });
    expect(s.verifications[0]).toMatchObject({ status: 'Differences', verified: 0, differing: 1, endedAt: '2024-01-02T00:00:01.000Z' });
    expect(s.currentVerification).toBeUndefined();
    expect(tiles(s).verified).toBe(0);

    startRunEntry(s, logEntry(2));
    applyRunResult(s, { run: 2, status: 'Completed', tables: [{ key: 'cronus.item', status: 'Successful', fullLoadRows: 0, inserts: 1, updates: 0, deletes: 0, errors: 0, durationMs: 5, fullLoadDone: true }] }, 'x');
    expect(s.tables['cronus.item'].status).toBe('Warning');

    s.verifications.push(verificationEntry(2));
    applyVerification(s, { number: 2, status: 'Equal', repair: true, tables: [verified('cronus.item', { missing: 2, repaired: 2 })] }, 'y');
    expect(s.tables['cronus.item']).toMatchObject({ status: 'Successful', errorMessage: undefined });
    expect(tiles(s).verified).toBe(1);
  });

  it('disable asks for a verification with no difference after the final run, or an explicit skip', () => {
    const s = readyState({ status: 'Upgrade Pending', log: [logEntry(1, { status: 'Completed' })], nextRun: 2 });
    expect(refuseDisable(s, false)).toBe('checklist: the target has not been verified equal to the source after the final run #1 (no verification yet): run `cm verify` (with --repair to mend differences), or send {"skipVerification": true}');
    expect(refuseDisable(s, false, true)).toBeUndefined();
    s.verifications = [verificationEntry(1, { status: 'Differences', afterRun: 1, endedAt: 'z' })];
    expect(refuseDisable(s, false)).toMatch(/\(verification #1 after run #1: Differences\)/);
    s.verifications.push(verificationEntry(2, { status: 'Equal', afterRun: 0, endedAt: 'z' }));
    expect(refuseDisable(s, false)).toMatch(/\(verification #2 after run #0: Equal\)/);
    s.verifications.push(verificationEntry(3, { status: 'Equal', afterRun: 1, endedAt: 'z' }));
    expect(refuseDisable(s, false)).toBeUndefined();
  });

  it('a verification never turns a Failed table Successful, and leaves a Warning its run\'s reason', () => {
    const s = loaded();
    s.tables['cronus.item'] = { ...s.tables['cronus.item'], status: 'Failed', errors: 0, errorMessage: 'run failed: connection lost' };
    s.tables['cronus.gl'] = tableState('gl', { key: 'cronus.gl', status: 'Warning', fullLoadDone: true, errors: 2, errorMessage: '2 rows rejected by the target; first: zero date' });
    applyVerification(s, { number: 1, status: 'Differences', repair: false, tables: [
      verified('cronus.item', { status: 'Differs', missing: 1 }), verified('cronus.gl', { status: 'Differs', different: 1 }),
    ] }, 'x');
    expect(s.tables['cronus.item']).toMatchObject({ status: 'Failed', errorMessage: 'run failed: connection lost' });
    expect(s.tables['cronus.gl']).toMatchObject({ status: 'Warning', errorMessage: '2 rows rejected by the target; first: zero date', verification: { status: 'Differs' } });
    s.verifications.push(verificationEntry(2));
    applyVerification(s, { number: 2, status: 'Equal', repair: true, tables: [verified('cronus.item'), verified('cronus.gl')] }, 'y');
    expect(s.tables['cronus.item'].status).toBe('Failed');
    expect(s.tables['cronus.gl']).toMatchObject({ status: 'Warning', errorMessage: '2 rows rejected by the target; first: zero date' });
  });

  it('disable does not take a verification of some tables only', () => {
    const s = readyState({ status: 'Upgrade Pending', log: [logEntry(1, { status: 'Completed' })], nextRun: 2 });
    s.verifications = [verificationEntry(1, { status: 'Equal', afterRun: 1, endedAt: 'z', scope: 'company cronus' })];
    expect(refuseDisable(s, false)).toMatch(/\(verification #1 of company cronus only after run #1: Equal\)/);
  });

  it('refuses a verification with nothing to compare, an unknown company or a busy tenant', () => {
    const s = loaded();
    s.currentVerification = undefined;
    const companies = [{ source: 'cronus', target: 'acme_cronus' }];
    expect(refuseVerify(s, {}, companies)).toBeUndefined();
    expect(refuseVerify(s, { company: 'nope' }, companies)).toBe("unknown company 'nope': this tenant's companies are cronus");
    expect(refuseVerify(s, { table: 'gl_*' }, companies)).toBe('no migrated table matches table gl_*');
    expect(refuseVerify({ ...s, currentRun: 2 }, {}, companies)).toBe('run #2 is in progress: verify after it ends');
  });
});
