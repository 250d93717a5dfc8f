// Company configuration applied to one table: is it included, is it a table of historical
// transactions, and from which date its rows are kept. Pure: used by the assessment and unit-tested.
import type { CompanyMapping } from './types';

/** Tables holding historical transactions when a company names none: ledger entries and history tables. */
export const DEFAULT_HISTORY_TABLES = ['*_entry', '*_history', '*_hist'];

/** `*` matches any run of characters, `?` one; case-insensitive, like table names on most servers. */
export function matchesPattern(name: string, pattern: string): boolean {
  // Linear-time wildcard matching, no regular expression: patterns come from requests and are matched
  // in the workflow (a query, a validator), where `*a*a*a…` must not backtrack for seconds.
  const s = name.toLowerCase();
  const p = pattern.toLowerCase();
  let i = 0;
  let j = 0;
  let star = -1;
  let mark = 0;
  while (i < s.length) {
    if (j < p.length && (p[j] === '?' || (p[j] === s[i] && p[j] !== '*'))) {
      i++;
      j++;
    } else if (j < p.length && p[j] === '*') {
      star = j++;
      mark = i;
    } else if (star >= 0) {
      j = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (j < p.length && p[j] === '*') j++;
  return j === p.length;
}

export const matchesAny = (name: string, patterns: string[] | undefined): boolean => (patterns ?? []).some((p) => matchesPattern(name, p));

export const EXCLUDED_BY_CONFIGURATION = 'excluded by the company configuration';

/** Why the company configuration leaves a table out, or undefined when it is migrated. */
export function exclusionReason(company: CompanyMapping, table: string): string | undefined {
  if (company.includeTables?.length && !matchesAny(table, company.includeTables)) {
    return `${EXCLUDED_BY_CONFIGURATION} of ${company.source}: not in includeTables (${company.includeTables.join(', ')})`;
  }
  const hit = company.excludeTables?.find((p) => matchesPattern(table, p));
  if (hit) return `${EXCLUDED_BY_CONFIGURATION} of ${company.source}: matches excludeTables pattern ${hit}`;
  return undefined;
}

export const isHistoryTable = (company: CompanyMapping, table: string): boolean =>
  matchesAny(table, company.historyTables ?? DEFAULT_HISTORY_TABLES);

/** The date column that dates a historical row: posting_date if there is one, else the first date column. */
export function historyDateColumn(columns: { name: string; dataType: string; generated?: boolean }[]): string | undefined {
  const dates = columns.filter((c) => ['date', 'datetime', 'timestamp'].includes(c.dataType) && !c.generated);
  return (dates.find((c) => c.name.toLowerCase() === 'posting_date') ?? dates[0])?.name;
}

/** Whether a row's date keeps it: rows without a date are kept (nothing says they are old). */
export function keptByDate(value: unknown, from: string): boolean {
  if (value === null || value === undefined) return true;
  return String(value) >= from;
}
