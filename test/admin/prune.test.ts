import { afterAll, beforeAll, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startProxy, type ProxyFixture } from '../proxy/proxy-fixture.js';
import { adminRequest } from '../../src/admin/admin-client.js';
import { writeCheckpoint } from '../../src/journal/consumer-checkpoints.js';
import { JournalReader } from '../../src/journal/journal-reader.js';

let db: MariaDB;
let proxy: ProxyFixture;

beforeAll(async () => {
  db = await startMariaDB({ name: 'prune' });
  proxy = await startProxy(db.port, { journal: { segmentBytes: 64 * 1024 } });
});

afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
});

const segments = () => readdirSync(proxy.journalDir).filter((f) => f.endsWith('.seg')).sort();

it('prune removes only segments every registered consumer has applied, and refuses without consumers', async () => {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root' });
  await c.query('CREATE DATABASE p');
  await c.query('CREATE TABLE p.t (id INT PRIMARY KEY, pad VARCHAR(500))');
  for (let i = 1; i <= 600; i++) await c.query('INSERT INTO p.t VALUES (?, ?)', [i, 'x'.repeat(400)]);
  await c.end();
  const before = segments();
  expect(before.length).toBeGreaterThan(3);

  const refused = await adminRequest(proxy.adminSocket, 'prune');
  expect(refused).toMatchObject({ ok: false, error: expect.stringMatching(/no consumer is registered/) });
  expect(segments()).toEqual(before);

  const head = proxy.server.journal.headSeq;
  await writeCheckpoint(proxy.journalDir, 'fast', head);
  await writeCheckpoint(proxy.journalDir, 'slow', 300);
  const r = await adminRequest(proxy.adminSocket, 'prune');
  expect(r).toMatchObject({ ok: true, keptFromSeq: 301 });
  const after = segments();
  expect((r.removed as string[]).length).toBe(before.length - after.length);
  expect(after.length).toBeLessThan(before.length);
  // Everything the slow consumer still needs is there, from seq 301 to the head, gap-free.
  const seqs: number[] = [];
  for await (const e of new JournalReader(proxy.journalDir).entries({ from: 301 })) seqs.push(e.seq);
  expect(seqs[0]).toBe(301);
  expect(seqs.at(-1)).toBe(head);
  expect(seqs.length).toBe(head - 300);
  expect((await new JournalReader(proxy.journalDir).verify()).errors).toEqual([]);
});
