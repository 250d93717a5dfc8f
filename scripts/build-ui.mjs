// Builds the management page (ui/) into dist/ui: type-checked by tsc (tsconfig.ui.json), bundled by
// esbuild with Preact. Run by `npm run build` and by scripts/bootstrap.mjs.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'ui');
try {
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.ui.json')], { cwd: root, stdio: 'inherit' });
} catch {
  process.stderr.write('build-ui: the page (ui/) does not type-check: see above\n');
  process.exit(1);
}
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'ui', 'app.tsx')],
  bundle: true,
  minify: true,
  sourcemap: true,
  target: 'es2020',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});
for (const file of ['index.html', 'app.css']) copyFileSync(join(root, 'ui', file), join(out, file));
