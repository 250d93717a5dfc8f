import { z } from 'zod';
import {
  configureCompaniesSchema, defaultTargetSchema, describeIssues, normalizeCompanies, parseTenantInput, requesterSchema,
} from '../../lib/schemas';
import { DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS, DEFAULT_COPY, DEFAULT_VERIFY } from '../../lib/constants';

describe('parseTenantInput', () => {
  it('fills every default', () => {
    expect(parseTenantInput({ tenant: 'acme', companies: [{ source: 'cronus' }] })).toEqual({
      tenant: 'acme',
      sourceConnection: 'local',
      targetConnection: 'local',
      companies: [{ source: 'cronus', target: 'acme_cronus' }],
      appUsers: [],
      copy: DEFAULT_COPY,
      verify: DEFAULT_VERIFY,
      captureMode: 'auto',
      continueAsNewAfterEvents: DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS,
      dataVersion: '1.0',
    });
    expect(DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS).toBe(10_000);
  });

  it('keeps given values and merges copy settings over DEFAULT_COPY', () => {
    const cfg = parseTenantInput({
      tenant: 'acme-eu.1',
      sourceConnection: 'onprem',
      targetConnection: 'cloud_eu',
      companies: [{ source: 'cronus', target: 'cloud_cronus' }, { source: 'fabrikam' }],
      appUsers: ['bc_app'],
      copy: { concurrency: 8, writeBatchRows: 500 },
      verify: { chunkRows: 5000 },
      captureMode: 'triggers',
      continueAsNewAfterEvents: 500,
      requestedBy: 'ann',
      reason: 'first tenant',
    });
    expect(cfg).toEqual({
      tenant: 'acme-eu.1',
      sourceConnection: 'onprem',
      targetConnection: 'cloud_eu',
      companies: [{ source: 'cronus', target: 'cloud_cronus' }, { source: 'fabrikam', target: 'acme-eu.1_fabrikam' }],
      appUsers: ['bc_app'],
      copy: { ...DEFAULT_COPY, concurrency: 8, writeBatchRows: 500 },
      verify: { ...DEFAULT_VERIFY, chunkRows: 5000 },
      captureMode: 'triggers',
      continueAsNewAfterEvents: 500,
      dataVersion: '1.0',
    });
    expect(cfg.copy.rangesPerTable).toBe(2);
    // requestedBy/reason are accepted but are not configuration.
    expect(cfg).not.toHaveProperty('requestedBy');
    expect(cfg).not.toHaveProperty('reason');
  });

  it('does not share or mutate DEFAULT_COPY', () => {
    const before = { ...DEFAULT_COPY };
    const cfg = parseTenantInput({ tenant: 'a', companies: [{ source: 's' }], copy: { concurrency: 2 } });
    cfg.copy.smallBatchRows = 1;
    expect(DEFAULT_COPY).toEqual(before);
    expect(parseTenantInput({ tenant: 'a', companies: [{ source: 's' }] }).copy).not.toBe(DEFAULT_COPY);
  });

  it('truncates the default target schema to 64 characters', () => {
    const tenant = 't'.repeat(40);
    const source = 's'.repeat(40);
    const cfg = parseTenantInput({ tenant, companies: [{ source }] });
    expect(cfg.companies[0].target).toBe(`${tenant}_${'s'.repeat(23)}`);
    expect(cfg.companies[0].target).toHaveLength(64);
  });

  it('rejects an unknown top-level field, naming it', () => {
    expect(() => parseTenantInput({ tenant: 'acme', companies: [{ source: 'cronus' }], tenantId: 'x' })).toThrow(
      'invalid tenant input: input: Unrecognized key: "tenantId"',
    );
  });

  it('rejects an unknown copy setting, naming it and where it is', () => {
    expect(() => parseTenantInput({ tenant: 'acme', companies: [{ source: 'cronus' }], copy: { concurency: 8 } })).toThrow(
      'invalid tenant input: copy: Unrecognized key: "concurency"',
    );
  });

  it('rejects an unknown company field, naming it and where it is', () => {
    expect(() => parseTenantInput({ tenant: 'acme', companies: [{ source: 'cronus' }, { source: 'x', tgt: 'y' }] })).toThrow(
      'invalid tenant input: companies.1: Unrecognized key: "tgt"',
    );
  });

  it('rejects invalid tenant ids', () => {
    for (const tenant of ['', 'ac me', 'acme/eu', 'acme;drop', 'x'.repeat(65), 'ünï']) {
      expect(() => parseTenantInput({ tenant, companies: [{ source: 'cronus' }] })).toThrow(
        'invalid tenant input: tenant: use letters, digits, _ . - (at most 64)',
      );
    }
    expect(() => parseTenantInput({ companies: [{ source: 'cronus' }] })).toThrow(/^invalid tenant input: tenant: /);
    expect(parseTenantInput({ tenant: 'x'.repeat(64), companies: [{ source: 'c' }] }).tenant).toHaveLength(64);
  });

  it('rejects invalid connection names', () => {
    expect(() => parseTenantInput({ tenant: 'a', sourceConnection: 'mysql://root@h', companies: [{ source: 'c' }] })).toThrow(
      'invalid tenant input: sourceConnection: use letters, digits, _ . - (at most 64)',
    );
  });

  it('needs at least one company', () => {
    expect(() => parseTenantInput({ tenant: 'acme', companies: [] })).toThrow('invalid tenant input: companies: at least one company is needed');
  });

  it('rejects duplicate companies and shared targets', () => {
    expect(() => parseTenantInput({ tenant: 'acme', companies: [{ source: 'a' }, { source: 'a' }] })).toThrow(
      'company a → acme_a is listed twice or shares a target schema',
    );
    expect(() => parseTenantInput({ tenant: 'acme', companies: [{ source: 'a', target: 'x' }, { source: 'b', target: 'x' }] })).toThrow(
      'company b → x is listed twice or shares a target schema',
    );
  });

  it('rejects out-of-range copy settings with the path and zod message', () => {
    expect(() => parseTenantInput({ tenant: 'a', companies: [{ source: 'c' }], copy: { concurrency: 0 } })).toThrow(
      /^invalid tenant input: copy\.concurrency: /,
    );
    expect(() => parseTenantInput({ tenant: 'a', companies: [{ source: 'c' }], copy: { writeBatchBytes: 100 } })).toThrow(/copy\.writeBatchBytes/);
    expect(() => parseTenantInput({ tenant: 'a', companies: [{ source: 'c' }], copy: { smallBatchTables: 1.5 } })).toThrow(/copy\.smallBatchTables/);
    expect(() => parseTenantInput({ tenant: 'a', companies: [{ source: 'c' }], continueAsNewAfterEvents: 99 })).toThrow(/continueAsNewAfterEvents/);
  });

  it('reports several issues in one message, separated by "; "', () => {
    let message = '';
    try {
      parseTenantInput({ tenant: 'a b', companies: [], extra: true });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.startsWith('invalid tenant input: ')).toBe(true);
    const parts = message.slice('invalid tenant input: '.length).split('; ');
    expect(parts).toHaveLength(3);
    expect(parts).toContain('tenant: use letters, digits, _ . - (at most 64)');
    expect(parts).toContain('companies: at least one company is needed');
    expect(parts).toContain('input: Unrecognized key: "extra"');
  });

  it('rejects a non-object input readably', () => {
    expect(() => parseTenantInput(null)).toThrow(/^invalid tenant input: input: /);
    expect(() => parseTenantInput('acme')).toThrow(/^invalid tenant input: input: /);
  });
});

describe('normalizeCompanies', () => {
  it('defaults targets to <tenant>_<source> and keeps explicit ones, in order', () => {
    expect(normalizeCompanies('acme', [{ source: 'b' }, { source: 'a', target: 'custom' }])).toEqual([
      { source: 'b', target: 'acme_b' },
      { source: 'a', target: 'custom' },
    ]);
  });

  it('drops unknown fields: only the company configuration comes out', () => {
    expect(normalizeCompanies('t', [{ source: 's', target: 'x', extra: 1 } as never])).toEqual([{ source: 's', target: 'x' }]);
    expect(normalizeCompanies('t', [{ source: 's', oldestYear: 2020, excludeTables: ['a*'], extra: 1 } as never])).toEqual([
      { source: 's', target: 't_s', oldestYear: 2020, excludeTables: ['a*'] },
    ]);
  });

  it('rejects the same source twice, even with different targets', () => {
    expect(() => normalizeCompanies('acme', [{ source: 'a', target: 'x' }, { source: 'a', target: 'y' }])).toThrow(
      'company a → y is listed twice or shares a target schema',
    );
  });

  it('rejects an explicit target that collides with a default one', () => {
    expect(() => normalizeCompanies('acme', [{ source: 'a' }, { source: 'b', target: 'acme_a' }])).toThrow(
      'company b → acme_a is listed twice or shares a target schema',
    );
  });

  it('names the second of the duplicates even when it is last', () => {
    expect(() => normalizeCompanies('t', [{ source: 'a' }, { source: 'b' }, { source: 'c' }, { source: 'b' }])).toThrow('company b → t_b');
  });

  it('accepts an empty list', () => {
    expect(normalizeCompanies('t', [])).toEqual([]);
  });
});

describe('defaultTargetSchema', () => {
  it('joins tenant and source, at most 64 characters', () => {
    expect(defaultTargetSchema('acme', 'cronus')).toBe('acme_cronus');
    expect(defaultTargetSchema('a'.repeat(64), 'b')).toBe('a'.repeat(64));
  });
});

describe('describeIssues', () => {
  it('joins path and message per issue, with "input" for the root', () => {
    const schema = z.object({ a: z.object({ b: z.number() }), list: z.array(z.string()) }).strict();
    const parsed = schema.safeParse({ a: { b: 'x' }, list: ['ok', 3], zz: 1 });
    expect(parsed.success).toBe(false);
    const text = describeIssues(parsed.error!);
    const parts = text.split('; ');
    expect(parts).toHaveLength(3);
    expect(parts[0]).toMatch(/^a\.b: /);
    expect(parts[1]).toMatch(/^list\.1: /);
    expect(parts[2]).toBe('input: Unrecognized key: "zz"');
  });

  it('describes a single custom message exactly', () => {
    const parsed = z.string().min(3, 'too short').safeParse('ab');
    expect(describeIssues(parsed.error!)).toBe('input: too short');
  });
});

describe('requesterSchema and configureCompaniesSchema', () => {
  it('are strict', () => {
    expect(requesterSchema.safeParse({ requestedBy: 'ann', reason: 'why' }).success).toBe(true);
    expect(requesterSchema.safeParse({}).success).toBe(true);
    const bad = requesterSchema.safeParse({ requester: 'ann' });
    expect(bad.success).toBe(false);
    expect(describeIssues(bad.error!)).toBe('input: Unrecognized key: "requester"');
  });
  it('needs at least one company to configure', () => {
    expect(configureCompaniesSchema.safeParse({ companies: [] }).success).toBe(false);
    expect(configureCompaniesSchema.safeParse({ companies: [{ source: 'a' }], requestedBy: 'ann' }).success).toBe(true);
    expect(configureCompaniesSchema.safeParse({ companies: [{ source: 'a' }], extra: 1 }).success).toBe(false);
  });
});

describe('a target schema that would overwrite data it must not', () => {
  it('is refused when it is a source schema (its own or another company\'s) or reserved', () => {
    expect(() => normalizeCompanies('acme', [{ source: 'cronus', target: 'cronus' }])).toThrow(
      'company cronus → cronus: the target schema is a source schema or a reserved one; choose another target',
    );
    expect(() => normalizeCompanies('acme', [{ source: 'a', target: 'B' }, { source: 'b' }])).toThrow('company a → B: the target schema is a source schema');
    for (const target of ['cm_control', 'cm_capture', 'mysql', 'information_schema']) {
      expect(() => normalizeCompanies('acme', [{ source: 'a', target }])).toThrow('the target schema is a source schema or a reserved one');
    }
    expect(normalizeCompanies('acme', [{ source: 'a' }, { source: 'b', target: 'b_cloud' }]).map((c) => c.target)).toEqual(['acme_a', 'b_cloud']);
  });
});
