// Settings read from the environment by processes (worker, CLI). Workflow code never imports this.
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { DEFAULT_TASK_QUEUE } from './constants';
import { UserFacingError } from './errors';

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  /** TLS (true: system roots; or the profile's certificates), when the profile or the environment asks for it. */
  tls?: TLSConfig | boolean;
  /** Temporal Cloud's API key: sent as a bearer token, never logged. */
  apiKey?: string;
  /** gRPC metadata from the profile (grpc_meta) or TEMPORAL_GRPC_META_*. */
  metadata?: Record<string, string>;
  /** The temporal.toml profile in use, when not "default". */
  profile?: string;
}

/**
 * The connection to Temporal, read the way the `temporal` CLI and every SDK read it
 * (@temporalio/envconfig): the profile TEMPORAL_PROFILE (else "default") of temporal.toml
 * (TEMPORAL_CONFIG_FILE, else the user's config folder), then TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY and TEMPORAL_TLS_* over it. Without any of them: the local dev server.
 */
export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  let loaded: ReturnType<typeof loadClientConnectConfig>;
  try {
    loaded = loadClientConnectConfig({ profile: env.TEMPORAL_PROFILE, overrideEnvVars: vars });
  } catch (err) {
    throw new UserFacingError(`cannot read the Temporal connection settings${env.TEMPORAL_PROFILE ? ` (profile '${env.TEMPORAL_PROFILE}')` : ''}: ${(err as Error).message}. See \`temporal config --help\` and TEMPORAL_CONFIG_FILE.`);
  }
  const c = loaded.connectionOptions;
  return {
    address: c.address ?? '127.0.0.1:7233',
    namespace: loaded.namespace ?? 'default',
    taskQueue: env.CM_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    ...(c.tls !== undefined && c.tls !== null ? { tls: c.tls } : {}),
    ...(c.apiKey ? { apiKey: c.apiKey as string } : {}),
    ...(c.metadata && Object.keys(c.metadata).length ? { metadata: c.metadata as Record<string, string> } : {}),
    ...(env.TEMPORAL_PROFILE ? { profile: env.TEMPORAL_PROFILE } : {}),
  };
}

/** What Connection.connect and NativeConnection.connect take from the settings. */
export function connectionOptions(s: TemporalSettings): { address: string; tls?: TLSConfig | boolean; apiKey?: string; metadata?: Record<string, string> } {
  return { address: s.address, ...(s.tls !== undefined ? { tls: s.tls } : {}), ...(s.apiKey ? { apiKey: s.apiKey } : {}), ...(s.metadata ? { metadata: s.metadata } : {}) };
}

/** Where the dev server keeps its SQLite state and the UI port; beside the clone, in .data/. */
export function devServerSettings(env: NodeJS.ProcessEnv = process.env): { uiPort: number; dbFile: string; dataDir: string } {
  const dataDir = env.CM_DATA_DIR ?? `${process.cwd()}/.data`;
  return { uiPort: Number(env.TEMPORAL_UI_PORT ?? 8233), dbFile: `${dataDir}/temporal.db`, dataDir };
}
