import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { runCli } from '../harness/proxy-process.js';
import { startProxy, type ProxyFixture } from '../proxy/proxy-fixture.js';
import { adminRequest } from '../../src/admin/admin-client.js';
import { writeCheckpoint } from '../../src/journal/consumer-checkpoints.js';
import { cliArgs, expectSameTables, startMigrate, transferRows, until, type MigrateChild } from './migrate-fixture.js';

let source: MariaDB;
let target: MariaDB;
let proxy: ProxyFixture;
const children: MigrateChild[] = [];

beforeAll(async () => {
  [source, target] = await Promise.all([startMariaDB({ name: 'mg-thr-src' }), startMariaDB({ name: 'mg-thr-dst' })]);
  proxy = await startProxy(source.port);
  const app = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root' });
  await app.query('CREATE DATABASE thr');
  await app.query('CREATE TABLE thr.t (id INT PRIMARY KEY, pad CHAR(100))');
  for (let i = 0; i < 40_000; i += 5000) {
    await app.query(`INSERT INTO thr.t VALUES ${Array.from({ length: 5000 }, (_, k) => `(${i + k}, REPEAT('x', ${(i + k) % 100}))`).join(',')}`);
  }
  await app.end();
});

afterAll(async () => {
  for (const c of children) await c.kill9().catch(() => {});
  await proxy?.stop();
  await Promise.all([source?.stop(), target?.stop()]);
});

function start(extra: string[]): MigrateChild {
  const child = startMigrate(cliArgs(source, target, proxy, ['--databases', 'thr', '--chunk-rows', '1000', ...extra]));
  children.push(child);
  return child;
}

async function forgetMigration(): Promise<void> {
  await target.query('DROP DATABASE IF EXISTS metamorph_migrate; DROP DATABASE IF EXISTS thr');
}

const doneRows = async () => (await transferRows(target)).reduce((n, r) => n + (r.rows ?? 0), 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('--max-rows-per-sec 5000 caps the copy rate; SIGTERM finishes the chunks in hand and exits 3; a re-run completes', async () => {
  const child = start(['--workers', '2', '--max-rows-per-sec', '5000']);
  await until('copying', async () => (await doneRows()) > 0, 20_000, child.output);
  const [r1, t1] = [await doneRows(), Date.now()];
  await sleep(3000);
  const rate = ((await doneRows()) - r1) / ((Date.now() - t1) / 1000);
  // Rows commit in 1000-row chunks, so over 3 s the rate reads 5000 +- 700; uncapped it is > 100 000.
  expect(rate).toBeGreaterThan(3500);
  expect(rate).toBeLessThan(6000);
  expect(await child.stop()).toBe(3);
  expect(child.output()).toContain('stopped before the copy was complete');
  const rows = await transferRows(target);
  const done = rows.filter((r) => r.doneAt !== null);
  expect(done.length).toBeGreaterThan(0);
  expect(done.length).toBeLessThan(rows.length);
  expect(done.every((r) => r.rows === 1000)).toBe(true); // whole chunks only
  expect((await target.query('SELECT COUNT(*) AS n FROM thr.t'))[0].n).toBe(done.length * 1000);

  const again = start([]);
  expect(await again.exited).toBe(0);
  // Nothing was written in between: the re-run's cut is the same seq and every done chunk counts.
  expect(again.logs.find((l) => l.msg === 'copy complete')).toMatchObject({ copiedChunks: rows.length - done.length });
  await expectSameTables(source, target, 'thr');
}, 60_000);

it('the migrate admin socket pauses, resumes, and changes the Threads_running, replay lag and rows/s limits at runtime', async () => {
  await forgetMigration();
  const socket = join(proxy.journalDir, '..', 'migrate.sock');
  const child = start(['--workers', '2', '--max-rows-per-sec', '4000', '--admin-socket-migrate', socket]);
  const ask = (line: string) => adminRequest(socket, line, 5000);
  await until('copying', async () => child.logs.some((l) => l.msg === 'migrate admin socket listening') && (await ask('status')).doneRows as number > 0, 20_000, child.output);

  /** Copied rows do not move for 1.2 s, and status says why. */
  const expectHeld = async (why: RegExp) => {
    await sleep(400); // batches already admitted finish
    const a = await ask('status');
    await sleep(1200);
    const b = await ask('status');
    expect(b.held).toMatch(why);
    expect(b.doneRows).toBe(a.doneRows);
    return b.doneRows as number;
  };
  const expectMoving = async (from: number) => until('copying again', async () => (await ask('status')).doneRows as number > from, 10_000, child.output);

  expect(await ask('pause')).toEqual({ ok: true, paused: true });
  const paused = await expectHeld(/^paused by the operator$/);
  expect(await ask('resume')).toEqual({ ok: true, paused: false });
  await expectMoving(paused);

  // Three sessions sleeping on the source keep Threads_running above 2.
  const sleepers = await Promise.all([0, 1, 2].map(() => mysql.createConnection({ host: '127.0.0.1', port: source.port, user: 'root' })));
  const sleeping = sleepers.map((c) => c.query('SELECT SLEEP(4)'));
  expect(await ask('throttle threads=2')).toMatchObject({ ok: true, limits: { threadsRunning: 2, rowsPerSec: 4000 } });
  const byThreads = await expectHeld(/^source Threads_running \d+ > 2$/);
  expect(await ask('throttle threads=0')).toMatchObject({ ok: true, limits: { threadsRunning: 0 } });
  await expectMoving(byThreads);
  await Promise.all(sleeping);
  await Promise.all(sleepers.map((c) => c.end()));

  // A registered consumer that has applied nothing lags by the age of the first journaled write.
  await writeCheckpoint(proxy.journalDir, 'laggard', 0);
  try {
    expect(await ask('throttle lag=1')).toMatchObject({ ok: true, limits: { replayLagSeconds: 1 } });
    const byLag = await expectHeld(/^replay lag \d+\.\d s > 1 s$/);
    await writeCheckpoint(proxy.journalDir, 'laggard', proxy.server.journal.headSeq);
    await expectMoving(byLag);
  } finally {
    rmSync(join(proxy.journalDir, 'consumers', 'laggard.json'), { force: true });
  }

  expect(await ask('throttle rows=x')).toMatchObject({ ok: false, error: expect.stringContaining('rows=N') });
  expect(await ask('throttle rows=0')).toMatchObject({ ok: true, limits: { rowsPerSec: 0 } });
  expect(await child.exited).toBe(0); // uncapped, the rest goes at full speed
  await expectSameTables(source, target, 'thr');
}, 60_000);

it('usage errors exit 2 and name the option; a --journal that is not a journal fails before anything is copied', async () => {
  const missing = await runCli(['migrate', '--source', 'mysql://root@127.0.0.1:1/']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('--source, --target, --pack, --admin-socket and --journal are required');
  const withDb = await runCli(cliArgs(source, target, proxy, ['--workers', '2']).map((a) => (a === `mysql://root@127.0.0.1:${target.port}/` ? `${a}thr` : a)));
  expect(withDb.code).toBe(2);
  expect(withDb.stderr).toContain('--target must not name a database (thr)');
  const badUrl = await runCli(['migrate', '--source', 'http://x', '--target', 'mysql://root@127.0.0.1:1/', '--pack', 'identity', '--admin-socket', 's', '--journal', 'j']);
  expect(badUrl.code).toBe(2);
  expect(badUrl.stderr).toContain('--source: DSN "http://x" must start with mysql://');
  const workers = await runCli([...cliArgs(source, target, proxy), '--workers', '0']);
  expect(workers).toMatchObject({ code: 2, stderr: expect.stringContaining('--workers must be an integer >= 1, got 0') });
  const journal = await runCli(cliArgs(source, target, proxy).map((a) => (a === proxy.journalDir ? '/nonexistent/journal' : a)));
  expect(journal.code).toBe(1);
  expect(journal.stderr).toContain("cannot read the journal in /nonexistent/journal");
  expect((await runCli(['migrate', '--help'])).stdout).toContain('Exit codes: 0 copy complete');
}, 30_000);
