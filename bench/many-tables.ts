// Scenario 3: 1,000 tables of 100 rows, end to end (tenant setup: assessment, target tables,
// change capture; then the first run), beside mysqldump | mysql of the same schema. Also how long
// the histories get: the run's child workflow and the management workflow.
import type { Pool } from 'mysql2/promise';
import type { Client } from '@temporalio/client';
import type { RunResult } from '../lib/types';
import { createTenant, runMigrationNow, waitForRun, runResult } from '../client/operations';
import { managementWorkflowId, setupWorkflowId } from '../lib/constants';
import { id, qualified } from '../activities/sql';
import { type BenchContext } from './context';
import { dropTenant, dumpAndLoadEach, largestPayload, settle, workflowFigures } from './harness';
import { ms, n, times, verdict, type Section } from './report';

const MANY = { source: 'bench_src_many', target: 'bench_dst_many', anchor: 'bench_anchor_many', tenant: 'bench_many', taskQueue: 'bench-many' };

export interface ManyTablesFigures {
  tables: number;
  companies?: number;
  rowsPerTable: number;
  endToEndMs: number;
  setupMs: number;
  runMs: number;
  dumpMs: number;
  runEvents: number;
  setupEvents: number;
  managementEvents: number;
  tablesSuccessful: number;
  /** The largest payload in the management, setup and run histories (Temporal refuses one over 2 MiB). */
  largestPayloadBytes: number;
  largestPayloadWhere: string;
}

export const manyTableName = (t: number): string => `t${String(t).padStart(4, '0')}`;

/** `tables` tables of `rows` rows each in a new schema `schema` on `pool`. */
export async function createMany(pool: Pool, schema: string, tables: number, rows: number): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${id(schema)}`);
  await pool.query(`CREATE SCHEMA ${id(schema)}`);
  const values = Array.from({ length: rows }, (_, i) => [i + 1, `item ${i + 1}`, `${(i * 7.25).toFixed(4)}`, '2024-05-01 10:00:00', i % 3 === 0 ? null : `note ${i}`]);
  for (let t = 0; t < tables; t++) {
    const table = qualified(schema, manyTableName(t));
    await pool.query(`CREATE TABLE ${table} (id INT NOT NULL PRIMARY KEY, name VARCHAR(50) NOT NULL, amount DECIMAL(18,4) NOT NULL, created_at DATETIME NOT NULL, note VARCHAR(100) NULL)`);
    await pool.query(`INSERT INTO ${table} VALUES ?`, [values]);
  }
}

/**
 * `companies` companies of `perCompany` tables of `rowsPerTable` rows, end to end (setup, then the
 * first run), beside mysqldump | mysql of the same schemas. One company of 1,000 is the "many"
 * scenario; 20 companies of 2,000 (`scale`) is a Business Central tenant of 40,000 tables.
 */
export async function benchManyTables(ctx: BenchContext, perCompany = 1000, rowsPerTable = 100, companies = 1): Promise<ManyTablesFigures> {
  const h = await ctx.harness();
  const names = Array.from({ length: companies }, (_, i) => (companies === 1 ? { source: MANY.source, target: MANY.target } : { source: `${MANY.source}_${i}`, target: `${MANY.target}_${i}` }));
  const tables = perCompany * companies;
  const drop = async () => {
    for (const c of names) await dropTenant(h.client, ctx.pool, MANY.tenant, c.source, [c.source, c.target, MANY.anchor]);
  };
  await drop();
  try {
    ctx.log(`many tables: generating ${companies} × ${n(perCompany)} tables × ${rowsPerTable} rows…`);
    for (const c of names) await createMany(ctx.pool, c.source, perCompany, rowsPerTable);
    ctx.log('  anchor: mysqldump | mysql of the schemas…');
    await settle(ctx.pool, ctx.log);
    const dumpMs = await dumpAndLoadEach(ctx.pool, ctx.url, names.map((c) => c.source), MANY.anchor);
    ctx.log(`    ${ms(dumpMs)}; the workflow: tenant setup, then the first run…`);

    await h.worker(MANY.taskQueue);
    await settle(ctx.pool, ctx.log);
    const { status } = await createTenant(h.client, MANY.taskQueue, { tenant: MANY.tenant, companies: names, requestedBy: 'bench' });
    if (status.status !== 'Ready') throw new Error(`bench tenant setup ended ${status.status}: ${status.setupError ?? ''}`);
    const run = await runMigrationNow(h.client, MANY.tenant, { requestedBy: 'bench' });
    const entry = await waitForRun(h.client, MANY.tenant, run);
    if (entry.status !== 'Completed') throw new Error(`the run ended ${entry.status}: ${entry.failure ?? ''}`);

    const figures: ManyTablesFigures = { tables, companies, rowsPerTable, dumpMs, ...(await tenantRunFigures(h.client, MANY.tenant, run.workflowId)) };
    ctx.log(`    end to end ${ms(figures.endToEndMs)} (setup ${ms(figures.setupMs)}, run ${ms(figures.runMs)}); histories: run ${figures.runEvents}, management ${figures.managementEvents} events`);
    return figures;
  } finally {
    await drop();
  }
}

/**
 * A tenant's setup and first run as the server recorded them: from the management workflow's start
 * to the run's close (no client polling in it), each part's time and history length.
 */
export async function tenantRunFigures(client: Client, tenant: string, runWorkflowId: string) {
  const management = await client.workflow.getHandle(managementWorkflowId(tenant)).describe();
  const runWf = await workflowFigures(client, runWorkflowId);
  const setupWf = await workflowFigures(client, setupWorkflowId(tenant));
  const runDescription = await client.workflow.getHandle(runWorkflowId).describe();
  const result = await runResult(client, runWorkflowId);
  const largest = await largestPayload(client, [managementWorkflowId(tenant), setupWorkflowId(tenant), runWorkflowId]);
  return {
    largestPayloadBytes: largest.bytes,
    largestPayloadWhere: largest.where,
    endToEndMs: runDescription.closeTime!.getTime() - management.startTime.getTime(),
    setupMs: setupWf.wallMs,
    runMs: runWf.wallMs,
    runEvents: runWf.events,
    setupEvents: setupWf.events,
    managementEvents: management.historyLength,
    tablesSuccessful: result.tables.filter((t) => t.status === 'Successful').length,
    result,
  };
}

export function manyTablesSection(f: ManyTablesFigures): Section {
  const ratio = f.endToEndMs / f.dumpMs;
  return {
    heading: `Many small tables: ${f.companies && f.companies > 1 ? `${f.companies} companies, ` : ''}${n(f.tables)} tables × ${f.rowsPerTable} rows`,
    rows: [
      `| end to end: tenant created → first run closed (server-side times) | ${ms(f.endToEndMs)} | mysqldump \\| mysql of the schema ${ms(f.dumpMs)}: ${times(ratio)} | ≤ 1.50× | ${verdict(ratio <= 1.5, times(ratio - 1.5))} |`,
      `| of which setup (assessment, ${n(f.tables)} target tables, change capture: a log table and 3 triggers per table) | ${ms(f.setupMs)} | setup child workflow: ${n(f.setupEvents)} history events | | |`,
      `| of which the first run | ${ms(f.runMs)} | ${n(f.tablesSuccessful)} of ${n(f.tables)} tables Successful | | |`,
      `| history events of the run (child workflow) | ${n(f.runEvents)} | limit 51,200 | far below | ${verdict(f.runEvents < 5_000)} |`,
      `| history events of the management workflow (after setup and one run) | ${n(f.managementEvents)} | continues as new past 10,000 | far below | ${verdict(f.managementEvents < 5_000)} |`,
      `| largest payload in the management, setup and run histories | ${n(Math.round(f.largestPayloadBytes / 1024))} KiB | ${f.largestPayloadWhere.replace(/\|/g, '\\|')}; Temporal's limit 2 MiB | ≤ 512 KiB | ${verdict(f.largestPayloadBytes <= 512 * 1024)} |`,
    ],
    notes: [
      'Small tables travel many to an activity (up to 100 tables or 50,000 estimated rows each), so the run\'s history grows with the number of batches, not of tables. ' +
        'The comparison is not like for like in one respect: the workflow also installs change capture (a log table and three triggers per source table), which a dump does not, and which every later delta run relies on.',
      ...(ratio <= 1.5 || (f.companies ?? 1) > 1
        ? []
        : [
            `Why the target was missed: setup is ${ms(f.setupMs)} of the ${ms(f.endToEndMs)}, nearly all of it DDL (1,000 target tables, then 1,000 log tables and 3,000 triggers for change capture, each a metadata change the server makes one at a time). ` +
              `The first run alone, which is what the copy engine does, took ${ms(f.runMs)}: ${times(f.runMs / f.dumpMs)} the dump-and-load. ` +
              'Setup creates the target tables in 4 sessions and reads each table\'s triggers once, which took it from 16.8 s to under 10 s, but MariaDB makes these metadata changes one at a time: measured alone, ' +
              'a CREATE TABLE costs about 1.8 ms and a CREATE TRIGGER about 1.5 ms, no faster from parallel sessions. Triggers are created from one session on purpose: MariaDB 10.11 creating triggers of one schema from 8 sessions at once left stray .TRG- files in the schema directory (seen here), which then block DROP DATABASE on the customer\'s server. Change capture is a log table and three triggers per table, ' +
              'about 6–7 ms a table, so for 1,000 tables it alone costs about twice the whole dump-and-load. Meeting 1.5× end to end would need change capture without per-table DDL: ' +
              'reading the binary log (captureMode `binlog`), which needs log_bin and replication privileges on the on-premises server: see the binlog-mode section below, measured against a second server with the binary log on.',
          ]),
    ],
  };
}
