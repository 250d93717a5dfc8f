// Where a named data lake destination is on this worker: the request carries only the name, the
// worker's environment holds the folder or bucket (and, for S3, the endpoint and keys).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { DEFAULT_LAKE_NAME, lakeDestinationEnvVar, lakeNameRefusal } from '../../lib/lake';

/** The URI a destination's name stands for on this worker; no name is the default (CM_LAKE_URI, else a folder in its home). */
export function resolveLakeDestination(name: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const refusal = name === undefined ? undefined : lakeNameRefusal(name);
  if (refusal) throw ApplicationFailure.nonRetryable(refusal, 'BadLakeDestination');
  const named = name ?? DEFAULT_LAKE_NAME;
  const uri = env[lakeDestinationEnvVar(named)]; // an empty variable counts as unset
  if (uri) return uri;
  if (named === DEFAULT_LAKE_NAME) return `file://${join(env.HOME || homedir(), '.local', 'share', 'cm', 'lake')}`;
  throw ApplicationFailure.nonRetryable(
    `unknown data lake destination '${named}': set ${lakeDestinationEnvVar(named)} on the worker (s3://bucket/prefix or a folder)`,
    'UnknownLakeDestination',
  );
}
