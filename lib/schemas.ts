// Input validation shared by workflow validators, the start input and the CLI. Objects are strict:
// a misspelt field is an error, not silently ignored.
import { z } from 'zod';
import { CAPTURE_SCHEMA, CONTROL_SCHEMA, DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS, DEFAULT_COPY, DEFAULT_VERIFY } from './constants';
import { scheduleSpecSchema } from './schedule';
import type { CompanyMapping, TenantConfig } from './types';
import { PATHS_REFUSED, VERSION_PATTERN } from './upgrade-versions';
import { lakeNameRefusal } from './lake';

const identifier = z.string().min(1).max(64);
/** A Business Central tenant has up to about 20 companies: 500 leaves room without letting a request grow without bound. */
export const MAX_COMPANIES = 500;
const name = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use letters, digits, _ . - (at most 64)');

export const requesterSchema = z
  .object({
    requestedBy: z.string().max(200).optional(),
    reason: z.string().max(2000).optional(),
  })
  .strict();

const tablePatterns = z.array(z.string().regex(/^[^`]{1,64}$/, 'a table name or pattern (* and ?), at most 64 characters')).max(200);

export const companyInputSchema = z
  .object({
    source: identifier,
    target: identifier.optional(),
    includeTables: tablePatterns.optional(),
    excludeTables: tablePatterns.optional(),
    oldestYear: z.number().int().min(1900).max(2200).optional(),
    historyTables: tablePatterns.optional(),
  })
  .strict();

export const copySettingsSchema = z
  .object({
    concurrency: z.number().int().min(1).max(64),
    rangesPerTable: z.number().int().min(1).max(64),
    chunkRows: z.number().int().min(1_000).max(100_000_000),
    largeTableRows: z.number().int().min(1),
    smallBatchRows: z.number().int().min(1),
    smallBatchTables: z.number().int().min(1).max(1000),
    writeBatchRows: z.number().int().min(1).max(100_000),
    writeBatchBytes: z.number().int().min(1024).max(64 * 1024 * 1024),
    writeMode: z.enum(['load', 'replace']),
    heartbeatTimeoutSeconds: z.number().int().min(2).max(3600),
  })
  .strict()
  .partial();

export const verifySettingsSchema = z
  .object({
    chunkRows: z.number().int().min(10).max(1_000_000),
    concurrency: z.number().int().min(1).max(64),
    maxThreadsRunning: z.number().int().min(0).max(100_000),
    pauseMs: z.number().int().min(0).max(60_000),
    maxPauseMs: z.number().int().min(0).max(24 * 3600_000),
    runsPerPass: z.number().int().min(1).max(1000),
    maxChunksPerRun: z.number().int().min(1).max(1_000_000),
  })
  .strict()
  .partial();

/** Verify Now: a company and a table pattern to narrow it, and whether to repair. */
/** Export to the data lake: where (a destination's name, mapped by the worker), which companies, which rows. */
export const lakeExportRequestSchema = requesterSchema.extend({
  to: z.string().max(1000).refine((v) => lakeNameRefusal(v) === undefined, { error: (iss) => lakeNameRefusal(String(iss.input)) }).optional(),
  companies: z.array(identifier).max(MAX_COMPANIES).optional(),
  historyOnly: z.boolean().optional(),
}).strict();

export const verifyRequestSchema = requesterSchema.extend({
  company: identifier.optional(),
  table: z.string().regex(/^[^`]{1,64}$/, 'a table name or pattern (* and ?), at most 64 characters').optional(),
  repair: z.boolean().optional(),
}).strict();

/** What an operator pastes into the UI's Start Workflow form, or what `cm tenant create` sends. */
export const tenantInputSchema = z
  .object({
    tenant: name,
    sourceConnection: name.default('local'),
    targetConnection: name.default('local'),
    companies: z.array(companyInputSchema).min(1, 'at least one company is needed').max(MAX_COMPANIES, `at most ${MAX_COMPANIES} companies per tenant`),
    appUsers: z.array(z.string().min(1).max(80)).max(200).default([]),
    /** Accounts the upgrade fence does not lock (a DBA's): `user` (every host) or `'user'@'host'`. */
    fenceExemptAccounts: z.array(z.string().regex(/^'?[^'@\s]{1,80}'?(@'?[^'\s]{1,255}'?)?$/, "an account: user or 'user'@'host'")).max(100).default([]),
    copy: copySettingsSchema.default({}),
    verify: verifySettingsSchema.default({}),
    /** How changes are captured on the source; unset: the binary log where the source allows it, else triggers. */
    captureMode: z.enum(['auto', 'binlog', 'triggers']).default('auto'),
    continueAsNewAfterEvents: z.number().int().min(100).default(DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS),
    dataVersion: z.string().regex(/^[A-Za-z0-9_.]{1,20}$/, 'letters, digits, _ and . only').default('1.0'),
    requestedBy: z.string().max(200).optional(),
    reason: z.string().max(2000).optional(),
    /** The workflow code version the tenant starts on (the client fills it; see SERVICE_VERSION). */
    serviceVersion: z.string().max(40).optional(),
  })
  .strict();

export type TenantInput = z.input<typeof tenantInputSchema>;

export const configureCompaniesSchema = requesterSchema.extend({ companies: z.array(companyInputSchema).min(1).max(MAX_COMPANIES) }).strict();

/** Default target schema: the tenant's own namespace, so a source and target on one server never collide. */
export function defaultTargetSchema(tenant: string, source: string): string {
  return `${tenant}_${source}`.slice(0, 64);
}

export function normalizeCompanies(tenant: string, companies: z.infer<typeof companyInputSchema>[]): CompanyMapping[] {
  // Only known fields come out: the workflow state never carries what a caller slipped in.
  const mapped = companies.map((c) => {
    const out: CompanyMapping = { source: c.source, target: c.target ?? defaultTargetSchema(tenant, c.source) };
    for (const k of ['includeTables', 'excludeTables', 'oldestYear', 'historyTables'] as const) if (c[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = c[k];
    return out;
  });
  const dup = mapped.find((c, i) => mapped.findIndex((d) => d.target === c.target || d.source === c.source) !== i);
  if (dup) throw new Error(`company ${dup.source} → ${dup.target} is listed twice or shares a target schema`);
  // The target is emptied and overwritten: it must never be a company's source, nor a schema the
  // server or this product keeps for itself (both connections default to the same server).
  const reserved = new Set([CONTROL_SCHEMA, CAPTURE_SCHEMA, 'mysql', 'sys', 'information_schema', 'performance_schema']);
  const clash = mapped.find((c) => mapped.some((d) => d.source.toLowerCase() === c.target.toLowerCase()) || reserved.has(c.target.toLowerCase()));
  if (clash) throw new Error(`company ${clash.source} → ${clash.target}: the target schema is a source schema or a reserved one; choose another target`);
  return mapped;
}

/** A readable one-line message from a zod error. */
export function describeIssues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`).join('; ');
}

export function parseTenantInput(raw: unknown): TenantConfig {
  const parsed = tenantInputSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid tenant input: ${describeIssues(parsed.error)}`);
  const v = parsed.data;
  return {
    tenant: v.tenant,
    sourceConnection: v.sourceConnection,
    targetConnection: v.targetConnection,
    companies: normalizeCompanies(v.tenant, v.companies),
    appUsers: v.appUsers,
    ...(v.fenceExemptAccounts.length > 0 ? { fenceExemptAccounts: v.fenceExemptAccounts } : {}),
    copy: { ...DEFAULT_COPY, ...v.copy },
    verify: { ...DEFAULT_VERIFY, ...v.verify },
    captureMode: v.captureMode,
    continueAsNewAfterEvents: v.continueAsNewAfterEvents,
    dataVersion: v.dataVersion,
  };
}

/** Fields that once carried (or could be taken for) a path to steps: refused with the way to do it now. */
const pathField = z.unknown().refine((v) => v === undefined, PATHS_REFUSED).optional();

/**
 * Run Data Upgrade Now: the version to upgrade to ({"to":"2.0"}), or nothing for the next one. Never
 * a path: the steps live under the worker's upgrades root, in a folder <from>-<to>.
 */
export const upgradeRequestSchema = requesterSchema.extend({
  to: z.string().max(20, 'a version has at most 20 characters').refine(
    (v) => VERSION_PATTERN.test(v),
    { error: (iss) => (/[\\/]/.test(String(iss.input)) ? PATHS_REFUSED : 'a version such as 2.0 or 2.1.3: digits, at most four parts separated by dots') },
  ).optional(),
  stepsDir: pathField,
  steps: pathField,
  dir: pathField,
  path: pathField,
}).strict();

/** `cm upgrade --resolve`: what to do with an upgrade whose restore could not be verified. */
export const resolveUpgradeRequestSchema = requesterSchema.extend({ action: z.enum(['inspect', 'retry', 'release']) }).strict();

export const hotfixRequestSchema = requesterSchema
  .extend({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,200}$/, 'letters, digits, _ . - (at most 200)'),
    sql: z.string().min(1, 'the hotfix has no SQL').max(1_000_000),
    schemas: z.array(z.string().min(1).max(64)).min(1).max(MAX_COMPANIES).optional(),
  })
  .strict();

export const resyncRequestSchema = requesterSchema.extend({
  tables: z.array(z.string().regex(/^[^`]{1,129}$/, 'a table name, schema.table, or a pattern (* and ?)')).min(1).max(100),
}).strict();

/** Reset Runtime Service Key: how long the old key stays valid (0: shut out at once, for a leaked key). */
export const resetKeyRequestSchema = requesterSchema.extend({ graceHours: z.number().min(0).max(720).optional() }).strict();

/** The key rollout: where it stands, or finish it (retire the previous key). */
export const keyRolloutRequestSchema = requesterSchema.extend({ finish: z.boolean().optional(), force: z.boolean().optional() }).strict();

export const resetRequestSchema = requesterSchema.extend({ confirm: z.boolean().optional() }).strict();

export const scheduleRequestSchema = requesterSchema.extend({ schedule: scheduleSpecSchema.nullable() }).strict();

export const disableRequestSchema = requesterSchema.extend({ skipFinalRun: z.boolean().optional(), skipVerification: z.boolean().optional() }).strict();

const pageFields = {
  page: z.number().int().min(1).max(1_000_000).optional(),
  pageSize: z.number().int().min(1).max(100).optional(),
};

/** The `tables` query's request: a filter and a page (queries are answered by the workflow, so they are bounded too). */
export const tablePageRequestSchema = z
  .object({
    company: z.string().min(1).max(64).optional(),
    status: z.enum(['Not Started', 'In Progress', 'Successful', 'Warning', 'Failed', 'Not Migrated']).optional(),
    table: z.string().regex(/^[^`]{1,129}$/, 'a table name, schema.table, or a pattern (* and ?)').optional(),
    ...pageFields,
  })
  .strict();

export const pageRequestSchema = z.object(pageFields).strict();
