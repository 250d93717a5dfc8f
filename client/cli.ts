// `cm`: the operator's command line. Every command that acts on a tenant is one Temporal client
// call from ./operations; this file only parses arguments and prints.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Client } from '@temporalio/client';
import { SERVICE_VERSION } from '../lib/constants';
import { temporalSettings } from '../lib/env';
import { UserFacingError } from '../lib/errors';
import { PATHS_REFUSED, VERSION_PATTERN } from '../lib/upgrade-versions';
import { lakeNameRefusal } from '../lib/lake';
import { checkNamespace, connectClient } from '../lib/temporal-connection';
import type { CopySettings, TableFilter } from '../lib/types';
import type { RunStarted } from '../workflows/messages';
import { PROBLEM_STATUSES } from '../lib/table-pages';
import {
  applyHotfix, checkForUpdate, configureCompanies, createTenant, disableCloudMigration, getAllTables, getSummary, getTablePage, listTenants, rejectionReasons, rerunDetailSnapshot, resyncTables, resetCloudData, resetRuntimeServiceKey,
  exportToDataLake, waitForLakeExport, resolveUpgrade, runDataUpgradeNow, runMigrationNow, runtimeKeyInfo, runtimeKeyRollout, setReplicationSchedule, setupChecklist, updateService, verifyNow, waitForRun, waitForUpgrade, waitForVerification,
} from './operations';
import { keyId, newKey, RuntimeKeyFiles } from '../activities/runtime-key';
import { buildAudit, renderAuditMarkdown, renderAuditText } from './audit';
import { fitLines, outputWidth } from './fit';
import { ProgressView } from './progress';
import { renderChecklist, renderCompanies, renderLakeExports, renderSetup, renderStatus, renderTenantList, renderUpgrades, renderVerification, type ListedTables } from './render';

const operator = (): string => {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
};

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const settings = temporalSettings();
  const client = await connectClient(settings, `cm-cli:${operator()}@${hostname()}`);
  try {
    await checkNamespace(client, settings);
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

/**
 * While a --wait follows work on the workers, Ctrl-C stops only the following: the work goes on, and
 * the operator is told so, and where to look (exit code 130, as for any interrupted command).
 */
async function following<T>(what: string, tenant: string, wait: () => Promise<T>, onStop: () => void = () => undefined): Promise<T> {
  const stop = (): void => {
    onStop();
    process.stderr.write(`\nStopped following ${what}: it goes on on the workers. See it with: cm status ${tenant}\n`);
    process.exit(130);
  };
  process.once('SIGINT', stop);
  try {
    return await wait();
  } finally {
    process.removeListener('SIGINT', stop);
  }
}

/** --json: the command's result as JSON, instead of the text. */
function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Human output, fitted to the terminal's width (fit.ts). A page taller than the terminal goes through
 * a pager ($CM_PAGER, else $PAGER, else `less -FRX`) when `pager` is set and stdout is a terminal;
 * `--no-pager` or CM_PAGER= (empty) turns that off.
 */
async function show(text: string, pager = false): Promise<void> {
  const fitted = fitLines(text, outputWidth());
  const command = process.env.CM_PAGER ?? process.env.PAGER ?? 'less -FRX';
  if (!pager || !command || !process.stdout.isTTY || fitted.split('\n').length < (process.stdout.rows ?? Infinity)) {
    process.stdout.write(fitted);
    return;
  }
  await new Promise<void>((resolve) => {
    const child = spawn(command, { shell: true, stdio: ['pipe', 'inherit', 'inherit'] });
    child.on('error', () => {
      process.stdout.write(fitted); // no such pager: print it all
      resolve();
    });
    child.on('close', () => resolve());
    child.stdin.on('error', () => undefined); // the reader quit the pager before the end
    child.stdin.end(fitted);
  });
}

/** --wait: progress bars until the run ends (with --json, the run's log entry at the end); exit code 1 unless it completed. */
async function followRun(client: Client, tenant: string, started: RunStarted, json = false): Promise<void> {
  const view = json ? undefined : new ProgressView(process.stdout);
  const entry = await following(`run #${started.run}`, tenant, () => waitForRun(client, tenant, started, (p) => view?.update(p)), () => view?.stop()).finally(() => view?.stop());
  if (entry.status !== 'Completed') process.exitCode = 1;
  if (json) return printJson({ ...started, entry });
  process.stdout.write(`Run #${entry.run} ${entry.status}: ${entry.tablesDone} tables, ${entry.rows.toLocaleString('en-US')} rows${entry.failure ? ` (${entry.failure})` : ''}\n`);
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

/** `src` or `src=dst` → a company mapping (the target defaults to <tenant>_<src>). */
export function parseCompany(value: string): { source: string; target?: string } {
  const [source, target, extra] = value.split('=');
  if (!source || extra !== undefined || target === '') throw new InvalidArgumentError(`expected <sourceSchema>[=<targetSchema>], got '${value}'`);
  return target ? { source, target } : { source };
}

function yearOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1900 || n > 2200) throw new InvalidArgumentError('expected a year such as 2020');
  return n;
}

/** Company configuration options, applied to every --company of the command. */
function withCompanySettings(cmd: Command): Command {
  return cmd
    .option('--include <pattern>', 'migrate only tables matching this pattern, * and ? allowed (repeatable)', collect)
    .option('--exclude <pattern>', 'never migrate tables matching this pattern (repeatable); they show as Not Migrated', collect)
    .option('--oldest-year <yyyy>', 'historical transactions dated before this year stay on-premises', yearOption)
    .option('--history-table <pattern>', 'tables of historical transactions (repeatable; default *_entry, *_history, *_hist)', collect);
}

function companiesFrom(opts: { company: string[]; include?: string[]; exclude?: string[]; oldestYear?: number; historyTable?: string[] }) {
  return opts.company.map((c) => ({
    ...parseCompany(c),
    ...(opts.include ? { includeTables: opts.include } : {}),
    ...(opts.exclude ? { excludeTables: opts.exclude } : {}),
    ...(opts.oldestYear !== undefined ? { oldestYear: opts.oldestYear } : {}),
    ...(opts.historyTable ? { historyTables: opts.historyTable } : {}),
  }));
}

export function buildProgram(): Command {
  const program = new Command('cm')
    .description('Durable cloud migration of on-premises MySQL companies into a cloud tenant, on Temporal.')
    // Usage errors end with exit code 2 (main), apart from failures (1); set before any subcommand, which inherits it.
    .exitOverride()
    .version(`cm ${packageVersion()} (workflow code ${SERVICE_VERSION})`, '-V, --version', 'print the version of cm and of the workflow code it starts')
    .showHelpAfterError('(add --help for usage)')
    .option('--address <host:port>', 'the Temporal frontend (overrides TEMPORAL_ADDRESS and the profile)')
    .option('--namespace <name>', 'the Temporal namespace (overrides TEMPORAL_NAMESPACE and the profile)')
    .option('--profile <name>', 'the temporal.toml profile to use (TEMPORAL_PROFILE; default "default")')
    // The flags become the environment variables @temporalio/envconfig reads (lib/env.ts), over the profile.
    .hook('preAction', (cmd) => {
      const o = cmd.opts<{ address?: string; namespace?: string; profile?: string }>();
      if (o.address) process.env.TEMPORAL_ADDRESS = o.address;
      if (o.namespace) process.env.TEMPORAL_NAMESPACE = o.namespace;
      if (o.profile) process.env.TEMPORAL_PROFILE = o.profile;
    })
    .addHelpText('after', '\nTemporal connection, as for the `temporal` CLI: the profile (--profile / TEMPORAL_PROFILE) of temporal.toml\n(TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml), then TEMPORAL_ADDRESS (127.0.0.1:7233),\nTEMPORAL_NAMESPACE (default), TEMPORAL_API_KEY, TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH / _SERVER_CA_CERT_PATH,\nTEMPORAL_TLS_SERVER_NAME over it, and --address / --namespace over those. Temporal Cloud: an API key, or mTLS.\nOther environment: CM_TASK_QUEUE (cloud-migration),\nMYSQL_URL (mysql://root@127.0.0.1:3306) and CM_CONN_<NAME>_URL for named connections (worker side).\n\nExit codes: 0 done; 1 the operation failed or was refused, or what --wait followed did not succeed; 2 a usage error (unknown command or option, a missing argument or confirmation); 130 interrupted (Ctrl-C: work already started goes on).');

  const tenant = program.command('tenant').description('create and configure tenants');
  withCompanySettings(tenant
    .command('create'))
    .description('create a tenant: starts its management workflow, which assesses the source, creates the target tables and installs change capture')
    .argument('<tenant>', 'tenant id (letters, digits, _ . -)')
    .requiredOption('-c, --company <src[=dst]>', 'a company: source schema, optionally =target schema (repeatable)', collect)
    .option('--source <connection>', 'source connection name (resolved by the worker)', 'local')
    .option('--target <connection>', 'target connection name (resolved by the worker)', 'local')
    .addOption(new Option('--capture <mode>', 'change capture: the binary log where the source allows it (auto), or force binlog or triggers').choices(['auto', 'binlog', 'triggers']).default('auto'))
    .option('--app-user <name>', 'an application account on the target, locked out during a data upgrade even before it has grants (repeatable)', collect)
    .option('--fence-exempt <account>', "an account the upgrade fence leaves alone, e.g. a DBA's: user or 'user'@'host' (repeatable)", collect)
    .option('--concurrency <n>', 'activities a run keeps in flight', positiveInt)
    .option('--reason <text>', 'why, for the audit trail')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, opts) => {
      const copy: Partial<CopySettings> = opts.concurrency ? { concurrency: opts.concurrency } : {};
      await withClient(async (client) => {
        const { created, status } = await createTenant(client, temporalSettings().taskQueue, {
          tenant: name,
          companies: companiesFrom(opts),
          sourceConnection: opts.source,
          targetConnection: opts.target,
          captureMode: opts.capture,
          appUsers: opts.appUser ?? [],
          fenceExemptAccounts: opts.fenceExempt ?? [],
          copy,
          requestedBy: operator(),
          reason: opts.reason,
        });
        if (status.status === 'Setup Failed') process.exitCode = 1;
        if (opts.json) return printJson({ created, status });
        process.stdout.write(created ? `Tenant ${name} created.\n` : `Tenant ${name} already exists.\n`);
        await show(renderSetup(status));
      });
    });

  tenant
    .command('list')
    .description('the tenants: each running tenant with its status and phase (from its search attributes; cm status <tenant> for the page)')
    .option('--all', 'also the tenants whose cloud migration was disabled or whose workflow ended')
    .option('--json', 'print the tenants as JSON')
    .action(async (opts) => {
      await withClient(async (client) => {
        const tenants = await listTenants(client, !!opts.all);
        if (opts.json) return printJson(tenants);
        await show(renderTenantList(tenants));
      });
    });

  withCompanySettings(tenant
    .command('companies'))
    .description('Company configuration: set the companies of a tenant (re-runs setup for new ones)')
    .argument('<tenant>')
    .requiredOption('-c, --company <src[=dst]>', 'a company (repeatable)', collect)
    .option('--reason <text>', 'why, for the audit trail')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, opts) => {
      await withClient(async (client) => {
        const companies = await configureCompanies(client, name, { companies: companiesFrom(opts), requestedBy: operator(), reason: opts.reason });
        if (opts.json) return printJson(companies);
        await show(`Companies of ${name}:\n${renderCompanies(companies)}`);
      });
    });

  program
    .command('run')
    .description('Run Migration Now: the first run copies everything, later runs only the changes')
    .argument('<tenant>')
    .option('-w, --wait', 'show progress until the run ends; exit 0 when it completed (even with warnings), 1 when it failed')
    .option('--reason <text>', 'why, for the audit trail')
    .option('--json', 'print the started run as JSON (with --wait: and its log entry when it ended)')
    .action(async (name: string, opts) => {
      await withClient(async (client) => {
        const started = await runMigrationNow(client, name, { requestedBy: operator(), reason: opts.reason });
        if (opts.json && !opts.wait) return printJson(started);
        if (!opts.json) process.stdout.write(`Run #${started.run} started (${started.kind === 'full' ? 'full copy' : 'changes only'}): ${started.workflowId}\n`);
        if (opts.wait) await followRun(client, name, started, !!opts.json);
      });
    });

  program
    .command('snapshot')
    .description('Rerun Detail Snapshot: empty the historical tables on the target and copy them again by each company\'s oldest year')
    .argument('<tenant>')
    .option('-w, --wait', 'show progress until the run ends; exit 1 when it failed')
    .option('--reason <text>', 'why, for the audit trail')
    .option('--json', 'print the started run as JSON (with --wait: and its log entry when it ended)')
    .action(async (name: string, opts) => {
      await withClient(async (client) => {
        const started = await rerunDetailSnapshot(client, name, { requestedBy: operator(), reason: opts.reason });
        if (opts.json && !opts.wait) return printJson(started);
        if (!opts.json) process.stdout.write(`Rerun Detail Snapshot: ${started.tables} historical tables emptied; run #${started.run} copies them again: ${started.workflowId}\n`);
        if (opts.wait) await followRun(client, name, started, !!opts.json);
      });
    });

  program
    .command('resync')
    .description("Resync: rebuild tables from the source: each target table made again from the source's definition and copied in full, in a run started now")
    .argument('<tenant>')
    .argument('<tables...>', 'table names, schema.table, or patterns with * and ?')
    .option('-w, --wait', 'show progress until the run ends; exit 1 when it failed')
    .option('--json', 'print the started run as JSON')
    .option('--reason <text>', 'why, for the audit trail')
    .action(async (name: string, tables: string[], opts) => {
      await withClient(async (client) => {
        const started = await resyncTables(client, name, { tables, requestedBy: operator(), reason: opts.reason });
        if (opts.json && !opts.wait) return printJson(started);
        if (!opts.json) process.stdout.write(`Resync of ${tables.join(', ')}: run #${started.run} rebuilds them from the source: ${started.workflowId}\n`);
        if (opts.wait) await followRun(client, name, started, !!opts.json);
      });
    });

  const lake = program.command('lake').description('Azure Data Lake: the migrated tables, or the historical rows kept out of the cloud tenant, as Parquet files');
  lake
    .command('export')
    .description('Export every company\'s migrated tables (or, with --history-only, the rows older than its oldest year) as Parquet files with a manifest; later exports write only what changed')
    .argument('<tenant>')
    .option('--to <name>', 'a destination named on the workers: CM_LAKE_<NAME>_URI=s3://bucket/prefix or a folder (default: CM_LAKE_URI, else ~/.local/share/cm/lake on the worker); S3 endpoint and keys are the worker\'s (CM_LAKE_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)')
    .option('--company <source>', 'only this company (its source schema; repeatable)', collect)
    .option('--history-only', 'the historical rows each company\'s oldest year keeps out of the cloud tenant, instead of the migrated tables')
    .option('--detach', 'return once the export has started; follow it with `cm status`')
    .option('--json', 'print the result as JSON')
    .option('--reason <text>', 'why, for the audit trail')
    .addHelpText('after', [
      '',
      'Layout: <destination>/<tenant>/<migrated|history>/manifest.json, data/<company>/<table>/<export>-<part>.parquet.',
      'The manifest lists each table\'s files, row count, checksums and source position, and a DuckDB query of its current state.',
      'Exit code: 0 when the export completed, 1 when it failed.',
    ].join('\n'))
    .action(async (name: string, opts, cmd: Command) => {
      // A usage error, before anything is sent: the request names the destination, the worker knows where it is.
      const refusal = opts.to === undefined ? undefined : lakeNameRefusal(opts.to);
      if (refusal) cmd.error(`error: --to '${opts.to}': ${refusal}`);
      await withClient(async (client) => {
        const started = await exportToDataLake(client, name, {
          requestedBy: operator(), reason: opts.reason, ...(opts.to ? { to: opts.to } : {}), ...(opts.company ? { companies: opts.company } : {}),
          ...(opts.historyOnly ? { historyOnly: true } : {}),
        });
        if (opts.detach) {
          if (opts.json) return printJson(started);
          process.stdout.write(`Data lake export of ${started.kind === 'history' ? 'the historical rows' : 'the migrated tables'} of ${started.companies.join(', ')} started: ${started.workflowId}\n`);
          return;
        }
        if (!opts.json) process.stdout.write(`Data lake export of ${started.kind === 'history' ? 'the historical rows' : 'the migrated tables'} of ${started.companies.join(', ')}: ${started.workflowId}\n`);
        // A bar on a terminal: tables exported, and what they wrote.
        const bar = process.stdout.isTTY && !opts.json
          ? new SingleBar({ format: ' {bar} {percentage}% | {value}/{total} tables | {rows} rows, {deletes} deletes written', hideCursor: true, stream: process.stdout }, Presets.shades_classic)
          : undefined;
        let barStarted = false;
        const entry = await following('the data lake export', name, () => waitForLakeExport(client, name, started, bar && ((p) => {
          const payload = { rows: p.rowsWritten, deletes: p.deletesWritten };
          if (!barStarted) bar.start(Math.max(p.tables, 1), p.done, payload);
          barStarted = true;
          bar.setTotal(Math.max(p.tables, 1));
          bar.update(p.done, payload);
        })), () => bar?.stop());
        // The last poll may come before the end: the bar shows what the export did.
        if (barStarted && entry.tables !== undefined) {
          bar!.setTotal(Math.max(entry.tables, 1));
          bar!.update(entry.tables, { rows: entry.rowsWritten ?? 0, deletes: entry.deletesWritten ?? 0 });
        }
        bar?.stop();
        if (opts.json) printJson(entry);
        else if (entry.status === 'Completed') {
          process.stdout.write(`Export #${entry.number} completed: ${entry.tables} tables, ${entry.rowsWritten} rows and ${entry.deletesWritten} deletes written; the lake holds ${entry.rows} rows.\n`);
          process.stdout.write(`Manifest: ${entry.destination?.replace(/\/$/, '')}/${name}/${entry.kind}/manifest.json\n`);
        } else process.stdout.write(`The export failed: ${entry.failure}\n`);
        if (entry.status !== 'Completed') process.exitCode = 1;
      });
    });
  lake
    .command('list')
    .description('The tenant\'s data lake exports, newest first')
    .argument('<tenant>')
    .option('--json', 'print them as JSON')
    .action(async (name: string, opts) => {
      await withClient(async (client) => {
        const list = (await getSummary(client, name)).lakeExports ?? [];
        if (opts.json) return printJson(list);
        process.stdout.write(renderLakeExports(list, 20) || 'No data lake export yet (`cm lake export <tenant>`).\n');
      });
    });

  program
    .command('verify')
    .description('Verify the target against its source, table by table in checksummed key-range chunks (rows travel only where a chunk differs), definitions too; --repair makes every differing row equal to the source')
    .argument('<tenant>')
    .option('--company <source>', 'only this company (its source schema)')
    .option('--table <pattern>', 'only tables matching this name or pattern (* and ?)')
    .option('--repair', 'make each differing row equal to the source, the way a change is applied, and record it')
    .option('--json', 'print the result as JSON')
    .option('--reason <text>', 'why, for the audit trail')
    .option('--no-pager', 'print straight to the terminal, not through a pager (see `cm status --help`)')
    .addHelpText('after', '\nExit code: 0 when every compared table is equal to its source at the end (rows the target rejected, e.g. zero dates, are listed with their reason), 1 when differences remain or a table could not be compared.')
    .action(async (name: string, opts) => {
      await withClient(async (client) => {
        const started = await verifyNow(client, name, { requestedBy: operator(), reason: opts.reason, company: opts.company, table: opts.table, repair: opts.repair === true });
        if (!opts.json) process.stdout.write(`Verification #${started.number} of ${started.tables} tables started${opts.repair ? ' (with repair)' : ''}: ${started.workflowId}\n`);
        let last = -1;
        const result = await following(`verification #${started.number}`, name, () => waitForVerification(client, name, started, opts.json ? undefined : (p) => {
          if (p.done !== last && process.stdout.isTTY) process.stdout.write(`\r  ${(last = p.done)}/${p.tables} tables compared`);
        }));
        if (!opts.json && last >= 0 && process.stdout.isTTY) process.stdout.write('\n');
        const reasons = await rejectionReasons(client, name);
        if (opts.json) printJson(result);
        else await show(renderVerification(result, reasons), opts.pager);
        if (result.status !== 'Equal') process.exitCode = 1;
      });
    });

  program
    .command('upgrade')
    .description('Run Data Upgrade Now: check the steps of the next data version (or --to), fence the tenant, take a restore point, run the steps, release; restore automatically on failure')
    .argument('<tenant>')
    .option('--to <version>', 'the data version to upgrade to, such as 2.0: the steps in the folder <from>-<version> under the worker\'s upgrades root (CM_UPGRADES_DIR, default upgrades/); default: the next version')
    .addOption(new Option('--steps <dir>', 'no longer accepted: name a version with --to').hideHelp())
    .option('-w, --wait', 'show the phases until the upgrade ends; exit 0 when it completed, 1 when it failed (and was restored, or was refused before the fence)')
    .option('--cancel', 'cancel the running upgrade instead: it restores the restore point and releases the fence')
    .addOption(new Option('--resolve <action>', 'an upgrade whose restore could not be verified keeps the fence up until an operator decides: inspect (what differs), retry (verify and restore again, then release), release (after a manual check; needs --reason)').choices(['inspect', 'retry', 'release']))
    .option('--reason <text>', 'why, for the audit trail')
    .option('--json', 'print the result as JSON (with --wait: the upgrade\'s entry when it ended)')
    .action(async (name: string, opts, cmd: Command) => {
      // A usage error, before anything is sent: the worker reads steps only from its own upgrades root.
      if (opts.steps !== undefined) cmd.error(`error: --steps is refused: ${PATHS_REFUSED}`);
      if (opts.to !== undefined && !VERSION_PATTERN.test(opts.to)) cmd.error(`error: --to takes a version such as 2.0 (digits and dots), got '${opts.to}'; ${PATHS_REFUSED}`);
      await withClient(async (client) => {
        if (opts.resolve) {
          const resolved = await resolveUpgrade(client, name, { action: opts.resolve, requestedBy: operator(), reason: opts.reason });
          if (opts.resolve === 'retry' && !resolved.fenceReleased) process.exitCode = 1;
          if (opts.json) return printJson(resolved);
          process.stdout.write(`${resolved.outcome}\n${resolved.fenceReleased ? 'The fence is down: status Upgrade Pending.' : 'The fence stays up.'}\n`);
          return;
        }
        if (opts.cancel) {
          const running = (await getSummary(client, name)).upgrades.find((u) => u.status === 'In Progress');
          if (!running) throw new UserFacingError(`no data upgrade of ${name} is in progress`);
          await client.workflow.getHandle(running.workflowId).cancel();
          if (opts.json) return printJson({ cancelRequested: running.workflowId });
          process.stdout.write(`Cancellation requested for ${running.workflowId}: it restores, then releases the fence.\n`);
          return;
        }
        const started = await runDataUpgradeNow(client, name, { requestedBy: operator(), reason: opts.reason, ...(opts.to ? { to: opts.to } : {}) });
        if (opts.json && !opts.wait) return printJson(started);
        if (!opts.json) process.stdout.write(`Data upgrade #${started.number} started: ${started.workflowId}\n`);
        if (!opts.wait) return;
        let last = '';
        const entry = await following(`data upgrade #${started.number}`, name, () => waitForUpgrade(client, name, started, opts.json ? undefined : (p) => {
          const line = `  ${p.phase}${p.currentStep ? `: ${p.currentStep}` : ''}${p.plan ? ` (${p.stepsDone.length}/${p.plan.steps.length} steps of ${p.plan.version})` : ''}`;
          if (line !== last) process.stdout.write(`${(last = line)}\n`);
        }));
        if (entry.status !== 'Complete') process.exitCode = 1;
        if (opts.json) return printJson(entry);
        if (entry.status === 'Complete') {
          process.stdout.write(`Upgrade completed successfully: data version ${entry.from} → ${entry.to}\n`);
        } else {
          const after = entry.refused
            ? 'Nothing changed: the fence was never raised; status is back to Upgrade Pending.'
            : entry.restored === false
            ? 'The restore could NOT be verified: the fence stays up and everyone stays out until an operator has compared the target with the restore point.'
            : 'The restore point was restored; status is back to Upgrade Pending.';
          process.stdout.write(`Upgrade failed${entry.failedStep ? ` at step ${entry.failedStep}` : ''}: ${entry.error}\n${after} Stack trace: cm status ${name} --upgrades\n`);
          process.exitCode = 1;
        }
      });
    });

  const hotfix = program.command('hotfix').description('hotfixes on the target (refused while an upgrade holds the fence)');
  hotfix
    .command('apply')
    .description('apply a SQL file to the tenant\'s target schemas and record it')
    .argument('<tenant>')
    .argument('<file.sql>')
    .option('--schema <name>', 'only this target schema (repeatable; default: every company\'s target schema)', collect)
    .option('--name <name>', 'name in the hotfix log (default: the file name)')
    .option('--reason <text>', 'why, for the audit trail')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, file: string, opts) => {
      let sql: string;
      try {
        sql = readFileSync(file, 'utf8');
      } catch (err) {
        throw new UserFacingError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      await withClient(async (client) => {
        const out = await applyHotfix(client, name, {
          name: opts.name ?? basename(file).replace(/\.sql$/i, ''), sql, schemas: opts.schema, requestedBy: operator(), reason: opts.reason,
        });
        if (opts.json) return printJson(out);
        process.stdout.write(`Hotfix ${out.name} applied to ${out.applied.join(', ') || 'no schema'}${out.skipped.length ? `; already on ${out.skipped.join(', ')}` : ''}\n`);
      });
    });

  program
    .command('reset')
    .description('Reset Cloud Data: empty every migrated table of the target; the next run copies everything again')
    .argument('<tenant>')
    .option('--confirm', 'required: yes, empty the target')
    .option('--reason <text>', 'why, for the audit trail')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, opts, cmd: Command) => {
      // A usage error, said in the CLI's terms; the update's own refusal names the JSON field instead.
      if (!opts.confirm) cmd.error('error: reset refused: Reset Cloud Data empties every migrated table of the target: add --confirm to go ahead');
      await withClient(async (client) => {
        const out = await resetCloudData(client, name, { confirm: !!opts.confirm, requestedBy: operator(), reason: opts.reason });
        if (opts.json) return printJson(out);
        process.stdout.write(`Target of ${name} emptied: ${out.tablesEmptied} tables, ${out.rowsDeleted.toLocaleString('en-US')} rows. The next run is a full copy.\n`);
      });
    });

  program
    .command('schedule')
    .description('replication schedule (a Temporal Schedule requesting Run Migration Now): daily or weekly, times in UTC')
    .argument('<tenant>')
    .option('--daily <HH:MM>', 'every day at this UTC time')
    .option('--weekly <day@HH:MM>', 'every week, e.g. sunday@03:30')
    .option('--off', 'remove the schedule')
    .option('--reason <text>', 'why, for the audit trail')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, opts) => {
      const chosen = [opts.daily, opts.weekly, opts.off].filter((v) => v !== undefined).length;
      if (chosen !== 1) throw new UserFacingError('choose exactly one of --daily HH:MM, --weekly day@HH:MM, --off');
      const [weekday, at] = opts.weekly ? String(opts.weekly).toLowerCase().split('@') : [undefined, opts.daily];
      const schedule = opts.off ? null : opts.weekly ? { frequency: 'weekly' as const, weekday: weekday as never, at } : { frequency: 'daily' as const, at };
      await withClient(async (client) => {
        const described = await setReplicationSchedule(client, name, { schedule, requestedBy: operator(), reason: opts.reason });
        const next = (await getSummary(client, name)).tiles.nextScheduledRun;
        if (opts.json) return printJson({ schedule: described, nextScheduledRun: next });
        process.stdout.write(`Replication schedule of ${name}: ${described}${next ? ` (next run ${next})` : ''}\n`);
      });
    });

  program
    .command('disable')
    .description('Disable Cloud Migration: checks nothing runs, the final run is done and a verification after it found no difference, removes change capture from the source, ends the tenant\'s workflow')
    .argument('<tenant>')
    .option('--skip-final-run', 'disable even though the latest run did not complete')
    .option('--skip-verification', 'disable without a verification after the final run (recorded)')
    .option('--confirm', 'required: disabling cannot be undone')
    .option('--reason <text>', 'why, for the audit trail')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, opts, cmd: Command) => {
      if (!opts.confirm) {
        cmd.error(`error: disabling ${name} cannot be undone: change capture is removed from the source and the tenant's workflow ends, so later changes are no longer migrated. Check \`cm status ${name}\` and \`cm checklist ${name}\` first, then run again with --confirm`);
      }
      await withClient(async (client) => {
        const out = await disableCloudMigration(client, name, {
          skipFinalRun: !!opts.skipFinalRun, skipVerification: !!opts.skipVerification, requestedBy: operator(), reason: opts.reason,
        });
        if (opts.json) return printJson(out);
        process.stdout.write(`Cloud migration of ${name} disabled at ${out.disabledAt}: change capture removed from ${out.captureRemoved} source tables; final run: ${out.finalRun}; verification: ${out.verification ?? 'not recorded'}.\n`);
      });
    });

  const key = program.command('key').description('the runtime service key that workers must present (Get / Reset Runtime Service Key)');
  key
    .command('get')
    .description('Get Runtime Service Key: print the tenant\'s key from this runtime host\'s key file, checked against the key id the tenant expects')
    .argument('<tenant>')
    .option('--id-only', 'print only the key id, issue time and holder (works from any machine)')
    .option('--json', 'print the key id, issue time and holder as JSON (never the key itself)')
    .action(async (name: string, opts) => {
      await withClient(async (client) => {
        await getSummary(client, name);
        const info = await runtimeKeyInfo(client, name);
        if (!info) throw new UserFacingError(`tenant ${name} has no runtime service key yet: it is issued when setup completes`);
        const held = new RuntimeKeyFiles().read(name);
        if (opts.json) return printJson(info);
        const about = `key ${info.keyId}, issued ${info.issuedAt}${info.issuedBy ? ` by ${info.issuedBy}` : ''}, held by runtime ${info.deliveredTo}`;
        if (opts.idOnly) {
          process.stdout.write(`Runtime service key of ${name}: ${about}\n`);
          return;
        }
        if (!held || keyId(held) !== info.keyId) {
          throw new UserFacingError(
            `this machine (${new RuntimeKeyFiles().runtimeName}) ${held ? `holds key ${keyId(held) ?? '(unrecognised)'}, not the current one` : 'holds no key'} for ${name}: the current ${about}. ` +
              `Run this command on ${info.deliveredTo}, or reset the key from here with: cm key reset ${name}`,
          );
        }
        process.stdout.write(`${held}\n`);
        process.stderr.write(`(${about}; keep it secret: give it to other runtimes in CM_RUNTIME_KEY or ${new RuntimeKeyFiles().path(name)})\n`);
      });
    });
  key
    .command('new')
    .description('print a fresh runtime service key: install it on every host serving the tenant (cm key install, or CM_RUNTIME_KEY), before setup')
    .action(() => {
      process.stdout.write(`${newKey()}\n`);
    });
  key
    .command('install')
    .description("install the tenant's key on this runtime host (read from stdin or --from-file): every host serving the tenant needs it")
    .argument('<tenant>')
    .option('--from-file <path>', 'read the key from this file instead of stdin')
    .action((name: string, opts) => {
      const text = (opts.fromFile ? readFileSync(opts.fromFile, 'utf8') : readFileSync(0, 'utf8')).trim();
      if (!keyId(text)) throw new UserFacingError('that is not a cm runtime key (cmk_<8 hex>_<43 characters>): print the current one with `cm key get <tenant>` on the host that holds it');
      const files = new RuntimeKeyFiles();
      files.write(name, text);
      process.stdout.write(`Installed key ${keyId(text)} for ${name} in ${files.path(name)}; the worker on this host presents it from its next activity.\n`);
    });
  key
    .command('reset')
    .description('Reset Runtime Service Key: a new key, written on the runtime host that executes the reset; the old key stays valid for the grace period so runs in flight go on')
    .argument('<tenant>')
    .option('--reason <text>', 'why, for the audit trail')
    .option('--grace <hours>', 'how long the old key stays valid (default 24); install the new key on every host meanwhile', (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0 || n > 720) throw new InvalidArgumentError('hours between 0 and 720');
      return n;
    })
    .option('--revoke-old', 'shut the old key out at once (a leaked key): hosts still holding it are refused from now on')
    .option('--json', 'print the key information as JSON')
    .action(async (name: string, opts) => {
      await withClient(async (client) => {
        const graceHours = opts.revokeOld ? 0 : opts.grace;
        const info = await resetRuntimeServiceKey(client, name, { requestedBy: operator(), reason: opts.reason, ...(graceHours !== undefined ? { graceHours } : {}) });
        if (opts.json) {
          return printJson(info);
        }
        process.stdout.write(
          `New runtime service key ${info.keyId} for ${name}, written on the runtime host ${info.deliveredTo}.\n` +
            (info.previous
              ? `The previous key ${info.previous.keyId} stays valid until ${info.previous.validUntil}: install the new one on every host ` +
                `(\`cm key get ${name}\` on ${info.deliveredTo}, \`cm key install ${name}\` on each), then \`cm key rollout ${name} --finish\`.\n`
              : `Hosts holding the old key are refused from now on. Print the new one on ${info.deliveredTo} with: cm key get ${name}\n`),
        );
      });
    });
  key
    .command('rollout')
    .description('which runtime hosts present which key (the last hour); --finish retires the previous key once no host presents it')
    .argument('<tenant>')
    .option('--finish', 'retire the previous key (refused while a host still presents it)')
    .option('--force', 'with --finish: retire it even so, shutting those hosts out')
    .option('--json', 'print the rollout as JSON')
    .action(async (name: string, opts) => {
      await withClient(async (client) => {
        const rollout = await runtimeKeyRollout(client, name, { requestedBy: operator(), finish: !!opts.finish, force: !!opts.force });
        if (opts.json) {
          return printJson(rollout);
        }
        const { key: k, hosts } = rollout;
        process.stdout.write(
          `Runtime service key of ${name}: ${k.keyId} (issued ${k.issuedAt} on ${k.deliveredTo})` +
            `${k.previous ? `; previous key ${k.previous.keyId} valid until ${k.previous.validUntil}` : '; no previous key is valid'}\n` +
            (hosts.length ? hosts.map((h) => `  ${h.name}: ${h.keyId ? `key ${h.keyId}` : 'no key'} (${h.verdict}), last seen ${h.lastSeen}\n`).join('') : '  no host presented a key in the last hour\n'),
        );
      });
    });

  program
    .command('version')
    .description('Check for Update: the workflow code version this tenant runs, next to the deployed one')
    .argument('<tenant>')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, opts) => {
      await withClient(async (client) => {
        await getSummary(client, name);
        const v = await checkForUpdate(client, name);
        if (opts.json) return printJson(v);
        process.stdout.write(`Running ${v.running}, deployed ${v.deployed}${v.updateAvailable ? ': an update is available (cm update <tenant>)' : ': up to date'}\n`);
      });
    });

  program
    .command('update')
    .description('Update: continue the tenant\'s workflow as new on the deployed code, carrying its whole page')
    .argument('<tenant>')
    .option('--reason <text>', 'why, for the audit trail')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, opts) => {
      await withClient(async (client) => {
        const v = await updateService(client, name, { requestedBy: operator(), reason: opts.reason });
        if (opts.json) return printJson(v);
        process.stdout.write(`Updating ${name} from ${v.running} to ${v.deployed}: it continues as new on the deployed code.\n`);
      });
    });

  program
    .command('audit')
    .description('the tenant\'s story from Temporal history: every action with who and why, every run and table, fences and restores')
    .argument('<tenant>')
    .addOption(new Option('--json', 'print the events as JSON').conflicts('md'))
    .option('--md', 'print a Markdown report')
    .option('--no-pager', 'print straight to the terminal, not through a pager (see `cm status --help`)')
    .action(async (name: string, opts) => {
      await withClient(async (client) => {
        const events = await buildAudit(client, name);
        if (opts.json) printJson(events);
        else if (opts.md) process.stdout.write(renderAuditMarkdown(name, events));
        else await show(renderAuditText(name, events), opts.pager);
      });
    });

  program
    .command('checklist')
    .description('Setup Checklist: what was not migrated and must be set up online, each with its reason')
    .argument('<tenant>')
    .option('--json', 'print the checklist as JSON')
    .action(async (name: string, opts) => {
      await withClient(async (client) => {
        await getSummary(client, name); // a clear message for an unknown tenant or a missing worker
        const items = await setupChecklist(client, name);
        if (opts.json) printJson(items);
        else await show(renderChecklist(items));
      });
    });

  program
    .command('status')
    .description('Refresh Status: the Cloud Migration Management page: tiles, table counts, migration log, the tables with problems first')
    .argument('<tenant>')
    .option('--json', 'print the status as JSON (with --all or a filter: and the tables listed)')
    .addOption(new Option('--tables <which>', 'which table rows to list: the problem tables, every table (in pages), or none').choices(['all', 'problems', 'none']).default('problems'))
    .option('--all', 'list every table (same as --tables all)')
    .option('--company <schema>', 'only the tables of this company (source schema)')
    .addOption(new Option('--status <status>', 'only the tables with this status').choices(['Failed', 'Warning', 'Not Migrated', 'In Progress', 'Not Started', 'Successful']))
    .option('--table <pattern>', 'only the tables whose name matches (* and ?; or schema.table)')
    .option('--page <n>', 'which page of the listed tables (100 a page); without it, --all lists every page', positiveInt)
    .option('--upgrades', 'Environment Operations only: every data upgrade, with the stack trace of failures')
    .option('--no-pager', 'print straight to the terminal, not through a pager')
    .addHelpText('after', '\nFits the terminal\'s width ($COLUMNS when not a terminal, else 80). A page taller than the terminal opens in $CM_PAGER, else $PAGER, else `less -FRX`; CM_PAGER= (empty) or --no-pager prints it straight.')
    .action(async (name: string, opts) => {
      await withClient(async (client) => {
        const summary = await getSummary(client, name);
        const filter: TableFilter = { company: opts.company, status: opts.status, table: opts.table };
        const filtered = !!(filter.company || filter.status || filter.table);
        const which = opts.all ? 'all' : filtered || opts.page ? 'all' : opts.tables;
        let listed: ListedTables = { rows: [] };
        if (which === 'problems') {
          const problems = PROBLEM_STATUSES.reduce((n, s) => n + (summary.tableCounts.byStatus[s] ?? 0), 0);
          const more = problems - summary.problemTables.length;
          listed = {
            rows: summary.problemTables,
            note: `${more > 0 ? `(+${more} more tables with problems: cm status ${name} --status Failed|Warning|'Not Migrated' --page 1) ` : ''}Every table: cm status ${name} --all (or --company, --status, --table, --page).`,
          };
        } else if (which === 'all' && opts.page) {
          const page = await getTablePage(client, name, { ...filter, page: opts.page }, summary);
          listed = { rows: page.tables, note: `Page ${page.page} of ${page.pages} (${page.total} tables${filtered ? ' that match' : ''}).` };
        } else if (which === 'all') {
          const rows = await getAllTables(client, name, filter, summary);
          listed = { rows, note: `${rows.length} tables${filtered ? ' that match' : ''}.` };
        }
        if (opts.json) printJson(which === 'all' ? { ...summary, tables: listed.rows } : summary);
        else await show(opts.upgrades ? renderUpgrades(summary.upgrades, true) : renderStatus(summary, listed), opts.pager);
      });
    });

  program
    .command('ui')
    .description('the Cloud Migration Management page in a browser: tenants, tiles, tables, Migration Log, Environment Operations and every action, served on this machine until Ctrl-C')
    .option('--port <n>', 'port to serve it on (0: any free port)', (v) => (v === '0' ? 0 : positiveInt(v)), 8080)
    .option('--host <address>', 'address to listen on (127.0.0.1: this machine only; the page acts as you)', '127.0.0.1')
    .option('--json', 'print {"url": …} when it is up')
    .action(async (opts) => {
      const settings = temporalSettings();
      const client = await connectClient(settings, `cm-ui:${operator()}@${hostname()}`);
      await checkNamespace(client, settings);
      const { startUiServer } = await import('./ui-server');
      const ui = await startUiServer(client, { port: opts.port, host: opts.host, operator: operator() }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') throw new UserFacingError(`port ${opts.port} on ${opts.host} is in use: choose another with --port (0: any free one)`);
        throw err;
      });
      if (opts.json) printJson({ url: ui.url });
      else process.stdout.write(`Cloud Migration Management: ${ui.url}\nActions are recorded as ${operator()} (browser). Ctrl-C stops the page.\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await ui.close();
      await client.connection.close();
    });

  program
    .command('worker')
    .description('run a worker (the integration runtime that reaches the databases) until Ctrl-C')
    .action(async () => {
      const { runWorkerProcess } = await import('../worker/process');
      await runWorkerProcess();
    });

  program
    .command('server')
    .description('run the Temporal dev server with its Web UI (state kept in .data/temporal.db) until Ctrl-C')
    .option('--port <n>', 'gRPC port', positiveInt, 7233)
    .option('--ui-port <n>', 'Web UI port', positiveInt, 8233)
    .action(async (opts) => {
      const { runDevServer } = await import('./dev-server');
      await runDevServer({ port: opts.port, uiPort: opts.uiPort });
    });

  program
    .command('seed')
    .description('load the sample on-premises ERP data (three companies, ~30 tables each) into the source')
    .option('--scale <x>', 'size factor: 1 ≈ 20,000 G/L entries per company', Number, 1)
    .option('--seed <n>', 'random seed: the same seed gives the same data', Number, 42)
    .option('--prefix <p>', 'prefix for the company schema names', '')
    .action(async (opts) => {
      const { seedCommand } = await import('./seed');
      await seedCommand({ scale: opts.scale, seed: opts.seed, schemaPrefix: opts.prefix });
    });

  program
    .command('demo')
    .description('the whole story: server, worker, sample data, a tenant, a full run, source changes, a delta run, the status page')
    .option('--scale <x>', 'sample data size factor', Number, 1)
    .option('--exit', 'stop after printing the status page instead of keeping the UI up')
    .action(async (opts) => {
      const { runDemo } = await import('./demo');
      await runDemo({ scale: opts.scale, keepRunning: !opts.exit });
    });

  return program;
}

/** package.json's version, found from here in the sources and in dist/ alike. */
function packageVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return String((JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown');
  }
  return 'unknown';
}

export async function main(argv: string[]): Promise<void> {
  // `cm audit --json | head`: the reader went away, which is not an error of cm's.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed the message (or the help, or the version) already.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof UserFacingError) {
      process.stderr.write(`cm: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}
