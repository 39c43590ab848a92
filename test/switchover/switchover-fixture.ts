import mysql, { type Connection } from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startProxy, type ProxyFixture } from '../proxy/proxy-fixture.js';
import { writeLoadTableSql } from '../harness/write-load.js';
import { AdminConnection } from '../../src/admin/admin-client.js';
import { ReplayEngine } from '../../src/apply/replay-engine.js';
import { silentLogger } from '../../src/log.js';
import { identityPack } from '../../src/translate/identity.js';
import { checksumTables, compareChecksums } from '../../src/verify/checksum-tables.js';
import type { VerifyReport } from '../../src/verify/verify.js';
import type { SwitchoverPlan } from '../../src/switchover/switchover.js';

export const DB = 'sw';
export const LOAD_TABLE = `${DB}.load_rows`;

/**
 * The old server behind an in-process proxy, the new server kept current by an identity standby
 * that follows the journal from seq 1 (the schema and seed rows are written through the proxy,
 * so the standby builds the same database), and one admin connection for the lease.
 */
export interface SwitchoverWorld {
  source: MariaDB;
  target: MariaDB;
  proxy: ProxyFixture;
  standby: ReplayEngine;
  admin: AdminConnection;
  /** A plan with roomy budgets, a clean last verification and a CHECKSUM TABLE verify; flips to the target. */
  plan(over?: Partial<SwitchoverPlan>): SwitchoverPlan;
  /** A client connection through the proxy. */
  connect(user?: 'root' | 'app'): Promise<Connection>;
  status(): Promise<{ gate: { state: string }; upstream: string }>;
  /** The journal head: every acknowledged commit is at or below it. */
  headSeq(): Promise<number>;
  stop(): Promise<void>;
}

export async function startSwitchoverWorld(name: string): Promise<SwitchoverWorld> {
  const [source, target] = await Promise.all([startMariaDB({ name: `${name}-old` }), startMariaDB({ name: `${name}-new` })]);
  const proxy = await startProxy(source.port, { switchover: { credentials: { root: '', app: 'apppass' } } });
  const setup = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root' });
  await setup.query(`CREATE DATABASE ${DB}`);
  await setup.query(writeLoadTableSql(LOAD_TABLE));
  await setup.query(`CREATE TABLE ${DB}.item (id INT PRIMARY KEY, v INT NOT NULL)`);
  await setup.query(`INSERT INTO ${DB}.item VALUES (1, 10), (2, 20), (3, 30)`);
  await setup.end();
  const standby = new ReplayEngine({ journalDir: proxy.journalDir, target: rootOptions(target), pack: identityPack, follow: true, consumer: 'standby' });
  await standby.start();
  const admin = await AdminConnection.open(proxy.adminSocket);
  const world: SwitchoverWorld = {
    source, target, proxy, standby, admin,
    plan: (over = {}) => ({
      admin, standby,
      preconditions: { maxLagSeconds: 5, lastVerification: cleanReport() },
      budgets: { lockMs: 2000, catchUpMs: 5000, verifyMs: 10_000, flipMs: 5000, totalMs: 30_000 },
      verify: () => checksumVerify(source, target),
      flip: { kind: 'upstream', host: '127.0.0.1', port: target.port },
      log: silentLogger(),
      ...over,
    }),
    connect: (user = 'root') => mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user, password: user === 'app' ? 'apppass' : '', database: DB }),
    status: async () => (await admin.request('status')) as unknown as { gate: { state: string }; upstream: string },
    headSeq: async () => Number((await admin.request('position')).headSeq),
    async stop() {
      admin.close();
      await standby.stop().catch(() => {});
      await proxy.stop();
      await Promise.all([source.stop(), target.stop()]);
    },
  };
  await standby.waitFor(await world.headSeq(), 10_000);
  return world;
}

export function rootOptions(server: MariaDB): { host: string; port: number; user: string; password: string } {
  return { host: '127.0.0.1', port: server.port, user: 'root', password: '' };
}

export function cleanReport(): VerifyReport {
  return { clean: true, pack: 'identity', differences: [], truncated: false, checked: { tables: 0, chunks: 0, rows: 0, items: 0 }, ms: 0 };
}

/** CHECKSUM TABLE of every table of the test database on both servers, as a verify report. */
export async function checksumVerify(source: MariaDB, target: MariaDB): Promise<VerifyReport> {
  const started = Date.now();
  const [a, b] = await Promise.all([checksumsOf(source, DB), checksumsOf(target, DB)]);
  const differences = compareChecksums(a, b).map((text) => ({ item: text.split(':')[0], side: 'both' as const, field: 'checksum', source: text }));
  return {
    clean: differences.length === 0, pack: 'identity', differences, truncated: false,
    checked: { tables: a.length, chunks: a.length, rows: a.reduce((n, t) => n + t.rows, 0), items: 0 }, ms: Date.now() - started,
  };
}

export async function checksumsOf(server: MariaDB, db: string) {
  const conn = await mysql.createConnection(rootOptions(server));
  try {
    return await checksumTables(conn, db);
  } finally {
    await conn.end();
  }
}

/** Settles within `ms` or rejects: a write through the gate must not hang a test. */
export function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
