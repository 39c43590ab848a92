import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import mysqlCallbacks from 'mysql2';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startProxy, sqlOf, type ProxyFixture } from './proxy-fixture.js';
import { JournalCursor } from './journal-cursor.js';

// mysql2 through the proxy: both protocols, COM_CHANGE_USER, packets above 16 MiB, a result set
// far larger than the proxy may buffer read by a slow client, and compression.

let db: MariaDB;
let proxy: ProxyFixture;
let journal: JournalCursor;

const MiB = 1024 * 1024;

function connect(opts: Partial<mysql.ConnectionOptions> = {}) {
  return mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: 'm', ...opts });
}

beforeAll(async () => {
  db = await startMariaDB({ name: 'clients-mysql2', args: ['--max-allowed-packet=256M'] });
  await db.query(`
    CREATE DATABASE m; CREATE DATABASE m2;
    CREATE TABLE m.kv (id INT PRIMARY KEY, s VARCHAR(50), n BIGINT);
    CREATE TABLE m.blobs (id INT PRIMARY KEY, b LONGBLOB);
    CREATE TABLE m2.t2 (a INT)`);
  proxy = await startProxy(db.port);
  journal = new JournalCursor(proxy);
});

afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
});

it('streams a 100 MB result to a client that pauses, without the proxy buffering it', async () => {
  const c = mysqlCallbacks.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: 'm' });
  const before = process.memoryUsage().rss;
  let peak = before;
  const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 10);
  try {
    const rows = c.query("SELECT seq, REPEAT(CHAR(65 + seq % 26), 500) AS pad FROM seq_1_to_200000").stream({ highWaterMark: 64 });
    let count = 0;
    let bytes = 0;
    let lastSeq = 0;
    let inOrder = true;
    rows.on('data', (r: { seq: number; pad: string }) => {
      inOrder &&= r.seq === lastSeq + 1;
      lastSeq = r.seq;
      count++;
      bytes += r.pad.length;
      // A long stall early on: unless the proxy stops reading from the server, the rest piles up in it.
      if (count === 1000) {
        rows.pause();
        setTimeout(() => rows.resume(), 1500);
      }
    });
    await new Promise((resolve, reject) => { rows.on('end', resolve); rows.on('error', reject); });
    expect({ count, bytes, inOrder }).toEqual({ count: 200_000, bytes: 100_000_000, inOrder: true });
    expect(peak - before).toBeLessThan(60 * MiB);
  } finally {
    clearInterval(sample);
    c.destroy();
  }
});

it('query and execute write and read the same through the proxy', async () => {
  const c = await connect();
  await c.query('INSERT INTO kv VALUES (?, ?, ?)', [1, 'text protocol', 10]);
  await c.execute('INSERT INTO kv VALUES (?, ?, ?)', [2, 'binary protocol', 20]);
  const [viaQuery] = await c.query<RowDataPacket[]>('SELECT id, s, n FROM kv ORDER BY id');
  const [viaExecute] = await c.execute<RowDataPacket[]>('SELECT id, s, n FROM kv WHERE id >= ? ORDER BY id', [1]);
  await c.end();
  const expected = [{ id: 1, s: 'text protocol', n: 10 }, { id: 2, s: 'binary protocol', n: 20 }];
  expect(viaQuery).toEqual(expected);
  expect(viaExecute).toEqual(expected);
  expect(sqlOf(await journal.fresh())).toEqual([
    "INSERT INTO kv VALUES (1, 'text protocol', 10)",
    "INSERT INTO kv VALUES (2E0, 'binary protocol', 20E0)",
  ]);
});

it('changeUser resets the session: new user and database, user variables gone, in the journal too', async () => {
  const c = await connect();
  await c.query('SET @who = 7');
  await c.query('INSERT INTO kv VALUES (3, NULL, @who)');
  await c.changeUser({ user: 'app', password: 'apppass', database: 'm2' });
  const [rows] = await c.query('SELECT CURRENT_USER() AS u, DATABASE() AS d, @who AS who');
  expect(rows).toEqual([{ u: 'app@%', d: 'm2', who: null }]);
  await c.query('INSERT INTO t2 VALUES (1)');
  await c.end();
  const e = await journal.fresh();
  expect(sqlOf(e)).toEqual(['INSERT INTO kv VALUES (3, NULL, @who)', 'INSERT INTO t2 VALUES (1)']);
  expect(e.map((x) => x.db)).toEqual(['m', 'm2']);
  expect(e[0].session['@who']).toMatch(/^@who\s*=\s*7$/);
  expect(e[1].session['@who']).toBeUndefined();
});

it('a 20 MiB blob goes in by query and by execute and comes back by both, across 16 MiB frames', async () => {
  const blob = randomBytes(20 * MiB);
  const c = await connect();
  await c.query('INSERT INTO blobs VALUES (1, ?)', [blob]);
  await c.execute('INSERT INTO blobs VALUES (?, ?)', [2, blob]);
  const [text] = await c.query<RowDataPacket[]>('SELECT id, b FROM blobs ORDER BY id');
  const [binary] = await c.execute<RowDataPacket[]>('SELECT id, b FROM blobs WHERE id = ?', [2]);
  await c.end();
  expect(text.map((r) => [r.id, blob.equals(r.b)])).toEqual([[1, true], [2, true]]);
  expect(binary.map((r) => [r.id, blob.equals(r.b)])).toEqual([[2, true]]);

  const e = await journal.fresh();
  const hex = blob.toString('hex');
  expect(e).toHaveLength(2);
  expect(e[0].sql.equals(Buffer.from(mysql.format('INSERT INTO blobs VALUES (1, ?)', [blob])))).toBe(true);
  expect(e[1].sql.equals(Buffer.from(`INSERT INTO blobs VALUES (2E0, X'${hex}')`))).toBe(true);
});

it('wide results (300 columns: a two-byte column count) and a CALL answering with several result sets', async () => {
  const c = await connect();
  const columns = Array.from({ length: 300 }, (_, i) => `${i} AS c${i}`).join(', ');
  const [viaQuery] = await c.query<RowDataPacket[]>(`SELECT ${columns}`);
  const [viaExecute] = await c.execute<RowDataPacket[]>(`SELECT ${columns} FROM DUAL WHERE 1 = ?`, [1]);
  expect([Object.keys(viaQuery[0]).length, viaQuery[0].c299, Object.keys(viaExecute[0]).length, viaExecute[0].c299]).toEqual([300, 299, 300, 299]);

  await c.query('CREATE PROCEDURE add_kv(IN k INT) BEGIN INSERT INTO kv VALUES (k, NULL, NULL); SELECT k AS added; SELECT COUNT(*) AS n FROM kv; END');
  const [called] = await c.query('CALL add_kv(10)');
  const [executed] = await c.execute('CALL add_kv(?)', [11]);
  const [after] = await c.query('SELECT 1 AS still_in_step');
  await c.end();
  expect((called as unknown[]).slice(0, 2)).toEqual([[{ added: 10 }], [{ n: 4 }]]);
  expect((executed as unknown[]).slice(0, 2)).toEqual([[{ added: 11 }], [{ n: 5 }]]);
  expect(after).toEqual([{ still_in_step: 1 }]);
  expect(sqlOf(await journal.fresh())).toEqual([
    'CREATE PROCEDURE add_kv(IN k INT) BEGIN INSERT INTO kv VALUES (k, NULL, NULL); SELECT k AS added; SELECT COUNT(*) AS n FROM kv; END',
    'CALL add_kv(10)',
    'CALL add_kv(11E0)',
  ]);
});

it('compress: true still works: the proxy hides compression, so the connection runs uncompressed', async () => {
  const c = await connect({ compress: true });
  const [status] = await c.query("SHOW SESSION STATUS LIKE 'Compression'");
  const [big] = await c.query<RowDataPacket[]>("SELECT REPEAT('z', 1000000) AS v");
  await c.end();
  expect(status).toEqual([{ Variable_name: 'Compression', Value: 'OFF' }]);
  expect(big[0].v).toBe('z'.repeat(1_000_000));
  // Directly, the same client does compress: the proxy is what turned it off.
  const direct = await mysql.createConnection({ host: '127.0.0.1', port: db.port, user: 'root', compress: true });
  const [directStatus] = await direct.query("SHOW SESSION STATUS LIKE 'Compression'");
  await direct.end();
  expect(directStatus).toEqual([{ Variable_name: 'Compression', Value: 'ON' }]);
});
