// The verification hash's row encoding, as exact SQL: SHA1 of the columns' pieces joined by ',',
// strings QUOTE'd, other values as their text or N for NULL, large values as their own SHA1.
import type { ColumnMeta } from '../../activities/introspect';
import { rowHashSql } from '../../activities/table-diff';

const col = (name: string, dataType: string, columnType = dataType, extra: Partial<ColumnMeta> = {}): ColumnMeta => ({
  name, dataType, columnType, nullable: true, generated: false, ...extra,
});
const utf8 = { collation: 'utf8mb4_general_ci' };

describe('rowHashSql', () => {
  it('encodes an integer as its text, and a nullable one with N for NULL', () => {
    expect(rowHashSql([col('id', 'int', 'int(11)', { nullable: false }), col('n', 'int')])).toBe(
      "SHA1(CONCAT_WS(',', `id`, COALESCE(`n`, 'N')))",
    );
  });

  it('quotes utf8mb4 strings as they are, converts other charsets, and quotes binary as raw bytes', () => {
    expect(rowHashSql([
      col('name', 'varchar', 'varchar(20)', utf8),
      col('raw', 'varbinary', 'varbinary(8)'),
      col('old', 'varchar', 'varchar(20)', { collation: 'latin1_swedish_ci' }),
      col('e', 'enum', "enum('a','b')", { collation: 'utf8mb4_general_ci' }),
    ])).toBe(
      "SHA1(CONCAT_WS(',', QUOTE(`name`), QUOTE(`raw`), QUOTE(CAST(CONVERT(`old` USING utf8mb4) AS BINARY)), QUOTE(`e`)))",
    );
  });

  it('reads text as binary where a row mixes collations', () => {
    expect(rowHashSql([col('a', 'varchar', 'varchar(20)', utf8), col('b', 'varchar', 'varchar(20)', { collation: 'utf8mb4_bin' })])).toBe(
      "SHA1(CONCAT_WS(',', QUOTE(CAST(`a` AS BINARY)), QUOTE(CAST(`b` AS BINARY))))",
    );
    expect(rowHashSql([col('a', 'varchar', 'varchar(20)', utf8), col('code', 'char', 'char(3)', { collation: 'ascii_general_ci' })])).toBe(
      "SHA1(CONCAT_WS(',', QUOTE(CAST(`a` AS BINARY)), QUOTE(CAST(`code` AS BINARY))))",
    );
  });

  it('reads FLOAT through DOUBLE and BIT as a number', () => {
    expect(rowHashSql([col('f', 'float'), col('d', 'double'), col('b', 'bit', 'bit(5)', { nullable: false })])).toBe(
      "SHA1(CONCAT_WS(',', COALESCE(CAST(`f` AS DOUBLE), 'N'), COALESCE(`d`, 'N'), CAST(`b` AS UNSIGNED)))",
    );
  });

  it('keeps fractions as printed when both sides have the same scale', () => {
    expect(rowHashSql([col('a', 'decimal', 'decimal(38,20)', { nullable: false }), col('t', 'datetime', 'datetime(3)', { nullable: false })])).toBe(
      "SHA1(CONCAT_WS(',', `a`, `t`))",
    );
  });

  it('drops trailing fraction zeros where the other side has another scale, and then reads text as binary', () => {
    const trimmed = (c: string): string => `COALESCE(TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST(\`${c}\` AS CHAR))), 'N')`;
    const source = [
      col('a', 'decimal', 'decimal(12,4)'), col('n', 'decimal', 'decimal(10,0)'), col('t', 'datetime', 'datetime(6)'),
      col('d', 'datetime'), col('s', 'varchar', 'varchar(5)', utf8),
    ];
    const target = [
      col('a', 'decimal', 'decimal(10,2)'), col('n', 'decimal', 'decimal(12,2)'), col('t', 'datetime', 'datetime(6)'),
      col('d', 'datetime', 'datetime(3)'), col('s', 'varchar', 'varchar(5)', utf8),
    ];
    expect(rowHashSql(source, undefined, target)).toBe(
      `SHA1(CONCAT_WS(',', ${trimmed('a')}, COALESCE(\`n\`, 'N'), COALESCE(\`t\`, 'N'), COALESCE(\`d\`, 'N'), QUOTE(CAST(\`s\` AS BINARY))))`,
    );
    expect(rowHashSql(target, undefined, source)).toBe(
      `SHA1(CONCAT_WS(',', ${trimmed('a')}, ${trimmed('n')}, COALESCE(\`t\`, 'N'), ${trimmed('d')}, QUOTE(CAST(\`s\` AS BINARY))))`,
    );
  });

  it('encodes a column by its kind on either side: a number quoted against a string, a string hashed alone against TEXT', () => {
    expect(rowHashSql([col('v', 'int'), col('s', 'varchar', 'varchar(20)', utf8)], undefined, [col('v', 'varchar', 'varchar(11)', utf8), col('s', 'text', 'text', utf8)])).toBe(
      "SHA1(CONCAT_WS(',', QUOTE(`v`), COALESCE(SHA1(`s`), 'N')))",
    );
  });

  it('hashes large values on their own, so CONCAT_WS never outgrows max_allowed_packet', () => {
    expect(rowHashSql([col('doc', 'longtext', 'longtext', { collation: 'utf8mb4_bin' }), col('j', 'json'), col('img', 'blob')])).toBe(
      "SHA1(CONCAT_WS(',', COALESCE(SHA1(`doc`), 'N'), COALESCE(SHA1(CAST(CONVERT(`j` USING utf8mb4) AS BINARY)), 'N'), COALESCE(SHA1(`img`), 'N')))",
    );
  });

  it('quotes odd names and prefixes an alias', () => {
    expect(rowHashSql([col('we`ird "name"', 'date')], 't`1')).toBe(
      "SHA1(CONCAT_WS(',', COALESCE(`t``1`.`we``ird \"name\"`, 'N')))",
    );
  });
});
