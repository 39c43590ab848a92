import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { expect } from 'vitest';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startProxy, type ProxyFixture } from '../proxy/proxy-fixture.js';
import { CLI, runCli, type CliResult } from '../harness/proxy-process.js';
import { requireBinary } from '../harness/require-binaries.js';
import { checksumTables, compareChecksums, type TableChecksum } from '../../src/verify/checksum-tables.js';

export function targetUrl(target: MariaDB): string {
  return `mysql://root@127.0.0.1:${target.port}/`;
}

export function replayArgs(journalDir: string, target: MariaDB, extra: string[] = []): string[] {
  return ['replay', '--journal', journalDir, '--target', targetUrl(target), '--pack', 'identity', ...extra];
}

/** `metamorph replay ...` to completion. */
export function runReplay(journalDir: string, target: MariaDB, extra: string[] = [], timeoutMs = 60_000): Promise<CliResult> {
  return runCli(replayArgs(journalDir, target, extra), timeoutMs);
}

/** `metamorph replay` as a child process that keeps running (--follow). */
export interface ReplayChild {
  pid: number;
  /** Exit code, or the signal that ended it. */
  exited: Promise<number | string>;
  output(): string;
  kill9(): Promise<void>;
  /** SIGTERM; resolves to how it ended. */
  stop(): Promise<number | string>;
}

export function startReplay(journalDir: string, target: MariaDB, extra: string[] = []): ReplayChild {
  // setpriv --pdeathsig: the replayer dies with the test process even if that one is SIGKILLed.
  const child: ChildProcess = spawn(requireBinary('setpriv'), ['--pdeathsig', 'KILL', process.execPath, CLI, ...replayArgs(journalDir, target, extra)],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, METAMORPH_LOG_JSON: '1' } });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => { out += b.toString('utf8'); });
  child.stderr?.on('data', (b: Buffer) => { out += b.toString('utf8'); });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code ?? -1)));
  return {
    pid: child.pid ?? 0,
    exited,
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

/** Waits until the child's JSON log has a line with `msg`. */
export async function untilLogged(child: ReplayChild, msg: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!child.output().includes(`"msg":${JSON.stringify(msg)}`)) {
    if (Date.now() > deadline) throw new Error(`replayer did not log "${msg}" within ${timeoutMs} ms; output:\n${child.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface AppliedRow {
  seq: number;
  txn: number;
  ddlSeq: number | null;
}

export async function appliedRow(target: MariaDB, consumer = 'replay'): Promise<AppliedRow | null> {
  const rows = await target.query('SELECT seq, txn, ddl_seq FROM metamorph_replay.applied WHERE consumer = ?', [consumer]);
  if (rows.length === 0) return null;
  return { seq: Number(rows[0].seq), txn: Number(rows[0].txn), ddlSeq: rows[0].ddl_seq === null ? null : Number(rows[0].ddl_seq) };
}

/** Polls the target until the consumer's position reaches `seq`. */
export async function untilApplied(target: MariaDB, seq: number, timeoutMs: number, child?: ReplayChild): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await appliedRow(target).catch(() => null);
    if (row && row.seq >= seq) return;
    if (Date.now() > deadline) throw new Error(`target position ${row?.seq ?? 'none'} did not reach seq ${seq} within ${timeoutMs} ms; replayer output:\n${child?.output().slice(-3000) ?? ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function checksums(server: MariaDB, db: string): Promise<TableChecksum[]> {
  const conn = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root' });
  try {
    return await checksumTables(conn, db);
  } finally {
    await conn.end();
  }
}

/** CHECKSUM TABLE of every table of `db` is equal on both servers; returns the tables compared. */
export async function expectSameTables(source: MariaDB, target: MariaDB, db: string): Promise<string[]> {
  const [a, b] = [await checksums(source, db), await checksums(target, db)];
  expect(compareChecksums(a, b)).toEqual([]);
  return a.map((t) => t.table);
}

/** The consumer checkpoint file the replayer publishes for the proxy. */
export function checkpointSeq(journalDir: string, consumer = 'replay'): number {
  return JSON.parse(readFileSync(join(journalDir, 'consumers', `${consumer}.json`), 'utf8')).seq;
}

export interface ReplayWorld { source: MariaDB; target: MariaDB; proxy: ProxyFixture }

/** A source behind an in-process proxy and an empty target: what every replay test starts from. */
export async function startReplayWorld(name: string): Promise<ReplayWorld> {
  const [source, target] = await Promise.all([startMariaDB({ name: `${name}-src` }), startMariaDB({ name: `${name}-dst` })]);
  return { source, target, proxy: await startProxy(source.port) };
}

/** Stops whatever of a world was started (a failed beforeAll may leave parts undefined). */
export async function stopReplayWorld(w: Partial<ReplayWorld>): Promise<void> {
  await w.proxy?.stop();
  await Promise.all([w.source?.stop(), w.target?.stop()]);
}
