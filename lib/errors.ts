/** An error whose message is the whole story for the person at the terminal: printed as one line, no stack. */
export class UserFacingError extends Error {}

/** The innermost message of a failure chain (an activity's own reason under Temporal's wrappers). Workflow-safe. */
export function rootMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e && typeof e === 'object' && e.cause && typeof e.cause === 'object') e = e.cause as typeof e;
  return e?.message ?? String(err);
}
