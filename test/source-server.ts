// A second MariaDB server for the tests, standing in for an on-premises source: its own data
// directory, its own port, the binary log on (row format, full images), as change capture from the
// binlog needs it. The machine's MariaDB (the target, and the source of most tests) keeps its binary
// log off, so a test reading from this one really copies between two servers.
//
// Only the machine's own binaries (mariadb-install-db, mariadbd): no container, no download. The
// server lives in a temp folder that stop() removes; a run that crashed before stop() leaves the
// folder and maybe the server behind, and the next start kills and removes them.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { freePort } from '../lib/free-port';

export interface SourceServer {
  /** mysql://root@127.0.0.1:<port>: root, no password, as on the machine server. */
  url: string;
  port: number;
  dataDir: string;
  /** Stops the server (SIGTERM, SIGKILL after 30 s) and removes its folder. */
  stop(): Promise<void>;
}

const PREFIX = 'cm-source-';
/** Written as soon as the folder exists: who started the server (the jest process) and the server's pid. */
const OWNER_FILE = 'owner.json';
// The machine server's settings that change how statements behave, so a test passes or fails the
// same on either server: utf8mb4 / utf8mb4_general_ci (its my.cnf) and MariaDB 10.11's default
// sql_mode (which it runs with), client host names never looked up (skip-name-resolve, its my.cnf).
const SQL_MODE = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION';

function findBinary(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];
  for (const dir of dirs) if (dir && existsSync(join(dir, name))) return join(dir, name);
  throw new Error(`${name} not found on PATH or in /usr/sbin, /usr/bin: the tests' source server needs the machine's MariaDB binaries`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process is a mariadbd on this data directory (a pid can be reused by anything else). */
function isOurServer(pid: number, dataDir: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return /mariadbd|mysqld/.test(cmdline[0]) && cmdline.includes(`--datadir=${dataDir}`);
  } catch {
    return false;
  }
}

/**
 * Kills and removes what a crashed run left: folders whose owner process is gone. A folder whose
 * owner still runs belongs to another jest run beside this one (integration and faults suites)
 * and stays.
 */
function reapLeftovers(baseDir: string): void {
  for (const name of readdirSync(baseDir)) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = join(baseDir, name);
    let owner: { owner: number; server?: number } | undefined;
    try {
      owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    } catch {
      // No owner file: a run died between mkdtemp and the write, or it is not ours. Only old ones go.
      try {
        if (Date.now() - statSync(dir).mtimeMs < 10 * 60_000) continue;
      } catch {
        continue;
      }
    }
    if (owner && alive(owner.owner)) continue;
    if (owner?.server && alive(owner.server) && isOurServer(owner.server, join(dir, 'data'))) process.kill(owner.server, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Our server answers on the port (not another one that took the port before ours could bind it). */
async function answers(port: number, dataDir: string): Promise<boolean> {
  try {
    const conn = await createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 2_000 });
    const [rows] = await conn.query<RowDataPacket[]>('SELECT 1 AS one, @@datadir AS dir');
    await conn.end();
    return rows[0].one === 1 && String(rows[0].dir).replace(/\/$/, '') === dataDir;
  } catch {
    return false;
  }
}

/** `binlog: false` starts the same server with the binary log off (a baseline for the benchmarks); default on. */
export async function startSourceServer(opts: { baseDir?: string; port?: number; binlog?: boolean } = {}): Promise<SourceServer> {
  const baseDir = opts.baseDir ?? tmpdir();
  reapLeftovers(baseDir);
  const dir = mkdtempSync(join(baseDir, PREFIX));
  const dataDir = join(dir, 'data');
  const errorLog = join(dir, 'error.log');
  const writeOwner = (server?: number) => writeFileSync(join(dir, OWNER_FILE), JSON.stringify({ owner: process.pid, server }));
  writeOwner();
  // mariadbd refuses to run as root unless told to; as anyone else it runs as that user.
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  try {
    // --no-defaults: nothing from /etc/mysql (the machine server's datadir, socket, port, user).
    const install = spawnSync(
      findBinary('mariadb-install-db'),
      ['--no-defaults', `--datadir=${dataDir}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve', ...asRoot],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (install.status !== 0) throw new Error(`mariadb-install-db failed (${install.status ?? install.signal}):\n${install.stdout}\n${install.stderr}`);
    mkdirSync(join(dir, 'binlog'));

    // A port from freePort() can be taken before mariadbd binds it: then try another.
    for (let attempt = 1; ; attempt++) {
      const port = opts.port ?? (await freePort());
      const log = openSync(errorLog, 'w');
      const child = spawn(
        findBinary('mariadbd'),
        [
          '--no-defaults', `--datadir=${dataDir}`, `--port=${port}`, '--bind-address=127.0.0.1',
          `--socket=${join(dir, 'mysqld.sock')}`, `--pid-file=${join(dir, 'mariadbd.pid')}`,
          // server_id 1 is the machine server's: a binlog reader tells servers apart by it.
          '--server-id=2', ...(opts.binlog === false ? [] : [`--log-bin=${join(dir, 'binlog', 'source-bin')}`]), '--binlog-format=ROW', '--binlog-row-image=FULL',
          // Each row event describes its own columns: a key is read exactly even after an ALTER or DROP.
          '--binlog-row-metadata=FULL',
          // Throwaway data: speed over durability.
          '--innodb-buffer-pool-size=256M', '--innodb-flush-log-at-trx-commit=2', '--sync-binlog=0',
          '--max-connections=500', '--local-infile=1',
          '--character-set-server=utf8mb4', '--collation-server=utf8mb4_general_ci', `--sql-mode=${SQL_MODE}`, '--skip-name-resolve',
          ...asRoot,
        ],
        { stdio: ['ignore', log, log] }, // no --log-error: stderr is the error log
      );
      closeSync(log);
      writeOwner(child.pid);
      let exited = false;
      const exit = new Promise<void>((resolve) => {
        child.once('exit', () => {
          exited = true;
          resolve();
        });
      });
      // If jest exits without its teardown, the server goes with it (the folder is reaped next time).
      const onExit = () => child.kill('SIGKILL');
      process.once('exit', onExit);

      let ready = false;
      for (const deadline = Date.now() + 60_000; !ready && !exited && Date.now() < deadline; ) {
        ready = await answers(port, dataDir);
        if (!ready) await new Promise((r) => setTimeout(r, 100));
      }
      if (ready) {
        return {
          url: `mysql://root@127.0.0.1:${port}`,
          port,
          dataDir,
          async stop() {
            process.removeListener('exit', onExit);
            if (!exited) {
              child.kill('SIGTERM');
              const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
              await exit;
              clearTimeout(timer);
            }
            rmSync(dir, { recursive: true, force: true });
          },
        };
      }
      process.removeListener('exit', onExit);
      if (!exited) {
        child.kill('SIGKILL');
        await exit;
      }
      const text = readFileSync(errorLog, 'utf8');
      if (!opts.port && attempt < 3 && /Address already in use/.test(text)) continue;
      throw new Error(`the source MariaDB server did not start on port ${port}${exited ? ' (it exited)' : ' (no answer within 60 s)'}; its error log:\n${text.slice(-5_000)}`);
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
