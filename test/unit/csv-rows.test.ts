// The lake's CSV hand-over to DuckDB: every value read back as it went in, whatever it holds (quotes,
// commas, newlines, an empty string against NULL, empty and arbitrary bytes), from raw packets and
// from typed rows alike.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { csvReader, encodeRaw, encodeTyped } from '../../activities/lake/csv-rows';
import type { RawCodec } from '../../activities/raw-rows';

/** A text-protocol row: each value length-encoded, NULL as 0xfb. */
function packet(values: (string | Buffer | null)[]): Buffer {
  return Buffer.concat(values.map((v) => {
    if (v === null) return Buffer.from([0xfb]);
    const b = Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');
    if (b.length < 0xfb) return Buffer.concat([Buffer.from([b.length]), b]);
    if (b.length < 0x10000) return Buffer.concat([Buffer.from([0xfc, b.length & 0xff, b.length >> 8]), b]);
    return Buffer.concat([Buffer.from([0xfd, b.length & 0xff, (b.length >> 8) & 0xff, b.length >> 16]), b]);
  }));
}

const ROWS: (string | Buffer | null)[][] = [
  ['1', 'plain', Buffer.from([0x00, 0xff, 0x22, 0x2c, 0x0a]), '12.50'],
  ['2', 'a "quoted", text\nwith a newline\r\nand ü 😀', Buffer.alloc(0), null],
  ['3', '', null, '-0.01'],
  ['4', null, Buffer.from('"'), '0'],
  ['5', 'NULL', Buffer.alloc(300, 7), '\\N'],
  ['6', '"', Buffer.from(','), ''],
];
const codec: RawCodec = { write: ['copy', 'escape', 'hex', 'escape'], typed: ['number', 'text', 'buffer', 'text'], encoding: ['utf8', 'utf8', 'utf8', 'utf8'] };

async function readBack(bytes: Buffer, maxLine: number): Promise<unknown[][]> {
  const dir = mkdtempSync(join(tmpdir(), 'cm-csv-'));
  const path = join(dir, 'rows.csv');
  writeFileSync(path, bytes);
  const duck = await DuckDBInstance.create(':memory:');
  const db = await duck.connect();
  try {
    const reader = csvReader(path, ['id', 'text', 'bytes', 'more'], { rows: ROWS.length, maxLine });
    return (await db.runAndReadAll(`SELECT id, text, hex(unhex(bytes)), more FROM ${reader} ORDER BY id::INTEGER`)).getRows();
  } finally {
    db.closeSync();
    duck.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}

const expected = ROWS.map((r) => r.map((v) => (v === null ? null : Buffer.isBuffer(v) ? v.toString('hex').toUpperCase() : v)));

it('reads back every value of raw rows as it was, NULL apart from the empty string', async () => {
  const { bytes, maxLine } = encodeRaw(ROWS.map(packet), codec);
  expect(await readBack(bytes, maxLine)).toEqual(expected);
});

it('reads back typed rows the same way', async () => {
  const typed = ROWS.map((r) => r.map((v, c) => (c === 0 && typeof v === 'string' ? Number(v) : v)));
  const { bytes, maxLine } = encodeTyped(typed, [false, false, true, false]);
  expect(await readBack(bytes, maxLine)).toEqual(expected);
});

it('reads a line longer than the reader\'s default limit', async () => {
  const long = [['1', 'x'.repeat(3_000_000), Buffer.alloc(0), null]];
  const { bytes, maxLine } = encodeRaw(long.map(packet), codec);
  const [row] = await readBack(bytes, maxLine);
  expect(String(row[1]).length).toBe(3_000_000);
});
