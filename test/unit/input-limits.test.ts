// Contract: every field of every update, signal and start input has a size limit, checked by the
// validator, so nothing unbounded reaches history or the carried state (four 1.5 MB signals once
// took a tenant's workflow past Temporal's limit). This walks the schemas themselves: a field added
// later without a limit fails here, naming it.
import * as schemas from '../../lib/schemas';

interface Node { _zod: { def: Record<string, unknown> & { type: string; checks?: { _zod: { def: Record<string, unknown> } }[] } } }

/** A pattern bounds its input when it is anchored and every repetition has an upper bound. */
export function boundedPattern(re: RegExp): boolean {
  const src = re.source.replace(/\\./g, 'x'); // escaped characters are literals
  return src.startsWith('^') && src.endsWith('$') && !/[*+]|\{\d+,\}/.test(src);
}

function unbounded(node: Node, path: string, out: string[]): void {
  const def = node._zod.def;
  const checks = (def.checks ?? []).map((c) => c._zod.def);
  const hasMax = checks.some((c) => c.check === 'max_length');
  switch (def.type) {
    case 'object':
      for (const [k, v] of Object.entries(def.shape as Record<string, Node>)) unbounded(v, `${path}.${k}`, out);
      if ((def.catchall as Node | undefined)?._zod.def.type !== 'never') out.push(`${path}: an object that is not strict`);
      return;
    case 'array':
      if (!hasMax) out.push(`${path}: an array without .max()`);
      unbounded(def.element as Node, `${path}[]`, out);
      return;
    case 'string':
      if (!hasMax && !checks.some((c) => c.check === 'string_format' && c.pattern instanceof RegExp && boundedPattern(c.pattern))) {
        out.push(`${path}: a string without .max() or a bounded pattern`);
      }
      return;
    case 'optional': case 'nullable': case 'default': case 'prefault': case 'readonly':
      unbounded(def.innerType as Node, path, out);
      return;
    case 'pipe':
      unbounded(def.in as Node, path, out);
      return;
    case 'number': case 'boolean': case 'enum': case 'literal':
      return;
    case 'unknown': // only a refined one: a retired field whose refinement refuses any value (stepsDir)
      if (!checks.some((c) => c.check === 'custom')) out.push(`${path}: an unknown without a refinement`);
      return;
    default:
      out.push(`${path}: a ${def.type} the limits check does not know`);
  }
}

const requestSchemas = Object.entries(schemas).filter(([name, v]) => name.endsWith('Schema') && typeof v === 'object' && v !== null && '_zod' in v);

it('finds the request schemas', () => {
  expect(requestSchemas.map(([n]) => n)).toEqual(expect.arrayContaining([
    'tenantInputSchema', 'requesterSchema', 'verifyRequestSchema', 'upgradeRequestSchema', 'resolveUpgradeRequestSchema', 'hotfixRequestSchema',
    'resyncRequestSchema', 'resetRequestSchema', 'scheduleRequestSchema', 'disableRequestSchema', 'configureCompaniesSchema',
  ]));
});

it.each(requestSchemas)('%s bounds every field', (name, schema) => {
  const out: string[] = [];
  unbounded(schema as unknown as Node, name, out);
  expect(out).toEqual([]);
});

it('tells bounded patterns from unbounded ones', () => {
  expect(boundedPattern(/^[A-Za-z0-9_.-]{1,64}$/)).toBe(true);
  expect(boundedPattern(/^\d+(\.\d+){0,3}$/)).toBe(false);
  expect(boundedPattern(/^a{2,}$/)).toBe(false);
  expect(boundedPattern(/[a-z]{1,3}/)).toBe(false);
  expect(boundedPattern(/^\+{1,3}$/)).toBe(true);
});
