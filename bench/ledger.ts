// Benchmark data: a ledger table shaped like the BRIEF's reference (14 columns: DECIMAL, DATE,
// DATETIME(3), VARCHAR), generated server-side so that making 1M rows takes seconds.
import type { Pool } from 'mysql2/promise';
import { id, qualified } from '../activities/sql';

export async function createLedger(pool: Pool, schema: string, table: string, rows: number): Promise<void> {
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${id(schema)}`);
  await pool.query(`DROP TABLE IF EXISTS ${qualified(schema, table)}`);
  await pool.query(`CREATE TABLE ${qualified(schema, table)} (
    entry_no INT NOT NULL PRIMARY KEY,
    posting_date DATE NOT NULL,
    document_no VARCHAR(20) NOT NULL,
    account_no VARCHAR(20) NOT NULL,
    description VARCHAR(100) NOT NULL,
    amount DECIMAL(38,20) NOT NULL,
    debit_amount DECIMAL(38,20) NOT NULL,
    credit_amount DECIMAL(38,20) NOT NULL,
    currency_code VARCHAR(10) NULL,
    dimension_set_id INT NOT NULL,
    source_code VARCHAR(10) NOT NULL,
    user_id VARCHAR(50) NOT NULL,
    created_at DATETIME(3) NOT NULL,
    reversed TINYINT NOT NULL
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  // A digits table crossed with itself numbers the rows; no sequence engine needed (works on MySQL too).
  const conn = await pool.getConnection();
  try {
    const digits = qualified(schema, 'bench_digits');
    await conn.query(`CREATE TEMPORARY TABLE ${digits} (d INT PRIMARY KEY)`);
    await conn.query(`INSERT INTO ${digits} VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)`);
    const powers = Math.max(1, Math.ceil(Math.log10(Math.max(rows, 2))));
    const joins = Array.from({ length: powers }, (_, i) => `(SELECT d FROM ${digits}) d${i}`).join(' CROSS JOIN ');
    const n = Array.from({ length: powers }, (_, i) => `d${i}.d * ${10 ** i}`).join(' + ');
    await conn.query(
      `INSERT INTO ${qualified(schema, table)}
       SELECT n + 1, DATE_ADD('2015-01-01', INTERVAL n % 3650 DAY), CONCAT('G', LPAD(n DIV 4, 9, '0')), CONCAT('A', 10000 + n % 400),
              CONCAT('Posting ', n, ' of the general ledger'), (n % 20001 - 10000) / 7.0, GREATEST((n % 20001 - 10000) / 7.0, 0),
              GREATEST(-(n % 20001 - 10000) / 7.0, 0), IF(n % 5 = 0, 'EUR', NULL), n % 997, 'GENJNL', CONCAT('USER', n % 23),
              TIMESTAMPADD(MICROSECOND, (n % 1000) * 1000, DATE_ADD('2015-01-01 08:00:00', INTERVAL n SECOND)), n % 50 = 0
         FROM (SELECT ${n} AS n FROM ${joins}) numbers WHERE n < ?`,
      [rows],
    );
  } finally {
    conn.destroy(); // drops the temporary table with the session
  }
}
