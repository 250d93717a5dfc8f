import { rmSync } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { SourceServer } from '../source-server';

export default async function globalTeardown(): Promise<void> {
  try {
    await (globalThis as { __cmTestEnv?: TestWorkflowEnvironment }).__cmTestEnv?.teardown();
  } finally {
    await (globalThis as { __cmSourceServer?: SourceServer }).__cmSourceServer?.stop();
  }
  if (process.env.CM_TEST_WORKFLOW_BUNDLE) rmSync(process.env.CM_TEST_WORKFLOW_BUNDLE, { force: true });
  if (process.env.CM_RUNTIME_KEY_DIR) rmSync(process.env.CM_RUNTIME_KEY_DIR, { recursive: true, force: true });
}
