import type { FieldPacket } from 'mysql2';
import { encodeBatch } from '../../activities/load-data';
import { encodeRawBatch, rawCodec, rawEncodable, rawRowBytes, typedColumns, typedRow, type RawRow } from '../../activities/raw-rows';

async function bytes(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** A text-protocol row packet's payload: each value length-encoded, 0xfb for NULL. */
function packet(values: (Buffer | string | null)[]): RawRow {
  const parts: Buffer[] = [];
  for (const v of values) {
    if (v === null) {
      parts.push(Buffer.from([0xfb]));
      continue;
    }
    const b = Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');
    const n = b.length;
    if (n < 0xfb) parts.push(Buffer.from([n]));
    else if (n < 2 ** 16) parts.push(Buffer.from([0xfc, n & 0xff, n >> 8]));
    else if (n < 2 ** 24) parts.push(Buffer.from([0xfd, n & 0xff, (n >> 8) & 0xff, n >> 16]));
    else {
      const h = Buffer.alloc(9);
      h[0] = 0xfe;
      h.writeUInt32LE(n, 1);
      parts.push(h);
    }
    parts.push(b);
  }
  return Buffer.concat(parts);
}

// Column metadata as mysql2 reports it over a utf8mb4 connection (type numbers from lib/constants/types.js).
const field = (columnType: number, characterSet: number, encoding: string, extendedFormat?: string): FieldPacket =>
  ({ columnType, characterSet, encoding, extendedFormat } as unknown as FieldPacket);
const UTF8 = 45;
const BINARY = 63;
const fields = [
  field(0x03, BINARY, 'binary'), // INT
  field(0x08, BINARY, 'binary'), // BIGINT
  field(0xf6, BINARY, 'binary'), // DECIMAL
  field(0x0c, BINARY, 'binary'), // DATETIME
  field(0xfd, UTF8, 'utf8'), // VARCHAR
  field(0xfc, BINARY, 'binary'), // BLOB
  field(0xfc, UTF8, 'utf8', 'json'), // MariaDB JSON (LONGTEXT)
  field(0x10, BINARY, 'binary'), // BIT
  field(0x05, BINARY, 'binary'), // DOUBLE
];

describe('raw rows (the full load passes values through as the server sent them)', () => {
  const long = 'x'.repeat(300) + '\t'; // a two-byte length
  const typed = [
    [1, '9223372036854775807', '-12.3400', '2024-02-29 23:59:59.123456', 'a\\b\tc\nd\re\0f ü 😀', Buffer.from([0x00, 0x5c, 0x0a, 0xff]), '{"b": 1, "a": [1.10]}', Buffer.from([5]), '9.547008480454803'],
    [-2, null, null, null, '', Buffer.alloc(0), null, null, null],
    [3, '0', '0.0000', '0000-00-00 00:00:00', 'NULL', null, '\\N', Buffer.from([0]), '-1e-300'],
    [4, '1', '1', '2000-01-01 00:00:00', long, Buffer.alloc(70_000, 7), 'y'.repeat(2 ** 24 + 3), Buffer.from([1]), '0'],
  ];
  const raw = typed.map((row) => packet(row.map((v) => (v === null ? null : Buffer.isBuffer(v) ? v : String(v)))));
  const codec = rawCodec(fields);

  it('writes byte for byte the file the typed encoding writes', async () => {
    const fromRaw = encodeRawBatch(raw, codec);
    const fromTyped = encodeBatch(typed, fields.length)!;
    expect(fromRaw.hex).toEqual(fromTyped.hex);
    const file = await bytes(fromRaw.stream());
    expect(file.equals(await bytes(fromTyped.stream()))).toBe(true);
    expect(fromRaw.bytes).toBe(file.length);
    expect((await bytes(fromRaw.stream())).equals(file)).toBe(true); // a fresh stream each time the server asks
  });

  it('writes the same file into a writer\'s reused buffer, growing it when a batch needs more', async () => {
    const scratch = {};
    const small = await bytes(encodeRawBatch(raw.slice(0, 2), codec, scratch).stream());
    expect(small.equals(await bytes(encodeRawBatch(raw.slice(0, 2), codec).stream()))).toBe(true);
    const first = (scratch as { buffer: Buffer }).buffer;
    const all = await bytes(encodeRawBatch(raw, codec, scratch).stream()); // needs more: a larger buffer
    expect(all.equals(await bytes(encodeRawBatch(raw, codec).stream()))).toBe(true);
    expect((scratch as { buffer: Buffer }).buffer).not.toBe(first);
    const grown = (scratch as { buffer: Buffer }).buffer;
    const again = await bytes(encodeRawBatch(raw.slice(1, 3), codec, scratch).stream()); // fits: the same buffer
    expect(again.equals(await bytes(encodeRawBatch(raw.slice(1, 3), codec).stream()))).toBe(true);
    expect((scratch as { buffer: Buffer }).buffer).toBe(grown);
  });

  it('gives back the typed read\'s values: numbers for small integers, exact strings, bytes for binary', () => {
    expect(raw.map((r) => typedRow(r, codec))).toEqual(typed);
    expect(typedColumns(raw[0], codec, [0, 4])).toEqual([1, typed[0][4]]);
    expect(rawEncodable(codec)).toBe(true);
    expect(rawEncodable(rawCodec([field(0xfd, 8, 'latin1')]))).toBe(false);
  });

  it('sizes a row by what it takes in the file: binary counts twice', () => {
    const row = packet(['1', null, null, null, 'abc', Buffer.alloc(1000), null, null, null]);
    expect(rawRowBytes(row, codec)).toBe(row.length + 1000);
    expect(rawRowBytes(packet(['1']), rawCodec([field(0x03, BINARY, 'binary')]))).toBe(2);
  });
});
