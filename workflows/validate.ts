// Update validators parse their input with the shared zod schemas: a refusal names the field.
import type { ZodError } from 'zod';
import { describeIssues } from '../lib/schemas';

export function validated<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: ZodError } }, raw: unknown): T {
  const r = schema.safeParse(raw ?? {});
  if (!r.success) throw new Error(`invalid request: ${describeIssues(r.error)}`);
  return r.data;
}
