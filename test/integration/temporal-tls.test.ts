// cm reaches Temporal the way Temporal Cloud is reached: TLS with the server's CA, a client certificate
// (mTLS) and an API key, from environment variables or a temporal.toml profile (@temporalio/envconfig).
// The dev server speaks plaintext only, so a TLS front with a self-signed certificate stands in for
// Cloud (test/tls-proxy.ts). Both the CLI and a worker process go through it.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { makeCertificates, startTlsProxy, writeProfile, type Certificates, type TlsProxy } from '../tls-proxy';
import { ensureBuilt, killWorkerProcesses, runCm, settingsFor, spawnWorkerProcess, testClient, uniqueName, waitForWorkerProcess, waitUntil, type WorkerProcess } from '../helpers';

const REPO = join(__dirname, '..', '..');
const API_KEY = 'cm-test-api-key';
let certs: Certificates;
let proxy: TlsProxy;
let client: Client;
const workers: WorkerProcess[] = [];

/** `cm` with only the given Temporal settings (none inherited from the test's environment). */
function cm(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_')));
  return runCm(args, { ...base, TEMPORAL_CONFIG_FILE: join(certs.dir, 'none.toml'), ...env });
}

beforeAll(async () => {
  ensureBuilt();
  certs = makeCertificates();
  proxy = await startTlsProxy(settingsFor('unused').address, certs, { mtls: true, apiKey: API_KEY });
  client = await testClient();
});

afterAll(async () => {
  await killWorkerProcesses(workers);
  await proxy?.close();
  await client?.connection.close();
  rmSync(certs.dir, { recursive: true, force: true });
});

it('the CLI connects over TLS with a client certificate and an API key, from the environment and from a profile', async () => {
  const env = {
    TEMPORAL_ADDRESS: `localhost:${proxy.port}`,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCert,
    TEMPORAL_TLS_CLIENT_CERT_PATH: certs.clientCert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: certs.clientKey,
    TEMPORAL_API_KEY: API_KEY,
  };
  const viaEnv = await cm(['tenant', 'list', '--all', '--json'], env);
  expect(viaEnv.stderr).toBe('');
  expect(viaEnv.code).toBe(0);
  expect(Array.isArray(JSON.parse(viaEnv.stdout))).toBe(true);

  const file = writeProfile(certs.dir, 'cloud', {
    address: `localhost:${proxy.port}`, apiKey: API_KEY, caCert: certs.caCert, clientCert: certs.clientCert, clientKey: certs.clientKey,
  });
  const viaProfile = await cm(['tenant', 'list', '--profile', 'cloud', '--json'], { TEMPORAL_CONFIG_FILE: file });
  expect(viaProfile.stderr).toBe('');
  expect(viaProfile.code).toBe(0);

  // What goes wrong says so: no trust in the server's certificate, a wrong key, an unknown namespace.
  const { TEMPORAL_TLS_SERVER_CA_CERT_PATH: _ca, ...withoutCa } = env;
  const untrusted = await cm(['tenant', 'list'], withoutCa);
  expect(untrusted.code).toBe(1);
  expect(untrusted.stderr).toMatch(/^cm: cannot reach Temporal at localhost:\d+ \(TEMPORAL_ADDRESS \/ --address, TLS\)/);
  const before = proxy.refused();
  const wrongKey = await cm(['tenant', 'list'], { ...env, TEMPORAL_API_KEY: 'wrong' });
  expect(wrongKey.code).toBe(1);
  expect(wrongKey.stderr).toMatch(/invalid API key/);
  expect(proxy.refused()).toBeGreaterThan(before);
  const namespace = await cm(['tenant', 'list', '--profile', 'cloud', '--namespace', 'no-such-namespace'], { TEMPORAL_CONFIG_FILE: file });
  expect(namespace.code).toBe(1);
  expect(namespace.stderr).toMatch(/^cm: namespace 'no-such-namespace' does not exist on localhost:\d+/);
  const profile = await cm(['tenant', 'list', '--profile', 'nowhere'], { TEMPORAL_CONFIG_FILE: file });
  expect(profile.code).toBe(1);
  expect(profile.stderr).toMatch(/^cm: cannot read the Temporal connection settings \(profile 'nowhere'\): .*nowhere/);
});

it('a worker connects over mTLS with an API key and polls its task queue', async () => {
  const taskQueue = uniqueName('tls-q');
  const file = writeProfile(certs.dir, 'cloud', {
    address: `localhost:${proxy.port}`, apiKey: API_KEY, caCert: certs.caCert, clientCert: certs.clientCert, clientKey: certs.clientKey,
  });
  const before = proxy.refused();
  const worker = spawnWorkerProcess(taskQueue, { address: `localhost:${proxy.port}`, env: { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud' } });
  workers.push(worker);
  await waitForWorkerProcess(worker);
  // The server sees its poller, which can only have come through the TLS front.
  await waitUntil('the worker to poll through TLS', async () => {
    const d = await client.workflowService.describeTaskQueue({
      namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    return (d.pollers ?? []).some((p) => String(p.identity).startsWith('cm-worker:'));
  }, 30_000);
  expect(proxy.refused()).toBe(before);
});
