// Issue 12: past about 5,900 tables Temporal terminated the tenant's workflow at its next continue-
// as-new, because every table's row travels in its input. Until the rows move out of the workflow,
// setup refuses a tenant whose page could not be carried, naming the counts and the way out, before
// anything is changed on the source or the target (lib/carry-limit.ts; the carried page's own rules
// are unit-tested in test/unit/carry-limit.test.ts).
import type { RowDataPacket } from 'mysql2/promise';
import { createTenant } from '../../client/operations';
import { CONTROL_SCHEMA } from '../../lib/constants';
import { tenantFixture } from '../fixture';

const f = tenantFixture('carry');
const { src, tenant, dst } = f;
const TABLES = 1600;
// 64 characters, the longest name MySQL allows: a small number of tables is already a large page.
const name = (i: number): string => `t${String(i).padStart(5, '0')}_${'x'.repeat(57)}`;

beforeAll(async () => {
  await f.pool.query(`CREATE SCHEMA ${src}`);
  // Without a primary key: each also carries a warning and a finding on the page.
  for (let i = 0; i < TABLES; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, k) => f.pool.query(`CREATE TABLE ${src}.${name(i + k)} (v INT)`)));
  }
}, 300_000);

it('setup refuses a tenant whose page could not be carried, naming the counts and the way out, with nothing changed', async () => {
  const { status } = await createTenant(f.client, f.taskQueue, { tenant, companies: [{ source: src }] });
  expect(status.status).toBe('Setup Failed');
  expect(status.setupError).toMatch(new RegExp(`^this tenant has ${TABLES} tables \\(${src}: ${TABLES}\\)`));
  expect(status.setupError).toMatch(/holds about \d+ tables like these/);
  expect(status.setupError).toMatch(/Nothing was changed on the source or the target/);
  expect(status.setupError).toMatch(/Split the companies over several tenants/);
  // Nothing changed: no target schema, no claim on one, no trigger on the source, no capture recorded.
  const [schemas] = await f.pool.query<RowDataPacket[]>('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [dst]);
  expect(schemas).toHaveLength(0);
  const [owners] = await f.pool.query<RowDataPacket[]>(`SELECT 1 FROM ${CONTROL_SCHEMA}.target_owner WHERE tenant = ?`, [tenant]).catch(() => [[]] as unknown as [RowDataPacket[]]);
  expect(owners).toHaveLength(0);
  const [triggers] = await f.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?', [src]);
  expect(Number(triggers[0].n)).toBe(0);
  // A page of that tenant is served as usual: the refusal is on it, and the tenant can be reconfigured.
  expect(status.tableCounts.total).toBe(0);
}, 300_000);
