// Started by the tenant's Temporal Schedule: asks the management workflow for a run, as a script
// would, so the run is logged (and refused, with the reason on the page) like any other request.
import { getExternalWorkflowHandle } from '@temporalio/workflow';
import { managementWorkflowId } from '../lib/constants';
import { runMigrationNowSignal } from './messages';

export async function scheduledReplication(input: { tenant: string }): Promise<void> {
  await getExternalWorkflowHandle(managementWorkflowId(input.tenant)).signal(runMigrationNowSignal, {
    requestedBy: 'schedule',
    reason: 'scheduled replication',
  });
}
