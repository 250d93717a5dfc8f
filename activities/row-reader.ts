// Reads a query's rows with back-pressure counted in bytes, not rows: 256 buffered rows are 50 KB
// of a ledger but 512 MB of 2 MB BLOBs. Once `maxBytes` of rows wait unread, the connection is
// paused (mysql2 then stops reading the socket, and TCP stops the server); it resumes when the
// consumer takes them.
import type { Connection as CoreConnection } from 'mysql2';
import { rowBytes } from './sql';

export interface RowChunk {
  rows: unknown[][];
  /** rowBytes() of each row, computed once here and reused for batching. */
  sizes: number[];
}

export async function* readRows(core: CoreConnection, sql: string, values: unknown[], maxBytes: number): AsyncGenerator<RowChunk> {
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
  query.on('result', (row: unknown) => {
    const size = rowBytes(row as unknown[]);
    chunk.rows.push(row as unknown[]);
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
      chunk = { rows: [], sizes: [] };
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
