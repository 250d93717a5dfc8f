// Versioned upgrade steps: upgrades/<from>-<to>/NNN_name.sql (or .ts for logic SQL cannot
// express), run in order, each recorded with its checksum in cm_control.schema_history per
// target schema, as Flyway does. A step already applied with the same checksum is skipped; one
// applied with a different checksum is refused (the file changed after it ran).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import type { Connection, Pool, RowDataPacket } from 'mysql2/promise';
import { CONTROL_SCHEMA } from '../lib/constants';
import type { UpgradePlan, UpgradeStep } from '../lib/types';
import { qualified } from './sql';

/** What a TypeScript step receives; its module's default export is `(ctx) => Promise<void>`. */
export interface UpgradeStepContext {
  conn: Connection;
  schema: string;
  tenant: string;
}

const STEP_FILE = /^(\d{3}_[A-Za-z0-9_-]+)\.(sql|ts|js)$/;
const history = qualified(CONTROL_SCHEMA, 'schema_history');

export class UpgradePlanError extends Error {}

function packageRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  // Compiled code lives in dist/: the step files live beside the sources.
  return dir;
}

export const upgradesRoot = (): string => join(packageRoot(), 'upgrades');

function checksum(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Reads a steps directory on the worker: the default is upgrades/<fromVersion>-<to>. */
export function planUpgrade(input: { fromVersion: string; stepsDir?: string }): UpgradePlan {
  const root = upgradesRoot();
  let dir: string;
  if (input.stepsDir) {
    dir = isAbsolute(input.stepsDir) ? input.stepsDir : existsSync(join(root, input.stepsDir)) ? join(root, input.stepsDir) : resolve(input.stepsDir);
  } else {
    const candidates = existsSync(root) ? readdirSync(root).filter((d) => d.startsWith(`${input.fromVersion}-`)).sort() : [];
    if (candidates.length === 0) throw new UpgradePlanError(`no upgrade from version ${input.fromVersion} in ${root}`);
    dir = join(root, candidates[candidates.length - 1]);
  }
  if (!existsSync(dir)) throw new UpgradePlanError(`steps directory ${dir} does not exist on the worker`);
  const version = dir.split(/[\\/]/).pop()!;
  const [from, to] = version.includes('-') ? [version.slice(0, version.indexOf('-')), version.slice(version.indexOf('-') + 1)] : [input.fromVersion, version];
  if (input.stepsDir && from !== input.fromVersion && /^\d/.test(from)) {
    throw new UpgradePlanError(`steps ${version} upgrade from ${from}, but the tenant's data is at version ${input.fromVersion}`);
  }
  const names = readdirSync(dir).filter((f) => STEP_FILE.test(f)).sort();
  const byName = new Map<string, UpgradeStep>();
  for (const f of names) {
    const [, name, kind] = STEP_FILE.exec(f)!;
    if (byName.has(name)) continue; // 003_x.ts beside its compiled 003_x.js: one step
    byName.set(name, { name, file: join(dir, f), kind: kind === 'sql' ? 'sql' : 'code', checksum: checksum(join(dir, f)) });
  }
  if (byName.size === 0) throw new UpgradePlanError(`no steps (NNN_name.sql or .ts) in ${dir}`);
  return { version, from, to, dir, steps: [...byName.values()] };
}

/** The code of a TypeScript step: its compiled twin under dist/ when running compiled code. */
function loadCodeStep(file: string): (ctx: UpgradeStepContext) => Promise<void> {
  const root = packageRoot();
  const compiled = join(root, 'dist', file.slice(root.length + 1)).replace(/\.ts$/, '.js');
  const path = extname(file) === '.ts' && existsSync(compiled) && !__filename.endsWith('.ts') ? compiled : file;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path) as { default?: (ctx: UpgradeStepContext) => Promise<void> };
  if (typeof mod.default !== 'function') throw new UpgradePlanError(`${file} has no default export function`);
  return mod.default;
}

export type StepStatus = 'applied' | 'skipped';

/** Checks the history for one schema: 'skipped' when done with this checksum, throws when it changed. */
export async function stepHistory(pool: Pool, tenant: string, schema: string, version: string, step: UpgradeStep): Promise<StepStatus | undefined> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT checksum FROM ${history} WHERE tenant = ? AND target_schema = ? AND version = ? AND step = ?`,
    [tenant, schema, version, step.name],
  );
  if (rows.length === 0) return undefined;
  if (rows[0].checksum !== step.checksum) {
    throw new UpgradePlanError(`step ${step.name} was applied to ${schema} with checksum ${String(rows[0].checksum).slice(0, 12)}…, but the file now has ${step.checksum.slice(0, 12)}…`);
  }
  return 'skipped';
}

export function stepScript(step: UpgradeStep, tenant: string, schema: string): string | ((conn: Connection) => Promise<void>) {
  if (step.kind === 'sql') return readFileSync(step.file, 'utf8');
  const code = loadCodeStep(step.file);
  return (conn) => code({ conn, schema, tenant });
}

export async function recordStep(pool: Pool, tenant: string, schema: string, version: string, step: UpgradeStep, workflowId: string): Promise<void> {
  await pool.query(
    `INSERT INTO ${history} (tenant, target_schema, version, step, checksum, workflow_id) VALUES (?, ?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE checksum = VALUES(checksum), workflow_id = VALUES(workflow_id)`,
    [tenant, schema, version, step.name, step.checksum, workflowId],
  );
}
