// The verification engine on the real MariaDB: exact for tricky values (a FLOAT changed in its 7th
// digit, NULL vs '', bytes 0x00/0xFF, emoji, a _ci key whose case changed), exact counts and example
// keys, repair, chunking with slices and resume, historical tables, tables without a key,
// definition differences, pending/rejected keys and throttling. Needs only MySQL.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { approximateColumns, copyColumns, readTable, type TableMeta } from '../../activities/introspect';
import { columnList, id, keyIn, keyString, qualified, selectList, type KeyValue } from '../../activities/sql';
import { checkKeys, compareDefinitions, diffTable, type DiffProgress, type DiffSpec, type TableDiff } from '../../activities/table-diff';
import { dropSchemas, testPool, uniqueName } from '../helpers';

const src = uniqueName('td_src');
const dst = uniqueName('td_dst');
let pool: Pool;

beforeAll(async () => {
  pool = testPool();
  await dropSchemas(pool, src, dst);
  await pool.query(`CREATE SCHEMA ${id(src)} DEFAULT CHARSET utf8mb4`);
  await pool.query(`CREATE SCHEMA ${id(dst)} DEFAULT CHARSET utf8mb4`);
});

afterAll(async () => {
  await dropSchemas(pool, src, dst);
  await pool.end();
});

async function meta(table: string): Promise<TableMeta> {
  const m = await readTable(pool, src, table);
  if (!m) throw new Error(`no table ${table}`);
  return m;
}

/** The test's own repair: target rows of these keys become the source's (REPLACE what the source has, DELETE the rest). */
function repairOf(m: TableMeta, keepFrom?: DiffSpec['keepFrom']): NonNullable<DiffSpec['repair']> {
  return async (keys) => {
    const cols = copyColumns(m).map((c) => c.name);
    const approx = approximateColumns(m);
    const sel = keyIn(m.primaryKey, keys, approx);
    const keep = keepFrom ? ` AND (${id(keepFrom.column)} >= ? OR ${id(keepFrom.column)} IS NULL)` : '';
    const [rows] = await pool.query<RowDataPacket[]>({
      sql: `SELECT ${selectList(cols, approx)} FROM ${qualified(src, m.name)} WHERE ${sel.sql}${keep}`,
      values: keepFrom ? [...sel.params, keepFrom.from] : sel.params,
      rowsAsArray: true,
    });
    await pool.query(`DELETE FROM ${qualified(dst, m.name)} WHERE ${sel.sql}`, sel.params);
    if (rows.length > 0) await pool.query(`INSERT INTO ${qualified(dst, m.name)} (${columnList(cols)}) VALUES ?`, [rows]);
    return { repaired: keys.length, rejected: 0 };
  };
}

async function specFor(table: string, extra: Partial<DiffSpec> = {}): Promise<DiffSpec> {
  return { sourcePool: pool, sourceSchema: src, targetPool: pool, targetSchema: dst, table, source: await meta(table), chunkRows: 1000, ...extra };
}

const counters = (d: DiffProgress): Record<string, number> => ({
  missing: d.missing, extra: d.extra, different: d.different, pending: d.pending, rejected: d.rejected, repaired: d.repaired,
});
const ZERO = { missing: 0, extra: 0, different: 0, pending: 0, rejected: 0, repaired: 0 };

/** Copies a table to the target with CREATE TABLE LIKE and its stored columns. */
async function copyToTarget(table: string): Promise<void> {
  await pool.query(`DROP TABLE IF EXISTS ${qualified(dst, table)}`);
  await pool.query(`CREATE TABLE ${qualified(dst, table)} LIKE ${qualified(src, table)}`);
  const cols = columnList(copyColumns(await meta(table)).map((c) => c.name));
  await pool.query(`INSERT INTO ${qualified(dst, table)} (${cols}) SELECT ${cols} FROM ${qualified(src, table)}`);
}

// --- tricky values -------------------------------------------------------------------------------

const TRICKY = 'we`ird "tbl" \'ü\' 名';
const NOTE = 'no"te `x` é';
// k1 is a VARCHAR under a _ci collation, part of a composite key with `k 2`.
const TRICKY_DDL = `(
  k1 VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL,
  \`k 2\` INT NOT NULL,
  f FLOAT NULL, d DOUBLE NULL, amt DECIMAL(38,20) NULL, at DATETIME(6) NULL, ts TIMESTAMP(3) NULL,
  doc JSON NULL, bits BIT(5) NULL, bin BLOB NULL, txt VARCHAR(50) NULL, ${id(NOTE)} VARCHAR(20) NULL,
  s1 VARCHAR(10) NULL, s2 VARCHAR(10) NULL,
  g INT AS (\`k 2\` * 2) VIRTUAL,
  PRIMARY KEY (k1, \`k 2\`)
) DEFAULT CHARSET utf8mb4`;

type Tricky = [string, number, number | null, string | null, string | null, string | null, string | null, string | null, Buffer | null, Buffer | null, string | null, string | null, string | null, string | null];
const TRICKY_ROWS: Tricky[] = [
  ['a', 1, 1.00000012, '0.30000000000000004', '12345678901234567.12345678901234567890', '2024-02-29 23:59:59.123456', '2021-03-28 01:30:00.500', '{"b": 1, "a": [1.50, "x"]}', Buffer.from([0x15]), Buffer.from([0x00, 0xff, 0x00, 0x5c]), 'émoji 😀 中文', null, 'a', 'bc'],
  ['a', 2, 16777216, '1e300', '-0.00000000000000000001', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000', 'null', Buffer.from([0]), Buffer.alloc(0), '', '', 'ab', 'c'],
  ['straße', 3, 0.1, '-0', '0.00000000000000000000', null, null, '[]', null, Buffer.from([0xff]), null, 'x', null, null],
  ['😀', 4, -3.4e38, '2.2250738585072014e-308', '99999999999999999.99999999999999999999', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999', '{"k": "😀"}', Buffer.from([0x1f]), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), 'tab\there\nnl \\ back', null, '', null],
  ['apple', 5, 1.5, '1', '1', '2000-01-01 00:00:00.000001', null, null, null, null, 'x', 'y', null, ''],
];
// More plain rows, so a few chunks of 7 rows exist.
for (let i = 0; i < 40; i++) TRICKY_ROWS.push([`row${String(i).padStart(2, '0')}`, i, i / 3, String(i / 7), `${i}.5`, null, null, `{"i": ${i}}`, null, null, `r${i}`, null, null, null]);

const TRICKY_COLS = ['k1', 'k 2', 'f', 'd', 'amt', 'at', 'ts', 'doc', 'bits', 'bin', 'txt', NOTE, 's1', 's2'];

describe('tricky values', () => {
  beforeAll(async () => {
    await pool.query(`CREATE TABLE ${qualified(src, TRICKY)} ${TRICKY_DDL}`);
    await pool.query(`INSERT INTO ${qualified(src, TRICKY)} (${columnList(TRICKY_COLS)}) VALUES ?`, [TRICKY_ROWS]);
    await copyToTarget(TRICKY);
  });

  it.each([1000, 7])('finds equal copies equal (chunkRows %i)', async (chunkRows) => {
    const d = await diffTable(await specFor(TRICKY, { chunkRows }));
    expect(counters(d)).toEqual(ZERO);
    expect(d.examples).toEqual([]);
    expect(d.definition).toEqual([]);
    expect(d.complete).toBe(true);
    expect(d.rowsCompared).toBe(TRICKY_ROWS.length);
    expect(d.chunks).toBe(Math.floor(TRICKY_ROWS.length / chunkRows) + 1);
  });

  describe('after tampering on the target', () => {
    const t = (): string => qualified(dst, TRICKY);
    beforeAll(async () => {
      await pool.query(`DELETE FROM ${t()} WHERE (k1, \`k 2\`) IN (('row03', 3), ('row30', 30))`); // missing
      await pool.query(`UPDATE ${t()} SET f = 1.00000024 WHERE k1 = 'a' AND \`k 2\` = 1`); // both print "1" in MariaDB
      await pool.query(`UPDATE ${t()} SET f = 16777218 WHERE k1 = 'a' AND \`k 2\` = 2`); // both print "16777200"
      await pool.query(`UPDATE ${t()} SET ${id(NOTE)} = '' WHERE k1 = '😀'`); // NULL -> ''
      await pool.query(`UPDATE ${t()} SET s1 = 'ab', s2 = 'c' WHERE k1 = 'a' AND \`k 2\` = 1`); // ('a','bc') -> ('ab','c'), same row as the FLOAT
      await pool.query(`UPDATE ${t()} SET bin = x'00ff005d' WHERE k1 = 'a' AND \`k 2\` = 1`);
      await pool.query(`UPDATE ${t()} SET k1 = 'APPLE' WHERE k1 = 'apple'`); // the _ci key's case: missing + extra
      await pool.query(`INSERT INTO ${t()} (k1, \`k 2\`, txt) VALUES ('zz', 1, 'new'), ('0', 0, 'first')`); // extra
    });

    const expected = {
      missing: ['["apple","5"]', '["row03","3"]', '["row30","30"]'],
      extra: ['["0","0"]', '["APPLE","5"]', '["zz","1"]'],
      different: ['["a","1"]', '["a","2"]', '["😀","4"]'],
    };

    it.each([1000, 7, 1])('counts every difference exactly (chunkRows %i)', async (chunkRows) => {
      const d = await diffTable(await specFor(TRICKY, { chunkRows }));
      expect(counters(d)).toEqual({ ...ZERO, missing: 3, extra: 3, different: 3 });
      expect(d.complete).toBe(true);
      expect(d.examples).toHaveLength(5);
      for (const e of d.examples) {
        const [what, key] = [e.slice(0, e.indexOf(' ')), e.slice(e.indexOf(' ') + 1)];
        expect(expected[what as keyof typeof expected]).toContain(key);
      }
    });

    it('checkKeys classifies given keys, also a row matched only under the collation', async () => {
      const r = await checkKeys(await specFor(TRICKY), [['a', 1], ['a', 2], ['row03', 3], ['row04', 4], ['apple', 5]]);
      expect(r.missing.map(keyString).sort()).toEqual(['["apple","5"]', '["row03","3"]']);
      expect(r.different.map(keyString).sort()).toEqual(['["a","1"]', '["a","2"]']);
      expect(r.extra.map(keyString)).toEqual(['["APPLE","5"]']);
    });

    it('repairs through the callback, then finds nothing', async () => {
      const spec = await specFor(TRICKY, { chunkRows: 7 });
      const d = await diffTable({ ...spec, repair: repairOf(spec.source) });
      expect(counters(d)).toEqual({ ...ZERO, missing: 3, extra: 3, different: 3, repaired: 9 });
      const again = await diffTable(spec);
      expect(counters(again)).toEqual(ZERO);
      expect(again.examples).toEqual([]);
    });
  });
});

describe('binary and FLOAT keys', () => {
  const K = 'odd keys';
  beforeAll(async () => {
    await pool.query(`CREATE TABLE ${qualified(src, K)} (b VARBINARY(8) NOT NULL, f FLOAT NOT NULL, v INT, PRIMARY KEY (b, f))`);
    const rows: unknown[][] = [];
    for (const b of [Buffer.alloc(0), Buffer.from([0]), Buffer.from([0xff]), Buffer.from([0, 0xff])]) {
      for (const f of [1.00000012, 1.00000024, 16777216, -0.5]) rows.push([b, f, rows.length]);
    }
    await pool.query(`INSERT INTO ${qualified(src, K)} VALUES ?`, [rows]);
    await copyToTarget(K);
    await pool.query(`DELETE FROM ${qualified(dst, K)} WHERE b = x'00' AND f = CAST(1.00000012 AS FLOAT)`);
    await pool.query(`UPDATE ${qualified(dst, K)} SET v = -1 WHERE b = x'ff' AND f = CAST(1.00000024 AS FLOAT)`);
    await pool.query(`INSERT INTO ${qualified(dst, K)} VALUES (x'ff', 1.00000036, 0)`);
  });

  it('chunks, narrows, resumes from JSON heartbeats and repairs by exact keys', async () => {
    let beat: DiffProgress | undefined;
    const spec = await specFor(K, {
      chunkRows: 3,
      onChunk: (p) => {
        beat = JSON.parse(JSON.stringify(p)) as DiffProgress;
        if (p.chunks === 2) throw new Error('worker killed');
      },
    });
    await expect(diffTable(spec)).rejects.toThrow('worker killed');
    const d = await diffTable({ ...spec, onChunk: undefined }, beat);
    expect(counters(d)).toEqual({ ...ZERO, missing: 1, extra: 1, different: 1 });
    expect(d).toMatchObject({ rowsCompared: 16, complete: true, chunks: 6 });
    expect(d.examples.sort()).toEqual(['different ["0xff","1.000000238418579"]', 'extra ["0xff","1.0000003576278687"]', 'missing ["0x00","1.0000001192092896"]']);
    const fixed = await diffTable({ ...spec, onChunk: undefined, repair: repairOf(spec.source) });
    expect(fixed.repaired).toBe(3);
    expect(counters(await diffTable({ ...spec, onChunk: undefined }))).toEqual(ZERO);
  });
});

// --- many chunks ---------------------------------------------------------------------------------

describe('a 25,000-row table in chunks of 1,000', () => {
  const BIG = 'ledger';
  beforeAll(async () => {
    await pool.query(`CREATE TABLE ${qualified(src, BIG)} (id INT PRIMARY KEY, amount DECIMAL(12,2) NOT NULL, posted DATE NOT NULL, memo VARCHAR(40) NULL, f FLOAT NULL)`);
    await pool.query(
      `INSERT INTO ${qualified(src, BIG)} SELECT seq * 2, seq * 1.25, '2020-01-01' + INTERVAL (seq % 1000) DAY, IF(seq % 5 = 0, NULL, CONCAT('memo ', seq)), seq / 7
         FROM ${id(src)}.seq_1_to_25000`,
    );
    await copyToTarget(BIG);
  });

  it('finds the copies equal, quickly', async () => {
    const started = Date.now();
    const d = await diffTable(await specFor(BIG));
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`diff of 25,000 equal rows in chunks of 1,000: ${seconds.toFixed(2)} s\n`);
    expect(counters(d)).toEqual(ZERO);
    expect(d).toMatchObject({ chunks: 26, rowsCompared: 25_000, complete: true });
  });

  describe('after tampering', () => {
    beforeAll(async () => {
      const t = qualified(dst, BIG);
      await pool.query(`DELETE FROM ${t} WHERE id IN (2, 2000, 2002, 25000, 50000)`); // 5 missing, two at chunk edges
      await pool.query(`UPDATE ${t} SET amount = amount + 0.01 WHERE id IN (4, 30000)`); // 2 different
      await pool.query(`UPDATE ${t} SET memo = '' WHERE id = 10`); // NULL -> '': different
      await pool.query(`UPDATE ${t} SET f = f * (1 + 1e-6) WHERE id = 12`); // a FLOAT's 7th digit: different
      await pool.query(`INSERT INTO ${t} VALUES (1, 0, '2020-01-01', 'odd', 0), (3001, 0, '2020-01-01', 'odd', 0), (0, 0, '2020-01-01', NULL, NULL)`); // 3 extra
      // 2,500 extra rows past the source's end: one open-ended chunk, narrowed page by page.
      await pool.query(`INSERT INTO ${t} SELECT 100000 + seq, 1, '2020-01-01', NULL, NULL FROM ${id(src)}.seq_1_to_2500`);
    });
    const EXPECTED = { ...ZERO, missing: 5, extra: 2503, different: 4 };

    it('one pass counts every difference', async () => {
      const started = Date.now();
      const d = await diffTable(await specFor(BIG));
      process.stdout.write(`diff of 25,000 rows with 2,512 differences: ${((Date.now() - started) / 1000).toFixed(2)} s\n`);
      expect(counters(d)).toEqual(EXPECTED);
      expect(d).toMatchObject({ chunks: 26, rowsCompared: 25_000, complete: true });
    });

    it('rotating slices of maxChunks give the same totals', async () => {
      const sum: Record<string, number> = { ...ZERO };
      let after: KeyValue[] | undefined;
      let slices = 0;
      for (;;) {
        const d = await diffTable(await specFor(BIG, { after, maxChunks: 4 }));
        for (const k of Object.keys(sum)) sum[k] += (d as unknown as Record<string, number>)[k];
        slices++;
        if (d.complete) break;
        expect(d.chunks).toBe(4);
        after = d.lastKey;
      }
      expect(sum).toEqual(EXPECTED);
      expect(slices).toBe(7);
    });

    it('resumes from the last heartbeat after a crash, with the same totals', async () => {
      let beat: DiffProgress | undefined;
      const crashAfter = 9;
      const spec = await specFor(BIG, {
        onChunk: (p) => {
          beat = JSON.parse(JSON.stringify(p)) as DiffProgress; // as Temporal carries heartbeat details
          if (p.chunks === crashAfter) throw new Error('worker killed');
        },
      });
      await expect(diffTable(spec)).rejects.toThrow('worker killed');
      expect(beat).toMatchObject({ chunks: crashAfter, complete: false, lastKey: [crashAfter * 2000] });
      const d = await diffTable({ ...spec, onChunk: undefined }, beat);
      expect(counters(d)).toEqual(EXPECTED);
      expect(d).toMatchObject({ chunks: 26, rowsCompared: 25_000, complete: true });
    });

    it('stops between chunks when aborted', async () => {
      const ac = new AbortController();
      const spec = await specFor(BIG, { signal: ac.signal, onChunk: (p) => p.chunks === 2 && ac.abort(new Error('cancelled')) });
      await expect(diffTable(spec)).rejects.toThrow('cancelled');
    });
  });
});

// --- historical tables, tables without a key, definitions ------------------------------------------

describe('a historical table (keepFrom)', () => {
  const H = 'history';
  const keepFrom = { column: 'posted', from: '2022-01-01' };
  beforeAll(async () => {
    await pool.query(`CREATE TABLE ${qualified(src, H)} (id INT PRIMARY KEY, posted DATE NULL, v INT)`);
    await pool.query(`INSERT INTO ${qualified(src, H)} SELECT seq, IF(seq % 10 = 0, NULL, '2019-01-01' + INTERVAL seq DAY), seq FROM ${id(src)}.seq_1_to_2000`);
    await pool.query(`CREATE TABLE ${qualified(dst, H)} LIKE ${qualified(src, H)}`);
    await pool.query(`INSERT INTO ${qualified(dst, H)} SELECT * FROM ${qualified(src, H)} WHERE posted >= '2022-01-01' OR posted IS NULL`);
  });

  it('compares only the kept source rows', async () => {
    const d = await diffTable(await specFor(H, { keepFrom, chunkRows: 100 }));
    const [[{ n }]] = await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${qualified(dst, H)}`);
    expect(counters(d)).toEqual(ZERO);
    expect(d.rowsCompared).toBe(Number(n));
  });

  it('finds an old row on the target extra and a kept row missing', async () => {
    await pool.query(`INSERT INTO ${qualified(dst, H)} SELECT * FROM ${qualified(src, H)} WHERE id IN (5, 501)`); // before 2022
    await pool.query(`DELETE FROM ${qualified(dst, H)} WHERE id = 1500`);
    const spec = await specFor(H, { keepFrom, chunkRows: 100 });
    const d = await diffTable(spec);
    expect(counters(d)).toEqual({ ...ZERO, extra: 2, missing: 1 });
    expect(d.examples.sort()).toEqual(['extra ["5"]', 'extra ["501"]', 'missing ["1500"]']);
    const fixed = await diffTable({ ...spec, repair: repairOf(spec.source, keepFrom) });
    expect(fixed.repaired).toBe(3);
    expect(counters(await diffTable(spec))).toEqual(ZERO);
  });
});

describe('a table without a primary key', () => {
  const N = 'no key';
  beforeAll(async () => {
    await pool.query(`CREATE TABLE ${qualified(src, N)} (a INT, b VARCHAR(10))`);
    await pool.query(`CREATE TABLE ${qualified(dst, N)} (a INT, b VARCHAR(10))`);
  });
  const fill = async (schema: string, rows: unknown[][]): Promise<void> => {
    await pool.query(`DELETE FROM ${qualified(schema, N)}`);
    await pool.query(`INSERT INTO ${qualified(schema, N)} VALUES ?`, [rows]);
  };

  it('compares the whole table once', async () => {
    await fill(src, [[1, 'x'], [1, 'x'], [2, null]]);
    await fill(dst, [[2, null], [1, 'x'], [1, 'x']]);
    const d = await diffTable(await specFor(N));
    expect(counters(d)).toEqual(ZERO);
    expect(d).toMatchObject({ chunks: 1, rowsCompared: 3, complete: true, examples: [] });
  });

  it('reports a count difference, and duplicates that an XOR would cancel', async () => {
    await fill(dst, [[2, null], [1, 'x']]);
    expect((await diffTable(await specFor(N))).different).toBe(1);
    await fill(dst, [[2, null], [1, 'x'], [1, 'x'], [3, 'y'], [3, 'y']]);
    expect((await diffTable(await specFor(N))).different).toBe(2);
    await fill(dst, [[2, null], [3, 'y'], [3, 'y']]); // same count; XOR of {A, A, B} equals XOR of {B, C, C}
    const d = await diffTable(await specFor(N));
    expect(d.different).toBe(1);
    expect(d.examples).toEqual(['whole table differs (no primary key)']);
  });
});

describe('definitions', () => {
  const D = 'defs';
  beforeAll(async () => {
    await pool.query(`CREATE TABLE ${qualified(src, D)} (id INT PRIMARY KEY, amount DECIMAL(10,2), at DATETIME, note VARCHAR(10) COLLATE utf8mb4_bin, gone INT)`);
    await pool.query(`CREATE TABLE ${qualified(dst, D)} (id INT PRIMARY KEY, amount DECIMAL(12,4), at DATETIME(3), note VARCHAR(10) COLLATE utf8mb4_general_ci NOT NULL, memo TEXT)`);
    await pool.query(`INSERT INTO ${qualified(src, D)} VALUES (1, 1.50, '2020-01-01 10:00:00', 'a', 7), (2, -0.05, NULL, 'b', NULL), (3, 100, '2020-01-01 00:00:10', 'c', 1)`);
    await pool.query(`INSERT INTO ${qualified(dst, D)} (id, amount, at, note, memo) SELECT id, amount, at, note, 'extra' FROM ${qualified(src, D)}`);
  });

  it('lists each difference; widened columns still compare by value', async () => {
    const d = await diffTable(await specFor(D));
    expect(d.definition).toEqual([
      'column amount: decimal(10,2) on the source, decimal(12,4) on the target',
      'column at: datetime on the source, datetime(3) on the target',
      'column note: NULL on the source, NOT NULL on the target',
      'column note: collation utf8mb4_bin on the source, collation utf8mb4_general_ci on the target',
      'column gone: only on the source',
      'column memo: only on the target',
    ]);
    expect(counters(d)).toEqual(ZERO);
    await pool.query(`UPDATE ${qualified(dst, D)} SET amount = 1.5001 WHERE id = 1`);
    expect((await diffTable(await specFor(D))).different).toBe(1);
  });

  it('reports the primary key and the order of columns', async () => {
    await pool.query(`CREATE TABLE ${qualified(src, 'k')} (a INT, b INT, c INT, PRIMARY KEY (a, b))`);
    await pool.query(`CREATE TABLE ${qualified(dst, 'k')} (a INT, c INT, b INT NOT NULL, PRIMARY KEY (a))`);
    expect(await compareDefinitions(pool, src, pool, dst, 'k')).toEqual([
      'column b: position 2 on the source, position 3 on the target',
      'column c: position 3 on the source, position 2 on the target',
      'primary key (a, b) on the source, (a) on the target',
    ]);
  });

  it('a table missing on the target: one line, every row missing', async () => {
    await pool.query(`CREATE TABLE ${qualified(src, 'lonely')} (id INT PRIMARY KEY)`);
    await pool.query(`INSERT INTO ${qualified(src, 'lonely')} VALUES (1), (2)`);
    const d = await diffTable(await specFor('lonely'));
    expect(d.definition).toEqual(['table missing on the target']);
    expect(d).toMatchObject({ missing: 2, complete: true, examples: ['table missing on the target'] });
  });
});

// --- a busy source ---------------------------------------------------------------------------------

describe('pending and rejected changes, throttling', () => {
  const P = 'busy';
  beforeAll(async () => {
    await pool.query(`CREATE TABLE ${qualified(src, P)} (id BIGINT PRIMARY KEY, v VARCHAR(10))`);
    await pool.query(`INSERT INTO ${qualified(src, P)} SELECT seq, CONCAT('v', seq) FROM ${id(src)}.seq_1_to_50`);
    await copyToTarget(P);
  });

  it('a key with a pending change is pending, one the target rejected is rejected, the rest differ', async () => {
    await pool.query(`DELETE FROM ${qualified(dst, P)} WHERE id IN (1, 2, 3)`);
    await pool.query(`UPDATE ${qualified(dst, P)} SET v = 'changed' WHERE id IN (4, 5)`);
    const asked: string[] = [];
    const pending = async (keys: KeyValue[][]): Promise<Map<string, string>> => {
      asked.push(...keys.map(keyString));
      return new Map([[keyString([1]), 'U'], [keyString([2]), 'R'], [keyString([4]), 'D']]);
    };
    const d = await diffTable(await specFor(P, { pending, chunkRows: 10 }));
    expect(counters(d)).toEqual({ ...ZERO, pending: 2, rejected: 1, missing: 1, different: 1 });
    expect(d.examples.sort()).toEqual(['different ["5"]', 'missing ["3"]', 'rejected ["2"]']);
    expect(asked.sort()).toEqual(['["1"]', '["2"]', '["3"]', '["4"]', '["5"]']);
    await copyToTarget(P);
  });

  it('pauses while the source is busy, then gives up waiting', async () => {
    const throttle = { maxThreadsRunning: 0, pauseMs: 20, maxPauseMs: 100 }; // Threads_running is at least 1
    const d: TableDiff = await diffTable(await specFor(P, { throttle, chunkRows: 10 }));
    expect(d).toMatchObject({ pauses: 5, pausedMs: 100, complete: true, chunks: 6 });
    expect(counters(d)).toEqual(ZERO);
    const calm = await diffTable(await specFor(P, { throttle: { ...throttle, maxThreadsRunning: 10_000 } }));
    expect(calm).toMatchObject({ pauses: 0, pausedMs: 0 });
  });
});
