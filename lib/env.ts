// Settings read from the environment by processes (worker, CLI). Workflow code never imports this.
import { DEFAULT_TASK_QUEUE } from './constants';

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
}

export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  return {
    address: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.CM_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
  };
}

/** Where the dev server keeps its SQLite state and the UI port; beside the clone, in .data/. */
export function devServerSettings(env: NodeJS.ProcessEnv = process.env): { uiPort: number; dbFile: string; dataDir: string } {
  const dataDir = env.CM_DATA_DIR ?? `${process.cwd()}/.data`;
  return { uiPort: Number(env.TEMPORAL_UI_PORT ?? 8233), dbFile: `${dataDir}/temporal.db`, dataDir };
}
