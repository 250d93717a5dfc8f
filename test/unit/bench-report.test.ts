import { mergeSections, renderSection } from '../../bench/report';

describe('a partial benchmark run (--only) in docs/BENCHMARKS.md', () => {
  const doc = ['# Benchmarks', '', 'Generated on day 1.', '', ...renderSection({ heading: 'Full copy: 1,000 rows', rows: ['| a | 1 s | | | |'], notes: ['old copy note'] }),
    ...renderSection({ heading: 'A Business Central tenant: 2 companies', rows: ['| (the scenario failed) | | x | | **failed** |'], notes: [] }),
    ...renderSection({ heading: 'Memory: BLOBs', rows: ['| m | 1 MiB | | | |'], notes: [] })].join('\n');

  it('replaces the sections of the same name, keeps the others and their order, and says when the new one ran', () => {
    const merged = mergeSections(doc, [{ heading: 'A Business Central tenant: 20 companies × 2,000 tables (40,000), binlog mode', rows: ['| setup | 5 min | | | |'], notes: ['new'] }], 'day 2');
    expect(merged).toContain('Generated on day 1.');
    expect(merged).toContain('old copy note');
    expect(merged).not.toContain('the scenario failed');
    expect(merged).toContain('| setup | 5 min | | | |');
    expect(merged).toContain('on day 2; the others from the run in the header');
    const headings = merged.split('\n').filter((l) => l.startsWith('## '));
    expect(headings).toEqual(['## Full copy: 1,000 rows', '## A Business Central tenant: 20 companies × 2,000 tables (40,000), binlog mode', '## Memory: BLOBs']);
  });

  it('adds a section the document does not have yet at the end', () => {
    const merged = mergeSections(doc, [{ heading: 'Something new', rows: [], notes: [] }], 'day 2');
    expect(merged.split('\n').filter((l) => l.startsWith('## ')).pop()).toBe('## Something new');
  });
});
