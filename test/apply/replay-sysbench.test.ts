import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import type { MariaDB } from '../harness/mariadb.js';
import { sysbench } from '../harness/clients.js';
import type { ProxyFixture } from '../proxy/proxy-fixture.js';
import { appliedRow, checkpointSeq, expectSameTables, runReplay, startReplayWorld, stopReplayWorld } from './replay-fixture.js';

let source: MariaDB;
let target: MariaDB;
let proxy: ProxyFixture;

beforeAll(async () => {
  ({ source, target, proxy } = await startReplayWorld('rp-sb'));
});

afterAll(async () => {
  await stopReplayWorld({ source, target, proxy });
});

it('sysbench oltp_read_write through the proxy, then `metamorph replay --pack identity` into an empty target: every table equal', async () => {
  const app = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'app', password: 'apppass' });
  await app.query('CREATE DATABASE sbtest');
  await app.end();
  const common = { host: '127.0.0.1', port: proxy.port, user: 'app', password: 'apppass', db: 'sbtest', tables: 4, tableSize: 2000 } as const;
  const prep = await sysbench({ ...common, test: 'oltp_read_write', threads: 2, time: 5, command: 'prepare' });
  expect(prep.code, prep.stderr).toBe(0);
  const run = await sysbench({ ...common, test: 'oltp_read_write', threads: 4, time: 8, command: 'run' });
  expect(run.code, run.stderr + run.stdout).toBe(0);
  const head = proxy.server.journal.headSeq;
  expect(head).toBeGreaterThan(1000);

  const commitsBefore = await comCommit(target);
  const replay = await runReplay(proxy.journalDir, target);
  expect(replay.code, replay.stderr + replay.stdout.slice(-3000)).toBe(0);

  expect(await expectSameTables(source, target, 'sbtest')).toEqual(['sbtest1', 'sbtest2', 'sbtest3', 'sbtest4']);
  expect(await appliedRow(target)).toMatchObject({ seq: head, ddlSeq: null });
  expect(checkpointSeq(proxy.journalDir)).toBe(head);
  const done = JSON.parse(replay.stdout.trim().split('\n').pop() as string);
  expect(done).toMatchObject({ msg: 'replay caught up with the end of the journal', appliedSeq: head, statements: head, flagged: 0, queued: 0 });
  expect(done.transactions).toBeGreaterThan(run.tps! * 4);
  // Batching: several source transactions per target transaction.
  expect(await comCommit(target) - commitsBefore).toBeLessThan(done.transactions / 3);
}, 60_000);

async function comCommit(server: MariaDB): Promise<number> {
  const [row] = await server.query("SHOW GLOBAL STATUS LIKE 'Com_commit'");
  return Number(row.Value);
}

it('run again: nothing to apply, the position stays; a --from that disagrees with the target is refused', async () => {
  const head = proxy.server.journal.headSeq;
  const again = await runReplay(proxy.journalDir, target);
  expect(again.code, again.stderr).toBe(0);
  expect(JSON.parse(again.stdout.trim().split('\n').pop() as string)).toMatchObject({ appliedSeq: head, statements: 0 });

  const conflicting = await runReplay(proxy.journalDir, target, ['--from', '1']);
  expect(conflicting.code).toBe(1);
  expect(conflicting.stderr).toContain(`has applied through seq ${head}, so replay resumes at ${head + 1}; --from 1 would apply seqs 1..${head} a second time`);
  expect(conflicting.stderr).toContain('--force-from');
  expect(await appliedRow(target)).toMatchObject({ seq: head });
  await expectSameTables(source, target, 'sbtest');
}, 30_000);
