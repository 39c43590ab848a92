import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql, { type Connection } from 'mysql2/promise';
import type { MariaDB } from '../harness/mariadb.js';
import type { ProxyFixture } from '../proxy/proxy-fixture.js';
import { ReplayEngine } from '../../src/apply/replay-engine.js';
import { loadPack } from '../../src/translate/registry.js';
import { expectSameTables, startReplayWorld, stopReplayWorld } from './replay-fixture.js';

let source: MariaDB;
let target: MariaDB;
let proxy: ProxyFixture;
const engines: ReplayEngine[] = [];

beforeAll(async () => {
  ({ source, target, proxy } = await startReplayWorld('rp-ctx'));
});

afterAll(async () => {
  for (const e of engines) await e.stop().catch(() => {}); // a failed test may have left one running
  await stopReplayWorld({ source, target, proxy });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const connect = (): Promise<Connection> => mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: 'ctx' });

async function startEngine(): Promise<ReplayEngine> {
  const engine = new ReplayEngine({ journalDir: proxy.journalDir, target: { host: '127.0.0.1', port: target.port, user: 'root' }, pack: await loadPack('identity'), follow: true, consumer: 'ctx' });
  engines.push(engine);
  await engine.start();
  return engine;
}

const SELECT_ALL = 'SELECT id, created, updated, s, at_literal, n, who, HEX(raw) AS raw, HEX(txt) AS txt FROM ctx.t ORDER BY id';

it('per-entry context replays equal: clock (NOW(), defaults, ON UPDATE), sql_mode, time_zone, NAMES, user variables, insert ids', async () => {
  const setup = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root' });
  await setup.query('CREATE DATABASE ctx');
  await setup.query(`CREATE TABLE ctx.t (
    id INT AUTO_INCREMENT PRIMARY KEY,
    created TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    s VARCHAR(3), at_literal TIMESTAMP NULL, n INT, who VARCHAR(8), raw VARBINARY(16), txt VARCHAR(8) CHARACTER SET utf8mb4)`);
  await setup.query('CREATE TABLE ctx.counter (id INT PRIMARY KEY, n INT)');
  await setup.query('INSERT INTO ctx.counter VALUES (1, 1000)');
  await setup.query('CREATE TABLE ctx.audit (id INT AUTO_INCREMENT PRIMARY KEY, v INT)');
  await setup.query('CREATE TABLE ctx.event (v INT)');
  await setup.query('CREATE TRIGGER ctx.event_audit AFTER INSERT ON ctx.event FOR EACH ROW INSERT INTO ctx.audit (v) VALUES (NEW.v)');
  await setup.end();

  // The replayer follows while two sessions with different contexts write, interleaved.
  const engine = await startEngine();
  const a = await connect();
  const b = await connect();
  await a.query("SET sql_mode = '', time_zone = '+05:00', @v = 42");
  await a.query('SET NAMES latin1');
  for (let round = 0; round < 3; round++) {
    // sql_mode '' truncates 'abcdef' (strict mode would refuse it); +05:00 shifts the literal; @v is 42 here only.
    // NAMES latin1: the client sends é as the byte E9; the server converts it for the utf8mb4 column.
    await a.query("INSERT INTO t (s, at_literal, n, who, raw, txt) VALUES ('abcdef', '2024-01-01 00:00:00', @v, 'A', 'é', 'é')");
    await b.query("INSERT INTO t (s, at_literal, n, who, txt) VALUES ('xy', '2024-01-01 00:00:00', @v, 'B', 'ü')");
    await sleep(15);
    await a.query("UPDATE t SET n = n + 1 WHERE who = 'A'"); // ON UPDATE CURRENT_TIMESTAMP
    await b.query("INSERT INTO t (s, at_literal, n, who) VALUES ('now', NOW(), UNIX_TIMESTAMP(CURRENT_TIMESTAMP), 'B')");
    // LAST_INSERT_ID(expr) sets the insert id without consuming an auto-increment; the next insert must not reuse it.
    await a.query('UPDATE counter SET n = LAST_INSERT_ID(n + 100) WHERE id = 1');
    await b.query('INSERT INTO event VALUES (?)', [round]); // the trigger's auto-increment would take a stale INSERT_ID
    await b.query("INSERT INTO t (s, who) VALUES ('id', 'B'), ('id2', 'B')");
    await a.query("INSERT INTO t (id, s, who) VALUES (500 + 10 * ?, 'x', 'A')", [round]);
  }
  await Promise.all([a.end(), b.end()]);

  const head = proxy.server.journal.headSeq;
  await engine.waitFor(head, 15_000);
  expect(engine.lagSeconds()).toBe(0);
  const metrics = await engine.metrics.registry.metrics();
  expect(metrics).toContain(`metamorph_replay_applied_seq ${head}\n`);
  expect(metrics).toContain(`metamorph_replay_statements_total ${head}\n`);
  const summary = await engine.stop();
  expect(summary).toMatchObject({ appliedSeq: head, statements: head, flagged: 0, queued: 0 });

  expect(await target.query(SELECT_ALL)).toEqual(await source.query(SELECT_ALL));
  expect(await expectSameTables(source, target, 'ctx')).toEqual(['audit', 'counter', 'event', 't']);
  // The context really mattered: the values differ between the two sessions.
  const sample = await source.query("SELECT DISTINCT who, s, n IS NULL AS no_v, HEX(raw) AS raw, HEX(txt) AS txt FROM ctx.t WHERE s IN ('abc', 'xy') ORDER BY who");
  expect(sample).toEqual([
    { who: 'A', s: 'abc', no_v: 0, raw: 'E9', txt: 'C3A9' },
    { who: 'B', s: 'xy', no_v: 1, raw: null, txt: 'C3BC' },
  ]);
}, 60_000);

it('waitFor rejects when the engine ends before the seq; stop() on an idle follower returns at once', async () => {
  const engine = await startEngine();
  const head = proxy.server.journal.headSeq;
  expect(engine.appliedSeq).toBe(head); // resumed from the target's position, nothing to do
  const beyond = engine.waitFor(head + 1);
  const stopped = Date.now();
  await engine.stop();
  expect(Date.now() - stopped).toBeLessThan(1000);
  await expect(beyond).rejects.toMatchObject({ code: 'REPLAY_STOPPED' });
}, 30_000);
