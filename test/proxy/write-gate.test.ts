import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startProxy, type ProxyFixture } from './proxy-fixture.js';
import { adminRequest } from '../../src/admin/admin-client.js';

let db: MariaDB;
let proxy: ProxyFixture;

const connect = () => mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: 'g' });
const admin = (line: string) => adminRequest(proxy.adminSocket, line);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const serverCount = async (table: string) => Number((await db.query(`SELECT COUNT(*) AS n FROM g.${table}`))[0].n);

beforeAll(async () => {
  db = await startMariaDB({ name: 'gate' });
  await db.query('CREATE DATABASE g; CREATE TABLE g.w (conn INT, n INT, PRIMARY KEY (conn, n)) ENGINE=InnoDB; CREATE TABLE g.r (id INT PRIMARY KEY)');
  await db.query('INSERT INTO g.r VALUES (1), (2), (3)');
  proxy = await startProxy(db.port, { gate: { lockTimeoutMs: 5000, maxHoldMs: 30_000 } });
});

afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
});

describe('write gate', () => {
  it('lock holds writes while reads flow; unlock releases every held write in order, none lost', async () => {
    const writers = await Promise.all([1, 2, 3, 4].map(() => connect()));
    const readers = await Promise.all([1, 2].map(() => connect()));
    let stop = false;
    const acked: Map<number, number[]> = new Map();
    const writeLoops = writers.map(async (c, i) => {
      const conn = i + 1;
      acked.set(conn, []);
      for (let n = 1; !stop; n++) {
        if (n % 3 === 0) {
          await c.query('BEGIN');
          await c.query('INSERT INTO w VALUES (?, ?)', [conn, n]);
          await c.query('COMMIT');
        } else {
          await c.execute('INSERT INTO w VALUES (?, ?)', [conn, n]);
        }
        acked.get(conn)!.push(n);
      }
    });
    let locked = false;
    const lockedReadLatencies: number[] = [];
    const readLoops = readers.map(async (c) => {
      while (!stop) {
        const t = performance.now();
        await c.query('SELECT SUM(id) FROM r');
        await c.execute('SELECT * FROM w WHERE conn = ? ORDER BY n DESC LIMIT 1', [1]);
        if (locked) lockedReadLatencies.push(performance.now() - t);
      }
    });
    await sleep(300);
    const reply = await admin('lock 5000');
    expect(reply).toMatchObject({ ok: true, state: 'locked' });
    locked = true;
    const seq = reply.seq as number;
    expect(seq).toBe(proxy.server.journal.headSeq);
    const rowsAtLock = await serverCount('w');
    const ackedAtLock = [...acked.values()].reduce((a, v) => a + v.length, 0);
    await sleep(700);
    // Nothing reached the server or the journal while locked; every writer is waiting.
    expect(await serverCount('w')).toBe(rowsAtLock);
    expect(proxy.server.journal.headSeq).toBe(seq);
    expect([...acked.values()].reduce((a, v) => a + v.length, 0)).toBe(ackedAtLock);
    const status = await admin('status');
    expect(status.gate).toMatchObject({ state: 'locked', heldWrites: 4 });
    locked = false;
    expect(lockedReadLatencies.length).toBeGreaterThan(20);
    const sorted = [...lockedReadLatencies].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length * 0.99)]).toBeLessThan(50);

    expect(await admin('unlock')).toMatchObject({ ok: true, state: 'open', released: 4 });
    await sleep(200);
    stop = true;
    await Promise.all([...writeLoops, ...readLoops]);
    await Promise.all([...writers, ...readers].map((c) => c.end()));

    const rows = await db.query('SELECT conn, n FROM g.w ORDER BY conn, n') as { conn: number; n: number }[];
    const entries = (await proxy.entries()).filter((e) => e.sql.toString().startsWith('INSERT INTO w'));
    expect(entries.length).toBe(rows.length);
    for (const [conn, ns] of acked) {
      expect(rows.filter((r) => r.conn === conn).map((r) => r.n)).toEqual(ns);
      // Journal order per connection is the order the client issued them.
      const journaled = entries.filter((e) => e.sql.toString().match(new RegExp(`VALUES \\(${conn}(E0)?, `))).map((e) => Number(/, (\d+)(E0)?\)/.exec(e.sql.toString())![1]));
      expect(journaled).toEqual(ns);
    }
  }, 30_000);

  it('lets a transaction that already wrote finish, then locks at a position that includes it', async () => {
    const a = await connect();
    await a.query('BEGIN');
    await a.query('INSERT INTO w VALUES (100, 1)');
    const locking = admin('lock 5000');
    await sleep(100);
    expect((await admin('status')).gate).toMatchObject({ state: 'locking' });
    await a.query('INSERT INTO w VALUES (100, 2)'); // same transaction: allowed
    await a.query('COMMIT');
    const reply = await locking;
    expect(reply).toMatchObject({ ok: true, state: 'locked' });
    const last = (await proxy.entries(reply.seq as number))[0];
    expect(last.sql.toString()).toBe('INSERT INTO w VALUES (100, 2)');
    await admin('unlock');
    await a.end();
  });

  it('abandons the lock after the timeout, names who kept it from quiescing, and releases held writes', async () => {
    const blocker = await connect();
    const other = await connect();
    await blocker.query('BEGIN');
    await blocker.query('INSERT /* the blocker */ INTO w VALUES (200, 1)');
    const locking = admin('lock 400');
    await sleep(50);
    const held = other.query('INSERT INTO w VALUES (201, 1)');
    const reply = await locking;
    expect(reply.ok).toBe(false);
    expect(String(reply.error)).toMatch(/not quiesced within 400 ms/);
    const blockers = reply.blockers as { id: number; user: string; host: string; connectedSeconds: number; writingSeconds: number; lastStatement: string }[];
    expect(blockers).toHaveLength(1);
    expect(blockers[0]).toMatchObject({ user: 'root', lastStatement: 'INSERT /* the blocker */ INTO w VALUES (200, 1)' });
    expect(blockers[0].host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(blockers[0].writingSeconds).toBeGreaterThanOrEqual(0.3);
    await held; // released when the lock was abandoned
    expect((await admin('status')).gate).toMatchObject({ state: 'open', heldWrites: 0 });
    await blocker.query('ROLLBACK');
    await Promise.all([blocker.end(), other.end()]);
  });

  it('lock-reject answers writes with a read-only error at once; reads go on; unlock restores writes', async () => {
    const c = await connect();
    expect(await admin('lock-reject')).toMatchObject({ ok: true, state: 'rejecting' });
    const t = Date.now();
    await expect(c.query('INSERT INTO w VALUES (300, 1)')).rejects.toMatchObject({ errno: 1290, message: expect.stringMatching(/read-only while it is being upgraded/) });
    await expect(c.execute('UPDATE w SET n = n WHERE conn = ?', [300])).rejects.toMatchObject({ errno: 1290 });
    expect(Date.now() - t).toBeLessThan(500);
    const [rows] = await c.query('SELECT COUNT(*) AS n FROM r');
    expect((rows as { n: number }[])[0].n).toBe(3);
    expect(await serverCount('w')).toBe(Number((await db.query('SELECT COUNT(*) AS n FROM g.w WHERE conn <> 300'))[0].n));
    await admin('unlock');
    await c.query('INSERT INTO w VALUES (300, 2)');
    await c.end();
  });

  it('answers a write held longer than gate.maxHoldMs with an ERR and never runs it', async () => {
    const p2 = await startProxy(db.port, { gate: { lockTimeoutMs: 5000, maxHoldMs: 300 } });
    const c = await mysql.createConnection({ host: '127.0.0.1', port: p2.port, user: 'root', database: 'g' });
    expect((await adminRequest(p2.adminSocket, 'lock')).ok).toBe(true);
    const t = Date.now();
    await expect(c.query('INSERT INTO w VALUES (400, 1)')).rejects.toMatchObject({ errno: 1290, message: expect.stringMatching(/held 300 ms \(gate\.maxHoldMs\).*not executed/) });
    expect(Date.now() - t).toBeGreaterThanOrEqual(280);
    await adminRequest(p2.adminSocket, 'unlock');
    await c.query('SELECT 1'); // the session goes on
    expect(Number((await db.query('SELECT COUNT(*) AS n FROM g.w WHERE conn = 400'))[0].n)).toBe(0);
    await c.end();
    await p2.stop();
  });

  it('on shutdown, held writes get an ERR and are not executed', async () => {
    const p3 = await startProxy(db.port);
    const c = await mysql.createConnection({ host: '127.0.0.1', port: p3.port, user: 'root', database: 'g' });
    await adminRequest(p3.adminSocket, 'lock');
    const held = c.query('INSERT INTO w VALUES (500, 1)');
    await sleep(100);
    const stopping = p3.stop();
    await expect(held).rejects.toMatchObject({ errno: 1290, message: expect.stringMatching(/shutting down.*not executed/) });
    await stopping;
    c.destroy();
    expect(Number((await db.query('SELECT COUNT(*) AS n FROM g.w WHERE conn = 500'))[0].n)).toBe(0);
  });
});
