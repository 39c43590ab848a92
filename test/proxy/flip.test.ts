import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql, { type Connection } from 'mysql2/promise';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { APP_PASSWORD, APP_USER, startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startProxy, type ProxyFixture } from './proxy-fixture.js';
import { AdminConnection, adminRequest } from '../../src/admin/admin-client.js';

let a: MariaDB;
let b: MariaDB;
let proxy: ProxyFixture;

const SCHEMA = 'CREATE DATABASE flipdb; CREATE TABLE flipdb.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))';

beforeAll(async () => {
  [a, b] = await Promise.all([startMariaDB(), startMariaDB()]);
  await a.query(SCHEMA);
  await b.query(SCHEMA);
  proxy = await startProxy(a.port, { switchover: { credentials: { [APP_USER]: APP_PASSWORD } } });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([a?.stop(), b?.stop()]);
});

function client(): Promise<Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: APP_USER, password: APP_PASSWORD, database: 'flipdb' });
}

async function port(c: Connection): Promise<number> {
  const [[r]] = await c.query('SELECT @@port AS p') as unknown as [{ p: number }[]];
  return Number(r.p);
}

describe('flip: the proxy moves open sessions to a new upstream', () => {
  it('refuses without a locked gate and for users without credentials, changing nothing', async () => {
    expect(await adminRequest(proxy.adminSocket, `flip 127.0.0.1:${b.port}`)).toMatchObject({ ok: false, error: expect.stringContaining('locked') });
    const root = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root' });
    const admin = await AdminConnection.open(proxy.adminSocket);
    try {
      expect(await admin.request('lock 2000 lease')).toMatchObject({ ok: true, state: 'locked' });
      const r = await admin.request(`flip 127.0.0.1:${b.port}`);
      expect(r).toMatchObject({ ok: false });
      expect(String(r.error)).toContain('no password for user "root"');
      expect(await admin.request('unlock')).toMatchObject({ ok: true });
    } finally {
      admin.close();
      await root.end();
    }
    const c = await client();
    expect(await port(c)).toBe(a.port);
    await c.end();
  });

  it('carries database, variables, prepared statements, LAST_INSERT_ID and held writes over; a read transaction moves at its end', async () => {
    const idle = await client();
    await idle.query("SET @greeting = 'hi', SESSION sql_mode = 'ANSI_QUOTES'");
    const [ins] = await idle.query("INSERT INTO t (v) VALUES ('before')") as unknown as [{ insertId: number }];
    await b.query(`INSERT INTO flipdb.t (id, v) VALUES (${ins.insertId}, 'before')`); // the new server is a replica at the lock
    const stmt = await idle.prepare('SELECT v FROM t WHERE id = ?');
    const reading = await client();
    await reading.query('START TRANSACTION');
    await reading.query('SELECT COUNT(*) FROM t');
    const writer = await client();

    const admin = await AdminConnection.open(proxy.adminSocket);
    try {
      expect(await admin.request('lock 2000 lease')).toMatchObject({ ok: true, state: 'locked' });
      const held = writer.query("INSERT INTO t (v) VALUES ('held')");
      await new Promise((r) => setTimeout(r, 100));
      const flip = await admin.request(`flip 127.0.0.1:${b.port} 3000`);
      expect(flip).toMatchObject({ ok: true, upstream: `127.0.0.1:${b.port}`, previous: `127.0.0.1:${a.port}`, pending: 1 });
      expect(await admin.request('unlock')).toMatchObject({ ok: true, released: 1 });
      await held;
    } finally {
      admin.close();
    }

    expect(await port(idle)).toBe(b.port);
    expect(await port(writer)).toBe(b.port);
    const [[vars]] = await idle.query('SELECT @greeting AS g, @@sql_mode AS m, LAST_INSERT_ID() AS id') as unknown as [Record<string, unknown>[]];
    expect(vars).toEqual({ g: 'hi', m: 'ANSI_QUOTES', id: ins.insertId });
    const [rows] = await stmt.execute([ins.insertId]) as unknown as [{ v: string }[]];
    expect(rows).toEqual([{ v: 'before' }]);
    const stmt2 = await idle.prepare('SELECT COUNT(*) AS n FROM t');
    const [[n]] = await stmt2.execute([]) as unknown as [{ n: number }[]];
    expect(Number(n.n)).toBe(2);
    const [[again]] = await stmt.execute([ins.insertId]) as unknown as [{ v: string }[]];
    expect(again).toEqual({ v: 'before' });

    // Still in its read-only transaction on the old server; its first write waits for the move.
    expect(await port(reading)).toBe(a.port);
    await reading.query("INSERT INTO t (v) VALUES ('in-txn')");
    expect(await port(reading)).toBe(b.port);
    await reading.query('COMMIT');
    const onB = await b.query('SELECT v FROM flipdb.t ORDER BY id');
    expect(onB.map((r: { v: string }) => r.v)).toEqual(['before', 'held', 'in-txn']);
    const onA = await a.query('SELECT v FROM flipdb.t ORDER BY id');
    expect(onA.map((r: { v: string }) => r.v)).toEqual(['before']);

    const fresh = await client();
    expect(await port(fresh)).toBe(b.port);
    const state = JSON.parse(readFileSync(join(proxy.journalDir, 'upstream.json'), 'utf8'));
    expect(state).toMatchObject({ host: '127.0.0.1', port: b.port });
    expect(statSync(join(proxy.journalDir, 'upstream.json')).mode & 0o777).toBe(0o600);
    expect(await adminRequest(proxy.adminSocket, 'status')).toMatchObject({ upstream: `127.0.0.1:${b.port}`, flip: { port: b.port } });
    for (const c of [idle, reading, writer, fresh]) await c.end();
  });

  it('a lease lock is released when its admin connection dies', async () => {
    const admin = await AdminConnection.open(proxy.adminSocket);
    expect(await admin.request('lock 2000 lease')).toMatchObject({ ok: true });
    const c = await client();
    const write = c.query("INSERT INTO t (v) VALUES ('after-lease')");
    await new Promise((r) => setTimeout(r, 100));
    admin.close();
    await write;
    expect(await adminRequest(proxy.adminSocket, 'status')).toMatchObject({ gate: { state: 'open' } });
    await c.end();
    expect(existsSync(proxy.adminSocket)).toBe(true);
  });
});

describe('flip with no client connected', () => {
  it('still refuses an address where no MySQL server answers', async () => {
    const lone = await startProxy(a.port);
    try {
      const admin = await AdminConnection.open(lone.adminSocket);
      expect(await admin.request('lock 2000 lease')).toMatchObject({ ok: true });
      const r = await admin.request('flip 127.0.0.1:1 1000');
      expect(r).toMatchObject({ ok: false, error: expect.stringContaining('does not answer as a MySQL server') });
      expect(await admin.request('unlock')).toMatchObject({ ok: true });
      admin.close();
      expect(await adminRequest(lone.adminSocket, 'status')).toMatchObject({ upstream: `127.0.0.1:${a.port}`, flip: null });
    } finally {
      await lone.stop();
    }
  });
});
