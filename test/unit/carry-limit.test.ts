import { CARRIED_STATE_LIMIT_BYTES, carriedState, jsonBytes, PAYLOAD_LIMIT_BYTES, tooManyTables } from '../../lib/carry-limit';
import { appendCapped, initialState, recordRefusal, type TenantState } from '../../workflows/tenant-state';
import type { TablePlan, TableState } from '../../lib/types';

// Business Central-like names: "CRONUS International Ltd_$G_L Entry$437dbf0e-84ff-417a-965d-ed2bb9650972".
const plan = (company: string, i: number): TablePlan => {
  const table = `${company} Ltd_$Table ${i}$437dbf0e-84ff-417a-965d-ed2bb9650972`;
  return { key: `${company}.${table}`, sourceSchema: company, targetSchema: `acme_${company}`, table, hasPrimaryKey: true, splittable: true, estimatedRows: 1000 };
};
const plans = (companies: number, perCompany: number): TablePlan[] =>
  Array.from({ length: companies }, (_, c) => Array.from({ length: perCompany }, (_, i) => plan(`company${c}`, i))).flat();

const finding = (key: string) => ({ severity: 'warning' as const, table: key, message: `trigger ${'t'.repeat(300)} on ${key} is not replicated` });
/** An assessment with a finding on every table. */
const assessment = (companies: number, perCompany: number) => {
  const tables = plans(companies, perCompany);
  return { tables, findings: tables.map((t) => finding(t.key)) };
};

const row = (p: TablePlan, over: Partial<TableState> = {}): TableState => ({
  ...p, status: 'Successful', fullLoadRows: 1_000_000, inserts: 123_456, updates: 654_321, deletes: 9_999, errors: 0, durationMs: 123_456,
  fullLoadDone: true, lastSyncPosition: 'mysql-bin.000012:123456789', lastRun: 1234, ...over,
});
const page = (rows: TableState[]): Record<string, TableState> => Object.fromEntries(rows.map((r) => [r.key, r]));

/** A tenant's whole page: its tables, a finding per table, a full log and 100 failed upgrades with long stacks. */
function tenant(tables: Record<string, TableState>): TenantState {
  const state: TenantState = { ...initialState(), status: 'Upgrade Pending', setupDone: true, setupPending: false, tables };
  state.findings = Object.keys(tables).map(finding);
  const changes = Array.from({ length: 50 }, (_, i) => ({ key: `company0.table ${i}`, change: `column ${'c'.repeat(100)} widened`, action: 'altered in place' }));
  for (let n = 1; n <= 60; n++) recordRefusal(state, { at: '2026-12-01T00:00:00.000Z', action: 'runMigrationNow (signal)', reason: 'r'.repeat(5000), requestedBy: 'u'.repeat(500) });
  for (let run = 1; run <= 600; run++) {
    appendCapped(state.log, { run, schemaChanges: changes, schemaChangeCount: 50, workflowId: `cloud-migration/acme/run-${run}`, kind: 'delta', status: 'Failed', trigger: 'signal', startedAt: '2026-12-01T00:00:00.000Z', tables: 5000, tablesDone: 5000, rows: 123, failure: `3 table(s) failed: ${'f'.repeat(150)}` });
  }
  for (let number = 1; number <= 100; number++) {
    state.upgrades.push({ number, workflowId: `cloud-migration/acme/upgrade-${number}`, status: 'Failed', startedAt: '2026-12-01T00:00:00.000Z', error: 'step failed', stackTrace: 's'.repeat(16_000), restored: true });
  }
  return state;
}

describe('the carried page stays under the payload limit', () => {
  test('jsonBytes counts UTF-8 bytes, as Temporal does', () => {
    expect(jsonBytes('abc')).toBe(5);
    expect(jsonBytes('é')).toBe(4);
    expect(jsonBytes('漢')).toBe(5);
    expect(jsonBytes('😀')).toBe(6);
    const value = { name: 'Müller 漢字 😀', n: [1, 2] };
    expect(jsonBytes(value)).toBe(Buffer.byteLength(JSON.stringify(value), 'utf8'));
  });

  test('setup takes a tenant whose page fits, and refuses one that would not, naming the counts and the way out', () => {
    expect(tooManyTables(assessment(2, 500))).toBeUndefined();
    const refused = tooManyTables(assessment(3, 2000));
    expect(refused).toMatch(/^this tenant has 6000 tables \(company0: 2000, company1: 2000, company2: 2000\)/);
    expect(refused).toMatch(/Nothing was changed on the source or the target/);
    expect(refused).toMatch(/Split the companies over several tenants/);
    // What it says fits does fit, as the rows the page would then carry.
    const fits = Number(/holds about (\d+) tables/.exec(refused!)![1]);
    expect(fits).toBeGreaterThan(1000);
    expect(tooManyTables({ tables: plans(3, 2000).slice(0, fits), findings: [] })).toBeUndefined();
    // Plain tables without findings: a Business Central company of 2,000 tables fits.
    expect(tooManyTables({ tables: plans(1, 2000), findings: [] })).toBeUndefined();
  });

  test('every page setup accepts can be carried after its runs; notes that make it too large are cut, or it is not carried at all', () => {
    // The largest tenant setup takes: grow until it refuses.
    let n = 1000;
    while (!tooManyTables(assessment(1, n + 100))) n += 100;
    const verified = { status: 'Verified' as const, at: '2026-12-01T00:00:00.000Z', missing: 0, extra: 0, different: 0, rejected: 0, repaired: 0, examples: [], definition: [] };
    const done = tenant(page(plans(1, n).map((p) => row(p, { verification: verified }))));
    const carriedDone = carriedState(done)!;
    expect(carriedDone).toBeDefined();
    expect(jsonBytes(carriedDone)).toBeLessThanOrEqual(CARRIED_STATE_LIMIT_BYTES);
    expect(Object.keys(carriedDone.tables)).toHaveLength(n);

    // Every table failing with long notes: cut down to counts and a pointer to the run, or not carried.
    const error = `Duplicate entry '${'x'.repeat(3000)}' for key 'PRIMARY' in INSERT INTO … VALUES (…)`;
    const failing = (count: number) => tenant(page(plans(1, count).map((p) => row(p, {
      status: 'Warning', errorMessage: error, schemaChange: `run #9: column widened: ${'y'.repeat(1000)}`,
      verification: { ...verified, status: 'Differs', missing: 1, extra: 2, different: 3, examples: Array(10).fill(`missing [${'k'.repeat(100)}]`), definition: ['z'.repeat(2000)] },
    }))));
    expect(carriedState(failing(n))).toBeUndefined();
    const state = failing(1000);
    expect(jsonBytes(state)).toBeGreaterThan(PAYLOAD_LIMIT_BYTES);
    const carried = carriedState(state)!;
    expect(carried).toBeDefined();
    expect(jsonBytes(carried)).toBeLessThanOrEqual(CARRIED_STATE_LIMIT_BYTES);
    // Only texts are cut: every count, status and run number is carried as it was, and every entry.
    const [key, t] = Object.entries(carried.tables)[0];
    const { errorMessage, schemaChange, verification, ...counts } = t;
    const { errorMessage: _e, schemaChange: _s, verification: before, ...countsBefore } = state.tables[key];
    expect(counts).toEqual(countsBefore);
    expect(errorMessage).toBe('see run #1234');
    expect(schemaChange).toBe('see run #1234');
    expect({ ...verification, examples: before!.examples, definition: before!.definition }).toEqual(before);
    expect(Object.keys(carried.tables)).toHaveLength(1000);
    expect(carried.findings).toHaveLength(1000);
    expect(carried.log.map((e) => [e.run, e.status, e.schemaChangeCount])).toEqual(state.log.map((e) => [e.run, e.status, e.schemaChangeCount]));
    expect(carried.log.slice(-10).map((e) => e.schemaChanges)).toEqual(state.log.slice(-10).map((e) => e.schemaChanges));
    expect(carried.upgrades.map((u) => [u.number, u.status])).toEqual(state.upgrades.map((u) => [u.number, u.status]));
  });

  test('a page a little too large keeps its messages, cut', () => {
    const state: TenantState = { ...initialState(), tables: page(plans(1, 2000).map((p) => row(p, { status: 'Failed', errorMessage: 'e'.repeat(1000) }))) };
    expect(jsonBytes(state)).toBeGreaterThan(CARRIED_STATE_LIMIT_BYTES);
    const carried = carriedState(state)!;
    expect(Object.values(carried.tables).every((t) => t.errorMessage === `${'e'.repeat(200)}…`)).toBe(true);
  });

  test('a page that fits is carried as it is; one that no cutting can fit is not carried at all', () => {
    const small: TenantState = { ...initialState(), tables: page(plans(1, 10).map((p) => row(p, { errorMessage: 'e'.repeat(5000) }))) };
    expect(carriedState(small)).toBe(small);
    expect(carriedState(tenant(page(plans(4, 2000).map((p) => row(p)))))).toBeUndefined();
  });
});
