// Connecting to Temporal with one clear line on failure, and registering our search attributes.
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from './constants';
import { connectionOptions, type TemporalSettings } from './env';
import { rootMessage, UserFacingError } from './errors';

/**
 * What a client may receive in one answer. gRPC's default, 4 MB, is less than one page of a large
 * tenant's run history (a thousand events of a few kilobytes each): `cm audit` failed on it.
 */
export const CLIENT_CHANNEL_ARGS = { 'grpc.max_receive_message_length': 128 * 1024 * 1024 };

export async function connectClient(settings: TemporalSettings, identity?: string): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions(settings), connectTimeout: '5s', channelArgs: CLIENT_CHANNEL_ARGS });
  } catch (err) {
    throw new UserFacingError(
      `cannot reach Temporal at ${settings.address} (${where(settings)}${settings.tls ? ', TLS' : ''}): ${rootMessage(err).split('\n')[0]}. ` +
        (settings.address.startsWith('127.0.0.1') || settings.address.startsWith('localhost') ? 'Start one with `cm server`.' : 'Check the address, the certificates and the API key.'),
    );
  }
  return new Client({ connection, namespace: settings.namespace, identity });
}

const GRPC_NOT_FOUND = 5; // the gRPC status code

/** Where the settings came from, for error messages. */
const where = (s: TemporalSettings): string => (s.profile ? `profile ${s.profile}` : 'TEMPORAL_ADDRESS / --address');

/**
 * The namespace exists: an unknown one would otherwise surface as "workflow not found", i.e. as an
 * unknown tenant. One cheap call before a command's first.
 */
export async function checkNamespace(client: Client, settings: TemporalSettings): Promise<void> {
  try {
    await client.connection.workflowService.describeNamespace({ namespace: settings.namespace });
  } catch (err) {
    if ((err as { code?: number }).code === GRPC_NOT_FOUND) {
      throw new UserFacingError(
        `namespace '${settings.namespace}' does not exist on ${settings.address} (TEMPORAL_NAMESPACE / --namespace${settings.profile ? ` / profile ${settings.profile}` : ''}). ` +
          `Create it (\`temporal operator namespace create --namespace ${settings.namespace}\`) or name another.`,
      );
    }
    throw err;
  }
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
