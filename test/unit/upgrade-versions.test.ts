// Upgrade requests name versions, never paths: the version rules, the folder and step-file names,
// and the planner on a real directory (symlinks out of the root refused, steps re-found by name).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIssues, upgradeRequestSchema } from '../../lib/schemas';
import {
  chooseVersionFolder, compareVersions, parseVersionFolder, PATHS_REFUSED, planStepFiles, sameVersion, UpgradePlanError, VERSION_PATTERN,
} from '../../lib/upgrade-versions';
import { planUpgrade, resolveStep, shippedUpgradesRoot, StepChangedError, upgradesRootFor } from '../../activities/upgrade-steps';

const refusal = (raw: unknown): string | undefined => {
  const r = upgradeRequestSchema.safeParse(raw);
  return r.success ? undefined : describeIssues(r.error);
};

describe('upgradeRequestSchema', () => {
  it('takes a version, or nothing', () => {
    expect(refusal({})).toBeUndefined();
    expect(refusal({ to: '2.0', requestedBy: 'jane', reason: 'CHG-1' })).toBeUndefined();
    expect(refusal({ to: '10' })).toBeUndefined();
    expect(refusal({ to: '1.2.3.4' })).toBeUndefined();
  });

  it('refuses a path, in stepsDir or anywhere, saying how to name a version instead', () => {
    for (const raw of [{ stepsDir: '1.0-2.0' }, { stepsDir: '../../tmp/evil' }, { stepsDir: '/tmp/x' }, { steps: '1.0-2.0' }, { dir: '/x' }, { path: 'x' }, { to: '../2.0' }, { to: '/tmp/2.0' }]) {
      const why = refusal(raw);
      expect(why).toContain(PATHS_REFUSED);
      expect(why).toMatch(/name a version .*--to 2\.0.*CM_UPGRADES_DIR/);
    }
  });

  it('refuses what is not a version', () => {
    for (const to of ['', 'abc', '2.0-fix', 'my-fix', '1.2.3.4.5', '2.', '.2', ' 2.0', '2.0\n']) expect(refusal({ to })).toMatch(/^to: a version such as 2\.0/);
    expect(refusal({ to: '1'.repeat(21) })).toBe('to: a version has at most 20 characters');
    expect(refusal({ to: 2 })).toMatch(/^to: /);
  });
});

describe('versions', () => {
  it('match the version pattern', () => {
    expect(['1', '1.0', '2.10.3', '0.0.0.1'].every((v) => VERSION_PATTERN.test(v))).toBe(true);
    expect(['v1', '1.0-2.0', '1..2', 'my', '1.0.0.0.0'].some((v) => VERSION_PATTERN.test(v))).toBe(false);
  });

  it('compare numerically, part by part', () => {
    expect(compareVersions('1.10', '1.9')).toBe(1);
    expect(compareVersions('1.9', '1.10')).toBe(-1);
    expect(compareVersions('2', '2.0')).toBe(0);
    expect(compareVersions('2.0.1', '2.0')).toBe(1);
    expect(compareVersions('10.0', '9.99')).toBe(1);
    expect(sameVersion('2.00', '2.0')).toBe(true);
    expect(sameVersion('v1', 'v1')).toBe(true);
    expect(sameVersion('v1', '1')).toBe(false);
  });
});

describe('version folders', () => {
  it('are <from>-<to> with versions on both sides; anything else is not one', () => {
    expect(parseVersionFolder('1.0-2.0')).toEqual({ folder: '1.0-2.0', from: '1.0', to: '2.0' });
    expect(parseVersionFolder('1.9-1.10')).toEqual({ folder: '1.9-1.10', from: '1.9', to: '1.10' });
    for (const name of ['my-fix', '2.0', '1.0-2.0-fix', '1.0_2.0', 'v1.0-v2.0', '1.0-', '-2.0', '.1.0-2.0', '1.0-2.0.sql']) expect(parseVersionFolder(name)).toBeUndefined();
  });

  const root = ['1.0-2.0', '1.0-1.10', '1.0-1.9', '1.9-2.0', '2.0-3.0', 'my-fix', 'README.md', '1.0-0.9'];

  it('with no version named, take the smallest next version numerically', () => {
    expect(chooseVersionFolder(root, '1.0')).toEqual({ folder: '1.0-1.9', from: '1.0', to: '1.9' });
    expect(chooseVersionFolder(root, '1.9').folder).toBe('1.9-2.0');
    expect(chooseVersionFolder(root, '2').folder).toBe('2.0-3.0'); // 2 = 2.0
    expect(chooseVersionFolder(['1.0-1.10', '1.0-1.11'], '1.0').folder).toBe('1.0-1.10');
  });

  it('take the folder of the version named', () => {
    expect(chooseVersionFolder(root, '1.0', '2.0')).toEqual({ folder: '1.0-2.0', from: '1.0', to: '2.0' });
    expect(chooseVersionFolder(root, '1.0', '1.10').folder).toBe('1.0-1.10');
    expect(chooseVersionFolder(root, '1.0', '2').folder).toBe('1.0-2.0');
  });

  it('refuse, naming what is there, when there is no such upgrade', () => {
    expect(() => chooseVersionFolder(root, '1.0', '3.0', '/srv/upgrades')).toThrow(
      new UpgradePlanError('no upgrade folder 1.0-3.0 under /srv/upgrades; upgrades from 1.0 there: 1.0-1.10, 1.0-1.9, 1.0-2.0'),
    );
    expect(() => chooseVersionFolder(root, '3.0', undefined, '/srv/upgrades')).toThrow(/^no upgrade from version 3\.0 under \/srv\/upgrades \(a folder named 3\.0-<to>, such as 3\.0-4\.0\)$/);
    expect(() => chooseVersionFolder(root, '1.0', '0.9')).toThrow(/^version 0\.9 is not after the tenant's data version 1\.0$/);
    expect(() => chooseVersionFolder(root, '1.0', '1.0')).toThrow(/is not after/);
    expect(() => chooseVersionFolder(root, 'v1')).toThrow(/data version 'v1' is not a number/);
    expect(() => chooseVersionFolder(root, '1.0', '../x')).toThrow(/not a version.*paths are not accepted/);
    expect(() => chooseVersionFolder(['1.0-2.0', '1.0-2.00'], '1.0', '2.0')).toThrow(/folders 1\.0-2\.0 and 1\.0-2\.00 .* name the same upgrade/);
    expect(() => chooseVersionFolder(['1.0-2.0', '1.0-2.00'], '1.0')).toThrow(/name the same upgrade/);
  });
});

describe('step files', () => {
  it('are NNN_name.sql, .ts or .js, in order; a .ts and its compiled .js are one step; other files are ignored', () => {
    const steps = planStepFiles(['010_last.sql', '002_code.ts', '002_code.js', '001_first.sql', '003_plain.js', 'README.md', 'notes.txt', '.hidden', '002_code.js.map', '002_code.d.ts'], '1.0-2.0');
    expect(steps).toEqual([
      { name: '001_first', number: 1, kind: 'sql', file: '001_first.sql' },
      { name: '002_code', number: 2, kind: 'code', file: '002_code.ts', compiled: '002_code.js' },
      { name: '003_plain', number: 3, kind: 'code', file: '003_plain.js' },
      { name: '010_last', number: 10, kind: 'sql', file: '010_last.sql' },
    ]);
  });

  it('refuse a file that looks like a step but is not named like one, naming it', () => {
    for (const bad of ['3_fix.sql', '003-fix.sql', '003_fix.SQL', '0003_fix.sql', '003_fix.sql.bak', '003_my fix.sql', 'fix.sql', '003fix.ts']) {
      expect(() => planStepFiles(['001_ok.sql', bad], '1.0-2.0')).toThrow(new RegExp(`^1\\.0-2\\.0/${bad.replace(/\./g, '\\.')} looks like a step but is not named NNN_name\\.sql`));
    }
  });

  it('refuse two steps with one number, a step both SQL and code, and a folder with no step', () => {
    expect(() => planStepFiles(['001_a.sql', '001_b.sql'], '1.0-2.0')).toThrow(/^1\.0-2\.0: steps 001_a\.sql and 001_b\.sql share the number 001/);
    expect(() => planStepFiles(['001_a.sql', '001_a.ts'], '1.0-2.0')).toThrow(/step 001_a is both SQL and code/);
    expect(() => planStepFiles([], '1.0-2.0')).toThrow(/^1\.0-2\.0 has no steps/);
    expect(() => planStepFiles(['README.md'], '1.0-2.0')).toThrow(/has no steps/);
  });
});

describe('planUpgrade and resolveStep on a directory', () => {
  let base: string;
  let root: string;
  const write = (path: string, text: string): void => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  };

  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'cm-upgrade-unit-'));
    root = join(base, 'upgrades');
    write(join(root, '1.0-2.0', '001_a.sql'), 'SELECT 1;');
    write(join(root, '1.0-2.0', '002_b.sql'), 'SELECT 2;');
    write(join(root, '1.0-1.10', '001_a.sql'), 'SELECT 110;');
    write(join(root, '1.0-1.9', '001_a.sql'), 'SELECT 19;');
    write(join(base, 'outside', 'evil.sql'), 'DROP DATABASE x;');
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('plans by version, with file names and checksums only (no path of this host)', () => {
    const plan = planUpgrade(root, { fromVersion: '1.0', to: '2.0' });
    expect(plan).toEqual({
      version: '1.0-2.0', from: '1.0', to: '2.0',
      steps: [
        { name: '001_a', file: '001_a.sql', kind: 'sql', checksum: expect.stringMatching(/^[0-9a-f]{64}$/) },
        { name: '002_b', file: '002_b.sql', kind: 'sql', checksum: expect.stringMatching(/^[0-9a-f]{64}$/) },
      ],
    });
    expect(JSON.stringify(plan)).not.toContain(base);
    expect(planUpgrade(root, { fromVersion: '1.0' }).version).toBe('1.0-1.9');
  });

  it('refuses a missing folder, a badly named step and an empty folder before anything runs', () => {
    expect(() => planUpgrade(root, { fromVersion: '1.0', to: '3.0' })).toThrow(/^no upgrade folder 1\.0-3\.0 under the upgrades root/);
    write(join(root, '1.0-2.0', '3_fix.sql'), 'SELECT 3;');
    expect(() => planUpgrade(root, { fromVersion: '1.0', to: '2.0' })).toThrow(/^1\.0-2\.0\/3_fix\.sql looks like a step/);
    mkdirSync(join(root, '1.0-3.0'));
    expect(() => planUpgrade(root, { fromVersion: '1.0', to: '3.0' })).toThrow(/^1\.0-3\.0 has no steps/);
    expect(() => planUpgrade(join(base, 'nowhere'), { fromVersion: '1.0' })).toThrow(/upgrades root .*nowhere .* is not a directory on this worker/);
  });

  it('refuses a step that is a symlink out of the root, and a version folder that is one', () => {
    symlinkSync(join(base, 'outside', 'evil.sql'), join(root, '1.0-2.0', '003_evil.sql'));
    expect(() => planUpgrade(root, { fromVersion: '1.0', to: '2.0' })).toThrow(/^1\.0-2\.0\/003_evil\.sql resolves to .*outside\/evil\.sql, outside the upgrades root/);
    symlinkSync(join(base, 'outside'), join(root, '1.0-4.0'));
    write(join(base, 'outside', '001_x.sql'), 'SELECT 1;');
    expect(() => planUpgrade(root, { fromVersion: '1.0', to: '4.0' })).toThrow(/^1\.0-4\.0 resolves to .*outside, outside the upgrades root/);
  });

  it('a symlink inside the root is followed', () => {
    symlinkSync(join(root, '1.0-1.9', '001_a.sql'), join(root, '1.0-2.0', '003_same.sql'));
    expect(planUpgrade(root, { fromVersion: '1.0', to: '2.0' }).steps.map((s) => s.name)).toEqual(['001_a', '002_b', '003_same']);
  });

  it('finds a planned step again under another host\'s root by folder and name, and refuses it when its checksum differs', () => {
    const plan = planUpgrade(root, { fromVersion: '1.0', to: '2.0' });
    const other = join(base, 'other-host');
    write(join(other, '1.0-2.0', '001_a.sql'), 'SELECT 1;');
    write(join(other, '1.0-2.0', '002_b.sql'), 'SELECT 2; -- edited');
    const found = resolveStep(other, plan.version, plan.steps[0]);
    expect(found.content.toString()).toBe('SELECT 1;');
    expect(readFileSync(found.path, 'utf8')).toBe('SELECT 1;');
    expect(() => resolveStep(other, plan.version, plan.steps[1])).toThrow(StepChangedError);
    expect(() => resolveStep(other, plan.version, plan.steps[1])).toThrow(/^step 002_b: 1\.0-2\.0\/002_b\.sql under this worker's upgrades root .* has checksum [0-9a-f]{12}…, but the plan read [0-9a-f]{12}…/);
    // A plan of an earlier version carried the planning host's absolute path: only the file name counts.
    expect(resolveStep(other, plan.version, { ...plan.steps[0], file: '/elsewhere/1.0-2.0/001_a.sql' }).path).toBe(join(realRoot(other), '1.0-2.0', '001_a.sql'));
    expect(() => resolveStep(other, '../outside', plan.steps[0])).toThrow(/is not a version folder and step file name/);
    expect(() => resolveStep(other, '1.0-3.0', plan.steps[0])).toThrow(/1\.0-3\.0\/001_a\.sql is not under this worker's upgrades root/);
  });

  it('the root is the one given, else CM_UPGRADES_DIR, else the shipped upgrades/', () => {
    expect(upgradesRootFor('/srv/a', { CM_UPGRADES_DIR: '/srv/b' })).toBe('/srv/a');
    expect(upgradesRootFor(undefined, { CM_UPGRADES_DIR: '/srv/b' })).toBe('/srv/b');
    expect(upgradesRootFor(undefined, {})).toBe(shippedUpgradesRoot());
    expect(planUpgrade(shippedUpgradesRoot(), { fromVersion: '1.0' })).toMatchObject({ version: '1.0-2.0', to: '2.0' });
  });
});

function realRoot(p: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node:fs').realpathSync(p);
}
