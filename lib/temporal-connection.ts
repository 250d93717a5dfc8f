// Connecting to Temporal with one clear line on failure, and registering our search attributes.
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from './constants';
import type { TemporalSettings } from './env';
import { UserFacingError } from './errors';


export async function connectClient(settings: TemporalSettings, identity?: string): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: settings.address, connectTimeout: '5s' });
  } catch (err) {
    throw new UserFacingError(
      `cannot reach Temporal at ${settings.address} (TEMPORAL_ADDRESS): ${(err as Error).message.split('\n')[0]}. Start one with \`cm server\`.`,
    );
  }
  return new Client({ connection, namespace: settings.namespace, identity });
}

/** Adds TenantId, MigrationStatus and MigrationPhase to the namespace if missing (idempotent). */
export async function ensureSearchAttributes(client: Client, namespace: string): Promise<void> {
  const existing = await client.connection.operatorService.listSearchAttributes({ namespace });
  const custom = existing.customAttributes ?? {};
  const missing = SEARCH_ATTRIBUTES.filter((k) => !(k.name in custom));
  if (missing.length === 0) return;
  await client.connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
}
