import { exclusionReason, historyDateColumn, isHistoryTable, keptByDate, matchesPattern } from '../../lib/company-tables';
import { refuseSnapshot, initialState } from '../../workflows/tenant-state';

const company = { source: 'cronus', target: 'demo_cronus' };

it('patterns: * and ? wildcards, case-insensitive, regex characters taken literally', () => {
  expect(matchesPattern('gl_entry', '*_entry')).toBe(true);
  expect(matchesPattern('GL_Entry', '*_entry')).toBe(true);
  expect(matchesPattern('gl_entry_x', '*_entry')).toBe(false);
  expect(matchesPattern('item1', 'item?')).toBe(true);
  expect(matchesPattern('a.b', 'a.b')).toBe(true);
  expect(matchesPattern('axb', 'a.b')).toBe(false);
  expect(matchesPattern('x(1)', 'x(1)')).toBe(true);
  expect(matchesPattern('', '*')).toBe(true);
  expect(matchesPattern('abc', '**a*?c')).toBe(true);
  expect(matchesPattern('ab', 'a?b')).toBe(false);
  expect(matchesPattern('aXbXc', 'a*b*c')).toBe(true);
  expect(matchesPattern('aXbXd', 'a*b*c')).toBe(false);
});

it('include and exclude give the reason a table is left out', () => {
  expect(exclusionReason({ ...company, includeTables: ['gl_*'] }, 'customer')).toBe('excluded by the company configuration of cronus: not in includeTables (gl_*)');
  expect(exclusionReason({ ...company, includeTables: ['gl_*'] }, 'gl_entry')).toBeUndefined();
  expect(exclusionReason({ ...company, excludeTables: ['*_archive'] }, 'item_archive')).toBe('excluded by the company configuration of cronus: matches excludeTables pattern *_archive');
  expect(exclusionReason(company, 'anything')).toBeUndefined();
});

it('historical tables and their date column', () => {
  expect(isHistoryTable(company, 'cust_ledger_entry')).toBe(true);
  expect(isHistoryTable(company, 'customer')).toBe(false);
  expect(isHistoryTable({ ...company, historyTables: ['orders'] }, 'orders')).toBe(true);
  expect(historyDateColumn([{ name: 'due_date', dataType: 'date' }, { name: 'posting_date', dataType: 'date' }])).toBe('posting_date');
  expect(historyDateColumn([{ name: 'g', dataType: 'date', generated: true }, { name: 'at', dataType: 'datetime' }])).toBe('at');
  expect(historyDateColumn([{ name: 'n', dataType: 'int' }])).toBeUndefined();
  expect(keptByDate('2021-01-01', '2021-01-01')).toBe(true);
  expect(keptByDate('2020-12-31 23:59:59', '2021-01-01')).toBe(false);
  expect(keptByDate('0000-00-00', '2021-01-01')).toBe(false);
  expect(keptByDate(null, '2021-01-01')).toBe(true);
});

it('Rerun Detail Snapshot is refused before setup, while running, and without historical tables', () => {
  const s = initialState();
  expect(refuseSnapshot(s)).toBe('setup has not completed yet: wait until the status is Ready');
  Object.assign(s, { setupDone: true, setupPending: false });
  expect(refuseSnapshot(s)).toMatch(/^no historical tables/);
  s.tables['a.gl_entry'] = { key: 'a.gl_entry', history: true } as never;
  expect(refuseSnapshot(s)).toBeUndefined();
  s.currentRun = 3;
  expect(refuseSnapshot(s)).toBe('run #3 is already in progress');
});
