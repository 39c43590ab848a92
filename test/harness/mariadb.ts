import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql, { type Pool, type RowDataPacket } from 'mysql2/promise';
import { freePort } from './ports.js';
import { requireBinaries, requireBinary } from './require-binaries.js';

export const ROOT_USER = 'root';
export const APP_USER = 'app';
export const APP_PASSWORD = 'apppass';
export const ED25519_USER = 'app_ed';
export const ED25519_PASSWORD = 'edpass';

export interface MariaDB {
  host: string;
  port: number;
  pid: number;
  dir: string;
  rootUrl: string;
  /** Runs sql as root on a pool (multipleStatements on); resolves to the rows or the result header. */
  query(sql: string, params?: unknown[]): Promise<any>;
  /** SIGTERM, wait until gone (SIGKILL after 20 s), then delete the server's directory. */
  stop(): Promise<void>;
  kill9(): Promise<void>;
  /** Starts the server again on the same datadir and port (also after kill9). */
  restart(): Promise<void>;
  errorLog(): string;
}

export interface StartOptions {
  /** Extra mariadbd options, appended last so they override the defaults. */
  args?: string[];
  /** Label added to the directory name, to tell servers apart when debugging. */
  name?: string;
}

const SHM = '/dev/shm';
const DIR_PREFIX = 'metamorph-test-';
const OWNER_PID = new RegExp(`^${DIR_PREFIX}(\\d+)-`);
const POLL_MS = 50;
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;
const PORT_ATTEMPTS = 5;
const LOG_TAIL_LINES = 25;

const CREATE_USERS_SQL = `
  CREATE USER '${APP_USER}'@'%' IDENTIFIED BY '${APP_PASSWORD}';
  GRANT ALL ON *.* TO '${APP_USER}'@'%' WITH GRANT OPTION;
  CREATE USER '${ED25519_USER}'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('${ED25519_PASSWORD}');
  GRANT ALL ON *.* TO '${ED25519_USER}'@'%';
`;

const execFileAsync = promisify(execFile);

// Servers of this process whose directory still exists, for the exit hook.
const owned = new Set<LocalMariaDB>();
let serial = 0;
let processPrepared = false;

export async function startMariaDB(opts: StartOptions = {}): Promise<MariaDB> {
  requireBinaries(['mariadbd', 'mariadb-install-db', 'setpriv']);
  prepareProcess();
  const label = opts.name ? `-${opts.name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 20)}` : '';
  const server = new LocalMariaDB(join(SHM, `${DIR_PREFIX}${process.pid}-${++serial}${label}`), opts.args ?? []);
  owned.add(server);
  try {
    await server.create();
    return server;
  } catch (err) {
    await server.stop();
    throw err;
  }
}

class LocalMariaDB implements MariaDB {
  readonly host = '127.0.0.1';
  port = 0;
  pid = 0;
  private alive = false;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private exitReason = '';
  private pool: Pool | undefined;

  constructor(
    readonly dir: string,
    private readonly extraArgs: string[],
  ) {}

  get rootUrl(): string {
    return `mysql://${ROOT_USER}@${this.host}:${this.port}/`;
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  // Private temp dir: temporary tables in a shared /tmp collide with other test runs' cleanups.
  private get tmpDir(): string {
    return join(this.dir, 'tmp');
  }

  private get logPath(): string {
    return join(this.dir, 'error.log');
  }

  async create(): Promise<void> {
    // A directory by this name can only be left over from a dead process that had our pid.
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.tmpDir, { recursive: true });
    await installDataDir(this.dataDir, this.tmpDir);
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      if ((await this.launch()) === 'ready') break;
      if (attempt === PORT_ATTEMPTS) throw this.startError(`every port was taken in ${PORT_ATTEMPTS} attempts`);
    }
    await this.query(CREATE_USERS_SQL);
  }

  async query(sql: string, params?: unknown[]): Promise<any> {
    this.pool ??= mysql.createPool({
      host: this.host,
      port: this.port,
      user: ROOT_USER,
      multipleStatements: true,
      connectionLimit: 4,
    });
    const [result] = await this.pool.query(sql, params);
    return result;
  }

  errorLog(): string {
    return this.readLog().toString('utf8');
  }

  async stop(): Promise<void> {
    await this.endPool();
    await this.terminate();
    owned.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  async kill9(): Promise<void> {
    if (this.alive) process.kill(this.pid, 'SIGKILL');
    await this.untilExited();
    await this.endPool();
  }

  async restart(): Promise<void> {
    await this.endPool();
    await this.terminate();
    if ((await this.launch()) === 'port-taken') throw this.startError(`port ${this.port} was taken while it was down`);
  }

  /** For the exit hook, which cannot wait. */
  destroySync(): void {
    if (this.alive) process.kill(this.pid, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5 });
  }

  private async launch(): Promise<'ready' | 'port-taken'> {
    const logStart = statSync(this.logPath, { throwIfNoEntry: false })?.size ?? 0;
    // setpriv --pdeathsig: the server dies with this process even when it is SIGKILLed and
    // no exit hook runs. detached: the server does not share the test process's terminal.
    const child = spawn(
      requireBinary('setpriv'),
      ['--pdeathsig', 'KILL', requireBinary('mariadbd'), ...this.serverArgs()],
      { detached: true, stdio: 'ignore' },
    );
    child.unref();
    this.child = child;
    this.pid = child.pid ?? 0;
    this.alive = true;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.alive = false;
        this.exitReason = signal ? `killed by ${signal}` : `exited with code ${code}`;
        resolve();
      });
      child.once('error', (err) => {
        this.alive = false;
        this.exitReason = `could not be spawned: ${err.message}`;
        resolve();
      });
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (this.alive && Date.now() < deadline) {
      if (await this.answers()) return 'ready';
      await sleep(POLL_MS);
    }
    if (this.alive) {
      await this.terminate();
      throw this.startError(`not ready after ${READY_TIMEOUT_MS / 1000} s`);
    }
    const newLog = this.readLog().subarray(logStart).toString('utf8');
    if (newLog.includes('Address already in use')) return 'port-taken';
    throw this.startError(`mariadbd ${this.exitReason} during startup`);
  }

  // Another server may own the port while ours failed to bind it: only our datadir counts.
  private async answers(): Promise<boolean> {
    try {
      const conn = await mysql.createConnection({ host: this.host, port: this.port, user: ROOT_USER, connectTimeout: 2000 });
      try {
        const [rows] = await conn.query<RowDataPacket[]>('SELECT @@datadir AS datadir');
        return rows[0]?.datadir === `${this.dataDir}/`;
      } finally {
        await conn.end();
      }
    } catch {
      return false;
    }
  }

  private readLog(): Buffer {
    try {
      return readFileSync(this.logPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
      throw err;
    }
  }

  private serverArgs(): string[] {
    return [
      '--no-defaults',
      '--user=root',
      `--datadir=${this.dataDir}`,
      `--socket=${join(this.dir, 'mysqld.sock')}`,
      `--pid-file=${join(this.dir, 'mysqld.pid')}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_general_ci',
      `--log-error=${this.logPath}`,
      `--tmpdir=${this.tmpDir}`,
      '--innodb-buffer-pool-size=64M',
      '--innodb-log-file-size=48M',
      '--max-connections=500',
      '--plugin-load-add=auth_ed25519',
      ...this.extraArgs,
    ];
  }

  private async terminate(): Promise<void> {
    if (!this.alive) return;
    process.kill(this.pid, 'SIGTERM');
    if (await settlesWithin(this.untilExited(), STOP_TIMEOUT_MS)) return;
    if (this.alive) process.kill(this.pid, 'SIGKILL');
    await this.untilExited();
  }

  // The child is unref'd so the server itself never holds the test process open, but while
  // someone waits for its exit the event loop must not run dry before the exit event arrives.
  private async untilExited(): Promise<void> {
    this.child?.ref();
    await this.exited;
  }

  private async endPool(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  private startError(cause: string): Error {
    const tail = this.errorLog().trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
    return Object.assign(
      new Error(`MariaDB in ${this.dir} (port ${this.port}) failed to start: ${cause}. Tail of ${this.logPath}:\n${tail}`),
      { code: 'MARIADB_START_FAILED' },
    );
  }
}

async function installDataDir(dataDir: string, tmpDir: string): Promise<void> {
  const args = [
    '--no-defaults',
    '--user=root',
    `--datadir=${dataDir}`,
    `--tmpdir=${tmpDir}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    // Passed through to the bootstrap server: avoids writing the 96 MB default redo log to tmpfs.
    '--innodb-log-file-size=48M',
  ];
  try {
    await execFileAsync(requireBinary('mariadb-install-db'), args, { timeout: 60_000 });
  } catch (err) {
    const { stdout = '', stderr = '', message } = err as { stdout?: string; stderr?: string; message: string };
    throw Object.assign(new Error(`mariadb-install-db failed for ${dataDir}: ${message}\n${stdout}${stderr}`), {
      code: 'MARIADB_INSTALL_FAILED',
    });
  }
}

function prepareProcess(): void {
  if (processPrepared) return;
  processPrepared = true;
  removeAbandonedDirs();
  process.on('exit', () => {
    for (const server of owned) server.destroySync();
  });
}

// A test process killed outright cannot run its exit hook; its servers died with it (pdeathsig)
// but its directories stay on tmpfs, holding memory, until the next run removes them here.
function removeAbandonedDirs(): void {
  for (const entry of readdirSync(SHM)) {
    const owner = OWNER_PID.exec(entry)?.[1];
    if (owner === undefined || isAlive(Number(owner))) continue;
    const dir = join(SHM, entry);
    try {
      if (statSync(dir).uid === process.getuid?.()) rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      // Another test process starting at the same moment may be removing it too.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
