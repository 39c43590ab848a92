import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startProxy, sqlOf, type ProxyFixture } from './proxy-fixture.js';

// A client that sends a write and leaves before the answer: the server still commits it, so the
// journal must have it, although nobody is left to read the OK.

let db: MariaDB;
let proxy: ProxyFixture;

beforeAll(async () => {
  db = await startMariaDB();
  await db.query('CREATE DATABASE gone; CREATE TABLE gone.t (id INT PRIMARY KEY)');
  proxy = await startProxy(db.port);
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
});

it('a write whose client closed the connection right after sending it is journaled once the server answers', async () => {
  for (let i = 1; i <= 5; i++) {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: 'gone' });
    // Slow on the server (SLEEP in the statement), so the client is gone long before the OK.
    c.query(`INSERT INTO t (id) SELECT ${i} FROM DUAL WHERE SLEEP(0.3) = 0`).catch(() => {});
    (c as unknown as { connection: { stream: { end(): void } } }).connection.stream.end();
  }
  const deadline = Date.now() + 5000;
  let committed: number[] = [];
  let journaled: string[] = [];
  while (Date.now() < deadline) {
    committed = (await db.query('SELECT id FROM gone.t ORDER BY id')).map((r: { id: number }) => r.id);
    journaled = sqlOf(await proxy.entries()).filter((s) => s.startsWith('INSERT'));
    if (committed.length > 0 && journaled.length === committed.length && proxy.server.sessions.size === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(committed.length).toBeGreaterThan(0);
  expect(journaled.map((s) => Number(/SELECT (\d+)/.exec(s)?.[1])).sort((a, b) => a - b)).toEqual(committed);
  expect(proxy.server.sessions.size).toBe(0);
});
