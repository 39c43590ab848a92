import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { expect } from 'vitest';
import { adminRequest } from '../../src/admin/admin-client.js';
import type { UpgradeState } from '../../src/upgrade/upgrade-state.js';
import { checksumTables, compareChecksums } from '../../src/verify/checksum-tables.js';
import { sysbench, type SysbenchResult } from '../harness/clients.js';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startProxy, type ProxyFixture } from '../proxy/proxy-fixture.js';

export const DB = 'sbtest';

/** The old server behind an in-process proxy (with switchover credentials), sysbench tables in it, an empty second server. */
export interface UpgradeWorld {
  source: MariaDB;
  target: MariaDB;
  proxy: ProxyFixture;
  /** A temp dir for the state and the config file. */
  dir: string;
  /** The upgrade config for this world; `over` replaces top-level keys. */
  config(over?: Record<string, unknown>): Record<string, unknown>;
  /** Writes config() to a file and returns its path. */
  configFile(over?: Record<string, unknown>): string;
  state(): UpgradeState;
  /** sysbench oltp_read_write through the proxy (prepared statements unless `extra` says otherwise; connections kept open). */
  load(seconds: number, extra?: string[]): Promise<SysbenchResult>;
  proxyStatus(): Promise<Record<string, unknown>>;
  headSeq(): Promise<number>;
  /** The port of the server answering through the proxy. */
  servingPort(): Promise<number>;
  stop(): Promise<void>;
}

const SYSBENCH = { host: '127.0.0.1', user: 'app', password: 'apppass', db: DB, tables: 4, tableSize: 5000 } as const;

/** An identity upgrade of `database` from source (behind the proxy) to target, with test-sized budgets. */
export function identityUpgradeConfig(
  o: { source: { port: number }; target: { port: number }; proxy: { adminSocket: string; journalDir: string }; stateDir: string; database: string; chunkRows: number },
  over: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    pack: 'identity',
    source: `mysql://root@127.0.0.1:${o.source.port}/`,
    proxy: { adminSocket: o.proxy.adminSocket, journalDir: o.proxy.journalDir },
    provision: { provider: 'existing', dsn: `mysql://root@127.0.0.1:${o.target.port}/` },
    stateDir: o.stateDir,
    accounts: ['app'],
    migrate: { databases: [o.database], chunkRows: o.chunkRows, workers: 2 },
    verify: { intervalSeconds: 1 },
    switchover: { maxLagSeconds: 5, lockMs: 3000, catchUpMs: 5000, verifyMs: 10_000, flipMs: 5000, totalMs: 30_000 },
    ...over,
  };
}

export async function startUpgradeWorld(name: string): Promise<UpgradeWorld> {
  const [source, target] = await Promise.all([startMariaDB({ name: `${name}-old` }), startMariaDB({ name: `${name}-new` })]);
  const proxy = await startProxy(source.port, { switchover: { credentials: { root: '', app: 'apppass' } } });
  const dir = mkdtempSync(`/dev/shm/metamorph-${name}-`);
  const setup = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root' });
  await setup.query(`CREATE DATABASE ${DB}`);
  await setup.end();
  const prep = await sysbench({ ...SYSBENCH, port: proxy.port, test: 'oltp_read_write', threads: 2, time: 5, command: 'prepare' });
  expect(prep.code, prep.stderr).toBe(0);
  const config = (over: Record<string, unknown> = {}) => identityUpgradeConfig({ source, target, proxy, stateDir: join(dir, 'state'), database: DB, chunkRows: 1000 }, over);
  return {
    source, target, proxy, dir, config,
    configFile(over = {}) {
      const file = join(dir, 'upgrade.json');
      writeFileSync(file, JSON.stringify(config(over)));
      return file;
    },
    state: () => JSON.parse(readFileSync(join(dir, 'state', 'state.json'), 'utf8')) as UpgradeState,
    // Uniform keys: sysbench's default hot-spot distribution makes its own transactions deadlock
    // now and then (an "ignored error" that has nothing to do with the proxy).
    load: (seconds, extra = []) => sysbench({ ...SYSBENCH, port: proxy.port, test: 'oltp_read_write', threads: 4, time: seconds, command: 'run', extra: ['--rand-type=uniform', ...extra] }),
    proxyStatus: () => adminRequest(proxy.adminSocket, 'status'),
    headSeq: async () => Number((await adminRequest(proxy.adminSocket, 'position')).headSeq),
    async servingPort() {
      const conn = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'app', password: 'apppass' });
      try {
        const [[row]] = await conn.query('SELECT @@port AS port') as unknown as [{ port: number }[]];
        return Number(row.port);
      } finally {
        await conn.end();
      }
    },
    async stop() {
      await adminRequest(proxy.adminSocket, 'unlock').catch(() => {});
      await proxy.stop();
      await Promise.all([source.stop(), target.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** sysbench ran, and saw no error at all (not even one it ignores and retries). */
export function expectCleanLoad(r: SysbenchResult): void {
  expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(0);
  expect(r.errors, r.stdout.slice(-2000)).toBe(0);
  expect(r.tps ?? 0).toBeGreaterThan(0);
}

/** CHECKSUM TABLE (and row count) of every sysbench table, equal on both servers (root without password). */
export async function expectSameData(a: { port: number }, b: { port: number }): Promise<void> {
  const sums = async (server: { port: number }) => {
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root' });
    try {
      return await checksumTables(conn, DB);
    } finally {
      await conn.end();
    }
  };
  const [x, y] = [await sums(a), await sums(b)];
  expect(x.map((t) => t.table)).toEqual(['sbtest1', 'sbtest2', 'sbtest3', 'sbtest4']);
  expect(compareChecksums(x, y)).toEqual([]);
}

/** Polls until `check` returns true. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${detail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
