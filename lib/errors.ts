import { RUN_FAILED } from './constants';

/** An error whose message is the whole story for the person at the terminal: printed as one line, no stack. */
export class UserFacingError extends Error {}

/** The innermost message of a failure chain (an activity's own reason under Temporal's wrappers). Workflow-safe. */
export function rootMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e && typeof e === 'object' && e.cause && typeof e.cause === 'object') e = e.cause as typeof e;
  return e?.message ?? String(err);
}

/**
 * The result of a run that ended with failed tables: since 1.8.0 (RUN_FAILS_RED) such a run fails,
 * with its RunResult as the details of an ApplicationFailure of type RunFailed, somewhere in `err`'s
 * chain (a child workflow's or a client's failure). Undefined for any other failure. Workflow-safe.
 */
export function failedRunResult<T = import('./types').RunResult>(err: unknown): T | undefined {
  let e = err as { type?: string; details?: unknown[]; cause?: unknown } | undefined;
  while (e && typeof e === 'object') {
    if (e.type === RUN_FAILED && Array.isArray(e.details) && e.details[0]) return e.details[0] as T;
    e = e.cause as typeof e;
  }
  return undefined;
}
