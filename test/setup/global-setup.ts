// One Temporal dev server (the pinned CLI, never a download) and one workflow bundle for all
// integration tests. Test files find both through environment variables.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../../lib/constants';
import { ensureTemporalCli } from '../../lib/temporal-cli';

export default async function globalSetup(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: ensureTemporalCli() },
      searchAttributes: SEARCH_ATTRIBUTES,
      ui: false,
    },
  });
  (globalThis as { __cmTestEnv?: TestWorkflowEnvironment }).__cmTestEnv = env;
  process.env.CM_TEST_TEMPORAL_ADDRESS = env.address;

  const dir = join(__dirname, '..', '..', '.data', 'test');
  mkdirSync(dir, { recursive: true });
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('WARN') });
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);
  process.env.CM_TEST_WORKFLOW_BUNDLE = bundlePath;
}
