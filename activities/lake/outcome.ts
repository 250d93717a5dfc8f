// Whether a data lake export has ended, asked of Temporal: for an execution of the tenant that took
// over an export an earlier one started (the export reports its end itself, unless terminated).
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { LakeExportSummary } from '../../lib/lake';
import { rootMessage } from '../../lib/errors';

/** Undefined while the export runs; else its result, or why it has none. */
export async function lakeExportOutcome(client: Client, workflowId: string): Promise<{ workflowId: string; result?: LakeExportSummary; failure?: string } | undefined> {
  const handle = client.workflow.getHandle<() => Promise<LakeExportSummary>>(workflowId);
  let status: string;
  try {
    status = (await handle.describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { workflowId, failure: 'the export\'s workflow is gone from Temporal (past its retention): how it ended is unknown' };
    throw err;
  }
  if (status === 'RUNNING') return undefined;
  try {
    return { workflowId, result: await handle.result() };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    // FAILED, TERMINATED (with the operator's reason), CANCELLED, TIMED_OUT.
    const how = status === 'FAILED' ? 'failed' : `was ${status.toLowerCase().replace('_', ' ')}`;
    return { workflowId, failure: `the export ${how}${err.cause ? `: ${rootMessage(err.cause)}` : ''}` };
  }
}
