import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mariadbCli, mysql2Connect, parseSysbenchSummary, php, sysbench } from './clients.js';
import {
  APP_PASSWORD,
  APP_USER,
  ED25519_PASSWORD,
  ED25519_USER,
  startMariaDB,
  type MariaDB,
} from './mariadb.js';
import { freePort } from './ports.js';
import { requireBinaries } from './require-binaries.js';

const REPO = resolve(import.meta.dirname, '../..');
const execFileAsync = promisify(execFile);

// Abridged from a real `sysbench oltp_read_write ... run`.
const SYSBENCH_RUN_OUTPUT = `SQL statistics:
    queries performed:
        read:                            52234
        write:                           14905
        other:                           7455
        total:                           74594
    transactions:                        3724   (1860.73 per sec.)
    queries:                             74594  (37271.57 per sec.)
    ignored errors:                      7      (3.50 per sec.)
    reconnects:                          0      (0.00 per sec.)

Latency (ms):
         min:                                    0.87
         avg:                                    1.07
         max:                                   10.51
         95th percentile:                        1.67
         sum:                                 3995.92
`;

describe('MariaDB harness with real clients', () => {
  let a: MariaDB;
  let b: MariaDB;

  beforeAll(async () => {
    [a, b] = await Promise.all([startMariaDB({ name: 'a' }), startMariaDB({ name: 'b' })]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('runs two servers side by side, each answering on its own port and datadir', async () => {
    expect(a.port).not.toBe(b.port);
    const [rowA] = await a.query('SELECT @@port AS port, @@datadir AS datadir');
    const [rowB] = await b.query('SELECT @@port AS port, @@datadir AS datadir');
    expect(rowA.port).toBe(a.port);
    expect(rowB.port).toBe(b.port);
    expect(rowA.datadir).toBe(`${a.dir}/data/`);
    expect(rowB.datadir).toBe(`${b.dir}/data/`);
    expect(a.dir.startsWith(`/dev/shm/metamorph-test-${process.pid}-`)).toBe(true);
    const [tmp] = await a.query('SELECT @@tmpdir AS tmpdir');
    expect(tmp.tmpdir).toBe(`${a.dir}/tmp`);
    expect(a.rootUrl).toBe(`mysql://root@127.0.0.1:${a.port}/`);
  });

  it('runs multiple statements through query() and passes parameters', async () => {
    await a.query('CREATE DATABASE multi; CREATE TABLE multi.t (id INT PRIMARY KEY, v VARCHAR(10))');
    await a.query('INSERT INTO multi.t VALUES (?, ?), (?, ?)', [1, 'x', 2, 'ü']);
    expect(await a.query('SELECT v FROM multi.t ORDER BY id')).toEqual([{ v: 'x' }, { v: 'ü' }]);
  });

  it('lets the app user in with mysql2 and the ed25519 user in with the mariadb CLI', async () => {
    const conn = await mysql2Connect({ host: a.host, port: a.port, user: APP_USER, password: APP_PASSWORD });
    const [rows] = await conn.query('SELECT CURRENT_USER() AS who');
    await conn.end();
    expect(rows).toEqual([{ who: 'app@%' }]);

    const [plugin] = await a.query("SELECT plugin FROM mysql.user WHERE user = 'app_ed'");
    expect(plugin.plugin).toBe('ed25519');
    const ok = await mariadbCli({
      host: a.host,
      port: a.port,
      user: ED25519_USER,
      password: ED25519_PASSWORD,
      sql: 'SELECT CURRENT_USER();',
    });
    expect(ok).toMatchObject({ code: 0, stdout: 'app_ed@%\n' });

    const denied = await mariadbCli({ host: a.host, port: a.port, user: ED25519_USER, password: 'wrong', sql: 'SELECT 1;' });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('Access denied');
  });

  it('feeds a Buffer to the CLI and honours database and extra args', async () => {
    const result = await mariadbCli({
      host: b.host,
      port: b.port,
      user: APP_USER,
      password: APP_PASSWORD,
      database: 'mysql',
      sql: Buffer.from('SELECT DATABASE() AS db;'),
      args: ['--column-names'],
    });
    expect(result).toMatchObject({ code: 0, stdout: 'db\nmysql\n' });
  });

  it('runs sysbench prepare and a 2 s oltp_read_write run and parses its summary', async () => {
    await b.query('CREATE DATABASE sbtest');
    const common = {
      host: b.host,
      port: b.port,
      user: APP_USER,
      password: APP_PASSWORD,
      db: 'sbtest',
      test: 'oltp_read_write',
      threads: 2,
      time: 2,
      tables: 1,
      tableSize: 1000,
    } as const;
    const prepared = await sysbench({ ...common, command: 'prepare' });
    expect(prepared.code, prepared.stderr).toBe(0);
    expect(prepared.tps).toBeUndefined();
    const [count] = await b.query('SELECT COUNT(*) AS n FROM sbtest.sbtest1');
    expect(count.n).toBe(1000);

    const ran = await sysbench({ ...common, command: 'run' });
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.tps).toBeGreaterThan(0);
    expect(ran.qps).toBeGreaterThan(ran.tps ?? 0);
    expect(ran.p95).toBeGreaterThan(0);
    expect(ran.errors).toBeGreaterThanOrEqual(0);
  });

  it('parses the summary of sysbench 1.0.20', () => {
    expect(parseSysbenchSummary(SYSBENCH_RUN_OUTPUT)).toEqual({ tps: 1860.73, qps: 37271.57, p95: 1.67, errors: 7 });
  });

  it('connects with PHP mysqli and runs SELECT 1', async () => {
    const result = await php({
      code: `
        mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
        $db = new mysqli('127.0.0.1', getenv('DB_USER'), getenv('DB_PASS'), '', (int) getenv('DB_PORT'));
        echo $db->query('SELECT 1')->fetch_row()[0], "\\n";
      `,
      env: { DB_USER: APP_USER, DB_PASS: APP_PASSWORD, DB_PORT: String(a.port) },
    });
    expect(result).toMatchObject({ code: 0, stdout: '1\n' });
  });

  it('restart() keeps the port and the data', async () => {
    await a.query('CREATE DATABASE keep; CREATE TABLE keep.t (id INT PRIMARY KEY); INSERT INTO keep.t VALUES (7)');
    const { port, pid } = a;
    await a.restart();
    expect(a.port).toBe(port);
    expect(a.pid).not.toBe(pid);
    expect(processGone(pid)).toBe(true);
    expect(await a.query('SELECT id FROM keep.t')).toEqual([{ id: 7 }]);
  });

  it('kill9() kills the server outright and restart() recovers committed rows', async () => {
    await b.query('CREATE DATABASE crash; CREATE TABLE crash.t (id INT PRIMARY KEY); INSERT INTO crash.t VALUES (1), (2)');
    const pid = b.pid;
    await b.kill9();
    expect(processGone(pid)).toBe(true);
    await expect(
      mysql2Connect({ host: b.host, port: b.port, user: APP_USER, password: APP_PASSWORD }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await b.restart();
    expect(await b.query('SELECT id FROM crash.t ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
    expect(b.errorLog()).toContain('ready for connections');
  });
});

describe('MariaDB harness lifecycle', () => {
  it('stop() ends the process and removes the directory', async () => {
    const server = await startMariaDB({ name: 'stop' });
    const { pid, dir } = server;
    expect(existsSync(join(dir, 'data'))).toBe(true);
    await server.stop();
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(existsSync(dir)).toBe(false);
  });

  it('a server that refuses to start fails with the tail of its error log and leaves nothing behind', async () => {
    const before = ownDirs();
    const failure = startMariaDB({ name: 'bad', args: ['--no-such-option-for-metamorph'] });
    await expect(failure).rejects.toMatchObject({ code: 'MARIADB_START_FAILED' });
    await expect(failure).rejects.toThrow(/unknown (option|variable) '--no-such-option-for-metamorph'/);
    expect(ownDirs()).toEqual(before);
  });

  it('freePort() returns a port nothing listens on', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    await expect(mysql2Connect({ host: '127.0.0.1', port, user: 'x', password: 'x' })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it('requireBinaries() names what is missing and how to install it', () => {
    expect(() => requireBinaries(['mariadbd', 'metamorph-no-such-binary'])).toThrow(
      /missing binaries: metamorph-no-such-binary; run `bash scripts\/install-deps.sh` \(as root\) or apt-get install/,
    );
    expect(() => requireBinaries(['mariadbd', 'mariadb', 'sysbench', 'php'])).not.toThrow();
  });
});

// The harness compiled to plain JS, so a separate Node process can start servers and then die.
describe('MariaDB harness in a test process that dies', () => {
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'metamorph-harness-'));
    symlinkSync(join(REPO, 'node_modules'), join(work, 'node_modules'));
    const tsc = execFileAsync(join(REPO, 'node_modules/.bin/tsc'), [
      ...['--ignoreConfig', '--outDir', work, '--rootDir', join(REPO, 'test/harness')],
      ...['--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'],
      ...['--strict', '--esModuleInterop', '--skipLibCheck', '--types', 'node'],
      join(REPO, 'test/harness/mariadb.ts'),
    ], { cwd: REPO });
    // tsc reports type errors on stdout, which the rejection message leaves out.
    await tsc.catch((err: { stdout?: string; message: string }) => {
      throw new Error(`compiling the harness failed: ${err.message}${err.stdout ?? ''}`);
    });
    writeFileSync(join(work, 'package.json'), '{"type":"module"}');
    writeFileSync(
      join(work, 'child.js'),
      `import { startMariaDB } from './mariadb.js';
       const server = await startMariaDB({ name: 'child' });
       console.log(JSON.stringify({ pid: server.pid, dir: server.dir }));
       if (process.argv[2] === 'exit') process.exit(0);
       setInterval(() => {}, 60_000);`,
    );
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('a SIGKILLed process takes its server down; the next process removes the leftover directory', async () => {
    const killed = await startChild('hang');
    killed.child.kill('SIGKILL');
    await killed.exited;
    await waitFor(() => processGone(killed.server.pid), 10_000);
    expect(existsSync(killed.server.dir)).toBe(true);

    const exiting = await startChild('exit');
    await exiting.exited;
    expect(existsSync(killed.server.dir)).toBe(false);
    await waitFor(() => processGone(exiting.server.pid), 10_000);
    expect(existsSync(exiting.server.dir)).toBe(false);
  });

  async function startChild(mode: 'hang' | 'exit') {
    const child = spawn(process.execPath, [join(work, 'child.js'), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const line = await new Promise<string>((done, fail) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.includes('\n')) done(out.split('\n')[0] ?? '');
      });
      child.once('close', (code) => fail(new Error(`child exited with ${code} before printing its server`)));
    });
    return { child, exited, server: JSON.parse(line) as { pid: number; dir: string } };
  }
});

// A process reparented to a PID 1 that does not reap stays a zombie: it is gone all the same.
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

function ownDirs(): string[] {
  return readdirSync('/dev/shm')
    .filter((entry) => entry.startsWith(`metamorph-test-${process.pid}-`))
    .sort();
}

async function waitFor(condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((done) => setTimeout(done, 50));
  }
}
