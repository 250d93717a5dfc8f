// A table's rows as a CSV file that DuckDB's reader (C++, both cores) takes in, instead of one
// JavaScript call per value into its appender: three times faster on a ledger. The rows arrive as
// their protocol packets' bytes (raw-rows.ts) and go into the file without being parsed: every text
// value quoted, its quotes doubled; binary values as quoted hex; NULL an empty, unquoted field (read
// with allow_quoted_nulls off, so "" stays an empty string).
import { open } from 'node:fs/promises';
import type { Connection as CoreConnection } from 'mysql2';
import { lengthAt, prefixAt, type RawCodec, type RawRow } from '../raw-rows';
import { readRows } from '../row-reader';

const QUOTE = 0x22;
const COMMA = 0x2c;
const NEWLINE = 0x0a;

export interface CsvFile {
  rows: number;
  /** The longest line written, in bytes: DuckDB's reader must be told (its default is 2 MB). */
  maxLine: number;
}

/** The rows of `sql` into `path`; `binary[i]`: column i is bytes (written as hex). */
export async function writeRowsCsv(core: CoreConnection, sql: string, params: unknown[], path: string, binary: boolean[], progress: (rows: number) => void): Promise<CsvFile> {
  const file = await open(path, 'w');
  let rows = 0;
  let maxLine = 0;
  try {
    for await (const chunk of readRows(core, sql, params, 8 * 1024 * 1024, true)) {
      const encoded = chunk.codec ? encodeRaw(chunk.rows as RawRow[], chunk.codec) : encodeTyped(chunk.rows as unknown[][], binary);
      await file.write(encoded.bytes);
      maxLine = Math.max(maxLine, encoded.maxLine);
      rows += chunk.rows.length;
      progress(rows);
    }
  } finally {
    await file.close();
  }
  return { rows, maxLine };
}

const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** DuckDB's reader of such a file: every column text, as written. */
export function csvReader(path: string, columns: string[], file: CsvFile): string {
  return `read_csv(${literal(path)}, columns = {${columns.map((c) => `${literal(c)}: 'VARCHAR'`).join(', ')}}, ` +
    `delim = ',', quote = '"', escape = '"', header = false, nullstr = '', allow_quoted_nulls = false, auto_detect = false, ` +
    `new_line = '\\n', max_line_size = ${Math.max(2_097_152, file.maxLine + 1024)})`;
}

/** Packets to CSV lines, byte for byte: text copied between quotes (its own quotes doubled), binary as hex. */
export function encodeRaw(rows: RawRow[], codec: RawCodec): { bytes: Buffer; maxLine: number } {
  const width = codec.write.length;
  let capacity = 0;
  for (const row of rows) capacity += row.length * 2 + width * 3 + 1; // every byte hexed or doubled, at worst, and quotes
  const out = Buffer.allocUnsafe(capacity);
  let p = 0;
  let maxLine = 0;
  for (const row of rows) {
    const lineStart = p;
    let q = 0;
    for (let c = 0; c < width; c++) {
      if (c > 0) out[p++] = COMMA;
      const len = lengthAt(row, q);
      q += prefixAt(row, q);
      if (len < 0) continue; // NULL: nothing between the commas
      const end = q + len;
      const how = codec.write[c];
      if (how === 'copy') {
        for (; q < end; q++) out[p++] = row[q]; // digits, dates: nothing to quote
      } else if (how === 'hex') {
        // Quoted: an empty value must not read as NULL.
        out[p++] = QUOTE;
        p += out.write(row.toString('hex', q, end), p, 'latin1');
        out[p++] = QUOTE;
        q = end;
      } else {
        out[p++] = QUOTE;
        for (let at = row.indexOf(QUOTE, q); at >= 0 && at < end; at = row.indexOf(QUOTE, q)) {
          p += row.copy(out, p, q, at + 1);
          out[p++] = QUOTE;
          q = at + 1;
        }
        p += row.copy(out, p, q, end);
        q = end;
        out[p++] = QUOTE;
      }
    }
    out[p++] = NEWLINE;
    maxLine = Math.max(maxLine, p - lineStart);
  }
  return { bytes: out.subarray(0, p), maxLine };
}

/** Typed rows (mysql2 parsed them: its raw hand-over was not caught) to the same lines. */
export function encodeTyped(rows: unknown[][], binary: boolean[]): { bytes: Buffer; maxLine: number } {
  const lines: string[] = [];
  let maxLine = 0;
  for (const row of rows) {
    const line = row.map((v, c) => {
      if (v === null || v === undefined) return '';
      if (Buffer.isBuffer(v)) return binary[c] ? `"${v.toString('hex')}"` : `"${v.toString('utf8').replace(/"/g, '""')}"`;
      return typeof v === 'number' || typeof v === 'bigint' ? String(v) : `"${String(v).replace(/"/g, '""')}"`;
    }).join(',');
    maxLine = Math.max(maxLine, Buffer.byteLength(line) + 1);
    lines.push(line);
  }
  return { bytes: Buffer.from(lines.length ? `${lines.join('\n')}\n` : ''), maxLine };
}
