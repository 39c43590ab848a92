import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import mysql from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { sysbench } from '../harness/clients.js';
import { startProxy, type ProxyFixture } from './proxy-fixture.js';
import { ReplayEngine } from '../../src/apply/replay-engine.js';
import { identityPack } from '../../src/translate/identity.js';
import { checksumTables, compareChecksums } from '../../src/verify/checksum-tables.js';
import type { JournalEntry } from '../../src/journal/record.js';

let source: MariaDB;
let target: MariaDB;
let proxy: ProxyFixture;

beforeAll(async () => {
  [source, target] = await Promise.all([startMariaDB({ name: 'sb-src' }), startMariaDB({ name: 'sb-dst' })]);
  proxy = await startProxy(source.port);
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([source?.stop(), target?.stop()]);
});

/** Reads `metamorph journal dump` output back into entries, as an outside consumer would. */
function dumpEntries(dir: string): JournalEntry[] {
  const r = spawnSync('node', ['dist/cli.js', 'journal', 'dump', '--dir', dir], { encoding: 'utf8', maxBuffer: 1 << 30 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').map((line) => {
    const o = JSON.parse(line);
    return { ...o, sql: Buffer.from(o.sql, 'utf8') } as JournalEntry;
  });
}

it('after sysbench oltp_read_write (prepared statements) through the proxy, replaying the journal dump reproduces every table', async () => {
  const admin = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'app', password: 'apppass' });
  await admin.query('CREATE DATABASE sbtest');
  await admin.end();
  const common = { host: '127.0.0.1', port: proxy.port, user: 'app', password: 'apppass', db: 'sbtest', tables: 4, tableSize: 2000 } as const;
  const prep = await sysbench({ ...common, test: 'oltp_read_write', threads: 2, time: 5, command: 'prepare' });
  expect(prep.code, prep.stderr).toBe(0);
  const run = await sysbench({ ...common, test: 'oltp_read_write', threads: 4, time: 8, command: 'run' });
  expect(run.code, run.stderr + run.stdout).toBe(0);
  expect(run.tps).toBeGreaterThan(10);

  const entries = dumpEntries(proxy.journalDir);
  const engine = new ReplayEngine({ journalDir: proxy.journalDir, target: { host: '127.0.0.1', port: target.port, user: 'root' }, pack: identityPack });
  await engine.start();
  expect((await engine.finished()).appliedSeq).toBe(entries.length);

  const a = await mysql.createConnection({ host: '127.0.0.1', port: source.port, user: 'root' });
  const b = await mysql.createConnection({ host: '127.0.0.1', port: target.port, user: 'root' });
  const [sa, sb] = [await checksumTables(a, 'sbtest'), await checksumTables(b, 'sbtest')];
  await Promise.all([a.end(), b.end()]);
  expect(sa.map((t) => t.table)).toEqual(['sbtest1', 'sbtest2', 'sbtest3', 'sbtest4']);
  expect(compareChecksums(sa, sb)).toEqual([]);

  // The run executed through prepared statements and committed thousands of transactions.
  const kinds = new Set(entries.map((e) => e.kind));
  expect([...kinds].sort()).toEqual(['ddl', 'delete', 'insert', 'update']);
  expect(new Set(entries.map((e) => e.txn)).size).toBeGreaterThan(run.tps! * 4);
  expect(entries.filter((e) => e.flags.length > 0)).toEqual([]);
}, 120_000);
