// Premigration assessment: what will copy cleanly, what needs attention, what is not migrated.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { PERMISSION_TABLE_PATTERN } from '../lib/constants';
import { exclusionReason, historyDateColumn, isHistoryTable } from '../lib/company-tables';
import type { Assessment, CompanyMapping, FindingRow, TablePlan } from '../lib/types';
import { isSplittable, readTables, type TableMeta } from './introspect';
import { id, qualified } from './sql';

const SPATIAL = new Set(['geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection']);
const DATE_TYPES = new Set(['date', 'datetime', 'timestamp']);
const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const NOT_MIGRATED_PERMISSIONS = 'by design: permissions and users work differently in the cloud; set them up online (see the Setup Checklist)';
export const NO_PRIMARY_KEY_WARNING = 'no primary key: change tracking is impossible, so the table is copied in full on every run';

export function planTable(meta: TableMeta, company: CompanyMapping): { plan: TablePlan; findings: FindingRow[] } {
  const key = `${meta.schema}.${meta.name}`;
  const findings: FindingRow[] = [];
  const plan: TablePlan = {
    key,
    sourceSchema: meta.schema,
    targetSchema: company.target,
    table: meta.name,
    hasPrimaryKey: meta.primaryKey.length > 0,
    splittable: isSplittable(meta),
    estimatedRows: meta.estimatedRows,
  };
  const spatial = meta.columns.filter((c) => SPATIAL.has(c.dataType));
  const excluded = exclusionReason(company, meta.name);
  if (isHistoryTable(company, meta.name)) {
    plan.history = true;
    const column = historyDateColumn(meta.columns);
    if (company.oldestYear !== undefined && column) plan.keepFrom = { column, from: `${company.oldestYear}-01-01` };
    if (company.oldestYear !== undefined && !column) {
      findings.push({ severity: 'warning', table: key, message: `historical table without a date column: copied whole, whatever the oldest year (${company.oldestYear})` });
    }
  }
  if (excluded) {
    plan.notMigratedReason = excluded;
  } else if (PERMISSION_TABLE_PATTERN.test(meta.name)) {
    plan.notMigratedReason = NOT_MIGRATED_PERMISSIONS;
  } else if (spatial.length > 0) {
    plan.notMigratedReason = `unsupported column type ${spatial[0].dataType} in column ${spatial[0].name}`;
    findings.push({ severity: 'error', table: key, message: plan.notMigratedReason });
  }
  if (!plan.hasPrimaryKey) {
    plan.warning = NO_PRIMARY_KEY_WARNING;
    findings.push({ severity: 'warning', table: key, message: NO_PRIMARY_KEY_WARNING });
  }
  if (meta.engine.toLowerCase() !== 'innodb') {
    findings.push({ severity: 'warning', table: key, message: `engine ${meta.engine} is not transactional; the target table is created as InnoDB` });
  }
  const odd = [meta.name, ...meta.columns.map((c) => c.name)].filter((n) => !PLAIN_IDENTIFIER.test(n));
  if (odd.length > 0) {
    findings.push({ severity: 'info', table: key, message: `identifiers that need quoting: ${odd.map((n) => JSON.stringify(n)).join(', ')}` });
  }
  return { plan, findings };
}

/** Rows the strict target will reject: zero dates and zero parts in dates. */
async function zeroDateFindings(pool: Pool, meta: TableMeta): Promise<FindingRow[]> {
  const cols = meta.columns.filter((c) => DATE_TYPES.has(c.dataType) && !c.generated);
  if (cols.length === 0) return [];
  const counts = cols.map((c) => `SUM(MONTH(${id(c.name)}) = 0 OR DAYOFMONTH(${id(c.name)}) = 0) AS ${id(c.name)}`);
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT ${counts.join(', ')} FROM ${qualified(meta.schema, meta.name)}`);
  return cols
    .filter((c) => Number(rows[0][c.name] ?? 0) > 0)
    .map((c) => ({
      severity: 'warning' as const,
      table: `${meta.schema}.${meta.name}`,
      message: `${Number(rows[0][c.name])} rows have a zero date in column ${JSON.stringify(c.name)}; the target rejects them and they are counted as errors until fixed at the source`,
    }));
}

async function secondaryObjectFindings(pool: Pool, schemas: string[]): Promise<FindingRow[]> {
  const findings: FindingRow[] = [];
  const [triggers] = await pool.query<RowDataPacket[]>(
    "SELECT TRIGGER_SCHEMA AS s, EVENT_OBJECT_TABLE AS t, TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN (?) AND TRIGGER_NAME NOT LIKE 'cm\\_capture\\_%'",
    [schemas],
  );
  for (const r of triggers) {
    findings.push({ severity: 'info', table: `${r.s}.${r.t}`, message: `trigger ${r.n} is not created on the target: its effects arrive as row changes` });
  }
  const [others] = await pool.query<RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS n, 'view' AS kind FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN (?)
     UNION ALL SELECT ROUTINE_SCHEMA, ROUTINE_NAME, LOWER(ROUTINE_TYPE) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN (?)
     UNION ALL SELECT EVENT_SCHEMA, EVENT_NAME, 'event' FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (?)`,
    [schemas, schemas, schemas],
  );
  for (const r of others) {
    findings.push({ severity: 'info', message: `${r.kind} ${r.s}.${r.n} is not replicated: recreate it on the target after cut-over` });
  }
  return findings;
}

export class UnknownCompanyError extends Error {}

export async function assess(pool: Pool, companies: CompanyMapping[], sourceSchemas: string[], where: string): Promise<Assessment> {
  const missing = companies.filter((c) => !sourceSchemas.includes(c.source));
  if (missing.length > 0) {
    throw new UnknownCompanyError(
      `unknown company ${missing.map((c) => `'${c.source}'`).join(', ')}: no such schema on the source (${where}); known schemas: ${sourceSchemas.join(', ') || 'none'}`,
    );
  }
  const metas = await readTables(pool, companies.map((c) => c.source));
  const tables: TablePlan[] = [];
  const findings: FindingRow[] = [];
  for (const meta of [...metas.values()].sort((a, b) => (a.schema + a.name).localeCompare(b.schema + b.name))) {
    const company = companies.find((c) => c.source === meta.schema)!;
    const planned = planTable(meta, company);
    tables.push(planned.plan);
    findings.push(...planned.findings);
    if (!planned.plan.notMigratedReason) findings.push(...(await zeroDateFindings(pool, meta)));
  }
  findings.push(...(await secondaryObjectFindings(pool, companies.map((c) => c.source))));
  return { sourceSchemas, tables, findings };
}
