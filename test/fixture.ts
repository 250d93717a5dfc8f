// The common frame of an integration test file: unique names, a MySQL pool, a Temporal client and a
// worker on the file's own task queue; afterwards the tenant's workflow, capture and schemas go.
// The source is the machine server (connection `local`, as the target) unless a file asks for the
// on-premises source server (`source: 'onprem'`, test/source-server.ts).
import type { Client } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import { tenantHandle } from '../client/operations';
import type { WorkerHandle } from '../worker/main';
import { dropCaptureFor, dropTenantState, dropSchemas, sourcePool, testClient, testPool, testWorker, uniqueName } from './helpers';

export interface TenantFixture {
  src: string;
  tenant: string;
  /** The default target schema of `src`. */
  dst: string;
  taskQueue: string;
  /** The target server (the machine's MariaDB). */
  pool: Pool;
  /** Where `src` lives: the on-premises source server's pool, or `pool` itself when the source is local. */
  source: Pool;
  /** The tenant's sourceConnection for this source. */
  sourceConnection: 'local' | 'onprem';
  client: Client;
  worker?: WorkerHandle;
}

/** Registers the beforeAll/afterAll hooks; `cleanup` runs first in afterAll, while everything is still open. */
export function tenantFixture(
  prefix: string,
  opts: { cleanup?: (f: TenantFixture) => Promise<void>; worker?: boolean; source?: 'local' | 'onprem' } = {},
): TenantFixture {
  const src = uniqueName(`${prefix}_src`);
  const tenant = uniqueName(prefix);
  const sourceConnection = opts.source ?? 'local';
  const f = { src, tenant, dst: `${tenant}_${src}`, taskQueue: uniqueName(`tq_${prefix}`), sourceConnection } as TenantFixture;
  beforeAll(async () => {
    f.pool = testPool();
    f.source = sourceConnection === 'onprem' ? sourcePool() : f.pool;
    f.client = await testClient();
    if (opts.worker !== false) f.worker = await testWorker(f.taskQueue);
  });
  afterAll(async () => {
    try {
      await opts.cleanup?.(f);
    } finally {
      await tenantHandle(f.client, f.tenant).terminate('test done').catch(() => undefined);
      await f.worker?.stop();
      await dropCaptureFor(f.pool, f.src);
      await dropSchemas(f.pool, f.src, f.dst);
      await dropTenantState(f.pool, f.tenant);
      if (f.source && f.source !== f.pool) {
        await dropCaptureFor(f.source, f.src);
        await dropSchemas(f.source, f.src);
        await f.source.end();
      }
      await f.pool.end();
      await f.client.connection.close();
    }
  });
  return f;
}
