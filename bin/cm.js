#!/usr/bin/env node
// The `cm` command; the compiled CLI lives in dist/ (built by `npm run build` or the bootstrap).
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'client', 'cli.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('cm is not built yet: run `npm run build` (or `npm test` / `npm run demo`, which build it)\n');
  process.exit(1);
}
require(entry).main(process.argv).catch((err) => {
  process.stderr.write(`cm: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
