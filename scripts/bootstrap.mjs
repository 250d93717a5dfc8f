// Runs before `npm test` and `npm run demo`: installs whatever a fresh machine is missing.
// Uses only Node's standard library, because node_modules may not exist yet.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const say = (m) => process.stderr.write(`[bootstrap] ${m}\n`);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

try {
  // 1. Packages, when missing or older than the lock file.
  const lock = join(root, 'package-lock.json');
  const installed = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(installed) || mtime(lock) > mtime(installed)) {
    say('installing npm packages…');
    run('npm', ['ci', '--no-audit', '--no-fund']);
  }

  // 2. The TypeScript build that bin/cm.js and worker processes run.
  say('compiling TypeScript…');
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);

  // 3. The Temporal CLI (dev server), built once with Go into a cache outside the clone.
  const { ensureTemporalCli } = require(join(root, 'dist', 'lib', 'temporal-cli.js'));
  const cli = ensureTemporalCli(say);
  say(`ready (Temporal CLI: ${cli})`);
} catch (err) {
  say(`failed: ${err.message.split('\n')[0]}`);
  process.exit(1);
}
