import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql, { type Connection } from 'mysql2/promise';
import type { MariaDB } from '../harness/mariadb.js';
import type { ProxyFixture } from '../proxy/proxy-fixture.js';
import { appliedRow, expectSameTables, runReplay, startReplay, untilApplied, startReplayWorld, stopReplayWorld } from './replay-fixture.js';

let source: MariaDB;
let target: MariaDB;
let proxy: ProxyFixture;
let app: Connection;

beforeAll(async () => {
  ({ source, target, proxy } = await startReplayWorld('rp-ddl'));
  app = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root' });
});

afterAll(async () => {
  await app?.end();
  await stopReplayWorld({ source, target, proxy });
});

it('DDL between writes (CREATE TABLE, ALTER, CREATE INDEX, RENAME, DROP) replays in order, each committed on its own', async () => {
  await app.query('CREATE DATABASE d');
  await app.query('USE d');
  await app.query('CREATE TABLE a (id INT AUTO_INCREMENT PRIMARY KEY, v INT)');
  await app.query('INSERT INTO a (v) VALUES (1), (2)');
  await app.query('BEGIN');
  await app.query('INSERT INTO a (v) VALUES (3)');
  await app.query('ALTER TABLE a ADD COLUMN c VARCHAR(20) NOT NULL DEFAULT \'none\''); // commits the INSERT first
  await app.query('UPDATE a SET c = \'after-alter\' WHERE v = 3');
  await app.query('COMMIT');
  await app.query('CREATE TABLE b (id INT PRIMARY KEY, a_id INT, KEY (a_id))');
  await app.query('INSERT INTO b SELECT id * 10, id FROM a');
  await app.query('CREATE INDEX c_idx ON a (c)');
  await app.query('RENAME TABLE b TO b2');
  await app.query('CREATE TABLE gone (x INT)');
  await app.query('DROP TABLE gone');
  await app.query('CREATE TEMPORARY TABLE tmp (id INT)'); // no implicit commit: replays inside a batch
  await app.query('INSERT INTO tmp VALUES (7)');
  await app.query('INSERT INTO a (v, c) SELECT id, \'from-tmp\' FROM tmp');

  const r = await runReplay(proxy.journalDir, target);
  expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(0);
  expect(await expectSameTables(source, target, 'd')).toEqual(['a', 'b2']);
  expect(await appliedRow(target)).toMatchObject({ seq: proxy.server.journal.headSeq, ddlSeq: null });
}, 30_000);

it('a crash between a DDL and its position update: on restart the DDL runs again and "already exists" counts as applied', async () => {
  await app.query('ALTER TABLE a ADD COLUMN z INT NOT NULL DEFAULT 5');
  const ddlSeq = proxy.server.journal.headSeq;
  const r = await runReplay(proxy.journalDir, target);
  expect(r.code, r.stderr).toBe(0);
  // The state a kill -9 right after the DDL leaves: the DDL took effect, the position is before it, marked.
  await target.query('UPDATE metamorph_replay.applied SET seq = ?, ddl_seq = ? WHERE consumer = ?', [ddlSeq - 1, ddlSeq, 'replay']);
  await app.query('INSERT INTO a (v, z) VALUES (100, 6)');

  const restarted = await runReplay(proxy.journalDir, target);
  expect(restarted.code, restarted.stderr + restarted.stdout.slice(-2000)).toBe(0);
  const warn = restarted.stdout.split('\n').filter((l) => l.includes('already taken effect')).map((l) => JSON.parse(l));
  expect(warn).toEqual([expect.objectContaining({ seq: ddlSeq, error: expect.stringContaining("Duplicate column name 'z' (error 1060)") })]);
  expect(await appliedRow(target)).toMatchObject({ seq: proxy.server.journal.headSeq, ddlSeq: null });
  await expectSameTables(source, target, 'd');
}, 30_000);

it('without that mark the same kind of error is a real conflict: replay halts on the DDL', async () => {
  await target.query('CREATE TABLE d.made_by_hand (id INT)');
  await app.query('CREATE TABLE d.made_by_hand (id INT)');
  const ddlSeq = proxy.server.journal.headSeq;
  const r = await runReplay(proxy.journalDir, target);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`replay halted at seq ${ddlSeq} `);
  expect(r.stderr).toContain("Table 'made_by_hand' already exists (error 1050)");
  expect(await appliedRow(target)).toEqual({ seq: ddlSeq - 1, txn: expect.any(Number), ddlSeq: null });
  await target.query('DROP TABLE d.made_by_hand');
  expect((await runReplay(proxy.journalDir, target)).code).toBe(0);
  await expectSameTables(source, target, 'd');
}, 30_000);

it('kill -9 of a following replayer right after it applied a DDL: the restart goes on from there', async () => {
  const follower = startReplay(proxy.journalDir, target, ['--follow']);
  await app.query('INSERT INTO d.a (v) VALUES (200)');
  await app.query('CREATE TABLE d.late (id INT PRIMARY KEY, note TEXT)');
  const ddlSeq = proxy.server.journal.headSeq;
  await untilApplied(target, ddlSeq, 10_000, follower);
  await follower.kill9();
  expect(await appliedRow(target)).toMatchObject({ seq: ddlSeq });

  await app.query('INSERT INTO d.late VALUES (1, \'after the crash\')');
  await app.query('ALTER TABLE d.late ADD COLUMN n INT');
  await app.query('UPDATE d.late SET n = 1');
  const restarted = await runReplay(proxy.journalDir, target);
  expect(restarted.code, restarted.stderr).toBe(0);
  expect(await appliedRow(target)).toMatchObject({ seq: proxy.server.journal.headSeq, ddlSeq: null });
  expect(await expectSameTables(source, target, 'd')).toEqual(['a', 'b2', 'late', 'made_by_hand']);
}, 30_000);
