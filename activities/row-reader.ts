// Reads a query's rows with back-pressure counted in bytes, not rows: 256 buffered rows are 50 KB
// of a ledger but 512 MB of 2 MB BLOBs. Once `maxBytes` of rows wait unread, the connection is
// paused (mysql2 then stops reading the socket, and TCP stops the server); it resumes when the
// consumer takes them.
//
// With `raw`, each row is its packet's bytes (raw-rows.ts), not parsed, and the chunks carry the codec
// that says how to write and read them.
import type { Connection as CoreConnection, FieldPacket } from 'mysql2';
import { rawCodec, rawRowBytes, type RawCodec, type RawRow } from './raw-rows';
import { rowBytes } from './sql';

export interface RowChunk {
  /** Parsed rows, or with `codec` the rows' raw bytes. */
  rows: unknown[][] | RawRow[];
  /** The size of each row, computed once here and reused for batching. */
  sizes: number[];
  /** Set when the rows are raw. */
  codec?: RawCodec;
}

/** The packet mysql2 hands its row parser: the row's bytes are buffer[offset, end). */
interface Packet {
  buffer: Buffer;
  offset: number;
  end: number;
}

/**
 * Makes `query` hand over each row's bytes instead of parsing them. mysql2 has no public way to do
 * this: its row parser is compiled when the columns have arrived, right after the 'fields' event, and
 * kept in `_rowParser`; that assignment is caught here and a parser that slices the packet is used.
 * Were mysql2 to change, the assignment is not caught, rows come parsed, and the read goes on typed.
 */
function passThrough(query: object): void {
  const slicer = { next: (packet: Packet): RawRow => packet.buffer.subarray(packet.offset, packet.end) };
  Object.defineProperty(query, '_rowParser', { configurable: true, get: () => slicer, set: () => undefined });
}

export async function* readRows(core: CoreConnection, sql: string, values: unknown[], maxBytes: number, raw = false): AsyncGenerator<RowChunk> {
  let codec: RawCodec | undefined;
  let chunk: RowChunk = { rows: [], sizes: [] };
  let bytes = 0;
  let paused = false;
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const query = core.query({ sql, values, rowsAsArray: true });
  query.on('fields', (fields: FieldPacket[]) => {
    if (!raw) return;
    chunk.codec = codec = rawCodec(fields);
    passThrough(query);
  });
  query.on('result', (row: unknown) => {
    if (codec && !Buffer.isBuffer(row)) chunk.codec = codec = undefined; // not caught: typed rows (see passThrough)
    const size = codec ? rawRowBytes(row as RawRow, codec) : rowBytes(row as unknown[]);
    (chunk.rows as unknown[]).push(row);
    chunk.sizes.push(size);
    bytes += size;
    if (bytes >= maxBytes && !paused) {
      paused = true;
      core.pause();
    }
    notify();
  });
  query.on('error', (err: unknown) => {
    failure ??= err;
    ended = true;
    notify();
  });
  query.on('end', () => {
    ended = true;
    notify();
  });

  for (;;) {
    if (chunk.rows.length > 0) {
      const ready = chunk;
      chunk = { rows: [], sizes: [], codec };
      bytes = 0;
      // Resuming may deliver queued packets synchronously (into the fresh chunk), which is fine.
      if (paused) {
        paused = false;
        core.resume();
      }
      yield ready;
      continue;
    }
    if (failure) throw failure;
    if (ended) return;
    await new Promise<void>((resolve) => (wake = resolve));
  }
}
