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
    // `npm install`, not `npm ci`: it installs exactly the locked versions too, but tolerates a
    // registry that lacks some other platform's optional binaries (e.g. @swc/core-darwin-*),
    // which `npm ci` refuses as "lock file out of sync".
    run('npm', ['install', '--no-audit', '--no-fund']);
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

// 4. Chromium, for the Web UI test (test/integration/ui.test.ts), from Debian's packages. Optional:
// when it cannot be installed, everything else still runs and the UI test fails saying so.
// Only `npm test` asks for it (--browser); the demo does not need a browser.
const CHROMIUM = '/usr/bin/chromium';
if (process.argv.includes('--browser') && !existsSync(CHROMIUM)) {
  if (process.getuid?.() !== 0) {
    say(`warning: ${CHROMIUM} is missing and we are not root: install it with \`apt-get install chromium\` (the Web UI test needs it)`);
  } else {
    say('installing chromium (apt-get) for the Web UI test…');
    try {
      const apt = (args) => execFileSync('apt-get', args, {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
      apt(['update']);
      apt(['install', '-y', '--no-install-recommends', 'chromium']);
      if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium but ${CHROMIUM} is still missing`);
    } catch (err) {
      const detail = String(err.stderr ?? '').trim().split('\n').pop() || err.message.split('\n')[0];
      say(`warning: could not install chromium (${detail}); the Web UI test will fail until ${CHROMIUM} exists`);
    }
  }
}
