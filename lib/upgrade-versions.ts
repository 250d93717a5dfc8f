// Data versions and the names of upgrade folders and step files: the pure rules, shared by the
// management workflow's validator and the worker's planner. No file system here.
//
// An upgrade request names a version, never a path. The worker keeps the steps under its own
// upgrades root, one folder per upgrade named <from>-<to> (1.0-2.0), each holding NNN_name.sql,
// .ts or .js files.

/** A data version an upgrade may name: digits and at most four dot-separated parts (2.0, 2.1.3). */
export const VERSION_PATTERN = /^\d+(\.\d+){0,3}$/;
/** A version folder under the upgrades root: <from>-<to>, both versions. */
export const VERSION_FOLDER = /^(\d+(?:\.\d+){0,3})-(\d+(?:\.\d+){0,3})$/;
/** A step file: a three-digit number, an underscore, a name; SQL, or TypeScript/JavaScript code. */
export const STEP_FILE = /^((\d{3})_[A-Za-z0-9_-]+)\.(sql|ts|js)$/;

/** Why an upgrade cannot be planned: nothing has changed yet when this is thrown. */
export class UpgradePlanError extends Error {
  override name = 'UpgradePlanError';
}

/** What the validator and the CLI say to a request that names a path. */
export const PATHS_REFUSED =
  'paths are not accepted: name a version ({"to":"2.0"}, or `cm upgrade <tenant> --to 2.0`) and put its steps under the worker\'s upgrades root ' +
  '(CM_UPGRADES_DIR, default upgrades/) in a folder named <from>-<to>, such as 1.0-2.0';

export const isVersion = (v: string): boolean => VERSION_PATTERN.test(v);

/** Numeric order of versions: 1.10 > 1.9, and 2 = 2.0. Only for strings that are versions. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export const sameVersion = (a: string, b: string): boolean => isVersion(a) && isVersion(b) ? compareVersions(a, b) === 0 : a === b;

export interface VersionFolder {
  /** The folder's name, e.g. 1.0-2.0: also the version recorded in the schema history. */
  folder: string;
  from: string;
  to: string;
}

/** A folder name as an upgrade, or undefined for anything else (other entries are ignored). */
export function parseVersionFolder(name: string): VersionFolder | undefined {
  const m = VERSION_FOLDER.exec(name);
  return m ? { folder: name, from: m[1], to: m[2] } : undefined;
}

/**
 * The upgrade from `from`: the folder <from>-<to> when `to` is named, else the next version, i.e.
 * the folder <from>-X with the smallest X above `from`. `entries` are the root's folder names.
 */
export function chooseVersionFolder(entries: string[], from: string, to?: string, where = 'the upgrades root'): VersionFolder {
  if (to !== undefined && !isVersion(to)) throw new UpgradePlanError(`'${to}' is not a version (digits and dots, such as 2.0); ${PATHS_REFUSED}`);
  if (!isVersion(from)) {
    throw new UpgradePlanError(`the tenant's data version '${from}' is not a number such as 1.0, so no folder <from>-<to> under ${where} can upgrade it`);
  }
  if (to !== undefined && compareVersions(to, from) <= 0) throw new UpgradePlanError(`version ${to} is not after the tenant's data version ${from}`);
  const fromHere = entries.map(parseVersionFolder).filter((f): f is VersionFolder => !!f && sameVersion(f.from, from) && compareVersions(f.to, f.from) > 0);
  const known = fromHere.length ? `; upgrades from ${from} there: ${fromHere.map((f) => f.folder).sort().join(', ')}` : `; there is no upgrade from ${from} there`;
  let chosen: VersionFolder[];
  if (to !== undefined) {
    chosen = fromHere.filter((f) => sameVersion(f.to, to));
    if (chosen.length === 0) throw new UpgradePlanError(`no upgrade folder ${from}-${to} under ${where}${known}`);
  } else {
    if (fromHere.length === 0) throw new UpgradePlanError(`no upgrade from version ${from} under ${where} (a folder named ${from}-<to>, such as ${from}-${nextMajor(from)})`);
    const lowest = fromHere.reduce((a, b) => (compareVersions(b.to, a.to) < 0 ? b : a));
    chosen = fromHere.filter((f) => compareVersions(f.to, lowest.to) === 0);
  }
  if (chosen.length > 1) throw new UpgradePlanError(`folders ${chosen.map((f) => f.folder).sort().join(' and ')} under ${where} name the same upgrade: keep one`);
  return chosen[0];
}

function nextMajor(v: string): string {
  return `${Number(v.split('.')[0]) + 1}.0`;
}

/** Names that are not steps and never mistaken for one: hidden files, source maps, declarations. */
const NOT_A_STEP = /^\.|\.map$|\.d\.ts$/i;
/** A name that looks like a step (a number first, or a step's extension): it must match STEP_FILE. */
const LOOKS_LIKE_STEP = /^\d|\.(sql|ts|js)$/i;

export interface StepFiles {
  /** NNN_name. */
  name: string;
  number: number;
  kind: 'sql' | 'code';
  /** The file the checksum covers and the step is known by: the .sql, else the .ts, else the .js. */
  file: string;
  /** A .ts step's compiled twin in the same folder, if there is one. */
  compiled?: string;
}

/**
 * The steps of a version folder from its file names, in order. Refuses a name that looks like a step
 * but does not match NNN_name.sql/.ts/.js, two steps with one number, and a folder with no step.
 * A .ts and its compiled .js twin are one step.
 */
export function planStepFiles(files: string[], folder: string): StepFiles[] {
  const byName = new Map<string, { number: number; exts: Set<string> }>();
  for (const f of [...files].sort()) {
    if (NOT_A_STEP.test(f)) continue;
    const m = STEP_FILE.exec(f);
    if (!m) {
      if (LOOKS_LIKE_STEP.test(f)) {
        throw new UpgradePlanError(`${folder}/${f} looks like a step but is not named NNN_name.sql, .ts or .js (three digits, an underscore, letters, digits, _ or -; lower-case extension): rename it, or move it out of the folder`);
      }
      continue;
    }
    const [, name, number, ext] = m;
    const entry = byName.get(name) ?? { number: Number(number), exts: new Set<string>() };
    entry.exts.add(ext);
    byName.set(name, entry);
  }
  const steps: StepFiles[] = [];
  for (const [name, { number, exts }] of byName) {
    if (exts.has('sql') && exts.size > 1) {
      throw new UpgradePlanError(`${folder}: step ${name} is both SQL and code (${[...exts].map((e) => `${name}.${e}`).join(', ')}): keep one`);
    }
    steps.push(exts.has('sql')
      ? { name, number, kind: 'sql', file: `${name}.sql` }
      : exts.has('ts')
      ? { name, number, kind: 'code', file: `${name}.ts`, ...(exts.has('js') ? { compiled: `${name}.js` } : {}) }
      : { name, number, kind: 'code', file: `${name}.js` });
  }
  steps.sort((a, b) => a.number - b.number || a.name.localeCompare(b.name));
  for (let i = 1; i < steps.length; i++) {
    if (steps[i].number === steps[i - 1].number) {
      throw new UpgradePlanError(`${folder}: steps ${steps[i - 1].file} and ${steps[i].file} share the number ${String(steps[i].number).padStart(3, '0')}: step numbers must be unique and ascending`);
    }
  }
  if (steps.length === 0) throw new UpgradePlanError(`${folder} has no steps (files named NNN_name.sql, .ts or .js)`);
  return steps;
}
