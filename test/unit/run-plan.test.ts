import { describeTables, planRun, rangeCount } from '../../workflows/run-plan';
import { DEFAULT_COPY } from '../../lib/constants';
import type { CopySettings, TableWork } from '../../lib/types';

const copy: CopySettings = { ...DEFAULT_COPY, largeTableRows: 1000, smallBatchRows: 100, smallBatchTables: 3 };

function work(name: string, over: Partial<TableWork> = {}): TableWork {
  return {
    key: `src.${name}`, sourceSchema: 'src', targetSchema: 'tgt', table: name,
    hasPrimaryKey: true, splittable: true, estimatedRows: 10, full: true, ...over,
  };
}
const keys = (ts: TableWork[]): string[] => ts.map((t) => t.key);
const batchKeys = (bs: TableWork[][]): string[][] => bs.map(keys);

describe('planRun', () => {
  it('returns nothing for no tables', () => {
    expect(planRun([], copy)).toEqual({ batches: [], ranged: [] });
  });

  it('caps a batch at smallBatchTables tables', () => {
    const tables = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((n) => work(n, { estimatedRows: 1 }));
    const plan = planRun(tables, copy);
    expect(batchKeys(plan.batches)).toEqual([['src.a', 'src.b', 'src.c'], ['src.d', 'src.e', 'src.f'], ['src.g']]);
    expect(plan.ranged).toEqual([]);
  });

  it('caps a batch at smallBatchRows estimated rows (a batch may reach the limit exactly)', () => {
    const tables = [work('a', { estimatedRows: 60 }), work('b', { estimatedRows: 40 }), work('c', { estimatedRows: 1 })];
    expect(batchKeys(planRun(tables, copy).batches)).toEqual([['src.a', 'src.b'], ['src.c']]);
  });

  it('starts a new batch when the next table would exceed smallBatchRows', () => {
    const tables = [work('a', { estimatedRows: 60 }), work('b', { estimatedRows: 41 }), work('c', { estimatedRows: 59 })];
    expect(batchKeys(planRun(tables, copy).batches)).toEqual([['src.a'], ['src.b', 'src.c']]);
  });

  it('puts a table bigger than smallBatchRows (but not large) in a batch of its own', () => {
    const tables = [work('a', { estimatedRows: 5 }), work('big', { estimatedRows: 500, splittable: false }), work('c', { estimatedRows: 5 })];
    expect(batchKeys(planRun(tables, copy).batches)).toEqual([['src.a'], ['src.big'], ['src.c']]);
  });

  it('sends large splittable tables needing a full load to ranged, from largeTableRows on', () => {
    const tables = [
      work('small'),
      work('edge', { estimatedRows: 1000 }),
      work('under', { estimatedRows: 999 }),
      work('huge', { estimatedRows: 5_000_000 }),
    ];
    const plan = planRun(tables, copy);
    expect(keys(plan.ranged)).toEqual(['src.edge', 'src.huge']);
    expect(batchKeys(plan.batches)).toEqual([['src.small'], ['src.under']]);
    // The very objects are passed on, untouched.
    expect(plan.ranged[0]).toBe(tables[1]);
  });

  it('keeps large tables in batches when they are not splittable or need no full load', () => {
    const notSplittable = work('composite', { estimatedRows: 5000, splittable: false });
    const deltaOnly = work('delta', { estimatedRows: 5000, full: false });
    const plan = planRun([notSplittable, deltaOnly], copy);
    expect(plan.ranged).toEqual([]);
    // The non-splittable one costs its rows (alone); the delta one costs 1.
    expect(batchKeys(plan.batches)).toEqual([['src.composite'], ['src.delta']]);
  });

  it('costs delta-only tables 1 each, whatever their size', () => {
    const tables = ['a', 'b', 'c'].map((n) => work(n, { estimatedRows: 90, full: false }));
    expect(batchKeys(planRun(tables, { ...copy, smallBatchTables: 10 }).batches)).toEqual([['src.a', 'src.b', 'src.c']]);
  });

  it('delta cost of 1 still counts toward smallBatchRows', () => {
    const tables = ['a', 'b', 'c'].map((n) => work(n, { full: false }));
    expect(batchKeys(planRun(tables, { ...copy, smallBatchTables: 10, smallBatchRows: 2 }).batches)).toEqual([['src.a', 'src.b'], ['src.c']]);
  });

  it('costs tables without a primary key their rows even when not flagged full', () => {
    const tables = ['a', 'b'].map((n) => work(n, { estimatedRows: 90, full: false, hasPrimaryKey: false, splittable: false }));
    expect(batchKeys(planRun(tables, { ...copy, smallBatchTables: 10 }).batches)).toEqual([['src.a'], ['src.b']]);
  });

  it('costs an empty (0-row) full table 1, not 0', () => {
    const tables = ['a', 'b', 'c'].map((n) => work(n, { estimatedRows: 0 }));
    expect(batchKeys(planRun(tables, { ...copy, smallBatchTables: 10, smallBatchRows: 2 }).batches)).toEqual([['src.a', 'src.b'], ['src.c']]);
  });

  it('keeps the input order and loses no table', () => {
    const tables = Array.from({ length: 50 }, (_, i) => work(`t${i}`, { estimatedRows: (i * 37) % 1500, full: i % 3 !== 0 }));
    const plan = planRun(tables, copy);
    const all = [...plan.ranged, ...plan.batches.flat()];
    expect(all).toHaveLength(50);
    expect(new Set(all.map((t) => t.key)).size).toBe(50);
    expect(keys(plan.batches.flat())).toEqual(keys(tables.filter((t) => !plan.ranged.includes(t))));
    for (const b of plan.batches) {
      expect(b.length).toBeGreaterThan(0);
      expect(b.length).toBeLessThanOrEqual(copy.smallBatchTables);
    }
  });
});

describe('rangeCount', () => {
  const copy: CopySettings = { ...DEFAULT_COPY, rangesPerTable: 2, chunkRows: 250_000 };
  it('cuts a big table by size, so several workers share it', () => {
    expect(rangeCount({ estimatedRows: 1_000_000 }, copy)).toBe(4);
    expect(rangeCount({ estimatedRows: 1_000_001 }, copy)).toBe(5);
    expect(rangeCount({ estimatedRows: 10_000_000 }, copy)).toBe(40);
  });
  it('keeps rangesPerTable as the least, and 64 as the most', () => {
    expect(rangeCount({ estimatedRows: 120_000 }, copy)).toBe(2);
    expect(rangeCount({ estimatedRows: 0 }, copy)).toBe(2);
    expect(rangeCount({ estimatedRows: 1_000_000_000 }, copy)).toBe(64);
  });
  it('uses the default chunk for tenants set up before the setting', () => {
    const { chunkRows: _c, ...older } = copy;
    expect(rangeCount({ estimatedRows: 1_000_000 }, older)).toBe(4);
  });
});

describe('describeTables', () => {
  const t = (...names: string[]) => names.map((key) => ({ key }));

  it('is empty for no tables', () => {
    expect(describeTables([])).toBe('');
  });
  it('lists up to two tables by default', () => {
    expect(describeTables(t('a.x'))).toBe('a.x');
    expect(describeTables(t('a.x', 'a.y'))).toBe('a.x, a.y');
  });
  it('counts the rest', () => {
    expect(describeTables(t('a.x', 'a.y', 'a.z'))).toBe('a.x, a.y … (+1 more)');
    expect(describeTables(t('a', 'b', 'c', 'd', 'e'))).toBe('a, b … (+3 more)');
  });
  it('honours shown', () => {
    expect(describeTables(t('a', 'b', 'c', 'd'), 3)).toBe('a, b, c … (+1 more)');
    expect(describeTables(t('a', 'b', 'c'), 3)).toBe('a, b, c');
    expect(describeTables(t('a', 'b'), 1)).toBe('a … (+1 more)');
  });
});
