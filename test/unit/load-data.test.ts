import { encodeBatch, escapeText, loadDataSql } from '../../activities/load-data';

async function text(rows: unknown[][], width: number): Promise<string> {
  const batch = encodeBatch(rows, width)!;
  const parts: Buffer[] = [];
  for await (const chunk of batch.stream()) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

describe('LOAD DATA encoding', () => {
  it('escapes exactly the characters the default format gives a meaning to', () => {
    expect(escapeText('a\\b\tc\nd\re\0f')).toBe('a\\\\b\\tc\\nd\\re\\0f');
    expect(escapeText('plain ü 😀')).toBe('plain ü 😀');
  });

  it('writes NULL as \\N, keeps the word NULL and the text \\N apart from it, and hexes binary columns', async () => {
    const rows = [
      [1, null, 'NULL', Buffer.from([0x00, 0x5c])],
      [2, '\\N', '', null],
    ];
    expect(await text(rows, 4)).toBe('1\t\\N\tNULL\t005c\n2\t\\\\N\t\t\\N\n');
    expect(encodeBatch(rows, 4)!.hex).toEqual([false, false, false, true]);
  });

  it('gives up (the REPLACE path takes over) on values it cannot write exactly', () => {
    expect(encodeBatch([[1, { x: 1, y: 2 }]], 2)).toBeUndefined(); // e.g. a geometry object
    expect(encodeBatch([[Buffer.from('a')], ['a']], 1)).toBeUndefined(); // a column mixing bytes and text
  });

  it('reads binary columns into user variables and UNHEXes them', () => {
    const sql = loadDataSql('`s`.`t`', ['id', 'we`ird', 'blob'], [false, false, true]);
    expect(sql).toContain("REPLACE INTO TABLE `s`.`t` CHARACTER SET utf8mb4");
    expect(sql).toContain('(`id`, `we``ird`, @h2) SET `blob` = UNHEX(@h2)');
  });
});

describe('statementBytes (REPLACE statements cut to the target\'s max_allowed_packet)', () => {
  const { statementBytes } = require('../../activities/writer') as typeof import('../../activities/writer');
  it('counts binary as hex, strings with their escapes, and is never below what mysql2 sends', () => {
    const mysql = require('mysql2') as typeof import('mysql2');
    for (const row of [[1, 'plain', null], [Buffer.from([0, 1, 2, 255]), "it's \\ \n\t\0 \u001a é"], ['x'.repeat(1000), Buffer.alloc(300)]]) {
      const sent = mysql.format('(?)', [row]).length;
      expect(statementBytes(row)).toBeGreaterThanOrEqual(Buffer.byteLength(mysql.format('(?)', [row])));
      expect(statementBytes(row)).toBeLessThan(sent + 20);
    }
    expect(statementBytes([Buffer.alloc(50 * 2 ** 20)])).toBeGreaterThan(100 * 2 ** 20);
  });
});
