// Activity proxies and their timeouts/retries, in one place.
import { ActivityCancellationType, proxyActivities, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../activities';

// Errors a retry cannot fix are raised as non-retryable ApplicationFailures by the activities.
const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 };

/** Setup work: bounded, heartbeating per table. */
export const setupActivities = proxyActivities<Activities>({
  startToCloseTimeout: '1h',
  heartbeatTimeout: '2m',
  retry,
});

/** Reads for the operator (a page of table rows): short, and given up soon, so the client hears why. */
export const readActivities = proxyActivities<Activities>({ startToCloseTimeout: '2m', retry: { ...retry, maximumAttempts: 3 } });

/** Copy work: long, heartbeating per batch; a dead worker is noticed after the heartbeat timeout. */
export function copyActivities(heartbeatTimeoutSeconds: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '24h',
    heartbeatTimeout: `${heartbeatTimeoutSeconds}s`,
    retry,
  });
}

// The data upgrade. Every activity heartbeats each second, so a dead worker shows within 10 s.
// WAIT_CANCELLATION_COMPLETED: when an upgrade is cancelled, its restore must not start until the
// running step has really stopped touching the tables.
const upgradeBase = {
  heartbeatTimeout: '10s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
} as const;

/** Fence and restore point: idempotent, so retried a few times before the upgrade gives up. */
export const fenceActivities = proxyActivities<Activities>({ ...upgradeBase, startToCloseTimeout: '6h', retry: { ...retry, maximumAttempts: 10 } });

/** A step is never retried: a half-applied DDL is not safely re-runnable, the restore undoes it. */
export const stepActivities = proxyActivities<Activities>({ ...upgradeBase, startToCloseTimeout: '24h', retry: { maximumAttempts: 1 } });

/** The undo must finish whatever happens: retried until it does. */
export const compensationActivities = proxyActivities<Activities>({
  ...upgradeBase,
  startToCloseTimeout: '6h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' }, // no maximumAttempts: unlimited
});

/** Hotfixes: one attempt, the operator sees the error. */
export const hotfixActivities = proxyActivities<Activities>({ startToCloseTimeout: '1h', heartbeatTimeout: '30s', retry: { maximumAttempts: 1 } });
