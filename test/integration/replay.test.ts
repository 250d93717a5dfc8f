// Replays recorded workflow histories against the current workflow code: a change that would break
// running workflows (non-determinism) fails here instead of in production.
//  (a) the committed histories in test/histories/*.json (recorded by test/histories/record.ts);
//  (b) fresh histories of a small tenant (setup, a full run, a delta run), recorded in this test.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { Pool } from 'mysql2/promise';
import type { WorkerHandle } from '../../worker/main';
import {
  cleanUpScenario, fromHistoryFile, runScenario, scenarioNames, toHistoryFile, type HistoryFile, type Scenario,
} from '../histories/scenario';
import { testClient, testPool, testWorker, uniqueName } from '../helpers';

const HISTORIES_DIR = join(__dirname, '..', 'histories');
const scenario: Scenario = scenarioNames(uniqueName('rpl'), uniqueName('rpl_src'));
const taskQueue = uniqueName('tq_rpl');
let pool: Pool;
let client: Client;
let worker: WorkerHandle | undefined;

function replayOptions(): ReplayWorkerOptions {
  const codePath = process.env.CM_TEST_WORKFLOW_BUNDLE;
  if (!codePath) throw new Error('CM_TEST_WORKFLOW_BUNDLE is not set: run integration tests through jest (global setup)');
  return { workflowBundle: { codePath }, replayName: 'cm-replay-test' };
}

interface Replayed {
  workflowId: string;
  error?: Error;
}

async function replay(histories: { workflowId: string; history: History }[]): Promise<Replayed[]> {
  const results: Replayed[] = [];
  for await (const r of Worker.runReplayHistories(replayOptions(), histories)) results.push({ workflowId: r.workflowId, error: r.error });
  return results;
}

/** Every history replayed, none with an error (the message names the workflow and the error). */
function expectClean(results: Replayed[], workflowIds: string[]): void {
  expect(results.map((r) => r.workflowId)).toEqual(workflowIds);
  expect(results.filter((r) => r.error).map((r) => `${r.workflowId}: ${r.error!.name}: ${r.error!.message}`)).toEqual([]);
}

const committed = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')).sort();

beforeAll(async () => {
  pool = testPool();
  client = await testClient();
});

afterAll(async () => {
  await worker?.stop();
  await cleanUpScenario(client, pool, scenario);
  await pool.end();
  await client.connection.close();
});

it(`replays the ${committed.length} committed histories in test/histories without a determinism error`, async () => {
  // Lost files must fail here, not skip: histories from before (0.1.0) and after (1.2.0) the setup
  // patches, and with a verification (1.3.0).
  for (const label of ['0.1.0', '1.2.0']) expect(committed.filter((f) => f.startsWith(`${label}-`)).length).toBeGreaterThanOrEqual(4);
  expect(committed.filter((f) => f.startsWith('1.3.0-')).length).toBeGreaterThanOrEqual(5);
  // 1.4.0: change capture chosen at setup, and runs that follow the source's schema first.
  expect(committed.filter((f) => f.startsWith('1.4.0-')).length).toBeGreaterThanOrEqual(5);
  // Data upgrades from before the plan came first (a stepsDir, the plan after the restore point):
  // one restored after a failing step, one completed, and the page that started both.
  expect(committed).toEqual(expect.arrayContaining(['1.4.0-upgrade-1-failed.json', '1.4.0-upgrade-2.json', '1.4.0-management-upgrades.json']));
  // 1.6.0: the tables' rows on the target (the page keeps a summary; runs and verifications read the rows).
  expect(committed.filter((f) => f.startsWith('1.6.0-')).length).toBeGreaterThanOrEqual(5);
  // 1.9.0: a data lake export that reports its end to the tenant's current execution.
  expect(committed).toEqual(expect.arrayContaining(['1.9.0-lake-1.json', '1.9.0-management.json']));
  const histories = committed.map((file) =>
    fromHistoryFile(JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')) as HistoryFile, basename(file, '.json')),
  );
  // Every workflow type is covered (a recording that lost one would silently shrink the test).
  const types = new Set(histories.map((h) => h.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name));
  expect([...types]).toEqual(expect.arrayContaining(['cloudMigration', 'replicationRun', 'tenantSetup', 'dataUpgrade', 'lakeExport']));
  expectClean(await replay(histories), histories.map((h) => h.workflowId));
});

describe('fresh histories of a small tenant', () => {
  let files: HistoryFile[] = [];
  const load = (f: HistoryFile) => fromHistoryFile(f, 'unknown');

  beforeAll(async () => {
    worker = await testWorker(taskQueue);
    // Through the same JSON form record.ts writes, so the committed files' format is exercised too.
    files = (await runScenario(client, pool, taskQueue, scenario)).map(toHistoryFile);
    await worker.stop();
    worker = undefined;
  });

  it('replay without a determinism error: management, setup, full run, delta run, verification and data lake export', async () => {
    expect(files).toHaveLength(6);
    for (const f of files) expect(f.events.length).toBeGreaterThan(5);
    const histories = files.map(load);
    expectClean(await replay(histories), histories.map((h) => h.workflowId));
  });

  it('a history that does not match the code is reported (the replay really checks)', async () => {
    // Rename the first activity the setup workflow scheduled: the code schedules assessSource.
    const tampered = structuredClone(files.find((f) => f.workflowId.endsWith('/setup'))!) as {
      workflowId: string;
      events: { activityTaskScheduledEventAttributes?: { activityType: { name: string } } }[];
    };
    const scheduled = tampered.events.find((e) => e.activityTaskScheduledEventAttributes)!.activityTaskScheduledEventAttributes!;
    expect(scheduled.activityType.name).toBe('issueRuntimeKey'); // the first step of setup since the runtime-service-key patch
    scheduled.activityType.name = 'issueSomethingElse';
    const [result] = await replay([load(tampered)]);
    expect(result.error).toBeInstanceOf(DeterminismViolationError);
  });
});
