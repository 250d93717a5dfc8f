// Finds the Temporal CLI, building the pinned version with Go once when it is missing.
// Plain CommonJS with no dependencies: bootstrap runs it before `npm install` has finished.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const TEMPORAL_CLI_VERSION = '1.5.1';

function cacheDir() {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'cm', `temporal-${TEMPORAL_CLI_VERSION}`);
}

function onPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** TEMPORAL_CLI, then `temporal` on PATH, then the cache outside the clone. */
function findTemporalCli() {
  if (process.env.TEMPORAL_CLI) return fs.existsSync(process.env.TEMPORAL_CLI) ? process.env.TEMPORAL_CLI : undefined;
  const fromPath = onPath('temporal');
  if (fromPath) return fromPath;
  const cached = path.join(cacheDir(), 'temporal');
  return fs.existsSync(cached) ? cached : undefined;
}

function findGo() {
  return onPath('go') || (fs.existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

/** Returns the CLI's path, building it with `go install` (v1.5.1 has no replace directive) if needed. */
function ensureTemporalCli(log = (m) => process.stderr.write(`${m}\n`)) {
  const found = findTemporalCli();
  if (found) return found;
  if (process.env.TEMPORAL_CLI) throw new Error(`TEMPORAL_CLI points at ${process.env.TEMPORAL_CLI}, which does not exist`);
  const go = findGo();
  if (!go) {
    throw new Error(`Temporal CLI not found and Go is missing: install Go 1.25+ (or put \`temporal\` ${TEMPORAL_CLI_VERSION} on PATH, or set TEMPORAL_CLI)`);
  }
  const dir = cacheDir();
  fs.mkdirSync(dir, { recursive: true });
  log(`Building the Temporal CLI v${TEMPORAL_CLI_VERSION} with Go into ${dir} (once; takes a few minutes)…`);
  execFileSync(go, ['install', `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, GOBIN: dir, GOFLAGS: '-mod=mod' },
  });
  return path.join(dir, 'temporal');
}

module.exports = { TEMPORAL_CLI_VERSION, findTemporalCli, ensureTemporalCli };
