// The data upgrade (seed 000): its plan, an exclusive fence, a restore point, the versioned steps,
// and the fence down again. The plan comes first: steps that cannot be read (a missing version
// folder, a badly named file) refuse the upgrade before anyone is disconnected. If anything fails
// after the fence is up, or the upgrade is cancelled, an automatic point-in-time restore puts every
// table back before the fence comes down. That compensation runs in a non-cancellable scope, so
// cancelling the upgrade cannot also cancel its undo.
import { ApplicationFailure, CancellationScope, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import type { RestorePointTaken } from '../activities/upgrade-activities';
import type { UpgradeInput, UpgradePlan, UpgradeProgress, UpgradeResult } from '../lib/types';
import { compensationActivities, fenceActivities, stepActivities } from './activity-options';
import { DESCRIPTIONS, upgradeProgressQuery } from './messages';
import { rootMessage } from '../lib/errors';

/** The failure type of an upgrade refused before its fence was raised: nothing changed, nothing to restore. */
export const UPGRADE_REFUSED = 'UpgradeRefused';

/** The upgrade is refused before its fence went up (a bad plan, a missing grant): nothing changed, nothing to restore. */
function refused(err: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type: UPGRADE_REFUSED,
    message: `upgrade refused before the fence was raised, nothing changed: ${rootMessage(err)}`,
    nonRetryable: true,
    cause: err instanceof Error ? err : undefined,
  });
}

const isRefusal = (err: unknown): boolean => err instanceof ApplicationFailure && err.type === UPGRADE_REFUSED;

/** A fence that lacks a grant refuses before it changes anything: the upgrade is refused, as for a bad plan. */
async function refusedWithoutGrants<T>(raise: () => Promise<T>): Promise<T> {
  try {
    return await raise();
  } catch (err) {
    const cause = (err as { cause?: { type?: string } }).cause;
    if (cause?.type !== 'FencePrivileges') throw err;
    throw refused(err);
  }
}

export async function dataUpgrade(input: UpgradeInput): Promise<UpgradeResult> {
  const holder = workflowInfo().workflowId;
  const target = { targetConnection: input.targetConnection, tenant: input.tenant };
  const progress: UpgradeProgress = { phase: 'fence', stepsDone: [] };
  setHandler(upgradeProgressQuery, () => progress, { description: DESCRIPTIONS.upgradeProgress });
  // Only a version, never a path (a stepsDir in earlier histories is ignored by the planner).
  const readPlan = (): Promise<UpgradePlan> => fenceActivities.planUpgrade.executeWithOptions(
    { summary: `Read and check the upgrade steps from version ${input.dataVersion}${input.to ? ` to ${input.to}` : ' to the next version'}` },
    [{ fromVersion: input.dataVersion, ...(input.to ? { to: input.to } : {}) }],
  );

  let plan: UpgradePlan | undefined;
  // Added with named versions: histories of earlier upgrades read the steps after the restore point.
  if (patched('plan-before-fence')) {
    progress.phase = 'plan';
    try {
      plan = await readPlan();
    } catch (err) {
      progress.phase = 'done';
      throw refused(err);
    }
    progress.plan = plan;
    progress.phase = 'fence';
  }

  let point: RestorePointTaken | undefined;
  try {
    const fence = await refusedWithoutGrants(() => fenceActivities.raiseFence.executeWithOptions(
      { summary: 'Fence up: environment Update, lock every account that can write to the schemas and kill their sessions, disable events, hold jobs' },
      [{ ...target, holder, schemas: input.schemas, appUsers: input.appUsers, exemptAccounts: input.exemptAccounts }],
    ));
    progress.phase = 'restore point';
    point = await fenceActivities.createRestorePoint.executeWithOptions(
      { summary: `Restore point of ${input.schemas.length} schemas (fence: ${fence.lockedAccounts.length} accounts locked, ${fence.killedSessions} sessions killed, ${fence.disabledEvents.length} events disabled, ${fence.jobsOnHold} jobs on hold)` },
      [{ ...target, schemas: input.schemas }],
    );
    if (!plan) {
      plan = await readPlan();
      progress.plan = plan;
    }
    progress.phase = 'steps';
    const steps: UpgradeResult['steps'] = [];
    for (const step of plan.steps) {
      progress.currentStep = step.name;
      const outcome = await stepActivities.runUpgradeStep.executeWithOptions(
        { summary: `Upgrade ${plan.version} step ${step.name}` },
        [{ ...target, schemas: input.schemas, version: plan.version, step, workflowId: holder }],
      );
      steps.push({ name: step.name, status: outcome.every((o) => o.status === 'skipped') ? 'skipped' : 'applied' });
      progress.stepsDone.push(step.name);
    }
    progress.currentStep = undefined;
    progress.phase = 'release';
    await fenceActivities.releaseFence.executeWithOptions({ summary: 'Fence down: accounts, events and jobs as they were; environment Active' }, [{ ...target, holder }]);
    await fenceActivities.dropRestorePoint.executeWithOptions({ summary: 'Drop the restore point' }, [{ ...target, schemas: input.schemas }]);
    progress.phase = 'done';
    return { from: plan.from, to: plan.to, steps };
  } catch (err) {
    // The fence found it lacks a grant before it changed anything: nothing to restore, nobody to let back in.
    if (isRefusal(err)) throw err;
    await CancellationScope.nonCancellable(async () => {
      progress.phase = 'restore';
      await compensationActivities.restoreToPoint.executeWithOptions(
        { summary: point ? 'Point-in-time restore: swap the original tables back and verify their checksums' : 'Put back the tables parked so far' },
        [{ ...target, schemas: input.schemas, holder }],
      );
      progress.phase = 'release';
      await compensationActivities.releaseFence.executeWithOptions(
        { summary: 'Fence down after the restore: accounts, events and jobs as they were; environment Active' },
        [{ ...target, holder }],
      );
      progress.phase = 'done';
    });
    throw err;
  }
}
