// Encodes rows for LOAD DATA LOCAL INFILE, exactly: the default text format (fields split by tab,
// rows by newline, backslash escapes), read by the server as utf8mb4 and converted to each column's
// charset. Values arrive as exact strings (dates, DECIMAL, BIGINT, JSON: see connections.ts), so
// they are written as they came; binary values travel as hex into a user variable and are
// UNHEXed, so every byte survives whatever the file's charset.
import { Readable } from 'node:stream';
import { id } from './sql';

export interface EncodedBatch {
  /** Per column: true when it carries binary values (hex in the file, UNHEX on the server). */
  hex: boolean[];
  /** The file, as a fresh stream each time the server asks for it. */
  stream(): Readable;
  bytes: number;
}

// Within a field, backslash is the escape; tab and newline would end the field or the row. A
// carriage return and NUL are escaped too so that the file reads the same under any line ending.
const SPECIAL = /[\\\t\n\r\0]/;
const SPECIAL_ALL = /[\\\t\n\r\0]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

/** `\N` is NULL; the word NULL (no ENCLOSED BY) and the two characters `\N` escaped stay text. */
const NULL_FIELD = '\\N';

/** Largest piece handed to mysql2 at a time: each becomes one protocol packet (< 16 MB). */
const CHUNK_BYTES = 1 << 20;

export function escapeText(value: string): string {
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (c) => ESCAPES[c]) : value;
}

/**
 * The batch as a LOAD DATA file, or undefined when some value has no exact text form here (e.g. a
 * geometry object, or a column mixing Buffers and strings): such a batch takes the REPLACE path.
 */
export function encodeBatch(rows: unknown[][], width: number): EncodedBatch | undefined {
  const hex = new Array<boolean>(width).fill(false);
  for (const row of rows) {
    for (let c = 0; c < width; c++) if (Buffer.isBuffer(row[c])) hex[c] = true;
  }
  const lines: string[] = new Array(rows.length);
  const fields: string[] = new Array(width);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    for (let c = 0; c < width; c++) {
      const v = row[c];
      if (v === null || v === undefined) fields[c] = NULL_FIELD;
      else if (hex[c]) {
        if (!Buffer.isBuffer(v)) return undefined;
        fields[c] = v.toString('hex');
      } else if (typeof v === 'string') fields[c] = escapeText(v);
      else if (typeof v === 'number' || typeof v === 'bigint') fields[c] = String(v);
      else return undefined;
    }
    lines[r] = fields.join('\t');
  }
  lines.push(''); // every row ends with a newline
  const file = Buffer.from(lines.join('\n'), 'utf8');
  return {
    hex,
    bytes: file.length,
    stream: () => fileStream(file),
  };
}

/** The file as the stream mysql2 sends the server, a packet's worth at a time. */
export function fileStream(file: Buffer): Readable {
  return Readable.from(chunks(file), { objectMode: false });
}

function* chunks(file: Buffer): Generator<Buffer> {
  for (let i = 0; i < file.length; i += CHUNK_BYTES) yield file.subarray(i, i + CHUNK_BYTES);
}

/**
 * The statement for a batch. The file name is never opened: mysql2 hands the server our stream.
 * Binary columns go through user variables @h0, @h1, … so the server UNHEXes them.
 */
export function loadDataSql(table: string, columns: string[], hex: boolean[]): string {
  const targets = columns.map((c, i) => (hex[i] ? `@h${i}` : id(c)));
  const sets = columns.flatMap((c, i) => (hex[i] ? [`${id(c)} = UNHEX(@h${i})`] : []));
  return (
    `LOAD DATA LOCAL INFILE 'cm-batch.tsv' REPLACE INTO TABLE ${table} CHARACTER SET utf8mb4 ` +
    "FIELDS TERMINATED BY '\\t' ENCLOSED BY '' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' " +
    `(${targets.join(', ')})${sets.length ? ` SET ${sets.join(', ')}` : ''}`
  );
}
