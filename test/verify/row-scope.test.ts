// Row-level scope for identity: statements journaled through a real proxy name exactly the rows
// they wrote (explicit keys, auto-increment ids, `pk = const`, `pk IN (...)`, composite keys),
// anything whose rows are not certain widens to the whole table (or everything), and a scoped
// verification compares exactly those rows: a scoped row that differs is found and repaired, a
// row outside the scope is not looked at.
import mysql, { type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetSession } from '../../src/apply/target-session.js';
import { identityPack } from '../../src/translate/identity.js';
import { changedScope } from '../../src/verify/changed-scope.js';
import { repairDifferences, verifyData, type VerifyScope } from '../../src/verify/verify.js';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startProxy, type ProxyFixture } from '../proxy/proxy-fixture.js';
import { root } from './verify-fixture.js';

const SCHEMA = [
  'CREATE DATABASE rs',
  'CREATE TABLE rs.t1 (id INT PRIMARY KEY, v INT, s VARCHAR(20)) ENGINE=InnoDB',
  "INSERT INTO rs.t1 SELECT seq, seq, CONCAT('s', seq) FROM rs.seq_1_to_100",
  'CREATE TABLE rs.auto (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB',
  "INSERT INTO rs.auto (v) VALUES ('a'), ('b')",
  'CREATE TABLE rs.comp (a INT, b VARCHAR(10), v INT, PRIMARY KEY (a, b)) ENGINE=InnoDB',
  "INSERT INTO rs.comp SELECT seq % 5, CONCAT('k', seq), seq FROM rs.seq_1_to_50",
  'CREATE TABLE rs.uniq (id INT PRIMARY KEY, email VARCHAR(20) UNIQUE, v INT) ENGINE=InnoDB',
  "INSERT INTO rs.uniq VALUES (1, 'a@x', 1), (2, 'b@x', 2)",
  'CREATE TABLE rs.trig (id INT PRIMARY KEY, v INT) ENGINE=InnoDB',
  'CREATE TABLE rs.audit (n INT AUTO_INCREMENT PRIMARY KEY, id INT) ENGINE=InnoDB',
  'CREATE TRIGGER rs.trig_audit AFTER UPDATE ON rs.trig FOR EACH ROW INSERT INTO rs.audit (id) VALUES (NEW.id)',
  'INSERT INTO rs.trig VALUES (1, 1), (2, 2)',
  'CREATE TABLE rs.parent (id INT PRIMARY KEY) ENGINE=InnoDB',
  'CREATE TABLE rs.child (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES rs.parent (id) ON DELETE CASCADE) ENGINE=InnoDB',
  'INSERT INTO rs.parent VALUES (1), (2)',
  'INSERT INTO rs.child VALUES (10, 1), (20, 2)',
  'CREATE TABLE rs.sb (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL) ENGINE=InnoDB',
  "INSERT INTO rs.sb SELECT seq, seq % 1000, REPEAT(CHAR(97 + seq % 26), 120), REPEAT('p', 60) FROM rs.seq_1_to_5000",
];

let source: MariaDB;
let target: MariaDB;
let proxy: ProxyFixture;
/** The app's connection, through the proxy (its writes are journaled). */
let app: Connection;
/** A direct connection to the target, to make it equal (or not) to the source. */
let direct: Connection;
let schema: TargetSession;

beforeAll(async () => {
  [source, target] = await Promise.all([startMariaDB({ name: 'rowscope-src' }), startMariaDB({ name: 'rowscope-dst' })]);
  for (const sql of SCHEMA) await Promise.all([source.query(sql), target.query(sql)]);
  proxy = await startProxy(source.port);
  app = await mysql.createConnection({ ...root(source, 'rs'), port: proxy.port });
  direct = await mysql.createConnection(root(target, 'rs'));
  schema = await TargetSession.open(root(source));
}, 60_000);

afterAll(async () => {
  await Promise.all([app?.end(), direct?.end(), schema?.close()]);
  await proxy?.stop();
  await Promise.all([source?.stop(), target?.stop()]);
});

async function lastSeq(): Promise<number> {
  const entries = await proxy.entries();
  return entries.length === 0 ? 0 : entries[entries.length - 1].seq;
}

/** Runs the statements through the proxy; the scope of what they journaled. */
async function scopeOf(...sqls: (string | [string, unknown[]])[]): Promise<VerifyScope> {
  const from = await lastSeq();
  for (const s of sqls) {
    if (typeof s === 'string') await app.query(s);
    else await app.execute(s[0], s[1]);
  }
  return changedScope(proxy.journalDir, from, await lastSeq(), identityPack, { source: schema, databases: ['rs'] });
}

/** Key values as the scope carries them: the hex of each value's text. */
function keys(...rows: (string | number)[][]): string[][] {
  return rows.map((r) => r.map((v) => Buffer.from(String(v)).toString('hex')));
}

describe('changedScope names the rows a statement wrote', () => {
  it('INSERT and REPLACE with explicit keys, multi-row VALUES and INSERT ... SET', async () => {
    expect(await scopeOf("INSERT INTO t1 (id, v, s) VALUES (101, 1, 'a'), (102, 2, 'b')")).toEqual({ tables: [], rows: [{ table: 'rs.t1', keys: keys([101], [102]) }] });
    expect(await scopeOf("INSERT INTO rs.t1 SET id = '0103', v = 3")).toEqual({ tables: [], rows: [{ table: 'rs.t1', keys: keys([103]) }] });
    expect(await scopeOf("REPLACE INTO comp (a, b, v) VALUES (7, 'x', 1), (7, 'y', 2)")).toEqual({ tables: [], rows: [{ table: 'rs.comp', keys: keys([7, 'x'], [7, 'y']) }] });
  });

  it('INSERT into an auto-increment key without it: the ids the statement got', async () => {
    const multi = await scopeOf("INSERT INTO auto (v) VALUES ('c'), ('d'), ('e')");
    const single = await scopeOf("INSERT INTO auto SET v = 'f'");
    const ids = await source.query('SELECT id FROM rs.auto WHERE v IN (\'c\', \'d\', \'e\', \'f\') ORDER BY id');
    const got = (ids as { id: number }[]).map((r) => [r.id]);
    expect(got).toHaveLength(4);
    expect(multi).toEqual({ tables: [], rows: [{ table: 'rs.auto', keys: keys(...got.slice(0, 3)) }] });
    expect(single).toEqual({ tables: [], rows: [{ table: 'rs.auto', keys: keys(got[3]) }] });
  });

  it('UPDATE and DELETE by `pk = const` and `pk IN (...)`, composite keys, prepared statements', async () => {
    expect(await scopeOf('UPDATE t1 SET v = v + 1 WHERE id = 5', 'DELETE FROM t1 WHERE id = 7')).toEqual({ tables: [], rows: [{ table: 'rs.t1', keys: keys([5], [7]) }] });
    expect(await scopeOf('UPDATE t1 SET v = 0 WHERE id IN (1, 2, 3) AND v > 0')).toEqual({ tables: [], rows: [{ table: 'rs.t1', keys: keys([1], [2], [3]) }] });
    expect(await scopeOf(["UPDATE comp SET v = ? WHERE b IN ('k1', 'k6') AND a = ?", [9, 1]])).toEqual({ tables: [], rows: [{ table: 'rs.comp', keys: keys([1, 'k1'], [1, 'k6']) }] });
    expect(await scopeOf(['UPDATE t1 SET s = ? WHERE id = ?', ['p', 9]], ['DELETE FROM t1 WHERE id = ?', [8]])).toEqual({ tables: [], rows: [{ table: 'rs.t1', keys: keys([9], [8]) }] });
  });

  it('widens to the whole table when the rows are not certain', async () => {
    const whole = (...tables: string[]) => ({ tables, rows: [] });
    expect(await scopeOf('UPDATE t1 SET v = 1 WHERE v = 3')).toEqual(whole('rs.t1'));
    expect(await scopeOf('UPDATE t1 SET id = id + 1000 WHERE id = 10')).toEqual(whole('rs.t1'));
    expect(await scopeOf('UPDATE t1 SET v = 2 WHERE id = 11 OR id = 12')).toEqual(whole('rs.t1'));
    expect(await scopeOf('UPDATE t1 SET v = 2 WHERE id = 13 ORDER BY id LIMIT 1')).toEqual(whole('rs.t1'));
    expect(await scopeOf("REPLACE INTO uniq (id, email, v) VALUES (3, 'a@x', 5)")).toEqual(whole('rs.uniq'));
    expect(await scopeOf('INSERT INTO t1 (id, v) SELECT id + 500, v FROM t1 WHERE id < 3')).toEqual(whole('rs.t1'));
    expect(await scopeOf('UPDATE t1, comp SET t1.v = 1, comp.v = 1 WHERE t1.id = comp.a AND comp.a = 1')).toEqual(whole('rs.comp', 'rs.t1'));
    // One statement of a table whose rows are not certain: the table is whole, its named rows with it.
    expect(await scopeOf('UPDATE t1 SET v = 4 WHERE id = 14', 'UPDATE t1 SET v = 4 WHERE s = \'s15\'', 'UPDATE comp SET v = 1 WHERE a = 2 AND b = \'k2\''))
      .toEqual({ tables: ['rs.t1'], rows: [{ table: 'rs.comp', keys: keys([2, 'k2']) }] });
  });

  it('a parent row named exactly still widens to the children its foreign keys cascade to; a table with triggers to everything', async () => {
    expect(await scopeOf('DELETE FROM parent WHERE id = 1')).toEqual({ tables: ['rs.child'], rows: [{ table: 'rs.parent', keys: keys([1]) }] });
    expect(await scopeOf('INSERT INTO child (id, pid) VALUES (30, 2)')).toEqual({ tables: [], rows: [{ table: 'rs.child', keys: keys([30]) }] });
    expect(await scopeOf('UPDATE trig SET v = 3 WHERE id = 1')).toEqual({});
  });
});

async function verifyScoped(scope: VerifyScope) {
  const [s, t] = await Promise.all([TargetSession.open(root(source)), TargetSession.open(root(target))]);
  try {
    return await verifyData({ pack: identityPack, source: s, target: t, databases: ['rs'], scope });
  } finally {
    await Promise.all([s.close(), t.close()]);
  }
}

/** The same statements on the source (journaled) and straight on the target: both stay equal. */
async function writeBoth(sqls: [string, unknown[]][]): Promise<VerifyScope> {
  for (const [sql, params] of sqls) await direct.execute(sql, params);
  return scopeOf(...sqls);
}

describe('verifyData with rows in scope', () => {
  it('reports a scoped row that differs (and one missing) and repairs them, not a row outside the scope', async () => {
    await direct.query('DELETE FROM sb WHERE id > 4990');
    await source.query('DELETE FROM rs.sb WHERE id > 4990');
    const scope = await writeBoth([['UPDATE sb SET k = k + 1 WHERE id = ?', [40]], ['UPDATE sb SET k = k + 1 WHERE id IN (?, ?)', [41, 42]], ['DELETE FROM sb WHERE id = ?', [43]]]);
    expect(scope).toEqual({ tables: [], rows: [{ table: 'rs.sb', keys: keys([40], [41], [42], [43]) }] });
    const clean = await verifyScoped(scope);
    expect(clean.differences).toEqual([]);
    expect(clean.checked).toEqual({ tables: 1, chunks: 1, rows: 3, items: 0 });

    await direct.query('UPDATE sb SET k = -1 WHERE id = 4000'); // outside the scope
    await direct.query("UPDATE sb SET pad = 'other' WHERE id = 41");
    await direct.query('DELETE FROM sb WHERE id = 42');
    await direct.query("INSERT INTO sb VALUES (43, 0, 'back', 'from the dead')");
    const found = await verifyScoped(scope);
    expect(found.clean).toBe(false);
    expect(found.differences.map((d) => [d.item, d.side, d.field])).toEqual([
      ['rs.sb id=41', 'both', 'pad'],
      ['rs.sb id=42', 'source-only', ''],
      ['rs.sb id=43', 'target-only', ''],
    ]);

    const [s, t] = await Promise.all([TargetSession.open(root(source)), TargetSession.open(root(target))]);
    const { repaired, failed } = await repairDifferences(found, { pack: identityPack, source: s, target: t, databases: ['rs'] }).finally(() => Promise.all([s.close(), t.close()]));
    expect(failed).toEqual([]);
    expect(repaired).toHaveLength(3);
    expect((await verifyScoped(scope)).clean).toBe(true);
    const full = await verifyScoped({ tables: ['rs.sb'] });
    expect(full.differences.map((d) => [d.item, d.field])).toEqual([['rs.sb id=4000', 'k']]);
    await direct.query('UPDATE sb SET k = 0 WHERE id = 4000');
  });

  it('after sysbench-like random writes the scoped verification is clean and checks far fewer rows than the table', async () => {
    let next = 6000;
    const writes: [string, unknown[]][] = [];
    for (let i = 0; i < 150; i++) {
      const id = 1 + Math.floor(Math.random() * 4900);
      writes.push(['UPDATE sb SET k = k + 1 WHERE id = ?', [id]]);
      writes.push(['UPDATE sb SET c = ? WHERE id = ?', [`c${i}`.repeat(10), 1 + Math.floor(Math.random() * 4900)]]);
      writes.push(['DELETE FROM sb WHERE id = ?', [id]]);
      writes.push(['INSERT INTO sb (id, k, c, pad) VALUES (?, ?, ?, ?)', [next++, i, `c${i}`, 'pad']]);
    }
    const scope = await writeBoth(writes);
    const keyCount = scope.rows?.[0].keys.length ?? 0;
    expect(scope.tables).toEqual([]);
    expect(keyCount).toBeGreaterThan(300);
    expect(keyCount).toBeLessThanOrEqual(600);
    const report = await verifyScoped(scope);
    expect(report.differences).toEqual([]);
    expect(report.clean).toBe(true);
    expect(report.checked.rows).toBeGreaterThan(150);
    expect(report.checked.rows).toBeLessThan(keyCount);
    expect(report.checked.rows * 10).toBeLessThan(4990);
  });
});
