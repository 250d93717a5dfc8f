// One Temporal dev server (the pinned CLI, never a download) and one workflow bundle for all
// integration tests. Test files find both through environment variables. The dev server's Web UI
// is on too, on a free port, for the browser test (test/integration/ui.test.ts). A second MariaDB
// server with the binary log on stands in for an on-premises source (test/source-server.ts): the
// connection name `onprem` points at it, for tests that copy between two servers.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../../lib/constants';
import { ensureTemporalCli } from '../../lib/temporal-cli';
import { freePort } from '../../lib/free-port';
import { startSourceServer, type SourceServer } from '../source-server';


export default async function globalSetup(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const uiPort = await freePort();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: ensureTemporalCli() },
      searchAttributes: SEARCH_ATTRIBUTES,
      ui: true,
      uiPort,
    },
  });
  (globalThis as { __cmTestEnv?: TestWorkflowEnvironment }).__cmTestEnv = env;
  process.env.CM_TEST_TEMPORAL_ADDRESS = env.address;
  process.env.CM_TEST_UI_URL = `http://127.0.0.1:${uiPort}`;

  const source = await startSourceServer();
  (globalThis as { __cmSourceServer?: SourceServer }).__cmSourceServer = source;
  process.env.CM_TEST_SOURCE_URL = source.url;
  // Workers resolve a tenant's `sourceConnection: 'onprem'` here: those in the jest process (tests run
  // in band, they see this process.env) and spawned ones (they inherit it).
  process.env.CM_CONN_ONPREM_URL = source.url;

  const dir = join(__dirname, '..', '..', '.data', 'test');
  mkdirSync(dir, { recursive: true });
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('WARN') });
  // One file per jest process: two suites running side by side must not load each other's bundle.
  const bundlePath = join(dir, `workflow-bundle-${process.pid}.js`);
  writeFileSync(bundlePath, code);
  process.env.CM_TEST_WORKFLOW_BUNDLE = bundlePath;
  // Runtime service keys of test tenants go to a folder of this run (workers, spawned or not, and
  // `cm` read it), not to the operator's ~/.config/cm.
  process.env.CM_RUNTIME_KEY_DIR = mkdtempSync(join(tmpdir(), 'cm-test-keys-'));
}
