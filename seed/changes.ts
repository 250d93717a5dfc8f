// Simulates one day of on-premises activity in a seeded company schema (source side of a delta sync).
// Deterministic for a given (seed, starting state); counts come from the server, not from intentions.
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { createRng, formatDateTime, type Rng } from './rng';
import { id } from './schema';
import { CITIES, addDays, address, companyName, glText, maybeNasty, pad } from './text';

type Counts = { inserts: number; updates: number; deletes: number };

export interface ChangeSummary {
  inserts: number;
  updates: number;
  deletes: number;
  byTable: Record<string, Counts>;
}

/** Distinct random picks (partial Fisher-Yates) from an ordered list. */
function sample<T>(rng: Rng, items: readonly T[], n: number): T[] {
  const rest = [...items];
  const out: T[] = [];
  for (let i = 0; i < Math.min(n, rest.length); i++) {
    const j = rng.int(i, rest.length - 1);
    [rest[i], rest[j]] = [rest[j], rest[i]];
    out.push(rest[i]);
  }
  return out;
}

export async function applySampleChanges(
  pool: Pool,
  opts: { schema: string; seed: number; count?: number },
): Promise<ChangeSummary> {
  const count = opts.count ?? 5;
  if (!Number.isInteger(count) || count < 1) throw new Error(`count must be a positive integer, got ${count}`);
  const rng = createRng(opts.seed, opts.schema, 'changes');
  const t = (table: string) => `${id(opts.schema)}.${id(table)}`;
  const summary: ChangeSummary = { inserts: 0, updates: 0, deletes: 0, byTable: {} };
  const tally = (table: string, kind: keyof Counts, n: number) => {
    if (n === 0) return;
    const entry = (summary.byTable[table] ??= { inserts: 0, updates: 0, deletes: 0 });
    entry[kind] += n;
    summary[kind] += n;
  };

  const conn = await pool.getConnection();
  try {
    const rows = async <T extends RowDataPacket>(sql: string, params: (string | number)[] = []) =>
      (await conn.execute<T[]>(sql, params))[0];
    const write = async (sql: string, params: (string | number | null)[]) =>
      (await conn.execute<ResultSetHeader>(sql, params))[0].affectedRows;
    const insert = async (table: string, record: Record<string, string | number | null>) => {
      const cols = Object.keys(record);
      const sql = `INSERT INTO ${t(table)} (${cols.map(id).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`;
      tally(table, 'inserts', await write(sql, Object.values(record)));
    };
    const logCount = async () => Number((await rows(`SELECT COUNT(*) AS n FROM ${t('change_log_entry')}`))[0].n);

    await conn.beginTransaction();
    // The simulated day follows both the seeded history (2015-2024) and any earlier simulated day,
    // so modified_at only ever moves forward (delta syncs may use it as a watermark).
    let day = addDays('2025-01-01', rng.int(0, 30));
    for (const table of ['customer', 'item']) {
      const [r] = await rows(`SELECT DATE_FORMAT(MAX(${id('modified_at')}), '%Y-%m-%d') AS d FROM ${t(table)}`);
      if (r.d !== null && addDays(String(r.d), 1) > day) day = addDays(String(r.d), 1); // ISO dates compare as strings
    }
    let clock = Date.parse(`${day}T07:00:00Z`);
    const tick = () => formatDateTime((clock += rng.int(1_000, 300_000)));

    // Read the current state first (ordered, so picks are reproducible).
    const customers = (await rows(`SELECT ${id('code')} AS k FROM ${t('customer')} ORDER BY 1`)).map((r) => String(r.k));
    const items = (await rows(`SELECT ${id('no')} AS k FROM ${t('item')} ORDER BY 1`)).map((r) => String(r.k));
    const accounts = (await rows(
      `SELECT ${id('no')} AS k FROM ${t('gl_account')} WHERE ${id('account_type')} = 'Posting' ORDER BY 1`,
    )).map((r) => String(r.k));
    const headers = await rows(`SELECT ${id('document_type')} AS dt, ${id('no')} AS no FROM ${t('sales_header')} ORDER BY 1, 2`);
    const lines = await rows(
      `SELECT ${id('document_type')} AS dt, ${id('document_no')} AS no, ${id('line_no')} AS ln FROM ${t('sales_line')} ORDER BY 1, 2, 3`,
    );
    const maxEntry = Number((await rows(`SELECT COALESCE(MAX(${id('entry_no')}), 0) AS m FROM ${t('gl_entry')}`))[0].m);
    const logBefore = await logCount();

    // 1. New customers, numbered after the highest existing C-number.
    let next = customers.reduce((m, c) => Math.max(m, Number(/^C(\d+)$/.exec(c)?.[1] ?? 0)), 0);
    for (let i = 0; i < count; i++) {
      const ts = tick();
      await insert('customer', {
        code: `C${pad(++next)}`, name: maybeNasty(rng, companyName(rng), 0.2), address: address(rng), city: rng.pick(CITIES),
        country_code: 'DE', attributes: JSON.stringify({ segment: 'new', onboardedBy: 'web-shop ✓', tags: ['neu'] }),
        credit_limit: rng.decimal(0, 50_000, 20), blocked: '', created_at: ts, modified_at: ts,
      });
    }

    // 2. Balanced journal postings (pairs of +x / -x).
    if (accounts.length > 0) {
      for (let i = 0; i < count; i++) {
        const amount = rng.decimal(1, 20_000, 20);
        for (const [k, signed] of [amount, `-${amount}`].entries()) {
          await insert('gl_entry', {
            entry_no: maxEntry + 2 * i + k + 1, posting_date: day, document_type: '',
            document_no: `GJ${day.replace(/-/g, '')}-${pad(i + 1, 3)}`, gl_account_no: rng.pick(accounts),
            description: glText(rng), amount: signed, dimension_set_id: 0, source_code: 'GENJNL', created_at: tick(),
          });
        }
      }
    }

    // 3. Customer updates (fire the change-log trigger). The WHERE skips no-op updates, so
    //    affectedRows means "changed" whether or not the client uses CLIENT_FOUND_ROWS.
    for (const code of sample(rng, customers, count)) {
      const name = maybeNasty(rng, `${companyName(rng)} (renamed)`, 0.2);
      const limit = rng.decimal(0, 250_000, 20);
      const ts = tick();
      const n = await write(
        `UPDATE ${t('customer')} SET ${id('name')} = ?, ${id('credit_limit')} = ?, ${id('modified_at')} = ? ` +
          `WHERE ${id('code')} = ? AND (CAST(${id('name')} AS BINARY) <> CAST(? AS BINARY) ` +
          `OR ${id('credit_limit')} <> CAST(? AS DECIMAL(38,20)) OR ${id('modified_at')} <> ?)`,
        [name, limit, ts, code, name, limit, ts],
      );
      tally('customer', 'updates', n);
    }

    // 4. Item price changes.
    for (const no of sample(rng, items, count)) {
      const price = rng.decimal(0, 5_000, 20);
      const ts = tick();
      const n = await write(
        `UPDATE ${t('item')} SET ${id('unit_price')} = ?, ${id('modified_at')} = ? ` +
          `WHERE ${id('no')} = ? AND (${id('unit_price')} <> CAST(? AS DECIMAL(38,20)) OR ${id('modified_at')} <> ?)`,
        [price, ts, no, price, ts],
      );
      tally('item', 'updates', n);
    }

    // 5. One sales document removed entirely (lines first: the FK forbids orphans), then single lines elsewhere.
    const victim = headers.length > 0 ? rng.pick(headers) : undefined;
    if (victim) {
      const key = [String(victim.dt), String(victim.no)];
      tally('sales_line', 'deletes', await write(
        `DELETE FROM ${t('sales_line')} WHERE ${id('document_type')} = ? AND ${id('document_no')} = ?`, key));
      tally('sales_header', 'deletes', await write(
        `DELETE FROM ${t('sales_header')} WHERE ${id('document_type')} = ? AND ${id('no')} = ?`, key));
    }
    const others = lines.filter((l) => !victim || l.dt !== victim.dt || l.no !== victim.no);
    for (const l of sample(rng, others, count)) {
      tally('sales_line', 'deletes', await write(
        `DELETE FROM ${t('sales_line')} WHERE ${id('document_type')} = ? AND ${id('document_no')} = ? AND ${id('line_no')} = ?`,
        [String(l.dt), String(l.no), Number(l.ln)],
      ));
    }

    tally('change_log_entry', 'inserts', (await logCount()) - logBefore);
    await conn.commit();
    return summary;
  } catch (err) {
    await conn.rollback().catch(() => undefined);
    throw err;
  } finally {
    conn.release();
  }
}
