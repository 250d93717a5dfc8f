// The replication schedule: daily or weekly at a UTC time. Pure, so the workflow can compute the
// "next scheduled run" tile from its own clock, and the activity can turn it into a Temporal Schedule.
import { z } from 'zod';

export const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export const scheduleSpecSchema = z
  .object({
    frequency: z.enum(['daily', 'weekly']),
    at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a UTC time as HH:MM'),
    weekday: z.enum(WEEKDAYS).optional(),
  })
  .strict()
  .refine((s) => s.frequency === 'daily' || s.weekday !== undefined, { message: 'a weekly schedule needs a weekday', path: ['weekday'] });

export type ScheduleSpec = z.infer<typeof scheduleSpecSchema>;

export function describeSchedule(spec: ScheduleSpec): string {
  return spec.frequency === 'daily' ? `daily at ${spec.at} UTC` : `every ${spec.weekday} at ${spec.at} UTC`;
}

/** The first time after `now` the schedule fires, as an ISO string. */
export function nextRun(spec: ScheduleSpec, now: Date): string {
  const [hour, minute] = spec.at.split(':').map(Number);
  const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), hour, minute));
  const wanted = spec.frequency === 'weekly' ? WEEKDAYS.indexOf(spec.weekday!) : undefined;
  while (next.getTime() <= now.getTime() || (wanted !== undefined && next.getUTCDay() !== wanted)) next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString();
}
