// `npm run bench`: runs each scenario beside its anchors in one run and writes docs/BENCHMARKS.md.
// Figures move from run to run and machine to machine: only ratios within one run are compared.
// `npm run bench -- --only copy,delta` runs some scenarios, prints them, and puts their sections in
// place of the same sections of docs/BENCHMARKS.md (each saying when it ran).
import { benchLake, lakeSection } from './lake';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { checkReachable, createMysqlPool, resolveConnectionUrl } from '../activities/connections';
import { DEFAULT_COPY } from '../lib/constants';
import { benchContext, type BenchContext } from './context';
import { benchDelta, deltaSection, type DeltaFigures } from './delta';
import { benchDeltaBinlog, deltaBinlogSection } from './delta-binlog';
import { benchFenceRestore, fenceRestoreSection } from './fence-restore';
import { benchFullCopy, fullCopySection, type CopiedLedger } from './full-copy';
import { benchManyBinlog, manyBinlogSection } from './many-binlog';
import { benchManyTables, manyTablesSection, type ManyTablesFigures } from './many-tables';
import { benchMemory, memorySection } from './memory';
import { mergeSections, renderSection, type Section } from './report';
import { benchScale, SCALE_HEADING, scaleSection } from './scale';
import { benchVerify, verifySection } from './verify';
import { benchWriteLoad, writeLoadSection } from './write-load';

const SCENARIOS = ['copy', 'delta', 'delta-binlog', 'verify', 'lake', 'many', 'many-binlog', 'scale', 'write-load', 'fence', 'memory'] as const;
type Scenario = (typeof SCENARIOS)[number];

/** A size from the environment (for trying a scenario small), else the reported default. */
function size(variable: string, fallback: number): number {
  const v = Number(process.env[variable]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

function selected(argv: string[]): Scenario[] {
  const i = argv.indexOf('--only');
  if (i < 0) return [...SCENARIOS];
  const wanted = (argv[i + 1] ?? '').split(',').filter(Boolean);
  const unknown = wanted.filter((w) => !(SCENARIOS as readonly string[]).includes(w));
  if (unknown.length > 0 || wanted.length === 0) throw new Error(`--only takes a comma-separated list of ${SCENARIOS.join(', ')}`);
  return SCENARIOS.filter((s) => wanted.includes(s));
}

/** A scenario that fails still gets its section, saying so, and the others run. */
async function attempt(ctx: BenchContext, heading: string, fn: () => Promise<Section>): Promise<Section> {
  try {
    return await fn();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    ctx.log(`  ${heading} failed: ${message}`);
    return { heading, rows: [`| (the scenario failed) | | ${message.split('\n')[0].replace(/\|/g, '\\|')} | | **failed** |`], notes: [] };
  }
}

async function runScenarios(ctx: BenchContext, which: Scenario[]): Promise<Section[]> {
  const sections: Section[] = [];
  let delta: DeltaFigures | undefined;
  if (which.includes('copy') || which.includes('delta') || which.includes('verify')) {
    // The delta and the verification start from the copied ledger, so they bring the full copy along.
    let ledger: CopiedLedger | undefined;
    try {
      sections.push(await attempt(ctx, 'Full copy', async () => fullCopySection((ledger = await benchFullCopy(ctx, size('BENCH_LEDGER_ROWS', 1_000_000))).figures)));
      if (which.includes('delta') && ledger) sections.push(await attempt(ctx, 'Delta', async () => deltaSection((delta = await benchDelta(ctx, ledger!)))));
      if (which.includes('verify') && ledger) sections.push(await attempt(ctx, 'Verify Now', async () => verifySection(await benchVerify(ctx, ledger!))));
    } finally {
      await ledger?.worker.stop();
      await ledger?.drop();
    }
  }
  // The binlog scenarios each start a source server of their own (binary log on), stopped when they end.
  if (which.includes('delta-binlog')) {
    const i = sections.findIndex((s) => s.heading.startsWith('Delta'));
    const section = await attempt(ctx, 'Delta in binlog mode', async () => deltaBinlogSection(await benchDeltaBinlog(ctx, size('BENCH_LEDGER_ROWS', 1_000_000)), delta));
    sections.splice(i < 0 ? sections.length : i + 1, 0, section); // beside the triggers-mode delta
  }
  if (which.includes('lake')) sections.push(await attempt(ctx, 'Data lake export', async () => lakeSection(await benchLake(ctx, size('BENCH_LEDGER_ROWS', 1_000_000)))));
  let many: ManyTablesFigures | undefined;
  if (which.includes('many')) sections.push(await attempt(ctx, 'Many small tables', async () => manyTablesSection((many = await benchManyTables(ctx, size('BENCH_MANY_TABLES', 1000))))));
  // A Business Central tenant: 20 companies of 2,000 small tables, every phase (issue 12).
  if (which.includes('scale')) {
    sections.push(await attempt(ctx, SCALE_HEADING, async () => scaleSection(await benchScale(ctx, size('BENCH_SCALE_TABLES', 2000), size('BENCH_SCALE_COMPANIES', 20)))));
  }
  if (which.includes('many-binlog')) sections.push(await attempt(ctx, 'Many small tables in binlog mode', async () => manyBinlogSection(await benchManyBinlog(ctx, size('BENCH_MANY_TABLES', 1000)), many)));
  if (which.includes('write-load')) {
    sections.push(await attempt(ctx, 'Write load on the source', async () => writeLoadSection(await benchWriteLoad(ctx, { operations: size('BENCH_WRITE_OPS', 20_000) }))));
  }
  if (which.includes('fence')) sections.push(await attempt(ctx, 'Data upgrade: fence and restore point', async () => fenceRestoreSection(await benchFenceRestore(ctx.pool, ctx.url, ctx.log))));
  if (which.includes('memory')) sections.push(await attempt(ctx, 'Memory', async () => memorySection(await benchMemory(ctx))));
  return sections;
}

async function main(): Promise<void> {
  const which = selected(process.argv.slice(2));
  await checkReachable('local');
  const url = resolveConnectionUrl('local');
  const pool = createMysqlPool(url, { connectionLimit: 4 });
  const log = (s: string): void => void process.stdout.write(`${s}\n`);
  const ctx = benchContext(pool, url, log);
  let sections: Section[];
  let version: string;
  try {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT VERSION() AS v');
    version = String(rows[0].v);
    sections = await runScenarios(ctx, which);
  } finally {
    await ctx.close();
    await pool.end();
  }
  const c = DEFAULT_COPY;
  const doc = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\` on ${new Date().toISOString()}: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB, ${version}, Node ${process.version}. Source and target schemas are on the same server, except in the binlog-mode and write-load scenarios, whose source is a second MariaDB server started on this machine for them (binary log on). ` +
      'Every scenario ran beside its anchors in this one run; other work on the machine moves absolute figures, so read the ratios. ' +
        'Each timed step of the copy scenarios starts once InnoDB has flushed what the step before it dirtied (a load larger than the buffer pool leaves the server flushing for a while), so that no step pays for another.',
    '',
    `Copy settings are the defaults: write mode \`${c.writeMode}\` (LOAD DATA LOCAL INFILE, strict REPLACE redo of any batch that warns), ` +
      `a key range per ${(c.chunkRows ?? 0).toLocaleString('en-US')} rows (at least ${c.rangesPerTable}) for tables from ${c.largeTableRows.toLocaleString('en-US')} rows, batches of ${c.writeBatchRows.toLocaleString('en-US')} rows or ${c.writeBatchBytes / 2 ** 20} MiB, ${c.concurrency} activities at a time.`,
    '',
    ...sections.flatMap(renderSection),
  ].join('\n');
  const dir = join(__dirname, '..', '..', 'docs');
  const file = join(dir, 'BENCHMARKS.md');
  if (which.length === SCENARIOS.length) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, doc);
    log(`wrote ${file}`);
  } else if (existsSync(file)) {
    log(`\n${doc}`);
    writeFileSync(file, mergeSections(readFileSync(file, 'utf8'), sections, `${new Date().toISOString()} (${cpus().length} cores, ${version})`));
    log(`(partial run: its sections replaced in ${file}, the others kept)`);
  } else {
    log(`\n${doc}\n(partial run: no ${file} to put its sections in)`);
  }
}

main().catch((err) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
