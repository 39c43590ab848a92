import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { sysbench } from '../harness/clients.js';
import { freePort } from '../harness/ports.js';
import { startProxy, type ProxyFixture } from '../proxy/proxy-fixture.js';
import { adminRequest } from '../../src/admin/admin-client.js';
import { cliArgs, expectSameTables, startMigrate, transferRows, until, type MigrateChild, type TransferRow } from './migrate-fixture.js';

let source: MariaDB;
let target: MariaDB;
let proxy: ProxyFixture;
const children: MigrateChild[] = [];

beforeAll(async () => {
  [source, target] = await Promise.all([startMariaDB({ name: 'mg-k9-src' }), startMariaDB({ name: 'mg-k9-dst' })]);
  proxy = await startProxy(source.port);
});

afterAll(async () => {
  for (const c of children) await c.kill9().catch(() => {});
  await adminRequest(proxy.adminSocket, 'unlock').catch(() => {});
  await proxy?.stop();
  await Promise.all([source?.stop(), target?.stop()]);
});

const done = (rows: TransferRow[]) => rows.filter((r) => r.doneAt !== null);

it('kill -9 of `metamorph migrate` twice mid-copy under sysbench, then a run to the end with --replay: every table equal', async () => {
  const setup = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', multipleStatements: true });
  // `quiet` is never written again: its chunks done before a kill must survive it.
  await setup.query('CREATE DATABASE quiet; CREATE TABLE quiet.blobs (id INT PRIMARY KEY, b VARBINARY(64), t VARCHAR(20) CHARACTER SET latin1); CREATE DATABASE sbtest');
  for (let i = 0; i < 12_000; i += 2000) {
    const rows = Array.from({ length: 2000 }, (_, k) => `(${i + k}, UNHEX(SHA2(${i + k}, 256)), CHAR(${(i + k) % 256}))`);
    await setup.query(`INSERT INTO quiet.blobs VALUES ${rows.join(',')}`);
  }
  await setup.end();
  const common = { host: '127.0.0.1', port: proxy.port, user: 'app', password: 'apppass', db: 'sbtest', tables: 4, tableSize: 10_000 } as const;
  const prep = await sysbench({ ...common, test: 'oltp_read_write', threads: 4, time: 10, command: 'prepare' });
  expect(prep.code, prep.stderr).toBe(0);
  const load = sysbench({ ...common, test: 'oltp_read_write', threads: 4, time: 30, command: 'run' });

  // 1000-row chunks at 8000 rows/s: 52 chunks, ~6.5 s per full copy; killed twice long before that.
  const slow = cliArgs(source, target, proxy, ['--databases', 'quiet,sbtest', '--workers', '4', '--chunk-rows', '1000', '--max-rows-per-sec', '8000']);
  let seen = 0;
  const cuts: number[] = [];
  for (let kill = 0; kill < 2; kill++) {
    const child = startMigrate(slow);
    children.push(child);
    await until(`run ${kill + 1} copies 8 more chunks`, async () => done(await transferRows(target)).length >= seen + 8, 20_000, () => child.output().slice(-3000));
    await child.kill9();
    const rows = await transferRows(target);
    expect(done(rows).length, 'killed mid-copy').toBeLessThan(rows.length);
    seen = done(rows).length;
    cuts.push(Number(child.logs.find((l) => l.msg === 'consistent cut taken')?.seq));
  }
  expect(cuts[1]).toBeGreaterThan(cuts[0]);
  const afterKills = await transferRows(target);
  const quietDone = done(afterKills).filter((r) => r.db === 'quiet');
  expect(quietDone.length).toBeGreaterThan(0);
  expect(done(afterKills).length - quietDone.length, 'sbtest chunks done at an older cut, to be copied again').toBeGreaterThan(0);

  const metricsPort = await freePort();
  const final = startMigrate([...cliArgs(source, target, proxy, ['--databases', 'quiet,sbtest', '--workers', '4', '--chunk-rows', '1000']),
    '--replay', '--metrics', `127.0.0.1:${metricsPort}`]);
  children.push(final);
  await until('the last run copies everything and starts replay', () => final.logs.some((l) => String(l.msg).startsWith('replaying the journal from the cut')), 30_000, () => final.output().slice(-3000));
  const complete = final.logs.find((l) => l.msg === 'copy complete') as Record<string, unknown>;
  expect(complete).toBeDefined();
  const cutSeq = Number(complete.cutSeq);
  expect(cutSeq).toBeGreaterThan(cuts[1]);
  expect(final.output()).toContain(`replay must start from seq ${cutSeq + 1}`);
  const resumed = final.logs.find((l) => l.msg === 'resuming: chunks of tables unwritten since their cut are kept, the others are copied again') as Record<string, unknown>;
  expect(resumed).toMatchObject({ kept: quietDone.length, recopy: done(afterKills).length - quietDone.length });

  // Every chunk is at the last cut; quiet's were copied once, before the kills.
  const end = await transferRows(target);
  expect(end.every((r) => r.doneAt !== null && r.cutSeq === cutSeq)).toBe(true);
  for (const q of quietDone) expect(end.find((r) => r.db === 'quiet' && r.no === q.no)?.doneAt).toBe(q.doneAt);

  const run = await load;
  expect(run.code, run.stderr + run.stdout).toBe(0);
  const lock = await adminRequest(proxy.adminSocket, 'lock 5000');
  expect(lock).toMatchObject({ ok: true });
  try {
    await until('replay reaches the locked seq', async () => {
      const [row] = await target.query("SELECT seq FROM metamorph_replay.applied WHERE consumer = 'replay'");
      return Number(row?.seq) >= (lock.seq as number);
    }, 30_000, () => final.output().slice(-3000));
    expect(await expectSameTables(source, target, 'sbtest')).toEqual(['sbtest1', 'sbtest2', 'sbtest3', 'sbtest4']);
    await expectSameTables(source, target, 'quiet');
  } finally {
    await adminRequest(proxy.adminSocket, 'unlock');
  }
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  expect(metrics).toContain('metamorph_copy_progress_ratio 1\n');
  expect(metrics).toMatch(/^metamorph_cut_hold_seconds 0\.\d+$/m);
  expect(metrics).toMatch(/^metamorph_replay_applied_seq \d+$/m);
  expect(await final.stop()).toBe(0); // SIGTERM while replaying: commit and exit 0
}, 90_000);
