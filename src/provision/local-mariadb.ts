import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, existsSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { ProvisionError } from './provision-error.js';

export interface LocalMariaDBOptions {
  /** Parent directory for the instance's files; a tmpfs such as /dev/shm makes it fast. */
  baseDir: string;
  name: string;
  port?: number;
  args?: string[];
  readyTimeoutMs?: number;
}

export interface LocalMariaDB {
  host: string;
  port: number;
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

const BINARIES = ['mariadb-install-db', 'mariadbd'];

export function missingMariaDBBinaries(): string[] {
  return BINARIES.filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => resolve(a.port));
    });
  });
}

function pingable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('data', (d) => {
      s.destroy();
      resolve(d.length > 4 && d[4] === 10); // protocol-10 greeting
    });
    s.once('error', () => resolve(false));
  });
}

/** Where startLocalMariaDB puts the datadir of the instance in `dir`. */
export function dataDirOf(dir: string): string {
  return join(dir, 'data');
}

/**
 * A fresh MariaDB server on this machine: its own datadir, a free loopback port, utf8mb4,
 * root without password on 127.0.0.1. Runs as root (`--user=root`) when we are root.
 */
export async function startLocalMariaDB(opts: LocalMariaDBOptions): Promise<LocalMariaDB> {
  const missing = missingMariaDBBinaries();
  if (missing.length > 0) {
    throw new ProvisionError('MARIADB_MISSING', `missing ${missing.join(', ')}: run \`bash scripts/install-deps.sh\` as root (apt-get install mariadb-server mariadb-client)`);
  }
  const dir = join(opts.baseDir, opts.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const user = process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'mysql');
  const install = spawnSync('mariadb-install-db', ['--no-defaults', `--user=${user}`, `--datadir=${dataDirOf(dir)}`,
    '--auth-root-authentication-method=normal', '--skip-test-db'], { encoding: 'utf8' });
  if (install.status !== 0) {
    throw new ProvisionError('MARIADB_INSTALL_FAILED', `mariadb-install-db failed in ${dir}: ${(install.stderr || install.stdout).slice(-2000)}`);
  }
  const port = opts.port ?? await freePort();
  const errorLog = join(dir, 'error.log');
  const out = openSync(join(dir, 'stdout.log'), 'a');
  const child = spawn('mariadbd', ['--no-defaults', `--user=${user}`, `--datadir=${dataDirOf(dir)}`,
    `--socket=${join(dir, 'mysqld.sock')}`, `--pid-file=${join(dir, 'mysqld.pid')}`, `--port=${port}`,
    '--bind-address=127.0.0.1', '--skip-name-resolve', '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_general_ci', `--log-error=${errorLog}`, ...(opts.args ?? [])],
  { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  child.unref();
  const pid = child.pid!;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  let exited = false;
  child.once('exit', () => { exited = true; });
  while (!(await pingable(port))) {
    if (exited || Date.now() > deadline) {
      const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8').slice(-3000) : '(no error log)';
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
      throw new ProvisionError('MARIADB_START_FAILED', `mariadbd on port ${port} did not become ready${exited ? ' (it exited)' : ''}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: '127.0.0.1', port, pid, dir,
    stop: () => stopProcess(pid, 20_000),
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, wait, SIGKILL after `graceMs`. */
export async function stopProcess(pid: number, graceMs: number): Promise<void> {
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
