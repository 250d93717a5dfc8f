// `cm seed`: loads the sample on-premises ERP data straight into the source server.
import { checkReachable, createMysqlPool, resolveConnectionUrl } from '../activities/connections';
import { seedSourceData, type SeedOptions, type SeedSummary } from '../seed/generate';

export async function seedSource(opts: SeedOptions, connection = 'local'): Promise<SeedSummary> {
  await checkReachable(connection);
  const pool = createMysqlPool(resolveConnectionUrl(connection));
  try {
    return await seedSourceData(pool, opts);
  } finally {
    await pool.end();
  }
}

export async function seedCommand(opts: SeedOptions): Promise<void> {
  const started = Date.now();
  const summary = await seedSource(opts);
  for (const c of summary.companies) {
    const rows = c.tables.reduce((n, t) => n + t.rows, 0);
    process.stdout.write(`${c.schema}: ${c.tables.length} tables, ${rows.toLocaleString('en-US')} rows\n`);
  }
  process.stdout.write(`Seeded in ${((Date.now() - started) / 1000).toFixed(1)} s (scale ${opts.scale}, seed ${opts.seed}).\n`);
}
