import { PROGRESS_FINISHED_PAGE, ProgressBook } from '../../workflows/run-progress';

const tables = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `company_${i % 20}.a_rather_long_business_central_table_name_${i}`, estimatedRows: 1000 }));
const size = (v: unknown): number => Buffer.byteLength(JSON.stringify(v));

describe('ProgressBook', () => {
  it('answers a 40,000-table run in bounded pages, and a cursor sees each finished table once', () => {
    const all = tables(40_000);
    const book = new ProgressBook(3, 'full', all);
    book.start(all.slice(0, 400).map((t) => t.key));
    for (const t of all.slice(0, 30_000)) book.finish(t.key, t.key.endsWith('7') ? 'Failed' : 'Successful', 10);
    const first = book.view();
    expect(size(first)).toBeLessThan(512 * 1024);
    expect(first).toMatchObject({ run: 3, kind: 'full', status: 'In Progress', total: 40_000, rows: 300_000, next: PROGRESS_FINISHED_PAGE });
    expect(first.counts).toEqual({ Successful: 27_000, Failed: 3_000, 'Not Started': 10_000 });
    const seen = new Set<string>();
    let since = 0;
    for (let i = 0; i < 100; i++) {
      const p = book.view(since);
      for (const t of p.tables) if (t.status !== 'In Progress') seen.add(t.key);
      if (p.next === since) break;
      since = p.next;
    }
    expect(seen.size).toBe(30_000);
    expect(since).toBe(30_000);
  });

  it('lists the tables in progress, and follows the tables a schema change adds or drops', () => {
    const book = new ProgressBook(1, 'delta', tables(3));
    book.start([tables(3)[1].key]);
    expect(book.view().tables.map((t) => t.status)).toEqual(['In Progress']);
    book.finish(tables(3)[1].key, 'Warning', 5);
    book.retable([...tables(2), { key: 'new.table', estimatedRows: 1 }]);
    const p = book.view();
    expect(p.total).toBe(3);
    expect(p.counts).toEqual({ 'Not Started': 2, Warning: 1 });
    expect(p.tables).toEqual([{ key: tables(3)[1].key, status: 'Warning', estimatedRows: 1000, rows: 5 }]);
    book.finish(tables(3)[1].key, 'Successful', 6); // finished again (a later result): listed once
    expect(book.view().next).toBe(1);
  });
});
