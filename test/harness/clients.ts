import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql, { type Connection, type ConnectionOptions } from 'mysql2/promise';
import { requireBinary } from './require-binaries.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface MariadbCliOptions {
  host: string;
  port: number;
  user: string;
  password?: string;
  database?: string;
  sql: string | Buffer;
  /** Appended after the defaults (--batch --skip-column-names); later options win, e.g. --column-names. */
  args?: string[];
}

export interface PhpOptions {
  /** PHP source; the opening <?php tag is optional. */
  code: string;
  env?: Record<string, string>;
}

export type SysbenchTest = 'oltp_read_write' | 'oltp_read_only' | 'oltp_write_only' | 'oltp_insert';

export interface SysbenchOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  db: string;
  test: SysbenchTest;
  threads: number;
  /** Seconds of the run phase. */
  time: number;
  tables?: number;
  tableSize?: number;
  extra?: string[];
  command: 'prepare' | 'run' | 'cleanup';
}

/** Summary figures are present after a `run`; `prepare` and `cleanup` print none. */
export interface SysbenchResult extends RunResult {
  tps?: number;
  qps?: number;
  p95?: number;
  errors?: number;
}

export type Mysql2Options = ConnectionOptions & {
  host: string;
  port: number;
  user: string;
  password: string;
  database?: string;
};

const CLIENT_TIMEOUT_MS = 60_000;

export function mariadbCli(opts: MariadbCliOptions): Promise<RunResult> {
  const args = [
    '--no-defaults',
    '--protocol=TCP',
    `--host=${opts.host}`,
    `--port=${opts.port}`,
    `--user=${opts.user}`,
    ...(opts.password === undefined ? [] : [`--password=${opts.password}`]),
    ...(opts.database === undefined ? [] : [`--database=${opts.database}`]),
    '--batch',
    '--skip-column-names',
    ...(opts.args ?? []),
  ];
  return run(requireBinary('mariadb'), args, { input: opts.sql, timeoutMs: CLIENT_TIMEOUT_MS });
}

// A file rather than `php -r`: error messages then carry line numbers.
export async function php(opts: PhpOptions): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'metamorph-php-'));
  try {
    const file = join(dir, 'script.php');
    writeFileSync(file, opts.code.trimStart().startsWith('<?php') ? opts.code : `<?php\n${opts.code}`);
    return await run(requireBinary('php'), ['-d', 'display_errors=stderr', file], {
      env: { ...process.env, ...opts.env },
      timeoutMs: CLIENT_TIMEOUT_MS,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function sysbench(opts: SysbenchOptions): Promise<SysbenchResult> {
  const args = [
    opts.test,
    '--db-driver=mysql',
    `--mysql-host=${opts.host}`,
    `--mysql-port=${opts.port}`,
    `--mysql-user=${opts.user}`,
    `--mysql-password=${opts.password}`,
    `--mysql-db=${opts.db}`,
    `--threads=${opts.threads}`,
    `--time=${opts.time}`,
    ...(opts.tables === undefined ? [] : [`--tables=${opts.tables}`]),
    ...(opts.tableSize === undefined ? [] : [`--table-size=${opts.tableSize}`]),
    ...(opts.extra ?? []),
    opts.command,
  ];
  // prepare of large tables can outlast the run time, hence the margin.
  const result = await run(requireBinary('sysbench'), args, { timeoutMs: opts.time * 1000 + CLIENT_TIMEOUT_MS });
  return { ...result, ...parseSysbenchSummary(result.stdout) };
}

export function parseSysbenchSummary(stdout: string): Pick<SysbenchResult, 'tps' | 'qps' | 'p95' | 'errors'> {
  const number = (pattern: RegExp): number | undefined => {
    const match = pattern.exec(stdout);
    return match ? Number(match[1]) : undefined;
  };
  return {
    tps: number(/^\s*transactions:\s+\d+\s+\(([\d.]+) per sec\.\)/m),
    qps: number(/^\s*queries:\s+\d+\s+\(([\d.]+) per sec\.\)/m),
    p95: number(/^\s*95th percentile:\s+([\d.]+)/m),
    errors: number(/^\s*ignored errors:\s+(\d+)/m),
  };
}

export function mysql2Connect(opts: Mysql2Options): Promise<Connection> {
  return mysql.createConnection(opts);
}

function run(
  command: string,
  args: string[],
  opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    // A client that exits before reading all of stdin closes the pipe; its exit code tells why.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        Object.assign(
          new Error(
            `${command} ${args.join(' ')} did not finish within ${opts.timeoutMs / 1000} s and was killed; ` +
              `stderr so far: ${Buffer.concat(stderr).toString('utf8').slice(-2000)}`,
          ),
          { code: 'CLIENT_TIMEOUT' },
        ),
      );
    }, opts.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? 128 + (signal ? constants.signals[signal] : 0),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
  });
}
