import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import mysql from 'mysql2/promise';
import { expect } from 'vitest';
import type { MariaDB } from '../harness/mariadb.js';
import { CLI } from '../harness/proxy-process.js';
import { requireBinary } from '../harness/require-binaries.js';
import type { ProxyFixture } from '../proxy/proxy-fixture.js';
import { checksumTables, compareChecksums } from '../../src/verify/checksum-tables.js';
import type { MigrateOptions } from '../../src/migrate/migrate.js';
import { identityPack } from '../../src/translate/identity.js';

export function serverOptions(server: MariaDB): { host: string; port: number; user: string; password: string } {
  return { host: '127.0.0.1', port: server.port, user: 'root', password: '' };
}

export function url(server: MariaDB): string {
  return `mysql://root@127.0.0.1:${server.port}/`;
}

/** In-process migrate options: source and target servers, the proxy in front of the source. */
export function migrateOptions(source: MariaDB, target: MariaDB, proxy: ProxyFixture, extra: Partial<MigrateOptions> = {}): MigrateOptions {
  return {
    source: serverOptions(source), target: serverOptions(target), pack: identityPack,
    adminSocket: proxy.adminSocket, journalDir: proxy.journalDir, ...extra,
  };
}

export function cliArgs(source: MariaDB, target: MariaDB, proxy: ProxyFixture, extra: string[] = []): string[] {
  return ['migrate', '--source', url(source), '--target', url(target), '--pack', 'identity',
    '--admin-socket', proxy.adminSocket, '--journal', proxy.journalDir, ...extra];
}

/** `metamorph migrate` as a child process (JSON logs), killable at any moment. */
export interface MigrateChild {
  pid: number;
  exited: Promise<number | string>;
  /** JSON log lines so far. */
  logs: Record<string, unknown>[];
  output(): string;
  kill9(): Promise<void>;
  /** SIGTERM; resolves to how it ended. */
  stop(): Promise<number | string>;
}

export function startMigrate(args: string[]): MigrateChild {
  // setpriv --pdeathsig: the child dies with the test process even if that one is SIGKILLed.
  const child = spawn(requireBinary('setpriv'), ['--pdeathsig', 'KILL', process.execPath, CLI, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, METAMORPH_LOG_JSON: '1' } });
  let out = '';
  const logs: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    out += `${line}\n`;
    if (line.startsWith('{')) logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr.on('data', (b: Buffer) => { out += b.toString('utf8'); });
  const exited = new Promise<number | string>((resolve) => child.once('close', (code, signal) => resolve(signal ?? code ?? -1)));
  return {
    pid: child.pid ?? 0,
    exited,
    logs,
    output: () => out,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Polls until `check` returns true. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${detail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface TransferRow { db: string; table: string; no: number; rows: number | null; cutSeq: number | null; doneAt: string | null }

export async function transferRows(target: MariaDB): Promise<TransferRow[]> {
  const rows = await target.query('SELECT db_name, table_name, chunk_no, `rows`, cut_seq, CAST(done_at AS CHAR) AS done_at FROM metamorph_migrate.transfer ORDER BY db_name, table_name, chunk_no')
    .catch((e: { errno?: number }) => { if (e.errno === 1146 || e.errno === 1049) return []; throw e; });
  return (rows as Record<string, unknown>[]).map((r) => ({
    db: String(r.db_name), table: String(r.table_name), no: Number(r.chunk_no),
    rows: r.rows === null ? null : Number(r.rows), cutSeq: r.cut_seq === null ? null : Number(r.cut_seq), doneAt: r.done_at === null ? null : String(r.done_at),
  }));
}

/** CHECKSUM TABLE (and row count) of every table of `db` is equal on both servers; returns the tables compared. */
export async function expectSameTables(source: MariaDB, target: MariaDB, db: string): Promise<string[]> {
  const sums = async (server: MariaDB) => {
    const conn = await mysql.createConnection(serverOptions(server));
    try {
      return await checksumTables(conn, db);
    } finally {
      await conn.end();
    }
  };
  const [a, b] = [await sums(source), await sums(target)];
  expect(compareChecksums(a, b)).toEqual([]);
  return a.map((t) => t.table);
}
