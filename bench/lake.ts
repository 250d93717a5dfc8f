// Scenario: the data lake export of a 1,000,000-row ledger through the real workflow (a `cm worker`
// process, exportToDataLake → the lakeExport child), beside the server's own `SELECT … INTO OUTFILE`
// of the same rows (untyped text, on the server's disk: the floor of any export), and that file
// turned into Parquet by DuckDB (what a DBA would script). Then 1,000 changed rows exported again.
// What the lake holds is read back and checked against the source, not taken from cm's counts.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { RowDataPacket } from 'mysql2/promise';
import { createTenant, exportToDataLake, waitForLakeExport } from '../client/operations';
import { qualified } from '../activities/sql';
import { currentStateQuery, type LakeManifest } from '../lib/lake';
import type { BenchContext } from './context';
import { dropTenant, settle, timed, workflowFigures } from './harness';
import { createLedger } from './ledger';
import { ms, n, times, type Section } from './report';

const LAKE = { source: 'bench_src_lake', target: 'bench_dst_lake', table: 'gl_entry', tenant: 'bench_lake', taskQueue: 'bench-lake' };

export interface LakeFigures {
  rows: number;
  outfileMs: number;
  outfileBytes: number;
  /** INTO OUTFILE, then DuckDB read_csv → Parquet (zstd) of that file. */
  duckdbMs: number;
  duckdbBytes: number;
  /** cm: the lakeExport child workflow, start → close. */
  exportMs: number;
  exportBytes: number;
  workerPeakMiB: number;
  workerCpuMs: number;
  /** The second export after `changed` rows were updated: only those travel. */
  changed: number;
  incrementalMs: number;
  incrementalRows: number;
  /** Read back with DuckDB: row count and SUM(amount) equal to the source's. */
  readBack: boolean;
}

const folderBytes = (dir: string): number =>
  readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.parquet')).reduce((s, e) => s + statSync(join(e.parentPath, e.name)).size, 0);

export async function benchLake(ctx: BenchContext, rows = 1_000_000): Promise<LakeFigures> {
  const { pool } = ctx;
  const h = await ctx.harness();
  const { source, target, table, tenant } = LAKE;
  const drop = () => dropTenant(h.client, pool, tenant, source, [source, target]);
  await drop();
  const work = mkdtempSync(join(tmpdir(), 'cm-bench-lake-'));
  try {
    ctx.log(`data lake: generating ${n(rows)} ledger rows…`);
    await createLedger(pool, source, table, rows);
    await pool.query(`ANALYZE TABLE ${qualified(source, table)}`);

    ctx.log('  anchor: SELECT … INTO OUTFILE…');
    const file = join(tmpdir(), `cm-bench-lake-${process.pid}.tsv`); // written by the server: not in our private folder
    await settle(pool, ctx.log);
    const outfileMs = (await timed(() => pool.query(`SELECT * FROM ${qualified(source, table)} INTO OUTFILE ?`, [file]))).ms;
    const outfileBytes = statSync(file).size;
    ctx.log(`    ${ms(outfileMs)}; anchor: that file to Parquet with DuckDB…`);
    const duck = await DuckDBInstance.create(':memory:', { threads: '2' });
    const db = await duck.connect();
    const parquet = join(work, 'ledger.parquet');
    let duckMs: number;
    try {
      const columns = "{'entry_no':'INTEGER','posting_date':'DATE','document_no':'VARCHAR','account_no':'VARCHAR','description':'VARCHAR','amount':'DECIMAL(38,20)'," +
        "'debit_amount':'DECIMAL(38,20)','credit_amount':'DECIMAL(38,20)','currency_code':'VARCHAR','dimension_set_id':'INTEGER','source_code':'VARCHAR','user_id':'VARCHAR'," +
        "'created_at':'TIMESTAMP','reversed':'TINYINT'}";
      duckMs = (await timed(() => db.run(
        `COPY (SELECT * FROM read_csv('${file}', delim = '\t', header = false, nullstr = '\\N', quote = '', escape = '', columns = ${columns})) TO '${parquet}' (FORMAT parquet, COMPRESSION zstd)`,
      ))).ms;
    } finally {
      db.closeSync();
      duck.closeSync();
    }
    const duckdbBytes = statSync(parquet).size;
    rmSync(file, { force: true });
    ctx.log(`    ${ms(duckMs)}; the workflow: setup, then the export…`);

    const lake = join(work, 'lake');
    process.env.CM_LAKE_BENCH_URI = `file://${lake}`; // the name the requests give (`bench`), as the worker inherits it
    const worker = await h.worker(LAKE.taskQueue);
    try {
      const { status } = await createTenant(h.client, LAKE.taskQueue, { tenant, companies: [{ source, target }], requestedBy: 'bench' });
      if (status.status !== 'Ready') throw new Error(`bench tenant setup ended ${status.status}: ${status.setupError ?? ''}`);
      await settle(pool, ctx.log);
      const cpuBefore = worker.cpuMs();
      const started = await exportToDataLake(h.client, tenant, { requestedBy: 'bench', to: 'bench' });
      const first = await waitForLakeExport(h.client, tenant, started);
      if (first.status !== 'Completed') throw new Error(`the export ended ${first.status}: ${first.failure ?? ''}`);
      const workerCpuMs = worker.cpuMs() - cpuBefore;
      const exportMs = (await workflowFigures(h.client, started.workflowId)).wallMs;
      const exportBytes = folderBytes(join(lake, tenant, 'migrated', 'data'));
      ctx.log(`    ${ms(exportMs)}; 1,000 rows changed, exported again…`);

      const changed = Math.min(1000, rows);
      await pool.query(`UPDATE ${qualified(source, table)} SET amount = amount + 1 WHERE entry_no % ? = 0 LIMIT ?`, [Math.max(1, Math.floor(rows / changed)), changed]);
      await settle(pool, ctx.log);
      const again = await exportToDataLake(h.client, tenant, { requestedBy: 'bench', to: 'bench' });
      const second = await waitForLakeExport(h.client, tenant, again);
      if (second.status !== 'Completed') throw new Error(`the incremental export ended ${second.status}: ${second.failure ?? ''}`);
      const incrementalMs = (await workflowFigures(h.client, again.workflowId)).wallMs;

      const readBack = await lakeEqualsSource(ctx, lake);
      return {
        rows, outfileMs, outfileBytes, duckdbMs: outfileMs + duckMs, duckdbBytes, exportMs, exportBytes, workerPeakMiB: worker.peakRssMiB(), workerCpuMs,
        changed, incrementalMs, incrementalRows: second.rowsWritten ?? 0, readBack,
      };
    } finally {
      await worker.stop();
    }
  } finally {
    await drop();
    rmSync(work, { recursive: true, force: true });
    rmSync(join(tmpdir(), `cm-bench-lake-${process.pid}.tsv`), { force: true });
  }
}

/** The lake's current state against the source: the row count and the exact sum of a DECIMAL(38,20) column. */
async function lakeEqualsSource(ctx: BenchContext, lake: string): Promise<boolean> {
  const manifest = JSON.parse(await readFile(join(lake, LAKE.tenant, 'migrated', 'manifest.json'), 'utf8')) as LakeManifest;
  const t = manifest.tables[`${LAKE.source}.${LAKE.table}`];
  const duck = await DuckDBInstance.create(':memory:');
  const db = await duck.connect();
  try {
    const [lakeRow] = (await db.runAndReadAll(`SELECT count(*)::BIGINT AS n, sum(amount)::VARCHAR AS s FROM (${currentStateQuery(t, lake)})`)).getRowObjects();
    const [[src]] = await ctx.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n, CAST(SUM(amount) AS CHAR) AS s FROM ${qualified(LAKE.source, LAKE.table)}`);
    const same = Number(lakeRow.n) === Number(src.n) && Number(lakeRow.n) === t.rows && String(lakeRow.s).replace(/\.?0+$/, '') === String(src.s).replace(/\.?0+$/, '');
    if (!same) ctx.log(`  the lake differs from the source: ${lakeRow.n} rows, sum ${lakeRow.s} vs ${src.n}, ${src.s}`);
    return same;
  } finally {
    db.closeSync();
    duck.closeSync();
  }
}

export function lakeSection(f: LakeFigures): Section {
  const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
  return {
    heading: `Data lake export: ${n(f.rows)}-row ledger as Parquet`,
    rows: [
      `| cm export (lakeExport child, start → close): typed, zstd Parquet, manifest, key digests for the next export | ${ms(f.exportMs)} | SELECT … INTO OUTFILE ${ms(f.outfileMs)} (text on the server's disk, no types): ${times(f.exportMs / f.outfileMs)} | (measured) | |`,
      `| same, against a scripted Parquet export | ${ms(f.exportMs)} | INTO OUTFILE then DuckDB read_csv → Parquet ${ms(f.duckdbMs)}: ${times(f.exportMs / f.duckdbMs)} | (measured) | |`,
      `| output size | ${mib(f.exportBytes)} Parquet | TSV ${mib(f.outfileBytes)}; DuckDB's Parquet ${mib(f.duckdbBytes)} | | |`,
      `| worker: peak RSS, CPU | ${f.workerPeakMiB.toFixed(0)} MiB, ${ms(f.workerCpuMs)} | (DuckDB memory limit 512 MB; rows stream in, larger tables spill to disk) | bounded | |`,
      `| incremental export after ${n(f.changed)} rows changed | ${ms(f.incrementalMs)}, ${n(f.incrementalRows)} rows written | the first export ${ms(f.exportMs)} | only the changes written | ${f.incrementalRows === f.changed ? 'met' : '**missed**'} |`,
      `| the lake read back (DuckDB): row count and SUM(DECIMAL(38,20)) equal to the source | ${f.readBack ? 'yes' : '**no**'} | | equal | ${f.readBack ? 'met' : '**missed**'} |`,
    ],
    notes: [
      'INTO OUTFILE writes untyped text on the database server\'s own disk (it needs the FILE privilege and `secure_file_priv`), so it is the floor, not an alternative. cm reads the rows over the network in one consistent snapshot, types them exactly (DECIMAL stays DECIMAL(38,20), DATETIME(3) keeps its milliseconds), writes compressed Parquet with a manifest and the key digests a later export compares with, and records it all in the workflow history. An incremental export reads the table again and writes only the rows that changed.',
    ],
  };
}
