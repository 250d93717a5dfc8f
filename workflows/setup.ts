// Setup, once per tenant (and again when companies change): assess the source, create the target
// tables, install change capture, mark the environment Active. Every step is idempotent.
import type { AssessmentSummary, SetupInput } from '../activities';
import { patched } from '@temporalio/workflow';
import { TABLE_ROWS } from '../lib/constants';
import { EXCLUDED_BY_CONFIGURATION } from '../lib/company-tables';
import type { Assessment, CaptureChoice, RuntimeKeyInfo } from '../lib/types';
import { setupActivities as act } from './activity-options';

export interface SetupResult extends Assessment {
  /** Set when the rows live on the target: `findings` holds the first ones only. */
  findingsTotal?: number;
  tablesCreated: number;
  captureInstalled: number;
  /** The tenant's runtime service key (its public id): issued to the runtime that ran setup. */
  runtimeKey?: RuntimeKeyInfo;
  /** How changes are captured, and why (absent in setups from before binlog capture: triggers). */
  capture?: CaptureChoice;
}

export async function tenantSetup(input: SetupInput): Promise<SetupResult> {
  // Added in service 1.2.0: histories of earlier setups have no key step, and replay without it.
  const runtimeKey = patched('runtime-service-key')
    ? await act.issueRuntimeKey.executeWithOptions(
      { summary: 'Runtime service key: issue one to this runtime unless the tenant has one' },
      [{ tenant: input.tenant, targetConnection: input.targetConnection }],
    )
    : undefined;
  const assessment = await act.assessSource.executeWithOptions({ summary: 'Premigration assessment of the source' }, [input]);
  // Added in service 1.4.0: the binary log where the source allows it, else triggers; the reason is on the page.
  const capture = patched('binlog-capture')
    ? await act.chooseCaptureMode.executeWithOptions(
      { summary: 'Change capture: binary log or triggers' },
      [{ sourceConnection: input.sourceConnection, setting: input.captureMode, current: input.currentCapture }],
    )
    : undefined;
  if (capture) {
    assessment.findings.push({ severity: capture.mode === 'binlog' ? 'info' : 'warning', message: `change capture: ${capture.mode} (${capture.reason})` });
  }
  // The rows live on the target (1.6.0): the assessment answers counts, and each step reads the plan there.
  const rows = input.rows === true;
  const found = assessment.findings.length;
  let migratable = assessment.tables.filter((t) => !t.notMigratedReason);
  const { tablesCreated, failed } = await act.prepareTarget.executeWithOptions(
    { summary: rows ? 'Create the target tables of the plan' : `Create ${migratable.length} target tables` },
    [{ ...input, tables: migratable }],
  );
  // A table the target cannot hold is not migrated, with the target's own reason; the rest go on.
  for (const f of failed ?? []) {
    const table = assessment.tables.find((t) => t.key === f.key);
    if (table) table.notMigratedReason = `the target cannot create this table: ${f.error}`;
    assessment.findings.push({ severity: 'error', table: f.key, message: `the target cannot create this table: ${f.error}` });
  }
  migratable = migratable.filter((t) => !t.notMigratedReason);
  // Capture goes in before any copy starts, so changes made during the first full load are kept.
  const { installed } = await act.installChangeCapture.executeWithOptions(
    { summary: capture?.mode === 'binlog' ? 'Change capture from the binary log: record the start position and the tables' : 'Install change capture on the source' },
    [{ tenant: input.tenant, sourceConnection: input.sourceConnection, targetConnection: input.targetConnection, tables: migratable, capture: capture?.mode, ...(rows ? { rows } : {}) }],
  );
  // Tables the company configuration now leaves out keep no capture on the source (its log would only grow).
  const excluded = assessment.tables.filter((t) => t.notMigratedReason?.startsWith(EXCLUDED_BY_CONFIGURATION));
  if ((rows || excluded.length > 0) && patched('company-table-filter')) {
    await act.removeChangeCapture.executeWithOptions(
      { summary: rows ? 'Remove change capture from the tables the company configuration excludes' : `Remove change capture from ${excluded.length} tables the company configuration excludes` },
      [{ tenant: input.tenant, sourceConnection: input.sourceConnection, targetConnection: input.targetConnection, tables: rows ? [] : excluded, capture: capture?.mode, ...(rows ? { rows: 'excluded' as const } : {}) }],
    );
  }
  await act.setEnvironmentState.executeWithOptions(
    { summary: 'Environment state: Active' },
    [{ targetConnection: input.targetConnection, tenant: input.tenant, state: 'Active', changedBy: 'setup' }],
  );
  // Added in 1.6.0: the plan into the tenant's table rows on the target, once everything else is done.
  if (patched(TABLE_ROWS)) {
    await act.applyTablePlan.executeWithOptions(
      { summary: rows ? 'Table rows: the plan taken in' : `Table rows: the plan of ${assessment.tables.length} tables` },
      [{ tenant: input.tenant, targetConnection: input.targetConnection, fresh: input.fresh === true, findings: rows ? assessment.findings.slice(found) : [] }],
    );
  }
  const summary = assessment as AssessmentSummary;
  return {
    ...assessment, tablesCreated, captureInstalled: installed, runtimeKey, capture,
    ...(rows ? { findingsTotal: summary.findingsTotal + assessment.findings.length - found } : {}),
  };
}
