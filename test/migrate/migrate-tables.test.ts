import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql, { type Connection } from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startProxy, type ProxyFixture } from '../proxy/proxy-fixture.js';
import { ReplayEngine } from '../../src/apply/replay-engine.js';
import { adminRequest } from '../../src/admin/admin-client.js';
import { Migration } from '../../src/migrate/migrate.js';
import { identityPack } from '../../src/translate/identity.js';
import { expectSameTables, migrateOptions, serverOptions, transferRows, until } from './migrate-fixture.js';

let source: MariaDB;
let target: MariaDB;
let proxy: ProxyFixture;
let app: Connection;

beforeAll(async () => {
  [source, target] = await Promise.all([startMariaDB({ name: 'mg-tab-src' }), startMariaDB({ name: 'mg-tab-dst' })]);
  proxy = await startProxy(source.port);
  app = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', multipleStatements: true });
});

afterAll(async () => {
  await app?.end();
  await proxy?.stop();
  await Promise.all([source?.stop(), target?.stop()]);
});

/** Every byte value, in a deterministic pseudo-random order. */
function bytes(seed: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** One migration per target: the next test's starts from an empty bookkeeping. */
async function forgetMigration(): Promise<void> {
  await target.query('DROP DATABASE IF EXISTS metamorph_migrate; DROP DATABASE IF EXISTS metamorph_replay');
}

async function replayTo(seq: number, from: number, consumer: string): Promise<void> {
  const engine = new ReplayEngine({ journalDir: proxy.journalDir, target: serverOptions(target), pack: identityPack, from, consumer });
  await engine.start();
  await engine.finished();
  expect(engine.appliedSeq).toBe(seq);
}

it('copies every kind of column byte for byte, composite and missing primary keys, then replay from the cut completes it', async () => {
  await app.query(`
    CREATE DATABASE types;
    CREATE TABLE types.t (
      id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
      i TINYINT, d DECIMAL(30,10), f FLOAT, g DOUBLE, y YEAR, b BIT(13),
      dt DATETIME(6), ts TIMESTAMP(3) NULL, da DATE, tm TIME(2),
      vb VARBINARY(300), bl LONGBLOB, l1 VARCHAR(40) CHARACTER SET latin1, u8 TEXT CHARACTER SET utf8mb4,
      u16 VARCHAR(20) CHARACTER SET utf16, e ENUM('a','ü','it''s'), s SET('x','ÿ','z'), j JSON,
      pt POINT, ip INET6, uu UUID, quoted VARCHAR(40),
      gen_v INT AS (i * 2) VIRTUAL, gen_s VARCHAR(50) AS (CONCAT(l1, '!')) PERSISTENT
    );
    -- Composite key over text in a case-insensitive collation and a number; small chunks cross both parts.
    CREATE TABLE types.composite (name VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL, n INT NOT NULL, v INT, PRIMARY KEY (name, n));
    CREATE TABLE types.nokey (a INT, b VARCHAR(10));
    CREATE TABLE types.zero (id INT AUTO_INCREMENT PRIMARY KEY, v INT);
    -- The journal holds the INSERT, not the trigger's write: replay needs the trigger on the target.
    CREATE TABLE types.audit (n INT AUTO_INCREMENT PRIMARY KEY, v INT);
    CREATE TRIGGER types.zero_audit AFTER INSERT ON types.zero FOR EACH ROW INSERT INTO types.audit (v) VALUES (NEW.v * 10);
    CREATE TABLE types.empty (id INT PRIMARY KEY);
    CREATE DATABASE other;
    CREATE TABLE other.t (k VARBINARY(16) NOT NULL PRIMARY KEY, v INT);
  `);
  const rows: unknown[][] = [];
  for (let id = 0; id < 120; id++) {
    rows.push([id * 1e15 + id, id % 2 ? -128 : 127, `-${id}.0123456789`, 0.1 * id, 1 / (id + 3), 1901 + id, id * 37 % 8192,
      `2024-02-29 12:34:56.${String(id).padStart(6, '0')}`, id % 7 ? `2038-01-19 03:14:0${id % 8}.123` : null, '0000-00-00', `-${id}:59:59.99`,
      bytes(id, id * 2), bytes(id + 1000, id * 50), Buffer.from([0x41, 0x80 + id % 128, 0xff, 0x81, 0x5c, 0x27]), `tab\there 'quote' \\ back ✓ 😀 ${id}`,
      `wide ${id}`, ['a', 'ü', "it's"][id % 3], ['x', 'ÿ,z', ''][id % 3], JSON.stringify({ id, s: 'é' }),
      id % 5 ? `POINT(${id} ${-id})` : null, `2001:db8::${id.toString(16)}`, `123e4567-e89b-12d3-a456-${String(id).padStart(12, '0')}`, `plain ascii ${id}`]);
  }
  for (const r of rows) {
    await app.query(`INSERT INTO types.t (id, i, d, f, g, y, b, dt, ts, da, tm, vb, bl, l1, u8, u16, e, s, j, pt, ip, uu, quoted)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${r[19] === null ? 'NULL' : `ST_GeomFromText('${r[19]}')`}, ?, ?, ?)`,
    [...r.slice(0, 19), ...r.slice(20)]);
  }
  await app.query("SET sql_mode = 'NO_AUTO_VALUE_ON_ZERO'; INSERT INTO types.zero VALUES (0, 0), (1, 1), (7, 7)");
  for (let i = 0; i < 50; i++) await app.query('INSERT INTO types.composite VALUES (?, ?, ?)', [['Ann', 'bob', 'Çed', 'dave', 'Émile'][i % 5], i, i * i]);
  await app.query("INSERT INTO types.nokey VALUES (1, 'x'), (1, 'x'), (2, NULL), (NULL, 'y')");
  for (let i = 0; i < 40; i++) await app.query('INSERT INTO other.t VALUES (?, ?)', [bytes(i, 1 + i % 16), i]);

  const migration = new Migration(migrateOptions(source, target, proxy, { databases: ['types', 'other'], chunkRows: 7, workers: 3 }));
  const result = await migration.run();
  expect(result).toMatchObject({ complete: true, keptChunks: 0, recopiedChunks: 0, copiedRows: 120 + 50 + 4 + 3 + 3 + 40 });
  expect(result.replayFrom).toBe(result.cutSeq + 1);
  expect(result.holdMs).toBeGreaterThan(0);
  expect(result.holdMs).toBeLessThan(1000);
  expect(migration.status()).toMatchObject({ phase: 'complete', progressRatio: 1, copiedRows: result.copiedRows });
  const chunks = await transferRows(target);
  expect(chunks.filter((c) => c.table === 't' && c.db === 'types')).toHaveLength(Math.ceil(121 / 7)); // 17 bounded chunks + the open-ended last one
  expect(chunks.filter((c) => c.table === 'nokey')).toHaveLength(1);
  expect(chunks.filter((c) => c.table === 'composite').length).toBeGreaterThan(5);
  expect(chunks.every((c) => c.doneAt !== null && c.cutSeq === result.cutSeq)).toBe(true);
  expect(await expectSameTables(source, target, 'types')).toEqual(['audit', 'composite', 'empty', 'nokey', 't', 'zero']);
  expect(await target.query('SELECT v FROM types.audit ORDER BY n')).toEqual([{ v: 0 }, { v: 10 }, { v: 70 }]);
  await expectSameTables(source, target, 'other');
  expect(await target.query('SELECT id FROM types.zero ORDER BY id')).toEqual([{ id: 0 }, { id: 1 }, { id: 7 }]);
  const [[src], [dst]] = [await source.query('SHOW CREATE TABLE types.t'), await target.query('SHOW CREATE TABLE types.t')];
  expect(dst['Create Table']).toBe(src['Create Table']);

  // Writes after the cut arrive through replay from cut + 1.
  await app.query("UPDATE types.t SET u8 = 'changed ✓' WHERE id < 5; DELETE FROM types.composite WHERE n > 40; INSERT INTO other.t VALUES (X'00FF', 99); INSERT INTO types.zero (v) VALUES (8)");
  await replayTo(proxy.server.journal.headSeq, result.replayFrom, 'types');
  await expectSameTables(source, target, 'types');
  expect(await target.query('SELECT v FROM types.audit ORDER BY n')).toEqual([{ v: 0 }, { v: 10 }, { v: 70 }, { v: 80 }]);
  await expectSameTables(source, target, 'other');

  // Run again: already complete, no new cut, the same replay start.
  const again = await new Migration(migrateOptions(source, target, proxy, { databases: ['types', 'other'] })).run();
  expect(again).toMatchObject({ complete: true, cutSeq: result.cutSeq, holdMs: null, copiedRows: 0 });
}, 60_000);

it('a stopped copy resumes at a new cut: chunks of tables unwritten since stay, chunks of written tables are copied again', async () => {
  await forgetMigration();
  // Stopped once a_quiet, b_child and c_parent are done; d_busy is then partly done.
  await app.query(`
    CREATE DATABASE res;
    CREATE TABLE res.a_quiet (id INT PRIMARY KEY, v VARCHAR(20));
    CREATE TABLE res.c_parent (id INT PRIMARY KEY);
    CREATE TABLE res.b_child (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES res.c_parent (id) ON DELETE CASCADE);
    CREATE TABLE res.d_busy (id INT PRIMARY KEY, v VARCHAR(20));
  `);
  const values = (n: number) => Array.from({ length: n }, (_, i) => `(${i}, 'v${i}')`).join(',');
  await app.query(`INSERT INTO res.a_quiet VALUES ${values(600)}; INSERT INTO res.d_busy VALUES ${values(3000)}`);
  await app.query(`INSERT INTO res.c_parent VALUES ${Array.from({ length: 300 }, (_, i) => `(${i})`).join(',')}`);
  await app.query(`INSERT INTO res.b_child VALUES ${Array.from({ length: 300 }, (_, i) => `(${i}, ${i})`).join(',')}`);

  // Slow enough to stop midway: 2000 rows/s, 100-row chunks (a_quiet 7 chunks, b_child and c_parent 4 each).
  const first = new Migration(migrateOptions(source, target, proxy, { databases: ['res'], chunkRows: 100, workers: 2, limits: { rowsPerSec: 2000 } }));
  const running = first.run();
  running.catch(() => {}); // awaited below; a failure must not surface as unhandled while polling
  const small = (rows: { table: string; doneAt: string | null }[]) => rows.filter((r) => r.table !== 'd_busy' && r.doneAt !== null).length;
  await until('a_quiet, b_child and c_parent copied', async () => small(await transferRows(target)) === 15, 20_000);
  first.stop();
  const stopped = await running;
  expect(stopped.complete).toBe(false);
  const before = await transferRows(target);
  const doneBefore = before.filter((c) => c.doneAt !== null);
  const doneOf = (table: string) => doneBefore.filter((c) => c.table === table).length;
  expect([doneOf('a_quiet'), doneOf('b_child'), doneOf('c_parent')]).toEqual([7, 4, 4]);
  expect(doneOf('d_busy')).toBeGreaterThanOrEqual(3);
  expect(doneOf('d_busy')).toBeLessThan(31);
  expect(doneBefore.every((c) => c.cutSeq === stopped.cutSeq)).toBe(true);

  // Between the cuts: d_busy is written, a_quiet is not; a delete on c_parent cascades into b_child.
  await app.query("UPDATE res.d_busy SET v = 'new' WHERE id = 5; DELETE FROM res.c_parent WHERE id = 0");
  const second = await new Migration(migrateOptions(source, target, proxy, { databases: ['res'], chunkRows: 100, workers: 2 })).run();
  expect(second.complete).toBe(true);
  expect(second.cutSeq).toBeGreaterThan(stopped.cutSeq);
  const after = await transferRows(target);
  const was = new Map(doneBefore.map((c) => [`${c.table}/${c.no}`, c]));
  for (const c of after) {
    expect(c.cutSeq).toBe(second.cutSeq);
    const old = was.get(`${c.table}/${c.no}`);
    if (!old) continue;
    // Kept chunks keep their done_at (not copied again); the others were copied again.
    if (c.table === 'a_quiet') expect(c.doneAt).toBe(old.doneAt);
    else expect(c.doneAt).not.toBe(old.doneAt);
  }
  expect(second.keptChunks).toBe(7);
  expect(second.recopiedChunks).toBe(doneBefore.length - 7);
  expect(await expectSameTables(source, target, 'res')).toEqual(['a_quiet', 'b_child', 'c_parent', 'd_busy']);
}, 60_000);

it('a table altered between two runs is dropped on the target, planned and copied again; any DDL between cuts re-copies every chunk', async () => {
  await forgetMigration();
  await app.query(`CREATE DATABASE alt; CREATE TABLE alt.t (id INT PRIMARY KEY, v VARCHAR(10)); CREATE TABLE alt.u (id INT PRIMARY KEY)`);
  await app.query(`INSERT INTO alt.t VALUES ${Array.from({ length: 2000 }, (_, i) => `(${i}, 'v${i}')`).join(',')}`);
  await app.query(`INSERT INTO alt.u VALUES ${Array.from({ length: 2000 }, (_, i) => `(${i})`).join(',')}`);
  const first = new Migration(migrateOptions(source, target, proxy, { databases: ['alt'], chunkRows: 100, workers: 2, limits: { rowsPerSec: 2000 } }));
  const running = first.run();
  running.catch(() => {});
  await until('some chunks of both tables', async () => {
    const rows = await transferRows(target);
    return ['t', 'u'].every((t) => rows.some((r) => r.table === t && r.doneAt !== null));
  }, 20_000);
  first.stop();
  expect((await running).complete).toBe(false);

  await app.query("ALTER TABLE alt.t ADD COLUMN extra INT NOT NULL DEFAULT 7, DROP PRIMARY KEY, ADD PRIMARY KEY (id, extra)");
  const second = await new Migration(migrateOptions(source, target, proxy, { databases: ['alt'], chunkRows: 100, workers: 2 })).run();
  expect(second.complete).toBe(true);
  expect(second.keptChunks).toBe(0); // the ALTER is journaled DDL: every chunk done before is stale
  const [[src], [dst]] = [await source.query('SHOW CREATE TABLE alt.t'), await target.query('SHOW CREATE TABLE alt.t')];
  expect(dst['Create Table']).toBe(src['Create Table']);
  expect(await expectSameTables(source, target, 'alt')).toEqual(['t', 'u']);
}, 60_000);

it('refuses a target that has the tables already, and a cut the gate cannot take names what blocks it', async () => {
  await forgetMigration();
  await app.query('CREATE DATABASE clash; CREATE TABLE clash.t (id INT PRIMARY KEY)');
  await target.query('CREATE DATABASE clash; CREATE TABLE clash.t (id INT PRIMARY KEY)');
  await expect(new Migration(migrateOptions(source, target, proxy, { databases: ['clash'] })).run())
    .rejects.toMatchObject({ code: 'MIGRATE_TARGET_NOT_EMPTY', message: expect.stringContaining('`clash`.`t`') });

  // An open transaction that wrote keeps the gate from quiescing.
  await target.query('DROP DATABASE clash');
  const writer = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root' });
  await writer.query('BEGIN');
  await writer.query('INSERT INTO clash.t VALUES (1)');
  await expect(new Migration(migrateOptions(source, target, proxy, { databases: ['clash'], lockTimeoutMs: 300 })).run())
    .rejects.toMatchObject({ code: 'MIGRATE_LOCK_FAILED', message: expect.stringMatching(/did not lock: not quiesced within 300 ms.*still writing: connection \d+ \(root@.*INSERT INTO clash\.t VALUES \(1\)/) });
  await writer.query('COMMIT');
  await writer.end();
  expect(await adminRequest(proxy.adminSocket, 'status')).toMatchObject({ gate: expect.objectContaining({ state: 'open' }) });
}, 30_000);
