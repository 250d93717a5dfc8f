// The full-load engine's write path (LOAD DATA LOCAL INFILE, with REPLACE as the strict fallback)
// must be exact: every byte of binary values, NULL vs the text 'NULL' vs '\N', unicode, charsets,
// exact decimals, dates, JSON, BIT. And it must never store a mangled value: a row the strict
// target rejects is rejected and counted, while the other rows of the same batch arrive.
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { createMysqlPool } from '../../activities/connections';
import { copyRows, type CopySpec } from '../../activities/copy';
import { id, qualified, type KeyValue } from '../../activities/sql';
import { prepareTargetSession, resetLocalInfileRefusal } from '../../activities/writer';
import { dropSchemas, MYSQL_URL, testPool, uniqueName } from '../helpers';

const src = uniqueName('bench_ce_src');
const dst = uniqueName('bench_ce_dst');
let pool: Pool;

const COLUMNS = `
  bin BLOB NULL, vb VARBINARY(16) NULL, bn BINARY(4) NULL,
  txt VARCHAR(100) CHARACTER SET utf8mb4 NULL, lat VARCHAR(20) CHARACTER SET latin1 NULL,
  amount DECIMAL(38,20) NULL, at DATETIME(6) NULL, doc JSON NULL, flags BIT(5) NULL`;

// The target is strict and narrower than the source in two places: `short` and `due`.
const SOURCE_TABLE = `(id INT NOT NULL PRIMARY KEY, ${COLUMNS}, short VARCHAR(10) NULL, due DATE NULL)`;
const TARGET_TABLE = `(id INT NOT NULL PRIMARY KEY, ${COLUMNS}, short VARCHAR(3) NULL, due DATE NULL)`;

const ROWS: unknown[][] = [
  // id, bin, vb, bn, txt, lat, amount, at, doc, flags, short, due
  [1, Buffer.from([0x00, 0x09, 0x0a, 0x5c, 0x0d, 0xff, 0xfe, 0xc3, 0x28, 0x4e]), Buffer.from([0x5c, 0x4e]), Buffer.from([0, 0, 0, 0]), 'plain', 'x', '0.00000000000000000001', '2024-02-29 23:59:59.123456', '{"b": 1, "a": [1.50, "x"]}', Buffer.from([0x15]), 'ok', '2024-01-31'],
  [2, null, null, null, null, null, null, null, null, null, null, null],
  [3, Buffer.alloc(0), Buffer.alloc(0), null, 'NULL', 'NULL', '-12345678901234567.12345678901234567890', '1000-01-01 00:00:00.000000', 'null', Buffer.from([0x00]), '', null],
  [4, Buffer.from('\\N'), null, null, '\\N', '\\N', '99999999999999999.99999999999999999999', '9999-12-31 23:59:59.999999', '"\\\\N \\t"', Buffer.from([0x1f]), 'abc', null],
  [5, Buffer.from([0x0a, 0x0a, 0x09]), null, Buffer.from([0x5c, 0x5c, 0x00, 0x0a]), 'émoji 😀 中文\ttab\nnewline\r\\back\\slash\u0000nul', 'café ñ ÿ', '0E-20', null, '{"k": "😀"}', null, 'ü😀', null],
  [6, null, null, null, 'too long next door', 'x', '1', null, null, null, 'toolong', null], // rejected: value too long
  [7, null, null, null, ' leading and trailing ', null, '2', null, null, null, null, '0000-00-00'], // rejected: zero date
  [8, Buffer.from(Array.from({ length: 256 }, (_, i) => i)), null, null, '', '', '3', null, '[]', Buffer.from([0x10]), null, '2000-02-29'],
];
const REJECTED = [6, 7];

async function createTables(table: string, source: string, target: string): Promise<void> {
  await pool.query(`CREATE TABLE ${qualified(src, table)} ${source} DEFAULT CHARSET=utf8mb4`);
  await pool.query(`CREATE TABLE ${qualified(dst, table)} ${target} DEFAULT CHARSET=utf8mb4`);
  const conn = await pool.getConnection();
  try {
    await conn.query("SET SESSION sql_mode = ''"); // the on-premises source accepts zero dates
    await conn.query(`INSERT INTO ${qualified(src, table)} VALUES ?`, [ROWS]);
  } finally {
    conn.release();
  }
}

async function sessionCount(conn: PoolConnection, name: string): Promise<number> {
  const [rows] = await conn.query<RowDataPacket[]>('SHOW SESSION STATUS LIKE ?', [name]);
  return Number(rows[0]?.Value ?? 0);
}

interface Copied {
  rows: number;
  rejected: number;
  rejectedKeys: KeyValue[][];
  firstError?: string;
  loads: number;
  replaces: number;
}

async function copy(table: string, opts: Partial<CopySpec> & { target?: Pool } = {}): Promise<Copied> {
  const conn = await (opts.target ?? pool).getConnection();
  try {
    await prepareTargetSession(conn);
    const [loads0, replaces0] = [await sessionCount(conn, 'Com_load'), await sessionCount(conn, 'Com_replace')];
    const rejectedKeys: KeyValue[][] = [];
    const out = await copyRows({
      sourcePool: pool, sourceSchema: src, targetConn: conn, targetSchema: dst, table,
      columns: ['id', 'bin', 'vb', 'bn', 'txt', 'lat', 'amount', 'at', 'doc', 'flags', 'short', 'due'],
      key: ['id'], batchRows: 1000, batchBytes: 4 << 20, writeMode: 'load',
      onRejected: async (keys) => void rejectedKeys.push(...keys),
      ...opts,
    });
    return {
      rows: out.rows, rejected: out.rejected, rejectedKeys, firstError: out.firstError,
      loads: (await sessionCount(conn, 'Com_load')) - loads0, replaces: (await sessionCount(conn, 'Com_replace')) - replaces0,
    };
  } finally {
    conn.release();
  }
}

/** Every column in a form that shows each byte: hex for binary, exact text for the rest. */
async function contents(schema: string, table: string): Promise<RowDataPacket[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT id, HEX(bin) bin, HEX(vb) vb, HEX(bn) bn, txt, HEX(txt) txt_hex, lat, HEX(lat) lat_hex, CAST(amount AS CHAR) amount,
            CAST(at AS CHAR) at, doc, flags + 0 flags, short, CAST(due AS CHAR) due
       FROM ${qualified(schema, table)} ORDER BY id`,
  );
  return rows;
}

beforeAll(async () => {
  pool = testPool();
  await pool.query(`CREATE SCHEMA ${id(src)}`);
  await pool.query(`CREATE SCHEMA ${id(dst)}`);
});

afterAll(async () => {
  resetLocalInfileRefusal();
  await dropSchemas(pool, src, dst);
  await pool.end();
});

it('copies every value exactly with LOAD DATA, and rejects and counts bad rows instead of mangling them', async () => {
  await createTables('t', SOURCE_TABLE, TARGET_TABLE);
  const out = await copy('t');
  expect(out.loads).toBeGreaterThan(0);
  expect(out).toMatchObject({ rows: ROWS.length - REJECTED.length, rejected: REJECTED.length });
  expect(out.rejectedKeys).toEqual(REJECTED.map((k) => [k]));
  expect(out.firstError).toMatch(/too long|incorrect|truncat/i);

  const expected = (await contents(src, 't')).filter((r) => !REJECTED.includes(Number(r.id)));
  expect(await contents(dst, 't')).toEqual(expected);
  // Spot checks that the comparison itself sees what matters.
  expect(expected.find((r) => r.id === 1)!.bin).toBe('00090A5C0DFFFEC3284E');
  expect(expected.find((r) => r.id === 2)!.txt).toBeNull();
  expect(expected.find((r) => r.id === 3)!.txt).toBe('NULL');
  expect(expected.find((r) => r.id === 4)!.txt).toBe('\\N');
  expect(expected.find((r) => r.id === 6)).toBeUndefined();
});

it('takes the fast path alone when no row is bad: one LOAD per batch, no REPLACE', async () => {
  await createTables('clean', SOURCE_TABLE, SOURCE_TABLE);
  await pool.query(`DELETE FROM ${qualified(src, 'clean')} WHERE id IN (?)`, [REJECTED]);
  const out = await copy('clean', { batchRows: 3 });
  expect(out).toMatchObject({ rows: ROWS.length - REJECTED.length, rejected: 0, loads: 2, replaces: 0 });
  expect(await contents(dst, 'clean')).toEqual(await contents(src, 'clean'));
});

it('rejects and counts bad rows of a table without a primary key, the batch otherwise intact', async () => {
  await createTables('nokey', SOURCE_TABLE.replace(' PRIMARY KEY', ''), TARGET_TABLE.replace(' PRIMARY KEY', ''));
  const out = await copy('nokey', { key: [] });
  expect(out).toMatchObject({ rows: ROWS.length - REJECTED.length, rejected: REJECTED.length });
  expect(await contents(dst, 'nokey')).toEqual((await contents(src, 'nokey')).filter((r) => !REJECTED.includes(Number(r.id))));
});

it('falls back to REPLACE when the target refuses LOCAL INFILE, with the same result', async () => {
  // A client that does not offer LOCAL INFILE is refused the way a server with local_infile=OFF refuses it.
  const noLocal = createMysqlPool(MYSQL_URL, { connectionLimit: 1, flags: ['-LOCAL_FILES'] });
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    await createTables('refused', SOURCE_TABLE, TARGET_TABLE);
    const out = await copy('refused', { target: noLocal, batchRows: 3 });
    // One refused attempt (the server counts it), then REPLACE for every batch after it.
    expect(out).toMatchObject({ rows: ROWS.length - REJECTED.length, rejected: REJECTED.length, loads: 1 });
    expect(out.replaces).toBeGreaterThanOrEqual(3);
    expect(await contents(dst, 'refused')).toEqual((await contents(src, 'refused')).filter((r) => !REJECTED.includes(Number(r.id))));
    expect(warn.mock.calls.filter(([m]) => /refused LOAD DATA LOCAL/.test(String(m)))).toHaveLength(1);
  } finally {
    warn.mockRestore();
    resetLocalInfileRefusal();
    await noLocal.end();
  }
});

it('reads the rows for LOAD DATA raw: each row its packet\'s bytes, nothing parsed, and the file equals the typed one', async () => {
  const { readRows } = await import('../../activities/row-reader');
  const { encodeRawBatch, typedRow } = await import('../../activities/raw-rows');
  const { encodeBatch } = await import('../../activities/load-data');
  await createTables('raw', SOURCE_TABLE, SOURCE_TABLE);
  const read = async (raw: boolean) => {
    const conn = await pool.getConnection();
    try {
      const core = conn.connection as unknown as import('mysql2').Connection;
      const chunks = [];
      for await (const c of readRows(core, `SELECT * FROM ${qualified(src, 'raw')} ORDER BY id`, [], 4 << 20, raw)) chunks.push(c);
      return { rows: chunks.flatMap((c) => c.rows as unknown[]), codec: chunks[0].codec };
    } finally {
      conn.release();
    }
  };
  const raw = await read(true);
  const typed = await read(false);
  // If mysql2 ever stopped handing the bytes over, rows would come parsed and the copy would go on typed: this says it did not.
  expect(raw.codec).toBeDefined();
  expect(raw.rows.every((r) => Buffer.isBuffer(r))).toBe(true);
  expect(typed.codec).toBeUndefined();
  expect(raw.rows.map((r) => typedRow(r as Buffer, raw.codec!))).toEqual(typed.rows);
  const file = async (b: { stream(): NodeJS.ReadableStream }) => {
    const parts: Buffer[] = [];
    for await (const p of b.stream()) parts.push(p as Buffer);
    return Buffer.concat(parts);
  };
  expect((await file(encodeRawBatch(raw.rows as Buffer[], raw.codec!))).equals(await file(encodeBatch(typed.rows as unknown[][], 12)!))).toBe(true);
  // The same connection reads typed again afterwards (the pass-through is the one query's).
  expect((await read(false)).rows).toEqual(typed.rows);
});
