// Versioned upgrade steps, as Flyway does: <root>/<from>-<to>/NNN_name.sql (or .ts/.js for logic SQL
// cannot express), run in order, each recorded with its checksum in cm_control.schema_history per
// target schema. A step already applied with the same checksum is skipped; one applied with a
// different checksum is refused (the file changed after it ran).
//
// The root is the worker's own (CM_UPGRADES_DIR, default the shipped upgrades/): a request names a
// version, never a path, and nothing is read or loaded from outside the root, symlinks included.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Connection, Pool, RowDataPacket } from 'mysql2/promise';
import { CONTROL_SCHEMA } from '../lib/constants';
import type { UpgradePlan, UpgradeStep } from '../lib/types';
import { chooseVersionFolder, parseVersionFolder, planStepFiles, STEP_FILE, UpgradePlanError } from '../lib/upgrade-versions';
import { qualified } from './sql';

export { UpgradePlanError } from '../lib/upgrade-versions';

/** What a TypeScript step receives; its module's default export is `(ctx) => Promise<void>`. */
export interface UpgradeStepContext {
  conn: Connection;
  schema: string;
  tenant: string;
}

const history = qualified(CONTROL_SCHEMA, 'schema_history');

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

/** The shipped steps: upgrades/ beside the sources. */
export const shippedUpgradesRoot = (): string => join(packageRoot(), 'upgrades');

/** This worker's upgrades root: the one it was given, else CM_UPGRADES_DIR, else the shipped folder. */
export function upgradesRootFor(given?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(given || env.CM_UPGRADES_DIR || shippedUpgradesRoot());
}

function checksum(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** True when `path` (a real path) is inside `root` (a real path), not the root itself. */
function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

function realRoot(root: string): string {
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new UpgradePlanError(`the upgrades root ${root} (CM_UPGRADES_DIR, default upgrades/) is not a directory on this worker`);
  }
  return realpathSync(root);
}

/** A file of a version folder, as a real path inside the root; anything else is refused. */
function fileInRoot(root: string, folder: string, file: string): string {
  const path = join(root, folder, file);
  if (!existsSync(path)) throw new UpgradePlanError(`${folder}/${file} is not under this worker's upgrades root ${root}`);
  const real = realpathSync(path);
  if (!inside(realRoot(root), real)) {
    throw new UpgradePlanError(`${folder}/${file} resolves to ${real}, outside the upgrades root ${root}: steps are read only from inside the root`);
  }
  if (!statSync(real).isFile()) throw new UpgradePlanError(`${folder}/${file} is not a file`);
  return real;
}

/**
 * Reads the upgrade from `fromVersion` under the worker's root: the folder <from>-<to> when `to` is
 * named, else the next version. Every step is named, numbered and checksummed here, before anything
 * changes. (`stepsDir`, from requests of earlier versions, is ignored: paths are not accepted.)
 */
export function planUpgrade(root: string, input: { fromVersion: string; to?: string }): UpgradePlan {
  const real = realRoot(root);
  const folders = readdirSync(real, { withFileTypes: true })
    .filter((e) => parseVersionFolder(e.name) && (e.isDirectory() || e.isSymbolicLink()))
    .map((e) => e.name);
  const chosen = chooseVersionFolder(folders, input.fromVersion, input.to, `the upgrades root ${root}`);
  const dir = join(real, chosen.folder);
  if (!inside(real, realpathSync(dir)) || !statSync(dir).isDirectory()) {
    throw new UpgradePlanError(`${chosen.folder} resolves to ${realpathSync(dir)}, outside the upgrades root ${root}: steps are read only from inside the root`);
  }
  const files = readdirSync(dir, { withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) => e.name);
  const steps: UpgradeStep[] = planStepFiles(files, chosen.folder).map((s) => {
    const path = fileInRoot(root, chosen.folder, s.file);
    if (s.compiled) fileInRoot(root, chosen.folder, s.compiled);
    return { name: s.name, file: s.file, kind: s.kind, checksum: checksum(path) };
  });
  return { version: chosen.folder, from: chosen.from, to: chosen.to, steps };
}

/** Thrown when a step's file on this worker is not the one the plan read. */
export class StepChangedError extends Error {}

/** A step found on this worker: its real path, and the very bytes whose checksum matched the plan. */
export interface ResolvedStep {
  path: string;
  content: Buffer;
}

/**
 * A planned step on this worker: found by its version folder and file name under this worker's own
 * root (the plan may come from another host), and refused unless its checksum is the plan's.
 */
export function resolveStep(root: string, version: string, step: UpgradeStep): ResolvedStep {
  // Plans of earlier versions carried the planning host's path: only its file name counts here.
  const file = basename(step.file);
  if (!parseVersionFolder(version) || !STEP_FILE.test(file)) {
    throw new UpgradePlanError(`step ${step.name}: ${version}/${file} is not a version folder and step file name`);
  }
  const path = fileInRoot(root, version, file);
  const content = readFileSync(path);
  const sum = createHash('sha256').update(content).digest('hex');
  if (sum !== step.checksum) {
    throw new StepChangedError(
      `step ${step.name}: ${version}/${file} under this worker's upgrades root ${root} has checksum ${sum.slice(0, 12)}…, but the plan read ${step.checksum.slice(0, 12)}…: ` +
      'every worker host must hold the same steps (the file changed, or this host has another copy)',
    );
  }
  return { path, content };
}

/**
 * The code of a TypeScript or JavaScript step at `path` (a real path inside `root`). Compiled code
 * cannot load a .ts: it takes the .js twin beside it, or, for the shipped steps, the one tsc put
 * under dist/. Nothing outside the root (or that compiled twin) is ever required.
 */
function loadCodeStep(root: string, path: string): (ctx: UpgradeStepContext) => Promise<void> {
  const real = realRoot(root);
  let load = path;
  if (path.endsWith('.ts') && !__filename.endsWith('.ts')) {
    const twin = path.replace(/\.ts$/, '.js');
    const pkg = realpathSync(packageRoot());
    const compiled = join(pkg, 'dist', relative(pkg, path)).replace(/\.ts$/, '.js');
    if (existsSync(twin) && inside(real, realpathSync(twin))) load = twin;
    else if (inside(pkg, path) && existsSync(compiled) && inside(join(pkg, 'dist'), realpathSync(compiled))) load = compiled;
    else throw new UpgradePlanError(`${basename(path)} is TypeScript and this worker runs compiled code: put its compiled ${basename(twin)} beside it`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(load) as { default?: (ctx: UpgradeStepContext) => Promise<void> };
  if (typeof mod.default !== 'function') throw new UpgradePlanError(`${basename(path)} has no default export function`);
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

/** What runs on one schema: the SQL that was checksummed, or the code step bound to the schema. */
export function stepScript(root: string, step: UpgradeStep, resolved: ResolvedStep, tenant: string, schema: string): string | ((conn: Connection) => Promise<void>) {
  if (step.kind === 'sql') return resolved.content.toString('utf8');
  const code = loadCodeStep(root, resolved.path);
  return (conn) => code({ conn, schema, tenant });
}

export async function recordStep(pool: Pool, tenant: string, schema: string, version: string, step: UpgradeStep, workflowId: string): Promise<void> {
  await pool.query(
    `INSERT INTO ${history} (tenant, target_schema, version, step, checksum, workflow_id) VALUES (?, ?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE checksum = VALUES(checksum), workflow_id = VALUES(workflow_id)`,
    [tenant, schema, version, step.name, step.checksum, workflowId],
  );
}
