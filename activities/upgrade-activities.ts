// Activities of the data upgrade and of hotfixes: fence, restore point, steps, release.
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { CONTROL_SCHEMA } from '../lib/constants';
import type { UpgradePlan, UpgradeStep } from '../lib/types';
import type { ConnectionRegistry } from './connections';
import { FencePrivilegeError, fenceHolder, raiseFence, releaseFence, type FenceSummary, type ReleaseSummary } from './fence';
import { createRestorePoint, dropRestorePoint, pointDifferences, recordedPoint, RestoreVerificationError, restoreToPoint, setAsideRestorePoint, type RestoreOutcome, type RestorePoint } from './restore-point';
import { errorText, qualified } from './sql';
import { runScript } from './sql-script';
import { openTenantSession, TenantAccountError, tenantAccountName, type TenantSession } from './tenant-account';
import { planUpgrade, recordStep, resolveStep, StepChangedError, stepHistory, stepScript, upgradesRootFor, UpgradePlanError, type ResolvedStep, type StepStatus } from './upgrade-steps';

/** What the upgrade's history keeps of its restore point: a count per schema, bounded whatever the number of tables. */
export interface RestorePointTaken {
  takenAt: string;
  schemas: { schema: string; tables: number }[];
}

export interface FenceInput {
  targetConnection: string;
  tenant: string;
  holder: string;
  schemas: string[];
  appUsers: string[];
  /** Accounts the tenant exempts from the fence (a DBA's): `user` or `'user'@'host'`. */
  exemptAccounts?: string[];
}

export interface StepInput {
  targetConnection: string;
  tenant: string;
  schemas: string[];
  version: string;
  step: UpgradeStep;
  workflowId: string;
}

export interface HotfixInput {
  targetConnection: string;
  tenant: string;
  name: string;
  sql: string;
  schemas: string[];
  /** All of the tenant's target schemas: the tenant account's grants (the hotfix's schemas when absent, as in older histories). */
  tenantSchemas?: string[];
  requestedBy?: string;
  workflowId: string;
}

/** Heartbeats on a timer while a long statement runs, so a live worker is never taken for dead. */
async function withHeartbeat<T>(fn: () => Promise<T>, details?: () => unknown): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(details?.()), 1000);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/**
 * A session as the tenant's own account (activities/tenant-account.ts) for operator SQL: its grants
 * cover only the tenant's target schemas, so the database refuses anything beyond them. Failing to
 * prepare the account is not retried: it is a grant the worker's account lacks.
 */
async function operatorSession(conns: ConnectionRegistry, target: { targetConnection: string; tenant: string; schemas: string[] }, what: string): Promise<TenantSession> {
  try {
    return await openTenantSession(conns, target);
  } catch (err) {
    if (err instanceof TenantAccountError) throw ApplicationFailure.nonRetryable(`${what}: ${err.message}`, 'TenantAccount');
    throw err;
  }
}

/**
 * A heartbeat, and the point where an activity whose upgrade is gone (cancelled, or terminated: the
 * heartbeat's answer says so) stops before its next change, so nothing of it runs beside the restore.
 */
function checkpoint(details?: unknown): void {
  const ctx = Context.current();
  ctx.heartbeat(details);
  ctx.cancellationSignal.throwIfAborted();
}

/** Refuses work on a tenant whose fence is held: the gate that replication and hotfixes check. */
export async function assertNoFence(pool: Pool, tenant: string, action: string): Promise<void> {
  const holder = await fenceHolder(pool, tenant);
  if (holder) {
    throw ApplicationFailure.nonRetryable(`${action} refused: the data upgrade ${holder} holds the fence of tenant ${tenant}`, 'Fenced');
  }
}

export interface UpgradeActivityOptions {
  /** Where this worker's upgrade steps live (default: CM_UPGRADES_DIR, else the shipped upgrades/). */
  upgradesRoot?: string;
}

export function createUpgradeActivities(conns: ConnectionRegistry, options: UpgradeActivityOptions = {}) {
  const upgradesRoot = upgradesRootFor(options.upgradesRoot);
  return {
    async raiseFence(input: FenceInput): Promise<FenceSummary> {
      try {
        // The tenant's own account runs the steps: cm's, so never locked (its sessions still go).
        const fence = { ...input, cmAccounts: [tenantAccountName(input.tenant)] };
        return await withHeartbeat(() => raiseFence(conns.pool(input.targetConnection), fence, () => checkpoint()));
      } catch (err) {
        // A missing grant stays missing however often the raise is retried: refuse, nothing changed.
        if (err instanceof FencePrivilegeError) throw ApplicationFailure.nonRetryable(err.message, 'FencePrivileges');
        throw err;
      }
    },

    async releaseFence(input: { targetConnection: string; tenant: string; holder: string }): Promise<ReleaseSummary> {
      return withHeartbeat(() => releaseFence(conns.pool(input.targetConnection), input.tenant, input.holder));
    },

    /**
     * Takes the restore point and answers how big it is, not the point: its fingerprints (one per
     * table) are recorded on the target, where the restore reads them, never in a payload.
     */
    async createRestorePoint(input: { targetConnection: string; tenant: string; schemas: string[] }): Promise<RestorePointTaken> {
      const point = await withHeartbeat(() => createRestorePoint(conns.pool(input.targetConnection), input, (t) => checkpoint(t)));
      return { takenAt: point.takenAt, schemas: point.schemas.map((s) => ({ schema: s.schema, tables: s.tables.length })) };
    },

    /**
     * `holder`: restore only while this upgrade still holds the fence (absent in older histories). The
     * point is the recorded one; `point` is only in histories from before it was recorded.
     */
    async restoreToPoint(input: { targetConnection: string; tenant: string; schemas: string[]; point?: RestorePoint; holder?: string }): Promise<RestoreOutcome> {
      try {
        return await withHeartbeat(() => restoreToPoint(conns.pool(input.targetConnection), input, () => Context.current().heartbeat()));
      } catch (err) {
        // Retrying cannot make restored tables match: stop, keep the fence up, and tell the operator.
        if (err instanceof RestoreVerificationError) throw ApplicationFailure.nonRetryable(err.message, 'RestoreVerificationFailed');
        throw err;
      }
    },

    /** Read only: what differs from the recorded restore point (at most 50 names, and the total). */
    async inspectRestorePoint(input: { targetConnection: string; tenant: string; schemas: string[] }): Promise<{ recorded: boolean; differences: string[]; total: number }> {
      const pool = conns.pool(input.targetConnection);
      const point = await recordedPoint(pool, input.tenant, input.schemas);
      if (!point) return { recorded: false, differences: [], total: 0 };
      const differences = await withHeartbeat(() => pointDifferences(pool, point));
      return { recorded: true, differences: differences.slice(0, 50), total: differences.length };
    },

    async setAsideRestorePoint(input: { targetConnection: string; tenant: string; schemas: string[]; holder: string }): Promise<string[]> {
      return withHeartbeat(() => setAsideRestorePoint(conns.pool(input.targetConnection), input));
    },

    async dropRestorePoint(input: { targetConnection: string; tenant: string; schemas: string[] }): Promise<void> {
      await dropRestorePoint(conns.pool(input.targetConnection), input);
    },

    /** Reads and checks the steps under this worker's upgrades root. `stepsDir` (earlier requests) is ignored. */
    async planUpgrade(input: { fromVersion: string; to?: string; stepsDir?: string }): Promise<UpgradePlan> {
      try {
        return planUpgrade(upgradesRoot, { fromVersion: input.fromVersion, to: input.to });
      } catch (err) {
        if (err instanceof UpgradePlanError) throw ApplicationFailure.nonRetryable(err.message, 'UpgradePlan');
        throw err;
      }
    },

    /** One step on every schema. Never retried by the workflow: a half-applied DDL is undone by the restore instead. */
    async runUpgradeStep(input: StepInput): Promise<{ schema: string; status: StepStatus }[]> {
      // The plan may come from another host: the step is found again under this worker's root, and
      // runs only if it is the very file the plan checksummed.
      let resolved: ResolvedStep;
      try {
        resolved = resolveStep(upgradesRoot, input.version, input.step);
      } catch (err) {
        if (!(err instanceof UpgradePlanError) && !(err instanceof StepChangedError)) throw err;
        throw ApplicationFailure.create({
          message: `upgrade step ${input.step.name} refused on this worker: ${err.message}`,
          type: err instanceof StepChangedError ? 'UpgradeStepChanged' : 'UpgradeStepMissing',
          nonRetryable: true,
          details: [{ step: input.step.name }],
        });
      }
      const pool = conns.pool(input.targetConnection);
      // The step runs as the tenant's account (its schemas are the tenant's); history stays on the worker's pool.
      const session = await operatorSession(conns, input, `upgrade step ${input.step.name}`);
      const conn = session.conn;
      const done: { schema: string; status: StepStatus }[] = [];
      try {
        await conn.query("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'");
        for (const schema of input.schemas) {
          try {
            if (await stepHistory(pool, input.tenant, schema, input.version, input.step)) {
              done.push({ schema, status: 'skipped' });
              continue;
            }
            await withHeartbeat(
              () => runScript(conn, pool, schema, stepScript(upgradesRoot, input.step, resolved, input.tenant, schema), Context.current().cancellationSignal),
              () => ({ schema, threadId: conn.threadId }),
            );
            await recordStep(pool, input.tenant, schema, input.version, input.step, input.workflowId);
            done.push({ schema, status: 'applied' });
          } catch (err) {
            if (Context.current().cancellationSignal.aborted) throw err;
            throw ApplicationFailure.create({
              message: `upgrade step ${input.step.name} failed on ${schema}: ${errorText(err)}`,
              type: 'UpgradeStepFailed',
              nonRetryable: true,
              details: [{ step: input.step.name, schema }],
              cause: err instanceof Error ? err : undefined,
            });
          }
        }
        return done;
      } finally {
        await session.close();
      }
    },

    async applyHotfix(input: HotfixInput): Promise<{ checksum: string; applied: string[]; skipped: string[] }> {
      const pool = conns.pool(input.targetConnection);
      await assertNoFence(pool, input.tenant, 'hotfix');
      const checksum = createHash('sha256').update(input.sql).digest('hex');
      const log = qualified(CONTROL_SCHEMA, 'hotfix_log');
      // The SQL runs as the tenant's account; the hotfix log stays on the worker's pool.
      const session = await operatorSession(conns, { ...input, schemas: input.tenantSchemas ?? input.schemas }, `hotfix ${input.name}`);
      const conn = session.conn;
      const out = { checksum, applied: [] as string[], skipped: [] as string[] };
      try {
        for (const schema of input.schemas) {
          const [seen] = await pool.query<RowDataPacket[]>(
            `SELECT 1 FROM ${log} WHERE tenant = ? AND name = ? AND checksum = ? AND target_schema = ?`,
            [input.tenant, input.name, checksum, schema],
          );
          if (seen.length > 0) {
            out.skipped.push(schema); // this very hotfix is already on this schema
            continue;
          }
          try {
            await runScript(conn, pool, schema, input.sql, Context.current().cancellationSignal);
          } catch (err) {
            throw ApplicationFailure.nonRetryable(`hotfix ${input.name} failed on ${schema}: ${errorText(err)}`, 'HotfixFailed');
          }
          await pool.query(`INSERT INTO ${log} (tenant, name, checksum, target_schema, applied_by, workflow_id) VALUES (?, ?, ?, ?, ?, ?)`, [
            input.tenant, input.name, checksum, schema, input.requestedBy ?? null, input.workflowId,
          ]);
          out.applied.push(schema);
        }
        return out;
      } finally {
        await session.close();
      }
    },
  };
}
