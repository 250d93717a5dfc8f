// The small tenant whose workflow histories are replayed against the current workflow code: setup,
// one full run, a few source changes, one delta run, one verification. Shared by test/integration/replay.test.ts (fresh
// histories) and ./record.ts (the committed ones), so both cover the same paths.
import type { Client } from '@temporalio/client';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import type { Pool } from 'mysql2/promise';
import { createTenant, exportToDataLake, runMigrationNow, tenantHandle, verifyNow, waitForLakeExport, waitForRun, waitForVerification } from '../../client/operations';
import { managementWorkflowId, setupWorkflowId } from '../../lib/constants';
import { dropCaptureFor, dropSchemas } from '../helpers';

export interface RecordedHistory {
  /** Short label, used as the file name by record.ts. */
  name: string;
  workflowId: string;
  history: History;
}

/** The file format: Temporal's JSON history (what `temporal workflow show -o json` writes) plus the workflow id. */
export interface HistoryFile {
  workflowId: string;
  events: unknown[];
}

export function toHistoryFile(h: RecordedHistory): HistoryFile {
  return { workflowId: h.workflowId, ...(JSON.parse(historyToJson(h.history)) as { events: unknown[] }) };
}

/**
 * What Worker.runReplayHistories takes: a decoded History (its validation would otherwise send JSON
 * through the SDK's historyFromJSON, see below). The extra workflowId field is ignored.
 */
export function fromHistoryFile(file: HistoryFile, fallbackId: string): { workflowId: string; history: History } {
  return { workflowId: file.workflowId ?? fallbackId, history: historyFromJson(file) };
}

// The SDK's historyToJSON / historyFromJSON use the protobufjs copy nested under @temporalio/common,
// while the History type comes from the copy nested under @temporalio/proto. With protobufjs 7 hoisted
// to the top (for @grpc/proto-loader), as in this package-lock, they are two copies of protobufjs 8 and
// protojson's `instanceof Type` check fails: "TypeError: type must be a Type". When that happens we do
// the same conversion with the protojson of @temporalio/proto's own copy. Same format either way.
interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}
let fallback: { protojson: ProtoJson; historyType: unknown } | undefined;
function protoJsonFallback(): NonNullable<typeof fallback> {
  if (!fallback) {
    const protoDir = dirname(require.resolve('@temporalio/proto/package.json'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [protoDir] })) as ProtoJson;
    const root = patchProtobufRoot(proto as unknown as Record<string, unknown>) as unknown as { lookupType(name: string): unknown };
    fallback = { protojson, historyType: root.lookupType('temporal.api.history.v1.History') };
  }
  return fallback;
}
const isCopyMismatch = (err: unknown): boolean => err instanceof TypeError && /must be a Type/.test(err.message);

export function historyToJson(history: History): string {
  try {
    return historyToJSON(history);
  } catch (err) {
    if (!isCopyMismatch(err)) throw err;
    const { protojson, historyType } = protoJsonFallback();
    return JSON.stringify(protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)), null, 2);
  }
}

export function historyFromJson(json: { events: unknown[] }): History {
  try {
    return historyFromJSON(json);
  } catch (err) {
    if (!isCopyMismatch(err)) throw err;
    const { protojson, historyType } = protoJsonFallback();
    return protojson.fromJson(historyType, { events: json.events }, { ignoreUnknownFields: true }) as History;
  }
}

export interface Scenario {
  tenant: string;
  source: string;
  target: string;
}

export function scenarioNames(tenant: string, source: string): Scenario {
  return { tenant, source, target: `${tenant}_${source}` };
}

/** Runs the scenario on a worker already polling `taskQueue`; returns its histories (four before 1.3.0, five since). */
export async function runScenario(client: Client, pool: Pool, taskQueue: string, s: Scenario): Promise<RecordedHistory[]> {
  const t = (table: string): string => `\`${s.source}\`.\`${table}\``;
  await pool.query(`CREATE SCHEMA \`${s.source}\``);
  await pool.query(`CREATE TABLE ${t('item')} (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, price DECIMAL(12,2) NOT NULL)`);
  await pool.query(`CREATE TABLE ${t('ledger')} (entry_no BIGINT PRIMARY KEY, item_id INT NOT NULL, posted DATE NOT NULL)`);
  await pool.query(`CREATE TABLE ${t('notes')} (txt VARCHAR(40) NOT NULL)`); // no key: a Warning every run
  await pool.query(`INSERT INTO ${t('item')} VALUES (1, 'bolt', 0.10), (2, 'nut', 0.05), (3, 'washer', 0.02)`);
  await pool.query(`INSERT INTO ${t('ledger')} VALUES (1, 1, '2024-01-01'), (2, 2, '2024-01-02'), (3, 1, '2024-01-03')`);
  await pool.query(`INSERT INTO ${t('notes')} VALUES ('a'), ('a'), ('b')`);

  const created = await createTenant(client, taskQueue, { tenant: s.tenant, companies: [{ source: s.source }] });
  if (created.status.status !== 'Ready') throw new Error(`setup of ${s.tenant} ended ${created.status.status}: ${created.status.setupError}`);

  const full = await runMigrationNow(client, s.tenant, { requestedBy: 'replay scenario', reason: 'first load' });
  const fullEntry = await waitForRun(client, s.tenant, full);
  if (full.kind !== 'full' || fullEntry.status !== 'Completed') throw new Error(`run #${full.run} was ${full.kind} and ended ${fullEntry.status}`);

  await pool.query(`INSERT INTO ${t('item')} VALUES (4, 'screw', 0.07)`);
  await pool.query(`UPDATE ${t('item')} SET price = 0.11 WHERE id = 1`);
  await pool.query(`DELETE FROM ${t('ledger')} WHERE entry_no = 2`);
  await pool.query(`INSERT INTO ${t('notes')} VALUES ('c')`);
  // Since 1.4.0 a run follows the source's schema first: a column added, a table created.
  await pool.query(`ALTER TABLE ${t('item')} ADD COLUMN note VARCHAR(20) NULL`);
  await pool.query(`CREATE TABLE ${t('bin')} (id INT PRIMARY KEY, label VARCHAR(20) NOT NULL)`);
  await pool.query(`INSERT INTO ${t('bin')} VALUES (1, 'new table')`);

  const delta = await runMigrationNow(client, s.tenant, { requestedBy: 'replay scenario', reason: 'nightly' });
  const deltaEntry = await waitForRun(client, s.tenant, delta);
  if (delta.kind !== 'delta' || deltaEntry.status !== 'Completed') throw new Error(`run #${delta.run} was ${delta.kind} and ended ${deltaEntry.status}`);

  const verification = await verifyNow(client, s.tenant, { requestedBy: 'replay scenario', reason: 'before cut-over' });
  const verified = await waitForVerification(client, s.tenant, verification);
  if (verified.status !== 'Equal') throw new Error(`verification #${verification.number} ended ${verified.status}`);

  // Since 1.8.0 a data lake export (a child of the tenant's workflow); the worker runs in this process,
  // so the destination named `replay` is set here.
  process.env.CM_LAKE_REPLAY_URI = `file://${lakeFolder(s)}`;
  const lake = await exportToDataLake(client, s.tenant, { requestedBy: 'replay scenario', reason: 'archive', to: 'replay' });
  const exported = await waitForLakeExport(client, s.tenant, lake);
  if (exported.status !== 'Completed') throw new Error(`data lake export ${lake.workflowId} ended ${exported.status}: ${exported.failure}`);

  const fetch = async (name: string, workflowId: string): Promise<RecordedHistory> => ({
    name, workflowId, history: await client.workflow.getHandle(workflowId).fetchHistory(),
  });
  return [
    await fetch('setup', setupWorkflowId(s.tenant)),
    await fetch('run-1-full', full.workflowId),
    await fetch('run-2-delta', delta.workflowId),
    await fetch('verify-1', verification.workflowId),
    await fetch('lake-1', lake.workflowId),
    // Last, so that it holds the whole story: setup, both runs, their updates.
    await fetch('management', managementWorkflowId(s.tenant)),
  ];
}

export async function cleanUpScenario(client: Client, pool: Pool, s: Scenario): Promise<void> {
  await tenantHandle(client, s.tenant).terminate('replay scenario done').catch(() => undefined);
  await dropCaptureFor(pool, s.source);
  await dropSchemas(pool, s.source, s.target);
  rmSync(lakeFolder(s), { recursive: true, force: true });
}

const lakeFolders = new Map<string, string>();
/** The scenario's data lake folder, made on first use. */
function lakeFolder(s: Scenario): string {
  if (!lakeFolders.has(s.tenant)) lakeFolders.set(s.tenant, mkdtempSync(join(tmpdir(), 'cm-replay-lake-')));
  return lakeFolders.get(s.tenant)!;
}
