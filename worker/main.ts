// The worker: the "self-hosted integration runtime" that reaches the databases. Thin by design:
// it wires pools into the activity factory and registers the workflows.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { ConnectionRegistry } from '../activities/connections';
import type { RuntimeKeyFiles } from '../activities/runtime-key';
import { connectionOptions, type TemporalSettings } from '../lib/env';

export interface WorkerHandle {
  worker: Worker;
  run: Promise<void>;
  stop(): Promise<void>;
}

export interface StartWorkerOptions {
  settings: TemporalSettings;
  /** A prebuilt workflow bundle (tests, containers); otherwise the workflows are bundled at start. */
  workflowBundlePath?: string;
  identity?: string;
  registry?: ConnectionRegistry;
  /** This runtime's key files (default: CM_RUNTIME_KEY_DIR, or CM_RUNTIME_KEY for every tenant). */
  runtimeKeys?: RuntimeKeyFiles;
  /** Where this runtime's data upgrade steps live (default: CM_UPGRADES_DIR, else the shipped upgrades/). */
  upgradesRoot?: string;
  /** Activities this worker runs at once (default 8; CM_MAX_ACTIVITIES for `cm worker`). */
  maxActivities?: number;
}

export async function startWorker(opts: StartWorkerOptions): Promise<WorkerHandle> {
  const connection = await NativeConnection.connect(connectionOptions(opts.settings));
  const registry = opts.registry ?? new ConnectionRegistry();
  // A client for the few activities that act on Temporal itself (the replication schedule).
  let client: Promise<Client> | undefined;
  const temporalClient = (): Promise<Client> =>
    (client ??= Connection.connect(connectionOptions(opts.settings)).then((c) => new Client({ connection: c, namespace: opts.settings.namespace })));
  const workflows: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> = opts.workflowBundlePath
    ? { workflowBundle: { codePath: opts.workflowBundlePath } }
    : { workflowsPath: require.resolve('../workflows') };
  const worker = await Worker.create({
    connection,
    namespace: opts.settings.namespace,
    taskQueue: opts.settings.taskQueue,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...workflows,
    activities: createActivities(registry, { temporalClient, runtimeKeys: opts.runtimeKeys, upgradesRoot: opts.upgradesRoot }),
    maxConcurrentActivityTaskExecutions: opts.maxActivities ?? 8,
    // A graceful stop lets in-flight activities heartbeat their position first.
    shutdownGraceTime: '10s',
  });
  const run = worker.run().finally(async () => {
    await registry.close();
    if (client) await (await client).connection.close().catch(() => undefined);
    await connection.close();
  });
  return {
    worker,
    run,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await run;
    },
  };
}
