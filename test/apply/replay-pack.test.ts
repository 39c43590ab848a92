import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import type { MariaDB } from '../harness/mariadb.js';
import type { ProxyFixture } from '../proxy/proxy-fixture.js';
import { startReplayWorld, stopReplayWorld } from './replay-fixture.js';
import { ReplayEngine } from '../../src/apply/replay-engine.js';
import { TranslateError, type Pack } from '../../src/translate/pack.js';
import type { JournalEntry } from '../../src/journal/record.js';

let source: MariaDB;
let target: MariaDB;
let proxy: ProxyFixture;

beforeAll(async () => {
  ({ source, target, proxy } = await startReplayWorld('rp-pack'));
});

afterAll(async () => {
  await stopReplayWorld({ source, target, proxy });
});

/**
 * A pack with only `apply` (no plan): it records each entry in a table of the target database,
 * through the SqlRunner with parameters, the way a translating pack writes.
 */
const logPack: Pack = {
  name: 'log',
  description: 'test pack: one row per journal entry',
  async prepareTarget(target) {
    await target.exec('CREATE TABLE IF NOT EXISTS entry_log (id INT AUTO_INCREMENT PRIMARY KEY, seq BIGINT, stmt BLOB, note VARCHAR(20), at DATETIME(6))');
  },
  async apply(entry: JournalEntry, ctx) {
    if (entry.sql.includes('untranslatable')) throw new TranslateError('this write has no equivalent', [{ type: 'row', key: `t:${entry.seq}` }]);
    const [{ n }] = await ctx.target.query<{ n: number }>('SELECT COUNT(*) AS n FROM entry_log');
    await ctx.target.exec('INSERT INTO entry_log (seq, stmt, note, at) VALUES (?, ?, ?, NOW(6))', [entry.seq, entry.sql, `it's #${Number(n) + 1}\\`]);
  },
};

const engineFor = (onError: 'halt' | 'repair') => new ReplayEngine({
  journalDir: proxy.journalDir, target: { host: '127.0.0.1', port: target.port, user: 'root' }, targetDb: 'mirror', pack: logPack, consumer: 'log', onError,
});

it('a pack without plan writes through the SqlRunner: in the --target database, with the entry clock, own auto-increment ids, literals safe under any sql_mode', async () => {
  await target.query('CREATE DATABASE mirror');
  const app = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root' });
  await app.query('CREATE DATABASE src');
  await app.query('CREATE TABLE src.t (id INT AUTO_INCREMENT PRIMARY KEY, s VARCHAR(20))');
  await app.query("SET sql_mode = 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES'"); // how the pack's own literals are read
  await app.query("INSERT INTO src.t (s) VALUES ('a\\b'), ('q''uote')");
  await app.query("INSERT INTO src.t (id, s) VALUES (100, 'x')");
  await app.end();

  const engine = engineFor('halt');
  await engine.start();
  const summary = await engine.finished();
  const entries = await proxy.entries();
  expect(summary).toMatchObject({ appliedSeq: entries.length, statements: entries.length });
  const rows = await target.query('SELECT id, seq, stmt, note, at FROM mirror.entry_log ORDER BY id');
  expect(rows.map((r: { id: number }) => r.id)).toEqual(entries.map((_, i) => i + 1)); // not the source's insert ids
  expect(rows.map((r: { stmt: Buffer }) => r.stmt)).toEqual(entries.map((e) => e.sql));
  expect(rows.map((r: { note: string }) => r.note)).toEqual(entries.map((_, i) => `it's #${i + 1}\\`));
  // NOW(6) ran at each entry's journal time (target server in UTC like the source).
  const utc = (us: number) => new Date(us / 1000).toISOString().replace('T', ' ').replace('Z', '');
  expect(rows.map((r: { at: Date }) => r.at.toISOString().replace('T', ' ').replace('Z', ''))).toEqual(entries.map((e) => utc(e.ts)));
}, 30_000);

it('TranslateError: halts naming the pack and reason; under repair its items are queued', async () => {
  const app = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root' });
  await app.query("INSERT INTO src.t (s) VALUES ('untranslatable')");
  await app.query("INSERT INTO src.t (s) VALUES ('fine')");
  await app.end();
  const bad = (await proxy.entries()).find((e) => e.sql.includes('untranslatable')) as JournalEntry;

  const halting = engineFor('halt');
  await halting.start();
  await expect(halting.finished()).rejects.toMatchObject({
    code: 'REPLAY_HALTED', seq: bad.seq, reason: 'the log pack cannot translate it: this write has no equivalent', appliedSeq: bad.seq - 1,
  });

  const repairing = engineFor('repair');
  await repairing.start();
  expect(await repairing.finished()).toMatchObject({ appliedSeq: bad.seq + 1, queued: 1 });
  expect(await target.query('SELECT seq, item_type, item_key, reason FROM metamorph_replay.repair_queue')).toEqual([
    { seq: bad.seq, item_type: 'row', item_key: `t:${bad.seq}`, reason: 'the log pack cannot translate it: this write has no equivalent' },
  ]);
  expect((await target.query('SELECT seq FROM mirror.entry_log WHERE seq > ?', [bad.seq - 1])).map((r: { seq: number }) => r.seq)).toEqual([bad.seq + 1]);
}, 30_000);
