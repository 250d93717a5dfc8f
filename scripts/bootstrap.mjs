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
  say('building the management page (ui/)…');
  run(process.execPath, [join(root, 'scripts', 'build-ui.mjs')]);

  // 3. The Temporal CLI (dev server), built once with Go into a cache outside the clone.
  const { ensureTemporalCli } = require(join(root, 'dist', 'lib', 'temporal-cli.js'));
  const cli = ensureTemporalCli(say);
  say(`ready (Temporal CLI: ${cli})`);
} catch (err) {
  say(`failed: ${err.message.split('\n')[0]}`);
  process.exit(1);
}

// 4. Debian packages some runs need, installed when missing. Optional: when one cannot be installed,
// everything else still runs and what needs it says so. `npm test` asks for chromium (--browser: the
// Web UI test, test/integration/ui.test.ts); `npm run bench` for mydumper (--bench-tools: an anchor of
// the full-copy scenario). The demo needs neither.
function debianPackage(pkg, binary, why) {
  if (existsSync(binary)) return;
  if (process.getuid?.() !== 0) {
    say(`warning: ${binary} is missing and we are not root: install it with \`apt-get install ${pkg}\` (${why})`);
    return;
  }
  say(`installing ${pkg} (apt-get): ${why}…`);
  try {
    const apt = (args) => execFileSync('apt-get', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    apt(['update']);
    apt(['install', '-y', '--no-install-recommends', pkg]);
    if (!existsSync(binary)) throw new Error(`apt-get installed ${pkg} but ${binary} is still missing`);
  } catch (err) {
    const detail = String(err.stderr ?? '').trim().split('\n').pop() || err.message.split('\n')[0];
    say(`warning: could not install ${pkg} (${detail}); ${why} will not work until ${binary} exists`);
  }
}
if (process.argv.includes('--browser')) debianPackage('chromium', '/usr/bin/chromium', 'the Web UI test needs it');
if (process.argv.includes('--bench-tools')) debianPackage('mydumper', '/usr/bin/mydumper', 'the full-copy benchmark compares with mydumper | myloader');
