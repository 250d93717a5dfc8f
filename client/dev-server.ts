// The embedded Temporal: the pinned CLI's dev server with its Web UI, state in .data/temporal.db so
// workflows survive a restart. Reused when one is already listening.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { SEARCH_ATTRIBUTES } from '../lib/constants';
import { devServerSettings } from '../lib/env';
import { UserFacingError } from '../lib/errors';
import { ensureTemporalCli } from '../lib/temporal-cli';

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface DevServer {
  port: number;
  uiUrl: string;
  /** Set when this process started the server (and so stops it). */
  process?: ChildProcess;
  stop(): Promise<void>;
}

export async function ensureDevServer(opts: { port: number; uiPort?: number; inheritOutput?: boolean }): Promise<DevServer> {
  const { uiPort: defaultUi, dbFile, dataDir } = devServerSettings();
  const uiPort = opts.uiPort ?? defaultUi;
  const uiUrl = `http://localhost:${uiPort}`;
  if (await portOpen(opts.port)) return { port: opts.port, uiUrl, stop: async () => undefined };

  mkdirSync(dataDir, { recursive: true });
  const cli = ensureTemporalCli();
  const args = [
    'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--ui-port', String(uiPort), '--db-filename', dbFile, '--log-level', 'warn',
    ...SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=Keyword`]),
  ];
  const child = spawn(cli, args, { stdio: opts.inheritOutput ? 'inherit' : ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr = (stderr + String(d)).slice(-2000)));
  const deadline = Date.now() + 60_000;
  while (!(await portOpen(opts.port))) {
    if (child.exitCode !== null) throw new UserFacingError(`the Temporal dev server exited (${child.exitCode}): ${stderr.trim().split('\n').pop() ?? ''}`);
    if (Date.now() > deadline) {
      child.kill();
      throw new UserFacingError(`the Temporal dev server did not listen on port ${opts.port} within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    port: opts.port,
    uiUrl,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** `cm server`: runs in the foreground until Ctrl-C. */
export async function runDevServer(opts: { port: number; uiPort: number }): Promise<void> {
  const server = await ensureDevServer({ ...opts, inheritOutput: true });
  if (!server.process) {
    process.stdout.write(`A Temporal server is already listening on 127.0.0.1:${opts.port} (UI: ${server.uiUrl}).\n`);
    return;
  }
  process.stdout.write(`Temporal dev server on 127.0.0.1:${opts.port}, Web UI at ${server.uiUrl}, state in ${devServerSettings().dbFile}. Ctrl-C stops it.\n`);
  const stop = () => void server.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await new Promise<void>((resolve) => server.process!.once('exit', () => resolve()));
}
