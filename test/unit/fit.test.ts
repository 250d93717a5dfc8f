import { fitLines, outputWidth, shareWidths, wrapLine } from '../../client/fit';
import { renderStatus } from '../../client/render';
import type { StatusPage, TableState } from '../../lib/types';

it('wraps at spaces, cuts a word longer than the line, never drops text', () => {
  expect(wrapLine('short', 10)).toEqual(['short']);
  expect(wrapLine('one two three four', 9)).toEqual(['one two', 'three', 'four']);
  expect(wrapLine('abcdefghijkl', 5)).toEqual(['abcde', 'fghij', 'kl']);
  expect(wrapLine('key: a-very-long-table-name here', 12, '  ')).toEqual(['key:', '  a-very-', '  long-', '  table-name', '  here']);
  expect(wrapLine('cli_src_4aec18.customer', 16)).toEqual(['cli_src_4aec18.', 'customer']); // at the dot
  expect(fitLines('a b c d e f\nok', 5)).toBe('a b c\n  d e\n  f\nok');
});

it('shares the width: narrow columns keep their width, wide ones share the rest', () => {
  expect(shareWidths([5, 10], 40)).toEqual([5, 10]);
  expect(shareWidths([3, 50, 50], 43)).toEqual([3, 20, 20]);
  expect(shareWidths([9, 30, 100], 50)).toEqual([9, 20, 21]); // a status keeps its width
  expect(shareWidths([10, 10, 100], 26)).toEqual([10, 10, 6]); // never below the minimum
  expect(shareWidths([8, 6, 10, 7, 6, 12, 11, 11], 58)).toEqual([7, 6, 8, 7, 6, 8, 8, 8]); // narrow columns only: they share too
});

it('the width is the terminal\'s, else $COLUMNS, else unlimited (a program reads whole lines)', () => {
  expect(outputWidth({ isTTY: true, columns: 132 }, {})).toBe(132);
  expect(outputWidth({ isTTY: false }, { COLUMNS: '100' })).toBe(100);
  expect(outputWidth({ isTTY: false }, {})).toBe(Infinity);
});

describe('cm status fits the terminal', () => {
  const before = process.env.COLUMNS;
  afterEach(() => (process.env.COLUMNS = before));

  const table = (i: number, status: TableState['status'], message?: string): TableState => ({
    key: `CRONUS International Ltd_$G_L Entry ${i}$437dbf0e-84ff-417a-965d-ed2bb9650972`, sourceSchema: 'cronus', targetSchema: 'tenant_cronus', table: `t${i}`,
    status, fullLoadRows: 1234567, inserts: 12, updates: 3456, deletes: 7, errors: status === 'Failed' ? 2 : 0, durationMs: 65432,
    lastSyncPosition: 'mysql-bin.000042:1234567890', errorMessage: message,
  } as unknown as TableState);
  const page = {
    tenant: 'demo', status: 'Upgrade Pending', environmentState: 'Active', dataVersion: '1.0', sourceConnection: 'onprem-with-a-long-name', targetConnection: 'cloud-target-west-europe',
    companies: [{ source: 'cronus', target: 'tenant_cronus', oldestYear: 2019, includeTables: ['G_L Entry', 'Customer', 'Vendor Ledger Entry'] }],
    capture: { mode: 'binlog', reason: 'the source has log_bin ON with binlog_format ROW and this account may read it (REPLICATION SLAVE, REPLICATION CLIENT)' },
    schedule: 'daily at 02:00 UTC', runtimeKey: { keyId: 'k-3f2a9c', issuedAt: '2026-12-01T10:00:00.000Z', deliveredTo: 'operator' },
    tiles: { successful: 70, warnings: 2, failed: 3, notMigrated: 5, verified: 70, nextScheduledRun: '2026-12-02T02:00:00.000Z' },
    log: Array.from({ length: 12 }, (_, i) => ({
      run: i + 1, workflowId: `demo/run-${i + 1}`, kind: i === 0 ? 'full' : 'delta', status: i % 4 === 3 ? 'Failed' : 'Completed', trigger: i % 2 ? 'signal' : 'update',
      requestedBy: 'alice@host-with-a-long-name', reason: 'nightly catch-up before the cut-over weekend', startedAt: '2026-12-01T10:00:00.000Z', endedAt: '2026-12-01T10:05:30.000Z',
      tables: 75, tablesDone: 75, rows: 1234567, failure: i % 4 === 3 ? '3 tables failed: cronus.G_L Entry (Duplicate entry 12 for key PRIMARY)' : undefined,
    })),
    logTotal: 12,
    tableCounts: { total: 80, byStatus: { Successful: 70, Warning: 2, Failed: 3, 'Not Migrated': 5 }, companies: [
      { company: 'cronus', total: 40, byStatus: { Successful: 35, Failed: 3, Warning: 2 } }, { company: 'fabrikam', total: 40, byStatus: { Successful: 35, 'Not Migrated': 5 } },
    ] },
    problemTables: [
      table(1, 'Failed', "Incorrect datetime value: '0000-00-00 00:00:00' for column `posting_date` at row 1; the target's sql_mode refuses zero dates"),
      table(2, 'Warning', '2 rows rejected by the target; first: Data too long for column `description` at row 17'),
    ],
    findings: [{ severity: 'warning', table: 'cronus.G_L Entry', message: 'a zero date is stored in posting_date of 3 rows; the target refuses it: those rows are rejected and listed' }],
    findingsTotal: 1, refusals: [{ at: '2026-12-01T10:00:00.000Z', action: 'runMigrationNow', reason: 'a run is in progress (run #12): wait for it or cancel it with cm run --cancel', requestedBy: 'bob' }],
    upgrades: [{ number: 1, workflowId: 'demo/upgrade-1', status: 'Failed', startedAt: '2026-12-01T10:00:00.000Z', endedAt: '2026-12-01T10:01:00.000Z', from: '1.0', to: '2.0', failedStep: '001_split_customer_address', error: "Unknown column 'address2' in 'field list'", restored: true, requestedBy: 'alice' }],
    hotfixes: [{ name: 'fix-vat-rounding', appliedAt: '2026-12-01T10:00:00.000Z', schemas: ['tenant_cronus', 'tenant_fabrikam'], requestedBy: 'alice', reason: 'VAT rounding differed by one cent on 12 invoices' }],
    verifications: [{ number: 1, workflowId: 'demo/verify-1', status: 'Differences', repair: false, afterRun: 12, startedAt: '2026-12-01T10:00:00.000Z', endedAt: '2026-12-01T10:02:00.000Z', tables: 75, verified: 72, differing: 3, requestedBy: 'alice' }],
  } as unknown as StatusPage;

  it.each([80, 100])('no line of the page is wider than %i columns', (width) => {
    process.env.COLUMNS = String(width);
    const text = fitLines(renderStatus(page), width);
    const long = text.split('\n').filter((l) => l.length > width);
    expect(long).toEqual([]);
    expect(text).not.toContain('…'); // nothing truncated: wrapped
    expect(text).toMatch(/Completed/); // short words are not cut
  });

  it('a wide terminal gets the wide tables', () => {
    process.env.COLUMNS = '250';
    expect(renderStatus(page)).toMatch(/Full load rows/);
  });
});
