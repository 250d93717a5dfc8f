// A TLS front for the test dev server (which speaks plaintext gRPC only), standing in for Temporal
// Cloud: HTTP/2 over TLS with a self-signed certificate, optionally requiring a client certificate
// (mTLS) and an API key (the `authorization: Bearer …` header), forwarding every gRPC call as is.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Certificates {
  dir: string;
  /** The test CA: it signed both certificates below (rustls, in the worker, refuses a CA used as a server certificate). */
  caCert: string;
  /** The server's certificate (localhost, 127.0.0.1) and key. */
  serverCert: string;
  serverKey: string;
  /** A client certificate and key, for mTLS. */
  clientCert: string;
  clientKey: string;
}

/** A self-made CA and two certificates it signed, made with openssl: the server's and a client's. */
export function makeCertificates(): Certificates {
  const dir = mkdtempSync(join(tmpdir(), 'cm-tls-'));
  const at = (f: string): string => join(dir, f);
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe', cwd: dir });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=cm test CA', '-keyout', at('ca.key'), '-out', at('ca.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const issue = (name: string, subject: string, ext: string): void => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', at(`${name}.key`), '-out', at(`${name}.csr`));
    writeFileSync(at(`${name}.ext`), ext);
    ssl('x509', '-req', '-in', at(`${name}.csr`), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-days', '1', '-out', at(`${name}.pem`), '-extfile', at(`${name}.ext`));
  };
  issue('server', '/CN=localhost', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n');
  issue('client', '/CN=cm-worker', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  return { dir, caCert: at('ca.pem'), serverCert: at('server.pem'), serverKey: at('server.key'), clientCert: at('client.pem'), clientKey: at('client.key') };
}

export interface TlsProxy {
  port: number;
  /** Calls refused for a missing or wrong API key. */
  refused: () => number;
  close: () => Promise<void>;
}

const HOP_BY_HOP = new Set([':method', ':path', ':scheme', ':authority', ':status', 'connection', 'host', 'keep-alive', 'transfer-encoding']);
const forwardable = (h: IncomingHttpHeaders): OutgoingHttpHeaders =>
  Object.fromEntries(Object.entries(h).filter(([k]) => !HOP_BY_HOP.has(k))) as OutgoingHttpHeaders;

export async function startTlsProxy(target: string, certs: Certificates, opts: { mtls?: boolean; apiKey?: string } = {}): Promise<TlsProxy> {
  const upstream = http2.connect(`http://${target}`);
  upstream.on('error', () => undefined);
  let refused = 0;
  const server = http2.createSecureServer({
    key: readFileSync(certs.serverKey), cert: readFileSync(certs.serverCert),
    ...(opts.mtls ? { requestCert: true, rejectUnauthorized: true, ca: [readFileSync(certs.caCert)] } : {}),
  });
  server.on('stream', (stream, headers) => {
    if (opts.apiKey !== undefined && headers.authorization !== `Bearer ${opts.apiKey}`) {
      refused++;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'invalid API key' }, { endStream: true });
      return;
    }
    const call = upstream.request({ ':method': headers[':method'], ':path': headers[':path'], ...forwardable(headers) });
    let trailers: OutgoingHttpHeaders = {};
    call.on('response', (h) => {
      // A trailers-only answer (an error) ends with its headers.
      if (h['grpc-status'] !== undefined) stream.respond({ ':status': h[':status'] ?? 200, ...forwardable(h) }, { endStream: true });
      else stream.respond({ ':status': h[':status'] ?? 200, ...forwardable(h) }, { waitForTrailers: true });
    });
    call.on('trailers', (t) => (trailers = forwardable(t)));
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    call.on('data', (d) => { if (!stream.destroyed && !stream.closed) stream.write(d); });
    call.on('end', () => { if (!stream.destroyed && !stream.closed) stream.end(); });
    call.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    stream.on('data', (d) => call.write(d));
    stream.on('end', () => call.end());
    stream.on('error', () => call.close(http2.constants.NGHTTP2_CANCEL));
    stream.on('close', () => { if (!call.closed) call.close(http2.constants.NGHTTP2_CANCEL); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    refused: () => refused,
    close: async () => {
      upstream.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A temporal.toml with one profile, as `temporal config set` writes it. */
export function writeProfile(dir: string, profile: string, fields: { address: string; namespace?: string; apiKey?: string; caCert?: string; clientCert?: string; clientKey?: string }): string {
  const file = join(dir, 'temporal.toml');
  const q = (s: string): string => JSON.stringify(s);
  writeFileSync(file, [
    `[profile.${profile}]`,
    `address = ${q(fields.address)}`,
    `namespace = ${q(fields.namespace ?? 'default')}`,
    ...(fields.apiKey ? [`api_key = ${q(fields.apiKey)}`] : []),
    `[profile.${profile}.tls]`,
    ...(fields.caCert ? [`server_ca_cert_path = ${q(fields.caCert)}`] : []),
    ...(fields.clientCert ? [`client_cert_path = ${q(fields.clientCert)}`] : []),
    ...(fields.clientKey ? [`client_key_path = ${q(fields.clientKey)}`] : []),
    '',
  ].join('\n'));
  return file;
}
