// The verification hash's row encoding, as exact SQL: one piece per column, "length:bytes" or "-".
import type { ColumnMeta } from '../../activities/introspect';
import { rowHashSql } from '../../activities/table-diff';

const col = (name: string, dataType: string, columnType = dataType): ColumnMeta => ({ name, dataType, columnType, nullable: true, generated: false });

describe('rowHashSql', () => {
  it('encodes an integer as its text, length-prefixed, NULL as "-"', () => {
    expect(rowHashSql([col('id', 'int', 'int(11)')])).toBe(
      "MD5(CONCAT(COALESCE(CONCAT(LENGTH(CAST(`id` AS CHAR)), ':', CAST(`id` AS CHAR)), '-')))",
    );
  });

  it('encodes strings as utf8mb4 bytes and binary as raw bytes', () => {
    expect(rowHashSql([col('name', 'varchar', 'varchar(20)'), col('raw', 'varbinary', 'varbinary(8)')])).toBe(
      'MD5(CONCAT(' +
        "COALESCE(CONCAT(LENGTH(CAST(CONVERT(`name` USING utf8mb4) AS BINARY)), ':', CAST(CONVERT(`name` USING utf8mb4) AS BINARY)), '-'), " +
        "COALESCE(CONCAT(LENGTH(`raw`), ':', `raw`), '-')))",
    );
  });

  it('reads FLOAT through DOUBLE and BIT as a number', () => {
    expect(rowHashSql([col('f', 'float'), col('d', 'double'), col('b', 'bit', 'bit(5)')])).toBe(
      'MD5(CONCAT(' +
        "COALESCE(CONCAT(LENGTH(CAST(`f` AS DOUBLE)), ':', CAST(`f` AS DOUBLE)), '-'), " +
        "COALESCE(CONCAT(LENGTH(CAST(`d` AS CHAR)), ':', CAST(`d` AS CHAR)), '-'), " +
        "COALESCE(CONCAT(LENGTH(CAST(`b` AS UNSIGNED)), ':', CAST(`b` AS UNSIGNED)), '-')))",
    );
  });

  it('drops trailing fraction zeros only where the type has a fraction', () => {
    const trimmed = (c: string): string => `TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST(\`${c}\` AS CHAR)))`;
    expect(rowHashSql([col('a', 'decimal', 'decimal(12,4)'), col('n', 'decimal', 'decimal(10,0)'), col('t', 'datetime', 'datetime(6)'), col('d', 'datetime')])).toBe(
      'MD5(CONCAT(' +
        `COALESCE(CONCAT(LENGTH(${trimmed('a')}), ':', ${trimmed('a')}), '-'), ` +
        "COALESCE(CONCAT(LENGTH(CAST(`n` AS CHAR)), ':', CAST(`n` AS CHAR)), '-'), " +
        `COALESCE(CONCAT(LENGTH(${trimmed('t')}), ':', ${trimmed('t')}), '-'), ` +
        "COALESCE(CONCAT(LENGTH(CAST(`d` AS CHAR)), ':', CAST(`d` AS CHAR)), '-')))",
    );
  });

  it('hashes large values on their own, so CONCAT never outgrows max_allowed_packet', () => {
    expect(rowHashSql([col('doc', 'longtext'), col('img', 'blob')])).toBe(
      'MD5(CONCAT(' +
        "COALESCE(CONCAT(LENGTH(CAST(CONVERT(`doc` USING utf8mb4) AS BINARY)), ':', MD5(CAST(CONVERT(`doc` USING utf8mb4) AS BINARY))), '-'), " +
        "COALESCE(CONCAT(LENGTH(`img`), ':', MD5(`img`)), '-')))",
    );
  });

  it('quotes odd names and prefixes an alias', () => {
    expect(rowHashSql([col('we`ird "name"', 'date')], 't`1')).toBe(
      "MD5(CONCAT(COALESCE(CONCAT(LENGTH(CAST(`t``1`.`we``ird \"name\"` AS CHAR)), ':', CAST(`t``1`.`we``ird \"name\"` AS CHAR)), '-')))",
    );
  });
});
