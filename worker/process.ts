// `cm worker` as a process: settings from the environment, logs through pino, a clean stop on
// SIGINT/SIGTERM (SIGKILL is survived by Temporal's retries and our heartbeats, not by code here).
import { hostname } from 'node:os';
import pino from 'pino';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { checkReachable } from '../activities/connections';
import { temporalSettings } from '../lib/env';
import { connectClient, ensureSearchAttributes } from '../lib/temporal-connection';
import { UserFacingError } from '../lib/errors';
import { startWorker } from './main';

/** A positive whole number from the environment, or undefined when unset; anything else stops the worker with the reason. */
function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserFacingError(`${name} must be a whole number of at least 1 (got '${value}')`);
  return n;
}

export async function runWorkerProcess(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const log = pino({ name: 'cm-worker', level: env.CM_LOG_LEVEL ?? 'info' });
  // CM_METRICS_ADDRESS (host:port): the SDK's metrics and cm's own (activities/metrics.ts) at http://host:port/metrics.
  const metrics = env.CM_METRICS_ADDRESS;
  if (metrics !== undefined && metrics !== '' && !/^[\w.-]+:\d+$/.test(metrics)) throw new UserFacingError(`CM_METRICS_ADDRESS must be host:port, such as 0.0.0.0:9464 (got '${metrics}')`);
  Runtime.install({
    logger: new DefaultLogger((env.CM_SDK_LOG_LEVEL ?? 'WARN') as LogLevel),
    ...(metrics ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metrics } } } } : {}),
  });
  const settings = temporalSettings(env);
  await checkReachable('local', env);
  const client = await connectClient(settings);
  await ensureSearchAttributes(client, settings.namespace);
  await client.connection.close();

  const handle = await startWorker({
    settings,
    workflowBundlePath: env.CM_WORKFLOW_BUNDLE,
    identity: `cm-worker:${process.pid}@${hostname()}`,
    upgradesRoot: env.CM_UPGRADES_DIR,
    maxActivities: positive(env.CM_MAX_ACTIVITIES, 'CM_MAX_ACTIVITIES'),
  });
  log.info({ address: settings.address, namespace: settings.namespace, taskQueue: settings.taskQueue, ...(metrics ? { metrics: `http://${metrics}/metrics` } : {}) }, 'worker running');
  const stop = (signal: string) => {
    log.info({ signal }, 'stopping: in-flight activities get a grace period to heartbeat');
    void handle.stop();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  await handle.run;
  log.info('worker stopped');
}
