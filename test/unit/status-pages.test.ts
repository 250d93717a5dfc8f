import { MAX_PAGE_SIZE, STATUS_PROBLEM_TABLES, summarize, tablePageOf } from '../../lib/table-pages';
import { checklistPage, statusPage, summaryTiles, tablePage } from '../../workflows/status-pages';
import { initialState, startRunEntry, type TenantState } from '../../workflows/tenant-state';
import { DEFAULT_COPY } from '../../lib/constants';
import type { RunLogEntry, TableState, TableStatus, TenantConfig } from '../../lib/types';

const config: TenantConfig = {
  tenant: 'acme', sourceConnection: 'src', targetConnection: 'tgt', companies: [{ source: 'cronus', target: 'acme_cronus' }],
  appUsers: ['app'], copy: DEFAULT_COPY, continueAsNewAfterEvents: 10_000, dataVersion: '1.0',
};

function tableState(company: string, name: string, over: Partial<TableState> = {}): TableState {
  return {
    key: `${company}.${name}`, sourceSchema: company, targetSchema: `acme_${company}`, table: name, hasPrimaryKey: true, splittable: true, estimatedRows: 100,
    status: 'Successful', fullLoadRows: 1000, inserts: 10, updates: 5, deletes: 1, errors: 0, durationMs: 1200, fullLoadDone: true,
    lastSyncPosition: 'mysql-bin.000012:123456789', lastRun: 7, ...over,
  };
}

function logEntry(run: number, over: Partial<RunLogEntry> = {}): RunLogEntry {
  return {
    run, workflowId: `cloud-migration/acme/run-${run}`, kind: 'delta', status: 'Completed', trigger: 'update',
    startedAt: '2024-01-01T00:00:00.000Z', tables: 2, tablesDone: 2, rows: 0, ...over,
  };
}

function stateWith(tables: TableState[], over: Partial<TenantState> = {}): TenantState {
  return {
    ...initialState(), status: 'Ready', setupDone: true, setupPending: false, sourceSchemas: ['cronus'],
    tables: Object.fromEntries(tables.map((t) => [t.key, t])), ...over,
  };
}

/**
 * A Business Central-like tenant: `companies` × `perCompany` tables with long names, every 10th
 * failed with a long SQL error, a finding per table, and a full log.
 */
function bigTenant(companies: number, perCompany: number): TenantState {
  const tables: TableState[] = [];
  for (let c = 0; c < companies; c++) {
    for (let i = 0; i < perCompany; i++) {
      const name = `bc_company_${c}$g_l_entry_dimension_set_with_a_long_name_${i}`;
      tables.push(tableState(`company_${c}`, name, i % 10 === 0 ? { status: 'Failed', errorMessage: `ER_DUP_ENTRY: ${'INSERT INTO x VALUES (…) '.repeat(400)}` } : {}));
    }
  }
  const s = stateWith(tables, { findings: tables.map((t) => ({ severity: 'warning' as const, table: t.key, message: `no primary key ${'and more '.repeat(30)}` })) });
  for (let run = 1; run <= 500; run++) startRunEntry(s, logEntry(run));
  s.currentRun = undefined;
  return s;
}

const KiB = 1024;
const size = (v: unknown): number => Buffer.byteLength(JSON.stringify(v));

describe('status answers stay bounded whatever the number of tables', () => {
  // 12,000 tables once made a 4 MB status answer: `cm status` and the UI failed past 2 MiB.
  const s = bigTenant(6, 2_000);

  it('the status summary of a 12,000-table tenant is under 512 KiB and counts every table', () => {
    const page = statusPage(config, s);
    expect(size(page)).toBeLessThan(512 * KiB);
    expect(page.tableCounts.total).toBe(12_000);
    expect(page.tableCounts.byStatus).toEqual({ Failed: 1_200, Successful: 10_800 });
    expect(page.tableCounts.companies).toHaveLength(6);
    expect(page.tableCounts.companies[0]).toEqual({ company: 'company_0', total: 2_000, byStatus: { Failed: 200, Successful: 1_800 } });
    expect(page.problemTables).toHaveLength(STATUS_PROBLEM_TABLES);
    expect(page.problemTables.every((t) => t.status === 'Failed')).toBe(true);
    expect(page.problemTables[0].errorMessage!.length).toBeLessThan(600); // cut, and says how long it was
    expect(page.problemTables[0].errorMessage).toMatch(/… \(\d+ characters\)$/);
    expect(page.findingsTotal).toBe(12_000);
    expect(page.logTotal).toBe(500);
    expect(page.log.at(-1)!.run).toBe(500);
  });

  it('every page of tables is under 512 KiB, and the pages together list every table once', () => {
    const first = tablePage(s, { page: 1, pageSize: 10_000 });
    expect(first.pageSize).toBe(MAX_PAGE_SIZE);
    expect(first.pages).toBe(120);
    const seen = new Set<string>();
    for (let page = 1; page <= first.pages; page++) {
      const p = tablePage(s, { page });
      expect(size(p)).toBeLessThan(512 * KiB);
      for (const t of p.tables) seen.add(t.key);
    }
    expect(seen.size).toBe(12_000);
    expect(tablePage(s, { page: 121 }).tables).toEqual([]);
  });

  it('the checklist comes in bounded pages', () => {
    const p = checklistPage(s);
    expect(p.total).toBe(1_200);
    expect(p.items).toHaveLength(100);
    expect(size(p)).toBeLessThan(512 * KiB);
  });
});

describe('tablePage', () => {
  const s = stateWith([
    tableState('cronus', 'item'),
    tableState('cronus', 'g_l_entry', { status: 'Warning', errorMessage: '2 rows rejected' }),
    tableState('cronus', 'customer', { status: 'Failed', errorMessage: 'boom' }),
    tableState('fabrikam', 'g_l_entry', { status: 'Not Migrated', notMigratedReason: 'excluded' }),
    tableState('fabrikam', 'vendor', { status: 'Not Started' }),
  ]);
  const keys = (req: Parameters<typeof tablePage>[1]): string[] => tablePage(s, req).tables.map((t) => t.key);

  it('lists problems first (failed, warning, not migrated), then the rest by name', () => {
    expect(keys({})).toEqual(['cronus.customer', 'cronus.g_l_entry', 'fabrikam.g_l_entry', 'fabrikam.vendor', 'cronus.item']);
  });
  it('filters by company, status and name pattern (or schema.table)', () => {
    expect(keys({ company: 'fabrikam' })).toEqual(['fabrikam.g_l_entry', 'fabrikam.vendor']);
    expect(keys({ status: 'Failed' as TableStatus })).toEqual(['cronus.customer']);
    expect(keys({ table: '*_entry' })).toEqual(['cronus.g_l_entry', 'fabrikam.g_l_entry']);
    expect(keys({ table: 'cronus.g_*' })).toEqual(['cronus.g_l_entry']);
    expect(tablePage(s, { company: 'cronus', table: 'nothing*' })).toMatchObject({ total: 0, pages: 0, tables: [] });
  });
  it('pages', () => {
    expect(tablePage(s, { pageSize: 2, page: 2 })).toMatchObject({ page: 2, pageSize: 2, total: 5, pages: 3 });
    expect(keys({ pageSize: 2, page: 3 })).toEqual(['cronus.item']);
  });
});

describe('statusPage', () => {
  it('assembles the summary from config and state', () => {
    const s = stateWith([tableState('cronus', 'a'), tableState('cronus', 'b', { status: 'Failed', errorMessage: 'x' })], {
      status: 'Replication In Progress', findings: [{ severity: 'info', message: 'm' }, { severity: 'warning', message: 'w' }], refusals: [{ at: 't', action: 'a', reason: 'r' }],
    });
    startRunEntry(s, logEntry(1));
    startRunEntry(s, logEntry(2, { status: 'In Progress' }));
    expect(statusPage(config, s)).toEqual({
      tenant: 'acme',
      status: 'Replication In Progress',
      environmentState: 'Active',
      sourceConnection: 'src',
      targetConnection: 'tgt',
      companies: [{ source: 'cronus', target: 'acme_cronus' }],
      capture: { mode: 'triggers', reason: 'set up before binary log capture existed' },
      setupError: undefined,
      tiles: { successful: 1, warnings: 0, failed: 1, notMigrated: 0, verified: 0, nextScheduledRun: null },
      currentRun: logEntry(2, { status: 'In Progress' }),
      log: [logEntry(1), logEntry(2, { status: 'In Progress' })],
      logTotal: 2,
      tableCounts: { total: 2, byStatus: { Successful: 1, Failed: 1 }, companies: [{ company: 'cronus', total: 2, byStatus: { Successful: 1, Failed: 1 } }] },
      problemTables: [tableState('cronus', 'b', { status: 'Failed', errorMessage: 'x' })],
      findings: [{ severity: 'warning', message: 'w' }, { severity: 'info', message: 'm' }],
      findingsTotal: 2,
      refusals: [{ at: 't', action: 'a', reason: 'r' }],
      dataVersion: '1.0',
      upgrades: [],
      verifications: [],
      lakeExports: [],
      hotfixes: [],
    });
  });

  it('has no current run when idle, shows the setup error, and leaves the tenant config out', () => {
    const s = stateWith([], { setupError: 'boom', status: 'Setup Failed' });
    startRunEntry(s, logEntry(1));
    s.currentRun = undefined;
    const page = statusPage(config, s);
    expect(page.currentRun).toBeUndefined();
    expect(page.setupError).toBe('boom');
    expect(page).not.toHaveProperty('appUsers');
    expect(page).not.toHaveProperty('copy');
  });

  it('says Upgrade Pending, one spelling, for a tenant whose execution kept the old one after a restored upgrade', () => {
    const legacy = stateWith([], { status: 'Upgrade pending' as TenantState['status'] });
    expect(statusPage(config, legacy).status).toBe('Upgrade Pending');
  });
});

describe('the summary a page keeps when its rows live on the target', () => {
  const verified = { status: 'Verified' as const, at: 't', missing: 0, extra: 0, different: 0, rejected: 0, repaired: 0, examples: [], definition: [] };
  const rows = [
    tableState('cronus', 'loaded', { verification: verified }),
    tableState('cronus', 'owed', { status: 'Not Started', fullLoadDone: false }),
    tableState('cronus', 'keyless', { status: 'Warning', hasPrimaryKey: false, fullLoadDone: false, warning: 'no primary key' }),
    tableState('fabrikam', 'gl_entry', { history: true, status: 'Failed', errorMessage: 'boom' }),
    tableState('fabrikam', 'excluded', { status: 'Not Migrated', notMigratedReason: 'excluded by the company configuration', fullLoadDone: false }),
  ];

  it('counts what the decisions need: loaded, owed a first full load (keyed only), historical, verified', () => {
    const s = summarize(rows);
    expect(s).toMatchObject({ migratable: 4, loaded: 2, owedFullLoad: 1, history: 1, verified: 1 });
    expect(s.counts.total).toBe(5);
    expect(s.counts.companies.map((c) => [c.company, c.total])).toEqual([['cronus', 3], ['fabrikam', 2]]);
    expect(s.problemTables.map((t) => t.table)).toEqual(['gl_entry', 'keyless', 'excluded']);
    expect(summaryTiles(s, null)).toEqual({ successful: 1, warnings: 1, failed: 1, notMigrated: 1, verified: 1, nextScheduledRun: null });
  });

  it('the page from a kept summary says where the rows are, and what could not be read', () => {
    const s = stateWith([]);
    const page = statusPage(config, s, { ...summarize(rows), error: 'the rows could not be read' }, { taskQueue: 'q' });
    expect(page.tableCounts.total).toBe(5);
    expect(page.tiles.failed).toBe(1);
    expect(page.tableRows).toEqual({ taskQueue: 'q' });
    expect(page.tableRowsError).toBe('the rows could not be read');
  });

  it('pages of rows read from the target are the same pages as from the page itself', () => {
    const s = stateWith(rows);
    for (const req of [{}, { company: 'fabrikam' }, { status: 'Successful' as const }, { table: 'gl_*' }, { page: 2, pageSize: 2 }]) {
      expect(tablePageOf(rows, req)).toEqual(tablePage(s, req));
    }
  });

  it('a summary of 40,000 rows stays small', () => {
    const many = Array.from({ length: 40_000 }, (_, i) => tableState(`company${i % 20}`, `CRONUS Ltd_$Table ${i}$437dbf0e-84ff-417a`, i % 10 === 0 ? { status: 'Failed', errorMessage: 'x'.repeat(5000) } : {}));
    expect(Buffer.byteLength(JSON.stringify(summarize(many)))).toBeLessThan(64 * 1024);
  });
});
