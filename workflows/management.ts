// The Cloud Migration Management page as a long-lived entity workflow, one per tenant.
// The handlers of runs, upgrades, setup and disable only record requests; the main loop below does
// that work, one thing at a time, so the history reads as the business process: setup, then runs
// and upgrades, each a child workflow. Actions that are one activity each are in operator-actions.
import {
  allHandlersFinished, ApplicationFailure, condition, continueAsNew, executeChild, ParentClosePolicy, patched, setCurrentDetails, setHandler, sleep,
  startChild, upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import { DEFAULT_VERIFY, LAKE_EXPORT_REPORTS, ONE_STATUS_SPELLING, TABLE_ROWS_PAGE, MigrationPhaseKey, MigrationStatusKey, runWorkflowId, SERVICE_VERSION, setupWorkflowId, TenantIdKey, upgradeWorkflowId, verificationWorkflowId } from '../lib/constants';
import {
  configureCompaniesSchema, describeIssues, disableRequestSchema, normalizeCompanies, parseTenantInput, requesterSchema, upgradeRequestSchema, verifyRequestSchema, type TenantInput, pageRequestSchema, tablePageRequestSchema,
} from '../lib/schemas';
import type { DisableResult, Requester, RunInput, TableSummary, TenantConfig, UpgradeLogEntry, VerificationLogEntry } from '../lib/types';
import { setupActivities } from './activity-options';
import { dataUpgrade, UPGRADE_REFUSED } from './data-upgrade';
import { sameVersion } from '../lib/upgrade-versions';
import {
  checkForUpdateQuery, configureCompaniesUpdate, DESCRIPTIONS, disableCloudMigrationUpdate, runDataUpgradeNowUpdate, runMigrationNowSignal, runMigrationNowUpdate,
  setupChecklistQuery, statusQuery, tablesQuery, updateServiceUpdate, verifyNowUpdate, type RunStarted, type UpgradeStarted, type VerificationStarted,
} from './messages';
import { registerOperatorActions } from './operator-actions';
import { isLostUpgrade, registerUpgradeResolution, restoreLostUpgrade, upgradePendingAgain } from './upgrade-recovery';
import { replicationRun } from './replication-run';
import { ROWS_PAGE, runKindOf } from './run-plan';
import { tenantSetup } from './setup';
import { verification } from './verification';
import { registerLakeExport } from './lake-actions';
import {
  appendCapped, applyAssessment, liftFence, applyRunResult, applyVerification, initialState, migratableTables, recordRefusal, refuseCompanies, refuseDisable, refuseRun, refuseUpgrade,
  lakeExportRunning, refuseVerify, schemaFollowInput, startRunEntry, tableRefs, unknownCompanies, verifiableTables, type TenantState,
} from './tenant-state';
import { validated } from './validate';
import { checklistPage, statusPage, summaryTiles, tablePage } from './status-pages';
import { summarize, toWork } from '../lib/table-pages';
import { failedRunResult, rootMessage } from '../lib/errors';
import { carriedState } from '../lib/carry-limit';

/** Environment Operations keeps this many upgrades (each with its stack trace when it failed). */
const MAX_UPGRADES = 100;
/** The page keeps this many verifications. */
const MAX_VERIFICATIONS = 100;

export interface Carried {
  config: TenantConfig;
  state: TenantState;
  /** The code version that wrote this state, i.e. the one this execution started on. */
  serviceVersion?: string;
}

export type ManagementInput = TenantInput & { carried?: Carried };

/** The innermost message of a failure chain: what actually went wrong. */
function describeLastVerification(state: TenantState): string {
  const v = [...state.verifications].reverse().find((e) => e.endedAt);
  return v ? `verification #${v.number} after run #${v.afterRun}: ${v.status}` : 'none';
}


/** What an auditor needs of a failed upgrade: the first application error, its step, all stacks. */
function describeFailure(err: unknown): Pick<UpgradeLogEntry, 'error' | 'failedStep' | 'stackTrace' | 'restored' | 'refused'> {
  const chain: { message?: string; stack?: string; type?: string; details?: unknown[]; cause?: unknown }[] = [];
  for (let e = err as (typeof chain)[number] | undefined; e && typeof e === 'object'; e = e.cause as typeof e) chain.push(e);
  const app = chain.find((e) => e.type) ?? chain[chain.length - 1];
  const step = (app?.details?.[0] as { step?: string } | undefined)?.step;
  const cancelled = chain.some((e) => (e as { name?: string }).name === 'CancelledFailure');
  // Refused before the fence went up (its plan failed): nothing changed, so nothing was restored.
  if (chain.some((e) => e.type === UPGRADE_REFUSED)) {
    return { error: app?.message ?? String(err), stackTrace: chain.map((e) => e.stack).filter(Boolean).join('\nCaused by: ').slice(0, 16_000), refused: true };
  }
  return {
    error: cancelled && !app?.type ? 'cancelled' : app?.message ?? String(err),
    failedStep: step,
    // Capped: it is kept on the page, which every continue-as-new carries.
    stackTrace: chain.map((e) => e.stack).filter(Boolean).join('\nCaused by: ').slice(0, 16_000),
    // The child restores before it fails; only a restore that could not be verified says otherwise.
    restored: !chain.some((e) => e.type === 'RestoreVerificationFailed'),
  };
}

export async function cloudMigration(input: ManagementInput): Promise<DisableResult> {
  // The UI's Start Workflow form accepts any JSON: anything but an object is refused at once.
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw ApplicationFailure.nonRetryable(
      `invalid tenant input: expected a JSON object such as {"tenant":"acme","companies":[{"source":"cronus"}]}, got ${input === undefined ? 'no input' : JSON.stringify(input)}`,
      'InvalidInput',
    );
  }
  const { carried, ...raw } = input;
  let config: TenantConfig;
  try {
    config = carried?.config ?? parseTenantInput(raw);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(rootMessage(err), 'InvalidInput');
  }
  // Input is history: the version read here stays the same on every replay, on any worker.
  const runningVersion = carried?.serviceVersion ?? raw.serviceVersion ?? 'unknown';
  let serviceUpdateRequested = false;
  // Fields added since a carried state was written take their defaults.
  const state: TenantState = { ...initialState(config.dataVersion ?? '1.0'), ...carried?.state };
  // 1.6.0: every table's row lives on the target (cm_control.table_state); the page keeps a summary of
  // them (state.tableSummary), so nothing here grows with the number of tables. Executions started
  // before keep their rows in the page until their next continue-as-new, which takes them over.
  const rowsOnTarget = patched(TABLE_ROWS_PAGE);
  if (rowsOnTarget && !state.tableSummary) state.tableSummary = summarize(Object.values(state.tables));
  // 1.7.0: one spelling of each status; a state carried from an older execution is respelled here.
  if (state.status === 'Upgrade pending' && patched(ONE_STATUS_SPELLING)) state.status = 'Upgrade Pending';
  // 1.9.0: data lake exports outlive this execution and report to the current one, so a long export
  // no longer holds the history back from continuing as new.
  const lakeExportsReport = patched(LAKE_EXPORT_REPORTS);
  const holdsHistory = (): boolean => !lakeExportsReport && lakeExportRunning(state) !== undefined;
  const summaryNow = (): TableSummary => state.tableSummary ?? summarize(Object.values(state.tables));
  /** Reads the summary again; when the rows cannot be read, the page keeps the last one and says why. */
  const refreshSummary = async (): Promise<void> => {
    try {
      state.tableSummary = await setupActivities.summarizeTables.executeWithOptions(
        { summary: 'Summarize the table rows' },
        [{ tenant: config.tenant, targetConnection: config.targetConnection }],
      );
    } catch (err) {
      state.tableSummary = { ...summaryNow(), error: `the table rows on the target could not be read (${rootMessage(err)}): these counts are from before` };
    }
  };
  // Not carried: only in-flight updates wait on these, and none cross continue-as-new.
  let startedRun = 0;
  let startedUpgrade = 0;
  let startedVerification = 0;

  // --- what the UI and `cm` see -----------------------------------------------------------------
  let published = '';
  const publish = (): void => {
    const phase = state.disabled
      ? 'disabled'
      : !state.setupDone || state.setupPending
      ? 'setup'
      : state.currentUpgrade !== undefined ? 'upgrade' : state.currentRun !== undefined ? 'replication' : state.currentVerification !== undefined ? 'verification' : 'idle';
    const key = `${state.status}|${phase}`;
    if (key !== published) {
      published = key;
      upsertSearchAttributes([
        { key: TenantIdKey, value: config.tenant },
        { key: MigrationStatusKey, value: state.status },
        { key: MigrationPhaseKey, value: phase },
      ]);
    }
    const t = summaryTiles(summaryNow(), null);
    setCurrentDetails(
      `**${config.tenant}**: ${state.status} · environment ${state.environmentState}\n\n` +
        `Tables: ${t.successful} successful, ${t.warnings} with warnings, ${t.failed} failed, ${t.notMigrated} not migrated`,
    );
  };

  setHandler(statusQuery, () => statusPage(config, state, summaryNow(), rowsOnTarget ? { taskQueue: workflowInfo().taskQueue } : undefined), { description: DESCRIPTIONS.status });
  const ROWS_ELSEWHERE = "this tenant's table rows live on its target: read them with `cm status --all` (or start a readTableRows workflow)";
  setHandler(tablesQuery, (req) => {
    if (rowsOnTarget) throw new Error(ROWS_ELSEWHERE);
    return tablePage(state, validated(tablePageRequestSchema, req));
  }, { description: DESCRIPTIONS.tables });

  /** Asks the main loop for a run and waits until it has started it. */
  const requestRun = async (req?: Requester): Promise<RunStarted> => {
    const run = state.nextRun;
    state.pendingRun = { trigger: 'update', ...req };
    await condition(() => startedRun >= run);
    const entry = state.log.find((e) => e.run === run)!;
    return { run, workflowId: entry.workflowId, kind: entry.kind };
  };

  setHandler(
    runMigrationNowUpdate,
    requestRun,
    {
      description: DESCRIPTIONS.runMigrationNowUpdate,
      validator: (req?: Requester) => {
        validated(requesterSchema, req);
        const refusal = refuseRun(state);
        if (refusal) throw new Error(refusal);
      },
    },
  );

  setHandler(
    runMigrationNowSignal,
    (req?: Requester) => {
      const parsed = requesterSchema.safeParse(req ?? {});
      const refusal = parsed.success ? refuseRun(state) : `invalid request: ${describeIssues(parsed.error)}`;
      if (refusal) {
        recordRefusal(state, { at: new Date().toISOString(), action: 'runMigrationNow (signal)', reason: refusal, requestedBy: req?.requestedBy });
        return;
      }
      state.pendingRun = { trigger: 'signal', ...req };
    },
    { description: DESCRIPTIONS.runMigrationNowSignal },
  );

  setHandler(
    configureCompaniesUpdate,
    async (req) => {
      config.companies = normalizeCompanies(config.tenant, req.companies);
      state.setupPending = true;
      await condition(() => !state.setupPending);
      if (state.setupError) throw ApplicationFailure.nonRetryable(`setup failed: ${state.setupError}`, 'SetupFailed');
      return config.companies;
    },
    {
      description: DESCRIPTIONS.configureCompanies,
      validator: (req) => {
        const parsed = validated(configureCompaniesSchema, req);
        const refusal = refuseCompanies(state, normalizeCompanies(config.tenant, parsed.companies));
        if (refusal) throw new Error(refusal);
      },
    },
  );

  setHandler(
    runDataUpgradeNowUpdate,
    async (req): Promise<UpgradeStarted> => {
      const number = state.nextUpgrade;
      state.pendingUpgrade = { trigger: 'update', ...req };
      await condition(() => startedUpgrade >= number);
      return { number, workflowId: upgradeWorkflowId(config.tenant, number) };
    },
    {
      description: DESCRIPTIONS.runDataUpgradeNow,
      validator: (req) => {
        const parsed = validated(upgradeRequestSchema, req);
        const refusal = refuseUpgrade(state);
        if (refusal) throw new Error(refusal);
        if (parsed.to !== undefined && sameVersion(parsed.to, state.dataVersion)) {
          throw new Error(`the tenant's data is already at version ${state.dataVersion}: name a later version, or none for the next one`);
        }
      },
    },
  );

  setHandler(
    verifyNowUpdate,
    async (req): Promise<VerificationStarted> => {
      const number = state.nextVerification;
      state.pendingVerification = { trigger: 'update', ...req };
      await condition(() => startedVerification >= number);
      const entry = state.verifications.find((e) => e.number === number)!;
      return { number, workflowId: entry.workflowId, tables: entry.tables };
    },
    {
      description: DESCRIPTIONS.verifyNow,
      validator: (req) => {
        const refusal = refuseVerify(state, validated(verifyRequestSchema, req), config.companies);
        if (refusal) throw new Error(refusal);
      },
    },
  );

  setHandler(setupChecklistQuery, (req) => {
    if (rowsOnTarget) throw new Error(ROWS_ELSEWHERE.replace('cm status --all', 'cm checklist'));
    return checklistPage(state, validated(pageRequestSchema, req));
  }, { description: DESCRIPTIONS.setupChecklist });

  const versions = () => ({ running: runningVersion, deployed: SERVICE_VERSION, updateAvailable: runningVersion !== SERVICE_VERSION });
  setHandler(checkForUpdateQuery, versions, { description: DESCRIPTIONS.checkForUpdate });
  setHandler(
    updateServiceUpdate,
    () => {
      serviceUpdateRequested = true; // who asked, and why, is in the update's own history event
      return versions();
    },
    {
      description: DESCRIPTIONS.updateService,
      validator: (req) => {
        validated(requesterSchema, req);
        if (runningVersion === SERVICE_VERSION) throw new Error(`already on the deployed version ${SERVICE_VERSION}`);
        const busy = refuseDisable(state, true);
        if (busy && busy.startsWith('checklist')) throw new Error(busy.replace('checklist: nothing may be running', 'an update waits until nothing is running'));
        if (state.disabled) throw new Error('cloud migration is disabled for this tenant');
      },
    },
  );

  setHandler(
    disableCloudMigrationUpdate,
    async (req): Promise<DisableResult> => {
      state.disableRequest = { trigger: 'update', ...req, skipFinalRun: req.skipFinalRun === true, skipVerification: req.skipVerification === true };
      await condition(() => state.disabled !== undefined);
      return state.disabled!;
    },
    {
      description: DESCRIPTIONS.disableCloudMigration,
      validator: (req) => {
        const parsed = validated(disableRequestSchema, req);
        const refusal = refuseDisable(state, parsed.skipFinalRun === true, parsed.skipVerification === true);
        if (refusal) throw new Error(refusal);
      },
    },
  );

  registerOperatorActions({ config, state, publish, requestRun, refreshSummary });
  registerUpgradeResolution(config, state, publish);
  registerLakeExport(config, state, publish, lakeExportsReport);

  // --- the process -------------------------------------------------------------------------------
  const setup = async (): Promise<void> => {
    state.status = 'Setup In Progress';
    state.setupError = undefined;
    publish();
    try {
      state.sourceSchemas = await setupActivities.discoverSource.executeWithOptions(
        { summary: `List schemas on source connection ${config.sourceConnection}` },
        [{ sourceConnection: config.sourceConnection, targetConnection: config.targetConnection }],
      );
      const unknown = unknownCompanies(state.sourceSchemas, config.companies);
      if (unknown) throw new Error(unknown);
      const result = await executeChild(tenantSetup, {
        workflowId: setupWorkflowId(config.tenant),
        args: [{
          tenant: config.tenant, sourceConnection: config.sourceConnection, targetConnection: config.targetConnection, companies: config.companies, dataVersion: state.dataVersion,
          captureMode: config.captureMode, currentCapture: state.capture, fresh: summaryNow().counts.total === 0,
          ...(rowsOnTarget ? { rows: true } : {}),
        }],
        staticSummary: `Setup of ${config.tenant}: assessment, target tables, change capture`,
        typedSearchAttributes: [{ key: TenantIdKey, value: config.tenant }],
      });
      if (rowsOnTarget) {
        state.sourceSchemas = result.sourceSchemas;
        state.findings = result.findings;
        state.findingsTotal = result.findingsTotal;
        await refreshSummary();
      } else {
        applyAssessment(state, result);
      }
      state.runtimeKey = result.runtimeKey ?? state.runtimeKey;
      state.capture = result.capture ?? state.capture;
      state.setupDone = true;
      state.status = state.log.some((e) => e.status === 'Completed') ? 'Upgrade Pending' : 'Ready';
    } catch (err) {
      state.setupError = rootMessage(err);
      state.status = 'Setup Failed';
    }
    state.setupPending = false;
    publish();
  };

  const replicate = async (): Promise<void> => {
    const request = state.pendingRun!;
    state.pendingRun = undefined;
    const run = state.nextRun++;
    const workflowId = runWorkflowId(config.tenant, run);
    const tables = rowsOnTarget ? [] : migratableTables(state).map(toWork);
    const summary = summaryNow();
    const kind = rowsOnTarget ? (summary.owedFullLoad > 0 ? 'full' : 'delta') : runKindOf(tables);
    const count = rowsOnTarget ? summary.migratable : tables.length;
    startRunEntry(state, {
      run, workflowId, kind, status: 'In Progress', trigger: request.trigger, requestedBy: request.requestedBy, reason: request.reason,
      startedAt: new Date().toISOString(), tables: count, tablesDone: 0, rows: 0,
    });
    state.status = 'Replication In Progress';
    publish();
    const runInput: RunInput = {
      tenant: config.tenant, run, sourceConnection: config.sourceConnection, targetConnection: config.targetConnection, copy: config.copy, tables,
      capture: state.capture?.mode,
      verify: { ...DEFAULT_VERIFY, ...config.verify },
      schema: schemaFollowInput(state, config.companies),
      ...(rowsOnTarget ? { fromRows: true, kind } : {}),
    };
    try {
      const child = await startChild(replicationRun, {
        workflowId,
        args: [runInput],
        staticSummary: `Run #${run} (${kind === 'full' ? 'full copy' : 'changes only'}) of ${config.tenant}: ${count} tables`,
        typedSearchAttributes: [{ key: TenantIdKey, value: config.tenant }],
      });
      startedRun = run;
      // A run with failed tables fails (RUN_FAILED), its result in the failure: it ended, and says how.
      const result = await child.result().catch((err: unknown) => failedRunResult(err) ?? Promise.reject(err));
      // The summary first: once the log says the run ended, the page's counts include it.
      if (rowsOnTarget) await refreshSummary();
      applyRunResult(state, result, new Date().toISOString());
    } catch (err) {
      startedRun = run;
      if (rowsOnTarget) await refreshSummary();
      applyRunResult(state, { run, status: 'Failed', tables: [], failure: rootMessage(err) }, new Date().toISOString());
    }
    state.status = state.log.some((e) => e.status === 'Completed') ? 'Upgrade Pending' : 'Ready';
    publish();
  };

  const upgrade = async (): Promise<void> => {
    const request = state.pendingUpgrade!;
    state.pendingUpgrade = undefined;
    const number = state.nextUpgrade++;
    const workflowId = upgradeWorkflowId(config.tenant, number);
    // The fence is up in this page from now on: runMigrationNow and hotfixes are refused at once.
    state.fence = { holder: workflowId };
    state.currentUpgrade = number;
    state.environmentState = 'Update';
    state.status = 'Upgrade in Progress';
    const entry: UpgradeLogEntry = {
      number, workflowId, status: 'In Progress', requestedBy: request.requestedBy, reason: request.reason, startedAt: new Date().toISOString(),
    };
    appendCapped(state.upgrades, entry, MAX_UPGRADES);
    publish();
    try {
      const child = await startChild(dataUpgrade, {
        workflowId,
        args: [{
          tenant: config.tenant, number, targetConnection: config.targetConnection, schemas: config.companies.map((c) => c.target), appUsers: config.appUsers, exemptAccounts: config.fenceExemptAccounts,
          dataVersion: state.dataVersion, ...(request.to ? { to: request.to } : {}),
        }],
        staticSummary: `Data upgrade #${number} of ${config.tenant} from version ${state.dataVersion}${request.to ? ` to ${request.to}` : ' to the next version'}`,
        typedSearchAttributes: [{ key: TenantIdKey, value: config.tenant }],
        // If this page is closed, the upgrade is asked to cancel: its restore then still runs.
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      });
      startedUpgrade = number;
      const result = await child.result();
      Object.assign(entry, { status: 'Complete', from: result.from, to: result.to });
      state.dataVersion = result.to;
      state.status = 'Upgrade completed successfully';
    } catch (err) {
      startedUpgrade = number;
      const failure = describeFailure(err);
      Object.assign(entry, failure);
      // Terminated or timed out: its own restore never ran, so this workflow runs it (added in 1.5.0).
      // The entry stays In Progress until it has: the page never says Failed before the target is back.
      if (isLostUpgrade(err) && patched('restore-after-lost-upgrade')) await restoreLostUpgrade(config, entry);
      entry.status = 'Failed';
      state.status = upgradePendingAgain();
      if (!entry.refused && !entry.restored) {
        // The target does not match its restore point: keep everyone out until an operator looks.
        entry.endedAt = new Date().toISOString();
        publish();
        return;
      }
    }
    entry.endedAt = new Date().toISOString();
    liftFence(state);
    publish();
  };

  const verify = async (): Promise<void> => {
    const request = state.pendingVerification!;
    state.pendingVerification = undefined;
    const number = state.nextVerification++;
    const workflowId = verificationWorkflowId(config.tenant, number);
    const tables = rowsOnTarget ? [] : verifiableTables(state, request).map(toWork);
    const repair = request.repair === true;
    // The rows live on the target: the verification reads the tables that match there (this many at most).
    const count = rowsOnTarget ? summaryNow().loaded : tables.length;
    const entry: VerificationLogEntry = {
      number, workflowId, status: 'In Progress', requestedBy: request.requestedBy, reason: request.reason, repair,
      afterRun: state.log[state.log.length - 1]?.run ?? 0, startedAt: new Date().toISOString(), tables: count,
    };
    const scope = [request.company && `company ${request.company}`, request.table && `tables ${request.table}`].filter(Boolean).join(', ');
    if (scope) entry.scope = scope;
    appendCapped(state.verifications, entry, MAX_VERIFICATIONS);
    state.currentVerification = number;
    publish();
    try {
      const child = await startChild(verification, {
        workflowId,
        args: [{
          tenant: config.tenant, number, sourceConnection: config.sourceConnection, targetConnection: config.targetConnection, tables, repair,
          capture: state.capture?.mode,
          settings: { ...DEFAULT_VERIFY, ...config.verify }, afterRun: entry.afterRun, heartbeatTimeoutSeconds: config.copy.heartbeatTimeoutSeconds,
          ...(rowsOnTarget ? { fromRows: { ...(request.company ? { company: request.company } : {}), ...(request.table ? { table: request.table } : {}) } } : {}),
        }],
        staticSummary: `Verification #${number}${repair ? ' with repair' : ''} of ${config.tenant}: ${scope || `${count} tables`}`,
        typedSearchAttributes: [{ key: TenantIdKey, value: config.tenant }],
      });
      startedVerification = number;
      const result = await child.result();
      if (rowsOnTarget) await refreshSummary();
      applyVerification(state, result, new Date().toISOString());
    } catch (err) {
      startedVerification = number;
      if (rowsOnTarget) await refreshSummary();
      Object.assign(entry, { status: 'Failed', endedAt: new Date().toISOString(), failure: rootMessage(err) });
      state.currentVerification = undefined;
    }
    publish();
  };

  /** Disable Cloud Migration: change capture off the source, no more scheduled runs, the end of this workflow. */
  const disable = async (): Promise<DisableResult> => {
    const request = state.disableRequest!;
    const tables = tableRefs(Object.values(state.tables));
    const { removed } = await setupActivities.removeChangeCapture.executeWithOptions(
      { summary: `Disable: remove change capture from ${rowsOnTarget ? summaryNow().counts.total : tables.length} source tables` },
      [{
        tenant: config.tenant, sourceConnection: config.sourceConnection, targetConnection: config.targetConnection, tables, capture: state.capture?.mode, all: true,
        ...(rowsOnTarget ? { rows: 'all' as const } : {}),
      }],
    );
    if (state.schedule) {
      await setupActivities.setReplicationSchedule.executeWithOptions(
        { summary: 'Disable: remove the replication schedule' },
        [{ tenant: config.tenant, taskQueue: workflowInfo().taskQueue, spec: null }],
      );
      state.schedule = undefined;
    }
    const last = state.log[state.log.length - 1];
    state.disabled = {
      disabledAt: new Date().toISOString(),
      requestedBy: request.requestedBy,
      reason: request.reason,
      finalRun: request.skipFinalRun ? 'skipped on request' : last ? `run #${last.run} ${last.status}` : 'none',
      verification: request.skipVerification ? 'skipped on request' : describeLastVerification(state),
      captureRemoved: removed,
    };
    state.status = 'Cloud Migration Disabled';
    publish();
    await condition(allHandlersFinished);
    return state.disabled;
  };

  // Set when the page was too large to carry: the history then grows on rather than the tenant being lost.
  let carryRefused = false;
  const historyIsLong = (): boolean =>
    !carryRefused && !holdsHistory() && (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > config.continueAsNewAfterEvents);

  // Rows carried from an execution that kept them in the page: taken over by the target, a part at a time.
  if (rowsOnTarget && Object.keys(state.tables).length > 0) {
    const rows = Object.values(state.tables);
    for (let i = 0; i < rows.length; i += ROWS_PAGE) {
      // Until a runtime holding the tenant's key takes them in: the rows are the tenant's page, never dropped.
      for (let attempt = 1; ; attempt++) {
        try {
          await setupActivities.importTableRows.executeWithOptions(
            { summary: `Table rows: take over ${Math.min(ROWS_PAGE, rows.length - i)} of the ${rows.length} rows the page carried` },
            [{ tenant: config.tenant, targetConnection: config.targetConnection, rows: rows.slice(i, i + ROWS_PAGE), ...(i === 0 ? { findings: state.findings } : {}) }],
          );
          break;
        } catch (err) {
          state.tableSummary = { ...summaryNow(), error: `the page's rows are not yet taken over by the target (attempt ${attempt}: ${rootMessage(err)}); trying again in a minute` };
          await sleep('1 minute');
        }
      }
    }
    state.findingsTotal = state.findings.length;
    state.tables = {};
    await refreshSummary();
  }
  publish();
  for (;;) {
    if (state.setupPending) {
      await setup();
      continue;
    }
    await condition(
      () => state.pendingRun !== undefined || state.pendingUpgrade !== undefined || state.setupPending || state.disableRequest !== undefined ||
        state.pendingVerification !== undefined || serviceUpdateRequested || historyIsLong(),
    );
    if (state.disableRequest) return disable();
    if (state.setupPending) continue;
    if (state.pendingUpgrade) {
      await upgrade();
      continue;
    }
    if (state.pendingRun) {
      await replicate();
      continue;
    }
    if (state.pendingVerification) {
      await verify();
      continue;
    }
    // Idle with a long history: hand the state to a fresh run once every handler has answered.
    await condition(() => allHandlersFinished() && !holdsHistory());
    if (state.pendingRun || state.pendingUpgrade || state.setupPending || state.pendingVerification) continue;
    const carriedPage = carriedState(state);
    if (!carriedPage) {
      // Temporal would refuse the input and terminate this workflow: keep it, and say why on the page.
      carryRefused = true;
      recordRefusal(state, {
        at: new Date().toISOString(), action: 'continue-as-new',
        reason: `the page of ${Object.keys(state.tables).length} tables is too large to carry into a new execution; the history grows on instead. Split the companies over several tenants`,
      });
      continue;
    }
    // The new execution runs on the code the workers have now: SERVICE_VERSION is what it runs.
    await continueAsNew<typeof cloudMigration>({
      ...raw, tenant: config.tenant, companies: config.companies, carried: { config, state: carriedPage, serviceVersion: SERVICE_VERSION },
    });
  }
}
