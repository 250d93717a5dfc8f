// Connecting to Temporal with one clear line on failure, and registering our search attributes.
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from './constants';
import type { TemporalSettings } from './env';
import { UserFacingError } from './errors';

/**
 * What a client may receive in one answer. gRPC's default, 4 MB, is less than one page of a large
 * tenant's run history (a thousand events of a few kilobytes each): `cm audit` failed on it.
 */
export const CLIENT_CHANNEL_ARGS = { 'grpc.max_receive_message_length': 128 * 1024 * 1024 };

export async function connectClient(settings: TemporalSettings, identity?: string): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: settings.address, connectTimeout: '5s', channelArgs: CLIENT_CHANNEL_ARGS });
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
