// Scenario 5: a `cm worker` process copies 500 rows of 2 MB BLOBs (1 GB); its peak resident memory
// (VmHWM) must stay under 400 MB, i.e. buffering is bounded by bytes, not by rows.
import { createTenant, runMigrationNow, waitForRun } from '../client/operations';
import { id, qualified } from '../activities/sql';
import { sameChecksum, type BenchContext } from './context';
import { dropTenant, timed } from './harness';
import { ms, n, verdict, type Section } from './report';

const BLOB = { source: 'bench_src_blob', target: 'bench_dst_blob', table: 'attachment', tenant: 'bench_mem', taskQueue: 'bench-mem' };

export interface MemoryFigures {
  rows: number;
  rowMiB: number;
  idleMiB: number;
  peakMiB: number;
  runMs: number;
  verified: boolean;
}

export async function benchMemory(ctx: BenchContext, rows = 500, rowMiB = 2): Promise<MemoryFigures> {
  const h = await ctx.harness();
  const drop = () => dropTenant(h.client, ctx.pool, BLOB.tenant, BLOB.source, [BLOB.source, BLOB.target]);
  await drop();
  try {
    ctx.log(`memory: generating ${rows} rows × ${rowMiB} MiB BLOBs…`);
    await ctx.pool.query(`CREATE SCHEMA ${id(BLOB.source)}`);
    const t = qualified(BLOB.source, BLOB.table);
    await ctx.pool.query(`CREATE TABLE ${t} (id INT NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL, payload LONGBLOB NOT NULL)`);
    // 64 hex digits of SHA2 repeated, unhexed: rowMiB of binary bytes per row, made server-side.
    const repeats = (rowMiB * 1024 * 1024) / 32;
    for (let i = 1; i <= rows; i++) {
      await ctx.pool.query(`INSERT INTO ${t} VALUES (?, ?, UNHEX(REPEAT(SHA2(?, 256), ?)))`, [i, `attachment ${i}`, String(i), repeats]);
    }

    const worker = await h.worker(BLOB.taskQueue); // a fresh process: its peak is this copy's
    const idleMiB = worker.peakRssMiB();
    const { status } = await createTenant(h.client, BLOB.taskQueue, { tenant: BLOB.tenant, companies: [{ source: BLOB.source, target: BLOB.target }], requestedBy: 'bench' });
    if (status.status !== 'Ready') throw new Error(`bench tenant setup ended ${status.status}: ${status.setupError ?? ''}`);
    const { ms: runMs, value: entry } = await timed(async () => waitForRun(h.client, BLOB.tenant, await runMigrationNow(h.client, BLOB.tenant, { requestedBy: 'bench' })));
    if (entry.status !== 'Completed') throw new Error(`the run ended ${entry.status}: ${entry.failure ?? ''}`);
    const figures: MemoryFigures = {
      rows, rowMiB, idleMiB, peakMiB: worker.peakRssMiB(), runMs,
      verified: await sameChecksum(ctx.pool, [BLOB.source, BLOB.table], [BLOB.target, BLOB.table]),
    };
    await worker.stop();
    ctx.log(`  peak RSS ${figures.peakMiB.toFixed(0)} MiB (idle ${figures.idleMiB.toFixed(0)} MiB), run ${ms(runMs)}, checksums ${figures.verified ? 'equal' : 'DIFFER'}`);
    return figures;
  } finally {
    await drop();
  }
}

export function memorySection(f: MemoryFigures): Section {
  return {
    heading: `Memory: ${n(f.rows)} rows of ${f.rowMiB} MiB BLOBs`,
    rows: [
      `| peak RSS (VmHWM) of the \`cm worker\` process that ran setup and the copy | ${f.peakMiB.toFixed(0)} MiB | ${n(f.rows * f.rowMiB)} MiB copied in ${ms(f.runMs)}; the same process idle, before: ${f.idleMiB.toFixed(0)} MiB | < 400 MB | ${verdict(f.peakMiB * 1.048576 < 400, `${(f.peakMiB * 1.048576 - 400).toFixed(0)} MB`)} |`,
      `| target equals source afterwards (CHECKSUM TABLE) | ${f.verified ? 'yes' : '**no**'} | | equal | ${verdict(f.verified)} |`,
    ],
    notes: [
      'The reader pauses the source connection once a batch\'s worth of bytes (writeBatchBytes, 4 MiB) waits unread, so a copy holds about three batches at a time ' +
        '(the one being written, the one filling, the read-ahead), whatever the row width. Before, the stream buffered 256 rows: 512 MB of these rows.',
    ],
  };
}
