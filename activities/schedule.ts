// The replication schedule as a Temporal Schedule: it starts `scheduledReplication`, which signals
// Run Migration Now to the tenant's management workflow (skipped if the previous one still runs).
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptionsAction, type ScheduleSpec as TemporalSpec } from '@temporalio/client';
import { scheduleWorkflowId, TenantIdKey } from '../lib/constants';
import { WEEKDAYS, type ScheduleSpec } from '../lib/schedule';

export const scheduleId = (tenant: string): string => `cloud-migration/${tenant}/schedule`;

function temporalSpec(spec: ScheduleSpec): TemporalSpec {
  const [hour, minute] = spec.at.split(':').map(Number);
  const dayOfWeek = spec.frequency === 'weekly' ? (spec.weekday!.toUpperCase() as Uppercase<(typeof WEEKDAYS)[number]>) : '*';
  return { calendars: [{ hour, minute, dayOfWeek, comment: 'cm replication schedule' }] };
}

/** Creates, updates or (spec null) deletes the tenant's schedule. Safe to repeat. */
export async function upsertSchedule(client: Client, input: { tenant: string; taskQueue: string; spec: ScheduleSpec | null }): Promise<void> {
  const handle = client.schedule.getHandle(scheduleId(input.tenant));
  if (input.spec === null) {
    await handle.delete().catch((err) => {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    });
    return;
  }
  const spec = temporalSpec(input.spec);
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: 'scheduledReplication',
    workflowId: scheduleWorkflowId(input.tenant),
    taskQueue: input.taskQueue,
    args: [{ tenant: input.tenant }],
    typedSearchAttributes: [{ key: TenantIdKey, value: input.tenant }],
  };
  try {
    await handle.update((prev) => ({ ...prev, spec, action }));
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    await client.schedule.create({ scheduleId: scheduleId(input.tenant), spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP } });
  }
}
