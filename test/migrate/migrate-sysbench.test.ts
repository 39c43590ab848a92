import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { sysbench } from '../harness/clients.js';
import { startProxy, type ProxyFixture } from '../proxy/proxy-fixture.js';
import { adminRequest } from '../../src/admin/admin-client.js';
import { ReplayEngine } from '../../src/apply/replay-engine.js';
import { Migration } from '../../src/migrate/migrate.js';
import { identityPack } from '../../src/translate/identity.js';
import { expectSameTables, migrateOptions, serverOptions } from './migrate-fixture.js';

let source: MariaDB;
let target: MariaDB;
let proxy: ProxyFixture;
let engine: ReplayEngine | null = null;

beforeAll(async () => {
  [source, target] = await Promise.all([startMariaDB({ name: 'mg-sb-src' }), startMariaDB({ name: 'mg-sb-dst' })]);
  proxy = await startProxy(source.port);
});

afterAll(async () => {
  await engine?.stop().catch(() => {});
  await adminRequest(proxy.adminSocket, 'unlock').catch(() => {});
  await proxy?.stop();
  await Promise.all([source?.stop(), target?.stop()]);
});

it('sysbench oltp_read_write through the proxy the whole time: cut, copy, replay from cut + 1; at a final lock every table is equal', async () => {
  const setup = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root' });
  await setup.query('CREATE DATABASE sbtest');
  await setup.end();
  const common = { host: '127.0.0.1', port: proxy.port, user: 'app', password: 'apppass', db: 'sbtest', tables: 4, tableSize: 10_000 } as const;
  const prep = await sysbench({ ...common, test: 'oltp_read_write', threads: 4, time: 10, command: 'prepare' });
  expect(prep.code, prep.stderr).toBe(0);

  let loadRunning = true;
  const load = sysbench({ ...common, test: 'oltp_read_write', threads: 4, time: 20, command: 'run' }).finally(() => { loadRunning = false; });
  await new Promise((r) => setTimeout(r, 2000));

  const headBefore = proxy.server.journal.headSeq;
  const migration = new Migration(migrateOptions(source, target, proxy, { databases: ['sbtest'], workers: 4, chunkRows: 2500 }));
  const result = await migration.run();
  expect(result).toMatchObject({ complete: true, copiedChunks: 4 * 5, keptChunks: 0, recopiedChunks: 0 });
  expect(result.copiedRows).toBeGreaterThanOrEqual(40_000);
  expect(result.cutSeq).toBeGreaterThan(headBefore); // the cut is taken under load, not before it
  expect(result.holdMs).toBeLessThan(1000);
  expect(loadRunning, 'the copy must happen while sysbench writes').toBe(true);
  const metrics = await migration.metrics.registry.metrics();
  expect(metrics).toContain(`metamorph_copy_rows_total ${result.copiedRows}\n`);
  expect(metrics).toContain('metamorph_copy_progress_ratio 1\n');
  expect(Number(/^metamorph_cut_hold_seconds (\S+)$/m.exec(metrics)?.[1])).toBeCloseTo((result.holdMs as number) / 1000, 6);

  engine = new ReplayEngine({ journalDir: proxy.journalDir, target: serverOptions(target), pack: identityPack, from: result.replayFrom, follow: true });
  await engine.start();
  const run = await load;
  expect(run.code, run.stderr + run.stdout).toBe(0);
  expect(proxy.server.journal.headSeq - result.cutSeq, 'sysbench kept writing after the cut').toBeGreaterThan(1000);

  const lock = await adminRequest(proxy.adminSocket, 'lock 5000');
  expect(lock).toMatchObject({ ok: true });
  try {
    await engine.waitFor(lock.seq as number, 30_000);
    expect(await expectSameTables(source, target, 'sbtest')).toEqual(['sbtest1', 'sbtest2', 'sbtest3', 'sbtest4']);
  } finally {
    await adminRequest(proxy.adminSocket, 'unlock');
  }
  const summary = await engine.stop();
  engine = null;
  expect(summary.appliedSeq).toBeGreaterThanOrEqual(lock.seq as number);
}, 90_000);
