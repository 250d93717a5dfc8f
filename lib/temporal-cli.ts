// Finds the Temporal CLI, building the pinned version with Go once when it is missing. Nothing is
// ever downloaded as a binary: `go install` compiles it from the Go module proxy.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export const TEMPORAL_CLI_VERSION = '1.5.1';

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'cm', `temporal-${TEMPORAL_CLI_VERSION}`);
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** TEMPORAL_CLI, then `temporal` on PATH, then the cache outside the clone. */
export function findTemporalCli(): string | undefined {
  if (process.env.TEMPORAL_CLI) return existsSync(process.env.TEMPORAL_CLI) ? process.env.TEMPORAL_CLI : undefined;
  const cached = join(cacheDir(), 'temporal');
  return onPath('temporal') ?? (existsSync(cached) ? cached : undefined);
}

/** Returns the CLI's path, building it with `go install` (v1.5.1 has no replace directive) if needed. */
export function ensureTemporalCli(log: (m: string) => void = (m) => process.stderr.write(`${m}\n`)): string {
  const found = findTemporalCli();
  if (found) return found;
  if (process.env.TEMPORAL_CLI) throw new Error(`TEMPORAL_CLI points at ${process.env.TEMPORAL_CLI}, which does not exist`);
  const go = onPath('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) {
    throw new Error(`the Temporal CLI is missing and so is Go: install Go 1.25 or later (or put temporal ${TEMPORAL_CLI_VERSION} on PATH, or set TEMPORAL_CLI)`);
  }
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  log(`Building the Temporal CLI v${TEMPORAL_CLI_VERSION} with Go into ${dir} (once; a few minutes)…`);
  execFileSync(go, ['install', `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, GOBIN: dir, GOFLAGS: '-mod=mod' },
  });
  return join(dir, 'temporal');
}
