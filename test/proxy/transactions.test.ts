import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startProxy, sqlOf, type ProxyFixture } from './proxy-fixture.js';

let db: MariaDB;
let proxy: ProxyFixture;
let seen = 0;

/** Entries journaled since the previous call. */
async function fresh() {
  const all = await proxy.entries(seen + 1);
  seen += all.length;
  return all;
}

async function connect(opts: Partial<mysql.ConnectionOptions> = {}) {
  return mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: 't', ...opts });
}

beforeAll(async () => {
  db = await startMariaDB({ name: 'txn' });
  await db.query('CREATE DATABASE t; CREATE TABLE t.k (id INT PRIMARY KEY, v VARCHAR(50)) ENGINE=InnoDB');
  proxy = await startProxy(db.port);
});

afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
});

describe('what the journal records', () => {
  it('records autocommit writes with affected rows and insert id, not reads', async () => {
    const c = await connect();
    await c.query('CREATE TABLE auto (id INT AUTO_INCREMENT PRIMARY KEY, v INT)');
    await c.query('/* Foo::bar */ INSERT INTO auto (v) VALUES (1), (2)');
    await c.query('SELECT * FROM auto');
    await c.query('UPDATE auto SET v = v + 1');
    await c.end();
    const e = await fresh();
    expect(sqlOf(e)).toEqual([
      'CREATE TABLE auto (id INT AUTO_INCREMENT PRIMARY KEY, v INT)',
      '/* Foo::bar */ INSERT INTO auto (v) VALUES (1), (2)',
      'UPDATE auto SET v = v + 1',
    ]);
    expect(e[1]).toMatchObject({ affectedRows: 2, insertId: '1', db: 't', kind: 'insert', last: true });
    expect(e[2]).toMatchObject({ affectedRows: 2, kind: 'update' });
    expect(e[0].kind).toBe('ddl');
    expect(new Set(e.map((x) => x.txn)).size).toBe(3);
  });

  it('records a committed transaction as one txn and drops a rolled back one', async () => {
    const c = await connect();
    await c.query('BEGIN');
    await c.query("INSERT INTO k VALUES (1, 'a')");
    await c.query("INSERT INTO k VALUES (2, 'b')");
    await c.query('COMMIT');
    await c.query('START TRANSACTION');
    await c.query("INSERT INTO k VALUES (3, 'never')");
    await c.query('ROLLBACK');
    await c.end();
    const e = await fresh();
    expect(sqlOf(e)).toEqual(["INSERT INTO k VALUES (1, 'a')", "INSERT INTO k VALUES (2, 'b')"]);
    expect(e[0].txn).toBe(e[1].txn);
    expect(e.map((x) => x.last)).toEqual([false, true]);
  });

  it('honours savepoints', async () => {
    const c = await connect();
    await c.query('BEGIN');
    await c.query("INSERT INTO k VALUES (10, 'kept')");
    await c.query('SAVEPOINT `s 1`');
    await c.query("INSERT INTO k VALUES (11, 'undone')");
    await c.query('ROLLBACK TO SAVEPOINT `s 1`');
    await c.query("INSERT INTO k VALUES (12, 'kept too')");
    await c.query('RELEASE SAVEPOINT `s 1`');
    await c.query('COMMIT');
    await c.end();
    expect(sqlOf(await fresh())).toEqual(["INSERT INTO k VALUES (10, 'kept')", "INSERT INTO k VALUES (12, 'kept too')"]);
  });

  it('follows autocommit=0 sessions and implicit commits by DDL and BEGIN', async () => {
    const c = await connect();
    await c.query('SET autocommit = 0');
    await c.query("INSERT INTO k VALUES (20, 'x')");
    await c.query('COMMIT');
    await c.query("INSERT INTO k VALUES (21, 'y')");
    await c.query('CREATE TABLE ddl1 (a INT)'); // commits 21 first, then itself
    await c.query("INSERT INTO k VALUES (22, 'z')");
    await c.query('ROLLBACK');
    await c.query("INSERT INTO k VALUES (23, 'w')");
    await c.query('BEGIN'); // implicit commit of 23
    await c.query("INSERT INTO k VALUES (24, 'v')");
    await c.query('SET autocommit = 1'); // commits 24
    await c.end();
    const e = await fresh();
    expect(sqlOf(e)).toEqual([
      "INSERT INTO k VALUES (20, 'x')",
      "INSERT INTO k VALUES (21, 'y')",
      'CREATE TABLE ddl1 (a INT)',
      "INSERT INTO k VALUES (23, 'w')",
      "INSERT INTO k VALUES (24, 'v')",
    ]);
    expect(new Set(e.map((x) => x.txn)).size).toBe(5);
  });

  it('drops the writes of a transaction whose connection dies before COMMIT', async () => {
    const c = await connect();
    await c.query('BEGIN');
    await c.query("INSERT INTO k VALUES (30, 'lost')");
    c.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const c2 = await connect();
    await c2.query("INSERT INTO k VALUES (31, 'after')");
    await c2.end();
    expect(sqlOf(await fresh())).toEqual(["INSERT INTO k VALUES (31, 'after')"]);
    const rows = await db.query('SELECT id FROM t.k WHERE id IN (30, 31)') as { id: number }[];
    expect(rows.map((r) => r.id)).toEqual([31]);
  });

  it('does not record failed statements, and drops a transaction rolled back by a deadlock', async () => {
    const a = await connect();
    const b = await connect();
    await expect(a.query("INSERT INTO k VALUES (1, 'dup')")).rejects.toThrow(/Duplicate/);
    await a.query("INSERT INTO k VALUES (40, 'a'), (41, 'b')");
    await fresh();
    await a.query('BEGIN');
    await b.query('BEGIN');
    await a.query("UPDATE k SET v = 'a1' WHERE id = 40");
    await b.query("UPDATE k SET v = 'b1' WHERE id = 41");
    const aWaits = a.query("UPDATE k SET v = 'a2' WHERE id = 41");
    await new Promise((r) => setTimeout(r, 100));
    const bDeadlocks = b.query("UPDATE k SET v = 'b2' WHERE id = 40");
    await expect(bDeadlocks).rejects.toThrow(/Deadlock/);
    await aWaits;
    await b.query("INSERT INTO k VALUES (42, 'b alone')"); // b's transaction is gone: autocommit now
    await a.query('COMMIT');
    await a.end();
    await b.end();
    const e = sqlOf(await fresh());
    expect(e).toEqual([
      "INSERT INTO k VALUES (42, 'b alone')",
      "UPDATE k SET v = 'a1' WHERE id = 40",
      "UPDATE k SET v = 'a2' WHERE id = 41",
    ]);
  });

  it('records replay context: database, session settings, charset, timestamps; flags non-deterministic writes', async () => {
    const c = await connect({ charset: 'utf8mb4_unicode_ci' });
    await c.query("SET /* DatabaseMysqlBase::open */ group_concat_max_len = 262144, sql_mode = ''");
    await c.query("SET time_zone = '+02:00'");
    await c.query('SET @x = 5');
    await c.query('SELECT @y := MAX(id) FROM k');
    await c.query('USE mysql');
    await c.query('CREATE DATABASE IF NOT EXISTS t2');
    await c.query('USE t2');
    await c.query('CREATE TABLE r (a DOUBLE, b INT)');
    const before = Date.now() * 1000;
    await c.query('INSERT INTO r VALUES (RAND(), @x)');
    await c.query('INSERT INTO r VALUES (1, @y)');
    await c.end();
    const e = await fresh();
    const [ins1, ins2] = e.slice(-2);
    expect(ins1.db).toBe('t2');
    expect(ins1.session).toMatchObject({
      names: 'NAMES utf8mb4 COLLATE utf8mb4_unicode_ci',
      '@x': expect.stringMatching(/^@x\s*=\s*5$/),
    });
    expect(Object.keys(ins1.session)).toEqual(expect.arrayContaining(['sql_mode', 'group_concat_max_len', 'time_zone']));
    expect(ins1.ts).toBeGreaterThanOrEqual(before - 1_000_000);
    expect(ins1.flags.join()).toMatch(/RAND/i);
    expect(ins2.flags.join()).toMatch(/@y/);
    expect(ins2.session['@y']).toBeUndefined();
  });

  it('journals prepared statements with their parameters inlined', async () => {
    const c = await connect();
    await c.query('CREATE TABLE p (id INT PRIMARY KEY, s VARCHAR(100), b BLOB, d DOUBLE, dt DATETIME(6), n DECIMAL(20,6))');
    const blob = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await c.execute('INSERT INTO p VALUES (?, ?, ?, ?, ?, ?)', [1, "it's \\ \"q\" 😀", blob, 0.1, new Date(Date.UTC(2020, 1, 29, 12, 34, 56, 789)), '12345.678901']);
    await c.execute('INSERT INTO p (id, s) VALUES (?, ?)', [2, null]);
    await c.execute('BEGIN');
    await c.execute('UPDATE p SET s = ? WHERE id = ?', ['upd', 2]);
    await c.execute('COMMIT');
    await c.end();
    const e = await fresh();
    const texts = sqlOf(e).slice(1);
    // mysql2 sends JS numbers as doubles, Buffers and strings as VAR_STRING, Dates as DATETIME.
    const hex = blob.toString('hex');
    expect(texts[0]).toBe(`INSERT INTO p VALUES (1E0, 'it\\'s \\\\ "q" 😀', X'${hex}', 0.1E0, TIMESTAMP'2020-02-29 12:34:56.789000', '12345.678901')`);
    expect(texts[1]).toBe('INSERT INTO p (id, s) VALUES (2E0, NULL)');
    expect(texts[2]).toBe("UPDATE p SET s = 'upd' WHERE id = 2E0");
    expect(e.slice(1).every((x) => x.flags.length === 0)).toBe(true);
  });
});
