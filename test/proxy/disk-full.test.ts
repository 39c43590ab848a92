import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JournalReader } from '../../src/journal/journal-reader.js';
import type { JournalEntry } from '../../src/journal/record.js';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { mountTmpfs, type Tmpfs } from '../harness/tmpfs.js';
import { journaledIdCounts, WriteLoad, writeLoadTableSql } from '../harness/write-load.js';
import { startProxy, type ProxyFixture } from './proxy-fixture.js';

/** Room left beside the filler: a handful of journal records, then the disk is full. */
const LEFT_FREE = 16 * 1024;
const PAD = 'x'.repeat(1500);
const ER_UNKNOWN_ERROR = 1105;
const ER_OPTION_PREVENTS_STATEMENT = 1290;

let db: MariaDB;
let disk: Tmpfs;
let journalDir: string;
let filler: string;
let proxy: ProxyFixture;
let conn: mysql.Connection;

/** What the first part learns and the later parts check. */
const acked: number[] = [];
let unjournaled = 0;
const refused: number[] = [];

beforeAll(async () => {
  db = await startMariaDB({ name: 'diskfull' });
  await db.query(`CREATE DATABASE t; CREATE TABLE t.big (id INT PRIMARY KEY, pad TEXT) ENGINE=InnoDB; ${writeLoadTableSql('t.w')}`);
  disk = await mountTmpfs(1024 * 1024);
  journalDir = join(disk.dir, 'journal');
  proxy = await startProxy(db.port, { journal: { dir: journalDir, fsync: 'always' } });
  filler = join(disk.dir, 'filler');
  writeFileSync(filler, Buffer.alloc(disk.freeBytes() - LEFT_FREE));
  conn = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: 't' });
});

afterAll(async () => {
  conn?.destroy();
  await proxy?.stop();
  await disk?.unmount();
  await db?.stop();
});

const insert = (id: number) => conn.query(`INSERT INTO big VALUES (${id}, '${PAD}')`);

async function onServer(ids: number[], table = 't.big'): Promise<number[]> {
  if (ids.length === 0) return [];
  const rows = (await db.query(`SELECT id FROM ${table} WHERE id IN (?) ORDER BY id`, [ids])) as { id: number }[];
  return rows.map((r) => Number(r.id));
}

async function journal(): Promise<JournalEntry[]> {
  const out: JournalEntry[] = [];
  for await (const e of new JournalReader(journalDir).entries()) out.push(e);
  return out;
}

function idOf(e: JournalEntry): number {
  return Number(/^INSERT INTO big VALUES \((\d+),/.exec(e.sql.toString('utf8'))?.[1]);
}

type SqlError = Error & { errno?: number };

async function sqlError(p: Promise<unknown>): Promise<SqlError> {
  try {
    await p;
  } catch (e) {
    return e as SqlError;
  }
  throw new Error('expected the statement to fail');
}

describe('journal on a full disk', () => {
  it('fails a write whose commit cannot be journaled with an error naming the journal and the cause', async () => {
    let failure: SqlError | null = null;
    for (let id = 1; id <= 200 && !failure; id++) {
      try {
        await insert(id);
        acked.push(id);
      } catch (e) {
        failure = e as SqlError;
        unjournaled = id;
      }
    }
    expect(failure, 'the disk never filled up').not.toBeNull();
    expect(acked.length).toBeGreaterThan(0);
    expect(failure!.errno).toBe(ER_UNKNOWN_ERROR);
    expect(failure!.message).toContain(`journal ${journalDir}`);
    expect(failure!.message).toMatch(/no space left on device/i);
    expect(failure!.message).toMatch(/server committed this write/);
    // The server did commit it, as the message says.
    expect(await onServer([unjournaled])).toEqual([unjournaled]);
  });

  it('while full: reads work, writes are refused before they reach the server', async () => {
    const [rows] = await conn.query('SELECT COUNT(*) AS n FROM big');
    expect((rows as { n: number }[])[0].n).toBe(acked.length + 1);

    const id = unjournaled + 1000;
    const attempts: [number, Promise<unknown>][] = [
      [id, insert(id)],
      [id + 1, conn.execute('INSERT INTO big VALUES (?, ?)', [id + 1, 'prepared'])],
      [id + 2, conn.query(`REPLACE INTO big VALUES (${id + 2}, 'replace')`)],
    ];
    for (const [target, attempt] of attempts) {
      const e = await sqlError(attempt);
      expect(e.errno, e.message).toBe(ER_OPTION_PREVENTS_STATEMENT);
      expect(e.message).toContain(`the journal (${journalDir}) cannot record writes`);
      expect(e.message).toMatch(/no space left on device/i);
      refused.push(target);
    }
    expect(await onServer(refused)).toEqual([]);

    // A write inside a transaction is refused too, and the transaction can still be ended.
    await conn.query('BEGIN');
    const e = await sqlError(conn.query(`UPDATE big SET pad = 'changed' WHERE id = ${acked[0]}`));
    expect(e.errno).toBe(ER_OPTION_PREVENTS_STATEMENT);
    await conn.query('ROLLBACK');
    const [same] = await conn.query(`SELECT pad FROM big WHERE id = ${acked[0]}`);
    expect((same as { pad: string }[])[0].pad).toBe(PAD);
  });

  it('once space is back, journals the committed backlog first and takes writes again', async () => {
    unlinkSync(filler);
    const next = unjournaled + 2000;
    const deadline = Date.now() + 5000;
    for (;;) {
      const e = await insert(next).then(() => null, (err: SqlError) => err);
      if (!e) break;
      expect(e.errno, e.message).toBe(ER_OPTION_PREVENTS_STATEMENT);
      if (Date.now() > deadline) throw new Error(`writes still refused 5 s after space was freed: ${e.message}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const summary = await new JournalReader(journalDir).verify();
    expect(summary.errors).toEqual([]);
    const entries = await journal();
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    // In commit order: what was acknowledged, then the backlog, then the write after recovery.
    expect(entries.map(idOf)).toEqual([...acked, unjournaled, next]);
    expect(await onServer(refused)).toEqual([]);
  });
});

describe('journal filling up under concurrent writers', () => {
  it('never acknowledges an unjournaled write, keeps refused writes off the server, journals the backlog', async () => {
    writeFileSync(filler, Buffer.alloc(disk.freeBytes() - LEFT_FREE));
    const load = WriteLoad.start({ port: proxy.port, database: 't', table: 'w', workers: 4 });
    const deadline = Date.now() + 10_000;
    while (load.errorCount < 20) {
      if (Date.now() > deadline) throw new Error(`the disk never filled up: ${load.ackedCount} writes acknowledged`);
      await new Promise((r) => setTimeout(r, 20));
    }
    unlinkSync(filler);
    await load.untilAcked(100);
    const { acked, failed } = await load.stop();

    const byErrno = (errno: number) => failed.filter((f) => f.errno === errno).flatMap((f) => f.ids);
    const unjournaledIds = byErrno(ER_UNKNOWN_ERROR);
    const refusedIds = byErrno(ER_OPTION_PREVENTS_STATEMENT);
    expect(failed.filter((f) => f.errno !== ER_UNKNOWN_ERROR && f.errno !== ER_OPTION_PREVENTS_STATEMENT), 'other failures').toEqual([]);
    expect(unjournaledIds.length).toBeGreaterThan(0);
    expect(refusedIds.length).toBeGreaterThan(0);

    expect((await new JournalReader(journalDir).verify()).errors).toEqual([]);
    const entries = await journal();
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    const counts = journaledIdCounts(entries);
    expect([...counts].filter(([, n]) => n > 1), 'journaled twice').toEqual([]);
    expect(acked.filter((id) => !counts.has(id)), 'acknowledged but not journaled').toEqual([]);
    expect(unjournaledIds.filter((id) => !counts.has(id)), 'committed, reported unjournaled, never journaled').toEqual([]);
    expect(await onServer(unjournaledIds, 't.w')).toEqual([...unjournaledIds].sort((a, b) => a - b));
    expect(await onServer(refusedIds, 't.w'), 'refused but on the server').toEqual([]);
    const onServerIds = new Set(((await db.query('SELECT id FROM t.w')) as { id: number }[]).map((r) => Number(r.id)));
    expect([...counts.keys()].filter((id) => !onServerIds.has(id)), 'journaled but not on the server').toEqual([]);
  });
});
