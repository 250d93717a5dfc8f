// When a data upgrade does not end by itself: an upgrade workflow terminated or timed out (its own
// compensation never ran), and a restore that could not be verified (the fence stays up). The first
// is restored and released here, by the tenant's workflow; the second waits for an operator's
// recorded decision: inspect, retry the restore, or release the fence after a manual check.
import { patched, setHandler, sleep } from '@temporalio/workflow';
import { ONE_STATUS_SPELLING } from '../lib/constants';
import { rootMessage } from '../lib/errors';
import { resolveUpgradeRequestSchema } from '../lib/schemas';
import type { TenantConfig, UpgradeLogEntry, UpgradeResolution } from '../lib/types';
import { compensationActivities } from './activity-options';
import { DESCRIPTIONS, resolveUpgradeUpdate, type UpgradeResolved } from './messages';
import { appendCapped, liftFence, type TenantState } from './tenant-state';
import { validated } from './validate';

const MAX_RESOLUTIONS = 10;

/** Back to Upgrade Pending after an upgrade that changed nothing in the end; replayed executions keep the spelling they wrote. */
export function upgradePendingAgain(): TenantState['status'] {
  return patched(ONE_STATUS_SPELLING) ? 'Upgrade Pending' : 'Upgrade pending';
}

/**
 * The upgrade workflow itself was stopped from outside (terminated, or out of time): nothing undid its
 * changes. Only the child's own end counts: a timeout of one of its activities is its own business.
 */
export function isLostUpgrade(err: unknown): boolean {
  const e = err as { name?: string; cause?: { name?: string } } | undefined;
  return e?.name === 'ChildWorkflowFailure' && (e.cause?.name === 'TerminatedFailure' || e.cause?.name === 'TimeoutFailure');
}

/**
 * Activities of a terminated workflow are not stopped by Temporal: they learn it from their next
 * heartbeat (sent at most every 8 s with a 10 s heartbeat timeout) and stop at their next checkpoint.
 * The restore waits longer than that, so it never races a leftover copy or step.
 */
const LEFTOVER_ACTIVITIES_GONE = '20s';


function target(config: TenantConfig) {
  return { targetConnection: config.targetConnection, tenant: config.tenant, schemas: config.companies.map((c) => c.target) };
}

/** Restore from the recorded point and release the fence, as the upgrade's own compensation would have. */
export async function restoreLostUpgrade(config: TenantConfig, entry: UpgradeLogEntry): Promise<void> {
  entry.recoveredBy = 'management';
  await sleep(LEFTOVER_ACTIVITIES_GONE);
  try {
    await compensationActivities.restoreToPoint.executeWithOptions(
      { summary: `Upgrade ${entry.workflowId} ended without its restore: point-in-time restore from the recorded point` },
      [{ ...target(config), holder: entry.workflowId }],
    );
    await compensationActivities.releaseFence.executeWithOptions(
      { summary: `Fence of ${entry.workflowId} down after the restore` },
      [{ targetConnection: config.targetConnection, tenant: config.tenant, holder: entry.workflowId }],
    );
    entry.restored = true;
  } catch (err) {
    entry.restored = false;
    entry.error = `${entry.error ?? 'the upgrade workflow ended from outside'}; the restore by the tenant's workflow failed: ${rootMessage(err)}`;
  }
}

/** The upgrade whose restore could not be verified and whose fence is still up, if any. */
export function stuckUpgrade(state: TenantState): UpgradeLogEntry | undefined {
  if (!state.fence || state.currentUpgrade === undefined) return undefined;
  const entry = state.upgrades.find((u) => u.number === state.currentUpgrade);
  return entry && entry.status === 'Failed' && entry.restored === false && !entry.refused ? entry : undefined;
}

export function registerUpgradeResolution(config: TenantConfig, state: TenantState, publish: () => void): void {
  let resolving = false;
  setHandler(
    resolveUpgradeUpdate,
    async (req): Promise<UpgradeResolved> => {
      const entry = stuckUpgrade(state)!;
      resolving = true;
      const record = (outcome: string): UpgradeResolution => {
        const r: UpgradeResolution = { action: req.action, requestedBy: req.requestedBy, reason: req.reason, at: new Date().toISOString(), outcome };
        entry.resolutions ??= [];
        appendCapped(entry.resolutions, r, MAX_RESOLUTIONS);
        return r;
      };
      try {
        if (req.action === 'inspect') {
          const found = await compensationActivities.inspectRestorePoint.executeWithOptions({ summary: `Compare the target with the restore point of ${entry.workflowId}` }, [target(config)]);
          const outcome = !found.recorded
            ? 'no complete restore point is recorded: only tables parked so far can be put back (retry), or release after a manual check'
            : found.differences.length === 0
              ? 'the parked originals and the tables in place match the restore point: retry should succeed'
              : `${found.total} tables differ from the restore point: ${found.differences.join(', ')}${found.total > found.differences.length ? ', …' : ''}`;
          record(outcome);
          return { action: req.action, fenceReleased: false, outcome };
        }
        if (req.action === 'retry') {
          try {
            await compensationActivities.restoreToPoint.executeWithOptions({ summary: `Retry the restore of ${entry.workflowId} (operator)` }, [{ ...target(config), holder: entry.workflowId }]);
          } catch (err) {
            const outcome = `the restore failed again, the fence stays up: ${rootMessage(err)}`;
            record(outcome);
            publish();
            return { action: req.action, fenceReleased: false, outcome };
          }
          entry.restored = true;
        }
        const kept = req.action === 'release'
          ? await compensationActivities.setAsideRestorePoint.executeWithOptions(
            { summary: `Set the parked originals of ${entry.workflowId} aside (operator: release)` },
            [{ ...target(config), holder: entry.workflowId }],
          )
          : [];
        await compensationActivities.releaseFence.executeWithOptions(
          { summary: `Fence of ${entry.workflowId} down (operator: ${req.action})` },
          [{ targetConnection: config.targetConnection, tenant: config.tenant, holder: entry.workflowId }],
        );
        const outcome = req.action === 'retry'
          ? 'restored from the restore point and verified; the fence is down'
          : `the fence is down with the target as it is now${kept.length ? `; the parked originals are kept in ${kept.join(', ')}` : ''}`;
        record(outcome);
        liftFence(state);
        state.status = upgradePendingAgain();
        publish();
        return { action: req.action, fenceReleased: true, outcome };
      } finally {
        resolving = false;
      }
    },
    {
      description: DESCRIPTIONS.resolveUpgrade,
      validator: (req) => {
        const parsed = validated(resolveUpgradeRequestSchema, req);
        if (!stuckUpgrade(state)) {
          throw new Error('no data upgrade is waiting for a decision: --resolve applies when a restore could not be verified and the fence stayed up');
        }
        if (resolving) throw new Error('another resolve action is running: wait for it to end');
        if (parsed.action === 'release' && !parsed.reason?.trim()) {
          throw new Error('release needs --reason: say what was checked by hand, for the audit trail');
        }
      },
    },
  );
}
