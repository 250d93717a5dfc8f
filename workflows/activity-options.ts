// Activity proxies and their timeouts/retries, in one place.
import { proxyActivities, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../activities';

// Errors a retry cannot fix are raised as non-retryable ApplicationFailures by the activities.
const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 };

/** Setup work: bounded, heartbeating per table. */
export const setupActivities = proxyActivities<Activities>({
  startToCloseTimeout: '1h',
  heartbeatTimeout: '2m',
  retry,
});

/** Copy work: long, heartbeating per batch; a dead worker is noticed after the heartbeat timeout. */
export function copyActivities(heartbeatTimeoutSeconds: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '24h',
    heartbeatTimeout: `${heartbeatTimeoutSeconds}s`,
    retry,
  });
}
