import { rmSync } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __cmTestEnv?: TestWorkflowEnvironment }).__cmTestEnv?.teardown();
  if (process.env.CM_TEST_WORKFLOW_BUNDLE) rmSync(process.env.CM_TEST_WORKFLOW_BUNDLE, { force: true });
  if (process.env.CM_RUNTIME_KEY_DIR) rmSync(process.env.CM_RUNTIME_KEY_DIR, { recursive: true, force: true });
}
