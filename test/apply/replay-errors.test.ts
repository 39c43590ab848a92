import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql, { type Connection } from 'mysql2/promise';
import type { MariaDB } from '../harness/mariadb.js';
import type { ProxyFixture } from '../proxy/proxy-fixture.js';
import { appliedRow, runReplay, startReplay, untilLogged, startReplayWorld, stopReplayWorld } from './replay-fixture.js';

let source: MariaDB;
let target: MariaDB;
let proxy: ProxyFixture;
let app: Connection;

beforeAll(async () => {
  ({ source, target, proxy } = await startReplayWorld('rp-err'));
  app = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root' });
});

afterAll(async () => {
  await app?.end();
  await stopReplayWorld({ source, target, proxy });
});

async function seqOf(sqlStart: string): Promise<number> {
  const e = (await proxy.entries()).find((x) => x.sql.toString('utf8').startsWith(sqlStart));
  if (!e) throw new Error(`no journal entry starts with ${sqlStart}`);
  return e.seq;
}

const rows = async (server: MariaDB) => server.query('SELECT id, v FROM app.t ORDER BY id');

it('halt: an entry the target rejects stops replay with exit 1, naming seq, statement and reason; the position stays just before it', async () => {
  await app.query('CREATE DATABASE app');
  await app.query('CREATE TABLE app.t (id INT PRIMARY KEY, v INT NOT NULL)');
  const first = await runReplay(proxy.journalDir, target);
  expect(first.code, first.stderr).toBe(0);

  // Someone wrote to the target by hand: the journaled INSERT of id 3 will collide.
  await target.query('INSERT INTO app.t VALUES (3, 300)');
  await app.query('INSERT INTO app.t VALUES (1, 10), (2, 20)');
  await app.query('BEGIN');
  await app.query('UPDATE app.t SET v = v + 1 WHERE id = 1');
  await app.query('INSERT INTO app.t VALUES (3, 30)');
  await app.query('INSERT INTO app.t VALUES (4, 40)');
  await app.query('COMMIT');
  await app.query('INSERT INTO app.t VALUES (5, 50)');
  const failing = await seqOf('INSERT INTO app.t VALUES (3, 30)');

  const halted = await runReplay(proxy.journalDir, target);
  expect(halted.code).toBe(1);
  expect(halted.stderr).toContain(`replay halted at seq ${failing} `);
  expect(halted.stderr).toContain('statement: INSERT INTO app.t VALUES (3, 30)');
  expect(halted.stderr).toContain("Duplicate entry '3' for key 'PRIMARY' (error 1062)");
  // The transaction before the failing one is kept; the failing one is undone entirely (its UPDATE too).
  expect(await appliedRow(target)).toMatchObject({ seq: failing - 2, ddlSeq: null });
  expect(await rows(target)).toEqual([{ id: 1, v: 10 }, { id: 2, v: 20 }, { id: 3, v: 300 }]);

  // Nothing moves on its own: the same command halts at the same place.
  const again = await runReplay(proxy.journalDir, target);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain(`replay halted at seq ${failing} `);
  expect(await appliedRow(target)).toMatchObject({ seq: failing - 2 });
}, 60_000);

it('repair: the failing entry is rolled back to a savepoint, its item queued with seq and reason, and replay goes on', async () => {
  const failing = await seqOf('INSERT INTO app.t VALUES (3, 30)');
  const repaired = await runReplay(proxy.journalDir, target, ['--on-error=repair']);
  expect(repaired.code, repaired.stderr + repaired.stdout.slice(-2000)).toBe(0);
  expect(repaired.stdout).toContain('"msg":"queued for repair"');

  const queue = await target.query('SELECT consumer, seq, item_type, item_key, reason FROM metamorph_replay.repair_queue');
  expect(queue).toEqual([{
    consumer: 'replay', seq: failing, item_type: 'table', item_key: 'app.t',
    reason: expect.stringContaining("the target refused it: Duplicate entry '3' for key 'PRIMARY' (error 1062)"),
  }]);
  // The rest of that transaction (UPDATE before, INSERT after) and everything after it applied.
  expect(await rows(target)).toEqual([{ id: 1, v: 11 }, { id: 2, v: 20 }, { id: 3, v: 300 }, { id: 4, v: 40 }, { id: 5, v: 50 }]);
  expect(await appliedRow(target)).toMatchObject({ seq: proxy.server.journal.headSeq });
}, 30_000);

it('a statement flagged as non-deterministic is applied and reported; under repair its table is queued too', async () => {
  await app.query('CREATE TABLE app.f (id INT PRIMARY KEY, r DOUBLE)');
  await app.query('INSERT INTO app.f VALUES (1, 0.5)');
  await app.query('UPDATE app.f SET r = RAND(7) WHERE id = 1'); // seeded: the same on both sides
  const flagged = await seqOf('UPDATE app.f SET r = RAND(7)');
  const run = await runReplay(proxy.journalDir, target, ['--on-error=repair']);
  expect(run.code, run.stderr).toBe(0);
  const warn = run.stdout.split('\n').filter((l) => l.includes('flagged')).map((l) => JSON.parse(l));
  expect(warn).toContainEqual(expect.objectContaining({ seq: flagged, flags: ['nondeterministic function RAND()'] }));
  expect(JSON.parse(run.stdout.trim().split('\n').pop() as string)).toMatchObject({ flagged: 1, queued: 1 });
  expect(await target.query('SELECT item_type, item_key, reason FROM metamorph_replay.repair_queue WHERE seq = ?', [flagged])).toEqual([
    { item_type: 'table', item_key: 'app.f', reason: 'applied, but flagged by the proxy: nondeterministic function RAND()' },
  ]);
  expect(await target.query('SELECT r FROM app.f')).toEqual(await source.query('SELECT r FROM app.f'));
}, 30_000);

it('a row lock held on the target (lock wait timeout) makes replay retry the batch, not queue or halt it', async () => {
  await target.query('SET GLOBAL innodb_lock_wait_timeout = 1'); // new sessions, the replayer's included
  await app.query('UPDATE app.f SET r = 2.5 WHERE id = 1');
  const locker = await mysql.createConnection({ host: '127.0.0.1', port: target.port, user: 'root' });
  try {
    await locker.query('BEGIN');
    await locker.query('SELECT * FROM app.f WHERE id = 1 FOR UPDATE');
    const replayer = startReplay(proxy.journalDir, target);
    await untilLogged(replayer, 'target busy; retrying', 20_000); // the lock wait timed out at least once
    await locker.query('ROLLBACK');
    expect(await replayer.exited).toBe(0);
    const lines = replayer.output().trim().split('\n').map((l) => JSON.parse(l));
    const retry = lines.find((l) => l.msg === 'target busy; retrying');
    expect(retry.error).toContain('Lock wait timeout exceeded; try restarting transaction (error 1205)');
    expect(lines.at(-1)).toMatchObject({ msg: 'replay caught up with the end of the journal', statements: 1, queued: 0 });
    expect(await target.query('SELECT r FROM app.f ORDER BY id')).toEqual(await source.query('SELECT r FROM app.f ORDER BY id'));
  } finally {
    await locker.end();
    await target.query('SET GLOBAL innodb_lock_wait_timeout = DEFAULT');
  }
}, 30_000);

it('skipping an entry takes an explicit --from past it and --force-from (and leaves a repair row); without --force-from it is refused', async () => {
  await target.query('INSERT INTO app.t VALUES (6, 600)');
  await app.query('INSERT INTO app.t VALUES (6, 60)');
  await app.query('INSERT INTO app.t VALUES (7, 70)');
  const failing = await seqOf('INSERT INTO app.t VALUES (6, 60)');
  expect((await runReplay(proxy.journalDir, target)).code).toBe(1);

  const refused = await runReplay(proxy.journalDir, target, ['--from', String(failing + 1)]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain(`--from ${failing + 1} would skip seqs ${failing}..${failing}`);
  expect(await appliedRow(target)).toMatchObject({ seq: failing - 1 });

  const forced = await runReplay(proxy.journalDir, target, ['--from', String(failing + 1), '--force-from']);
  expect(forced.code, forced.stderr).toBe(0);
  expect(forced.stdout).toContain('--force-from: overriding the position stored in the target');
  expect(await appliedRow(target)).toMatchObject({ seq: proxy.server.journal.headSeq });
  expect(await target.query('SELECT id, v FROM app.t WHERE id >= 6 ORDER BY id')).toEqual([{ id: 6, v: 600 }, { id: 7, v: 70 }]);
  expect(await target.query('SELECT item_type, item_key, reason FROM metamorph_replay.repair_queue WHERE seq = ?', [failing])).toEqual([
    { item_type: 'skipped-seqs', item_key: `${failing}..${failing}`, reason: `--force-from ${failing + 1} skipped them unapplied` },
  ]);
}, 30_000);
