// Records the workflow histories that test/integration/replay.test.ts replays against later code:
//
//   npx tsx test/histories/record.ts [label]
//
// Starts its own local dev server (the pinned Temporal CLI) and worker, runs the small tenant of
// ./scenario.ts (setup, a full run, a delta run) against the MariaDB at MYSQL_URL, writes one JSON
// file per workflow into this folder as `<label>-<name>.json` (label: the package version unless
// given), and removes what it created in MySQL. Files with other labels are kept on purpose: the
// histories of workflows started by older code must go on replaying (or be patched for).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createMysqlPool } from '../../activities/connections';
import { SEARCH_ATTRIBUTES } from '../../lib/constants';
import { ensureTemporalCli } from '../../lib/temporal-cli';
import { startWorker } from '../../worker/main';
import { MYSQL_URL, uniqueName } from '../helpers';
import { cleanUpScenario, runScenario, scenarioNames, toHistoryFile } from './scenario';

async function main(): Promise<void> {
  const label = process.argv[2] ?? (require('../../package.json') as { version: string }).version;
  if (!/^[A-Za-z0-9_.-]+$/.test(label)) throw new Error(`label must be letters, digits, _ . - (got '${label}')`);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: ensureTemporalCli() }, searchAttributes: SEARCH_ATTRIBUTES, ui: false },
  });
  const pool = createMysqlPool(MYSQL_URL, { connectionLimit: 4 });
  const client = new Client({ connection: env.connection, namespace: 'default' });
  const taskQueue = uniqueName('tq_record');
  const scenario = scenarioNames(uniqueName('rec'), uniqueName('rec_src'));
  const worker = await startWorker({ settings: { address: env.address, namespace: 'default', taskQueue } });
  try {
    const histories = await runScenario(client, pool, taskQueue, scenario);
    for (const h of histories) {
      const file = join(__dirname, `${label}-${h.name}.json`);
      writeFileSync(file, `${JSON.stringify(toHistoryFile(h), null, 2)}\n`);
      process.stdout.write(`${file}: ${h.workflowId}, ${h.history.events?.length ?? 0} events\n`);
    }
  } finally {
    await worker.stop();
    await cleanUpScenario(client, pool, scenario);
    await pool.end();
    await env.teardown();
  }
}

main().catch((err) => {
  process.stderr.write(`record: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
