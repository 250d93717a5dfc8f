// Pass-through rows for the full load. A row is kept as the bytes of its protocol packet (one Buffer a
// row, not a JavaScript value a column) and written into the LOAD DATA file from those bytes, escaped:
// values that are only passed from the source to the target are never parsed and printed again. Text
// arrives in the connection's utf8mb4, the file's character set; binary values go as hex, as in
// load-data.ts. Only the resume point (the last row's key) and a batch that must take the strict
// REPLACE path are turned into typed values, the same ones the typed read gives (connections.ts).
import type { FieldPacket } from 'mysql2';
import { fileStream, type EncodedBatch } from './load-data';

/** One row: the text protocol's length-encoded values, as the server sent them. */
export type RawRow = Buffer;

/** How each column's bytes are written, and what typed value they stand for. */
export interface RawCodec {
  /** Per column: how its bytes go into the file. */
  write: Write[];
  typed: Typed[];
  /** Per column: the encoding its text arrives in (utf8 on the utf8mb4 connection). */
  encoding: string[];
}

/** `hex`: binary; `copy`: digits and punctuation, nothing to escape; `escape`: text. */
type Write = 'hex' | 'copy' | 'escape';
type Typed = 'number' | 'ascii' | 'text' | 'buffer';

// mysql2's column type numbers (lib/constants/types.js).
const T = {
  DECIMAL: 0x00, TINY: 0x01, SHORT: 0x02, LONG: 0x03, FLOAT: 0x04, DOUBLE: 0x05, NULL: 0x06, TIMESTAMP: 0x07, LONGLONG: 0x08,
  INT24: 0x09, DATE: 0x0a, TIME: 0x0b, DATETIME: 0x0c, YEAR: 0x0d, NEWDATE: 0x0e, JSON: 0xf5, NEWDECIMAL: 0xf6,
} as const;
const SMALL_INTS = new Set<number>([T.TINY, T.SHORT, T.LONG, T.INT24, T.YEAR]);
const ASCII_TYPES = new Set<number>([T.NULL, T.LONGLONG, T.FLOAT, T.DOUBLE, T.DECIMAL, T.NEWDECIMAL, T.DATE, T.NEWDATE, T.DATETIME, T.TIMESTAMP, T.TIME]);
const BINARY_CHARSET = 63;

export function rawCodec(fields: FieldPacket[]): RawCodec {
  const codec: RawCodec = { write: [], typed: [], encoding: [] };
  for (const f of fields) {
    const type = f.columnType ?? f.type ?? -1;
    let typed: Typed;
    if (f.extendedFormat === 'json' || type === T.JSON) typed = 'text'; // JSON is text, whatever charset is reported
    else if (SMALL_INTS.has(type)) typed = 'number';
    else if (ASCII_TYPES.has(type)) typed = 'ascii'; // BIGINT, DOUBLE, DECIMAL, dates: exact strings
    else typed = (f.characterSet ?? f.charsetNr) === BINARY_CHARSET ? 'buffer' : 'text'; // strings, BLOBs, BIT, ENUM, SET
    codec.typed.push(typed);
    codec.write.push(typed === 'buffer' ? 'hex' : typed === 'text' ? 'escape' : 'copy');
    codec.encoding.push(type === T.JSON ? 'utf8' : f.encoding ?? 'utf8');
  }
  return codec;
}

/** True when the file can carry the rows' text as it came: it arrived as utf8. */
export function rawEncodable(codec: RawCodec): boolean {
  return codec.encoding.every((e, c) => codec.typed[c] !== 'text' || e === 'utf8');
}

/** About what a row takes in the file: what batches are cut by (hex doubles binary values). */
export function rawRowBytes(row: RawRow, codec: RawCodec): number {
  if (!codec.write.includes('hex')) return row.length;
  let n = row.length;
  forEachValue(row, codec.write.length, (c, start, end) => {
    if (codec.write[c] === 'hex') n += end - start;
  });
  return n;
}

/** The length of the value whose length-encoded prefix starts at `q`, or -1 for NULL (0xfb). */
export function lengthAt(row: Buffer, q: number): number {
  const first = row[q];
  if (first < 0xfb) return first;
  if (first === 0xfb) return -1;
  if (first === 0xfc) return row[q + 1] | (row[q + 2] << 8);
  if (first === 0xfd) return row[q + 1] | (row[q + 2] << 8) | (row[q + 3] << 16);
  return row.readUInt32LE(q + 1) + row.readUInt32LE(q + 5) * 2 ** 32;
}

/** How many bytes the prefix at `q` takes. */
export function prefixAt(row: Buffer, q: number): number {
  const first = row[q];
  return first <= 0xfb ? 1 : first === 0xfc ? 3 : first === 0xfd ? 4 : 9;
}

/** Calls `fn` with each value's bounds in the row (start = -1 for NULL). */
function forEachValue(row: Buffer, width: number, fn: (c: number, start: number, end: number) => void): void {
  let p = 0;
  for (let c = 0; c < width; c++) {
    const len = lengthAt(row, p);
    p += prefixAt(row, p);
    if (len < 0) fn(c, -1, -1);
    else {
      fn(c, p, p + len);
      p += len;
    }
  }
}

const BACKSLASH = 0x5c;
const TAB = 0x09;
const NEWLINE = 0x0a;
// The escaped form of the bytes load-data.ts escapes: backslash, tab, newline, carriage return, NUL.
const ESCAPED_AS = new Uint8Array(BACKSLASH + 1);
ESCAPED_AS[BACKSLASH] = 0x5c;
ESCAPED_AS[TAB] = 0x74;
ESCAPED_AS[NEWLINE] = 0x6e;
ESCAPED_AS[0x0d] = 0x72;
ESCAPED_AS[0x00] = 0x30;

/** A buffer a writer encodes each batch into, grown as needed: one batch is written at a time. */
export interface EncodeScratch {
  buffer?: Buffer;
}

/**
 * The batch as a LOAD DATA file: byte for byte what load-data.ts `encodeBatch` writes for the typed rows.
 * With `scratch`, the file is written into its buffer (valid until the next batch is encoded) rather
 * than a new one: a megabyte-sized buffer a batch counts as external memory and drove the worker's
 * garbage collection.
 */
export function encodeRawBatch(rows: RawRow[], codec: RawCodec, scratch?: EncodeScratch): EncodedBatch {
  const width = codec.write.length;
  let capacity = 0;
  for (const row of rows) capacity += row.length * 2 + width + 1; // every byte escaped or hexed, at worst
  let out: Buffer;
  if (!scratch) out = Buffer.allocUnsafe(capacity);
  else {
    if (!scratch.buffer || scratch.buffer.length < capacity) scratch.buffer = Buffer.allocUnsafe(Math.max(capacity, (scratch.buffer?.length ?? 0) * 2));
    out = scratch.buffer;
  }
  let p = 0;
  for (const row of rows) {
    let q = 0;
    for (let c = 0; c < width; c++) {
      if (c > 0) out[p++] = TAB;
      const len = lengthAt(row, q);
      q += prefixAt(row, q);
      if (len < 0) {
        out[p++] = BACKSLASH;
        out[p++] = 0x4e; // \N
        continue;
      }
      const end = q + len;
      const how = codec.write[c];
      if (how === 'copy') {
        for (; q < end; q++) out[p++] = row[q]; // a few digits: a loop beats a native copy's call
      } else if (how === 'hex') {
        p += out.write(row.toString('hex', q, end), p, 'latin1');
        q = end;
      } else {
        for (; q < end; q++) {
          const b = row[q];
          // Multi-byte UTF-8 sequences are all ≥ 0x80: only these ASCII bytes can need escaping.
          if (b <= BACKSLASH && (b === BACKSLASH || b === TAB || b === NEWLINE || b === 0x0d || b === 0x00)) {
            out[p++] = BACKSLASH;
            out[p++] = ESCAPED_AS[b];
          } else out[p++] = b;
        }
      }
    }
    out[p++] = NEWLINE;
  }
  const file = out.subarray(0, p);
  return { hex: codec.write.map((w) => w === 'hex'), bytes: file.length, stream: () => fileStream(file) };
}

function typedValue(row: Buffer, start: number, end: number, codec: RawCodec, c: number): unknown {
  if (start < 0) return null;
  switch (codec.typed[c]) {
    case 'number':
      return Number(row.toString('latin1', start, end));
    case 'ascii':
      return row.toString('latin1', start, end);
    case 'buffer':
      return Buffer.from(row.subarray(start, end)); // a copy: a slice would pin the socket's read buffer
    default:
      return codec.encoding[c] === 'utf8' ? row.toString('utf8', start, end) : new TextDecoder(codec.encoding[c]).decode(row.subarray(start, end));
  }
}

/** The row's typed values, as the typed read gives them (for the strict path). */
export function typedRow(row: RawRow, codec: RawCodec): unknown[] {
  const out = new Array<unknown>(codec.write.length);
  forEachValue(row, codec.write.length, (c, start, end) => (out[c] = typedValue(row, start, end, codec, c)));
  return out;
}

/** Some columns' typed values (the key of the last row of a batch: the resume point). */
export function typedColumns(row: RawRow, codec: RawCodec, columns: number[]): unknown[] {
  const all = typedRow(row, codec);
  return columns.map((i) => all[i]);
}
