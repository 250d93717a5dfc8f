// The Cloud Migration Management page in a browser (`cm ui`): a small HTTP server on the operator's
// machine that serves the page (ui/, bundled into dist/ui by scripts/build-ui.mjs) and answers it from
// the tenant workflows only, through the same queries and updates as the CLI and the Temporal UI. So
// the three stay equivalent, and every action is in the workflow's history with who and why.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { UserFacingError } from '../lib/errors';
import type { TableFilter, TableStatus } from '../lib/types';
import {
  applyHotfix, disableCloudMigration, exportToDataLake, getSummary, getTablePage, listTenants, rerunDetailSnapshot, resetCloudData, resolveUpgrade,
  resyncTables, runDataUpgradeNow, runMigrationNow, setReplicationSchedule, setupChecklist, verifyNow,
} from './operations';

export interface UiServer {
  url: string;
  close(): Promise<void>;
}

/** Where the built page is: dist/ui, beside this file's compiled form (dist/client) or under the repository. */
export const UI_ASSETS = [join(__dirname, '..', 'ui'), join(__dirname, '..', 'dist', 'ui')].find((d) => existsSync(join(d, 'app.js'))) ?? join(__dirname, '..', 'ui');

type Body = Record<string, unknown>;
type Who = { requestedBy: string; reason?: string };

class BadRequest extends Error {}

const text = (b: Body, field: string, what: string): string => {
  const v = b[field];
  if (typeof v !== 'string' || v.trim() === '') throw new BadRequest(`${what} is required`);
  return v.trim();
};

/** The actions of the seed's page: each one update of the tenant's workflow. */
const ACTIONS: Record<string, (client: Client, tenant: string, body: Body, who: Who) => Promise<unknown>> = {
  run: (c, t, _b, who) => runMigrationNow(c, t, who),
  verify: (c, t, b, who) => verifyNow(c, t, { ...who, repair: b.repair === true }),
  upgrade: (c, t, b, who) => runDataUpgradeNow(c, t, { ...who, ...(typeof b.to === 'string' && b.to.trim() ? { to: b.to.trim() } : {}) }),
  resolve: (c, t, b, who) => resolveUpgrade(c, t, { ...who, action: text(b, 'action', 'the decision (inspect, retry or release)') as 'inspect' | 'retry' | 'release' }),
  hotfix: (c, t, b, who) => applyHotfix(c, t, { ...who, name: text(b, 'name', 'the hotfix name'), sql: text(b, 'sql', 'the hotfix SQL') }),
  snapshot: (c, t, _b, who) => rerunDetailSnapshot(c, t, who),
  lake: (c, t, b, who) => exportToDataLake(c, t, {
    ...who,
    ...(typeof b.to === 'string' && b.to.trim() ? { to: b.to.trim() } : {}),
    ...(typeof b.companies === 'string' && b.companies.trim() ? { companies: b.companies.split(/[\s,]+/).filter(Boolean) } : {}),
    ...(b.historyOnly === true ? { historyOnly: true } : {}),
  }),
  resync: (c, t, b, who) => resyncTables(c, t, { ...who, tables: text(b, 'tables', 'the tables to resync').split(/[\s,]+/).filter(Boolean) }),
  schedule: (c, t, b, who) => {
    if (b.off === true) return setReplicationSchedule(c, t, { ...who, schedule: null });
    const at = text(b, 'at', 'the time (HH:MM, UTC)');
    if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(at)) throw new BadRequest(`the time must be HH:MM in UTC, such as 02:30 (got '${at}')`);
    const weekday = typeof b.weekday === 'string' && b.weekday ? b.weekday.toLowerCase() : undefined;
    return setReplicationSchedule(c, t, { ...who, schedule: weekday ? { frequency: 'weekly', weekday: weekday as never, at } : { frequency: 'daily', at } });
  },
  // The destructive ones need the tenant's name typed, as a person confirms it.
  reset: (c, t, b, who) => {
    confirmed(t, b, 'Reset Cloud Data empties every target table');
    return resetCloudData(c, t, { ...who, confirm: true });
  },
  disable: (c, t, b, who) => {
    confirmed(t, b, 'Disable Cloud Migration cannot be undone');
    return disableCloudMigration(c, t, { ...who, skipFinalRun: b.skipFinalRun === true, skipVerification: b.skipVerification === true });
  },
};

function confirmed(tenant: string, b: Body, what: string): void {
  if (b.confirm !== tenant) throw new BadRequest(`${what}: type the tenant's name (${tenant}) to confirm`);
}

const url0 = (req: IncomingMessage): URL => new URL(req.url ?? '/', 'http://localhost');

/** The request comes from the page itself: no Origin (a same-origin GET or a tool), or this very host. */
function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false; // "null" (a sandboxed or file page) and anything unparsable
  }
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json; charset=utf-8'): void {
  const data = type.startsWith('application/json') ? JSON.stringify(body) : (body as string | Buffer);
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(data);
}

async function readBody(req: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1024 * 1024) throw new BadRequest('the request is larger than 1 MiB');
    chunks.push(chunk as Buffer);
  }
  if (chunks.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Body;
  } catch {
    // answered below
  }
  throw new BadRequest('the request body must be a JSON object');
}

const STATUSES = new Set<TableStatus>(['Failed', 'Warning', 'Not Migrated', 'In Progress', 'Not Started', 'Successful']);

function filterOf(q: URLSearchParams): TableFilter & { page: number } {
  const status = q.get('status') ?? undefined;
  if (status && !STATUSES.has(status as TableStatus)) throw new BadRequest(`unknown table status '${status}'`);
  const page = Number(q.get('page') ?? 1);
  if (!Number.isInteger(page) || page < 1) throw new BadRequest(`page must be a whole number of at least 1 (got '${q.get('page')}')`);
  return { company: q.get('company') || undefined, status: status as TableStatus | undefined, table: q.get('table') || undefined, page };
}

export async function startUiServer(client: Client, opts: { port?: number; host?: string; operator: string }): Promise<UiServer> {
  const host = opts.host ?? '127.0.0.1';
  const page = (file: string): Buffer => readFileSync(join(UI_ASSETS, file));
  if (!existsSync(join(UI_ASSETS, 'app.js'))) throw new UserFacingError(`the page is not built (${UI_ASSETS}/app.js is missing): run \`npm run build\``);

  const allowedHosts = new Set<string>();
  let token: string | undefined;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Only requests addressed to this server by a name it answers to: a page on another site whose
    // name was rebound to this machine (DNS rebinding) sends its own name as Host, and is refused.
    if (!allowedHosts.has(String(req.headers.host).toLowerCase())) return send(res, 403, { error: `this server answers only as ${[...allowedHosts].join(', ')}` });
    if (token && url0(req).pathname.startsWith('/api/') && req.headers['x-cm-token'] !== token) {
      return send(res, 401, { error: 'open the address cm ui printed (it carries the access token)' });
    }
    const url = url0(req);
    const path = url.pathname;
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) return send(res, 200, page('index.html'), 'text/html; charset=utf-8');
    if (req.method === 'GET' && path === '/app.js') return send(res, 200, page('app.js'), 'text/javascript; charset=utf-8');
    if (req.method === 'GET' && path === '/app.css') return send(res, 200, page('app.css'), 'text/css; charset=utf-8');
    if (req.method === 'GET' && path === '/api/tenants') return send(res, 200, await listTenants(client, url.searchParams.get('all') === '1'));

    const m = /^\/api\/tenants\/([^/]+)(?:\/([a-z-]+))?$/.exec(path);
    if (!m) return send(res, 404, { error: `no such page: ${path}` });
    let tenant: string;
    try {
      tenant = decodeURIComponent(m[1]);
    } catch {
      throw new BadRequest(`the tenant in ${path} is not a valid URL component`);
    }
    const what = m[2];
    if (req.method === 'GET') {
      if (!what) return send(res, 200, await getSummary(client, tenant));
      if (what === 'tables') return send(res, 200, await getTablePage(client, tenant, filterOf(url.searchParams)));
      if (what === 'checklist') return send(res, 200, await setupChecklist(client, tenant));
      return send(res, 404, { error: `no such page: ${path}` });
    }
    if (req.method !== 'POST' || !what || !Object.hasOwn(ACTIONS, what)) return send(res, 404, { error: `no such action: ${req.method} ${path}` });
    // Only the page itself may act: a JSON body (which a form on another site cannot send without
    // asking first) from this very origin.
    if (!String(req.headers['content-type']).startsWith('application/json') || !sameOrigin(req.headers.origin, req.headers.host)) {
      return send(res, 403, { error: 'actions are accepted only from the page itself' });
    }
    const body = await readBody(req);
    const reason = typeof body.reason === 'string' && body.reason.trim() ? body.reason.trim() : undefined;
    const who: Who = { requestedBy: `${opts.operator} (browser)`, ...(reason ? { reason } : {}) };
    return send(res, 200, { result: await ACTIONS[what](client, tenant, body, who) });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof BadRequest) return send(res, 400, { error: err.message });
      if (err instanceof UserFacingError) return send(res, 409, { error: err.message });
      if (err instanceof WorkflowNotFoundError) return send(res, 404, { error: `no tenant of that name: ${err.workflowId}` });
      send(res, 500, { error: err instanceof Error ? err.message : String(err) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const loopback = ['127.0.0.1', 'localhost', '::1'].includes(host);
  for (const name of loopback ? ['127.0.0.1', 'localhost', '[::1]'] : [host.includes(':') ? `[${host}]` : host]) allowedHosts.add(`${name}:${port}`.toLowerCase());
  // Reachable from other machines: every request must carry a token only the printed address has.
  if (!loopback) token = randomBytes(18).toString('base64url');
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/${token ? `?token=${token}` : ''}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
