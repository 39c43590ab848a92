import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JournalError } from '../../src/journal/errors.js';
import { JournalReader } from '../../src/journal/journal-reader.js';
import { JournalWriter } from '../../src/journal/journal-writer.js';
import type { JournalTxn } from '../../src/journal/record.js';
import { cleanup, expectedEntries, readAll, silent, statement, tempDir, txn } from './helpers.js';

afterAll(cleanup);

function variedTxns(): JournalTxn[] {
  const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const binarySql = Buffer.concat([Buffer.from("INSERT INTO blobs VALUES ('"), allBytes, Buffer.from("')")]);
  return [
    txn(1, 'INSERT INTO t (a) VALUES (1)'),
    { conn: 2, statements: [statement(binarySql, { kind: 'insert', flags: ['binary'] }), statement('UPDATE t SET a = a + 1', { kind: 'update', affectedRows: 41 })] },
    { conn: 3, statements: [statement('DELETE FROM t WHERE a > 5', { db: null, kind: 'delete', affectedRows: 0, session: {} })] },
    { conn: 1, statements: [statement('INSERT INTO t VALUES (NULL)', { insertId: '18446744073709551615', ts: 1_732_000_000_999_999, session: { '@x': '@x = 5' } })] },
    { conn: 4, statements: [statement('ALTER TABLE t ADD COLUMN b INT', { kind: 'ddl', flags: ['ddl'] }), statement("LOAD DATA INFILE 'x' INTO TABLE t", { kind: 'load' }), statement('REPLACE INTO t VALUES (2)', { kind: 'replace' })] },
  ];
}

describe('journal round trip', () => {
  it('reads back exactly what was appended, with contiguous seqs and txn boundaries', async () => {
    const dir = await tempDir();
    const w = await JournalWriter.open({ dir, fsync: 'always', log: silent });
    const txns = variedTxns();
    const results = [];
    for (const t of txns) results.push(await w.append(t));
    expect(results.map((r) => [r.txn, r.firstSeq, r.lastSeq])).toEqual([[1, 1, 1], [2, 2, 3], [3, 4, 4], [4, 5, 5], [5, 6, 8]]);
    expect(w.headSeq).toBe(8);
    await w.close();
    expect(await readAll(dir)).toEqual(expectedEntries(txns));
    expect(await readAll(dir, 5)).toEqual(expectedEntries(txns).slice(4));
  });

  it('keeps a 20 MiB statement intact', async () => {
    const dir = await tempDir();
    const w = await JournalWriter.open({ dir, fsync: 'always', log: silent });
    const big = Buffer.alloc(20 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
    const txns = [txn(1, 'INSERT INTO a VALUES (1)'), { conn: 2, statements: [statement(big)] }, txn(3, 'INSERT INTO a VALUES (3)')];
    await Promise.all(txns.map((t) => w.append(t)));
    await w.close();
    const back = await readAll(dir);
    expect(back.map((e) => e.seq)).toEqual([1, 2, 3]);
    const expected = expectedEntries(txns);
    back.forEach((e, i) => expect(e.sql.equals(expected[i].sql), `sql of seq ${e.seq}`).toBe(true));
    const withoutSql = (list: typeof back) => list.map((e) => ({ ...e, sql: e.sql.length }));
    expect(withoutSql(back)).toEqual(withoutSql(expected));
  });

  it('continues seqs and txn ids after reopening, across segments', async () => {
    const dir = await tempDir();
    const all: JournalTxn[] = [];
    for (let round = 0; round < 3; round++) {
      const w = await JournalWriter.open({ dir, fsync: 'always', segmentBytes: 2048, log: silent });
      expect(w.headSeq).toBe(all.reduce((n, t) => n + t.statements.length, 0));
      for (let i = 0; i < 20; i++) {
        const t = i % 3 === 0 ? txn(i, `INSERT INTO r VALUES (${round}, ${i})`, `UPDATE r SET n = ${i}`) : txn(i, `INSERT INTO r VALUES (${round}, ${i})`);
        all.push(t);
        await w.append(t);
      }
      await w.close();
    }
    const segments = (await readdir(dir)).filter((n) => n.endsWith('.seg'));
    expect(segments.length).toBeGreaterThan(3);
    expect(await readAll(dir)).toEqual(expectedEntries(all));
    const summary = await new JournalReader(dir).verify();
    expect(summary).toMatchObject({ errors: [], records: 81, transactions: 60, firstSeq: 1, lastSeq: 81, segments: segments.length });
  });

  it('creates the directory 0700 and segments 0600, named after their first seq', async () => {
    const dir = join(await tempDir(), 'nested', 'journal');
    const w = await JournalWriter.open({ dir, fsync: 'always', segmentBytes: 256, log: silent });
    for (let i = 0; i < 4; i++) await w.append(txn(1, `INSERT INTO m VALUES (${'x'.repeat(200)})`));
    await w.close();
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const names = (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
    expect(names).toEqual(['00000000000000000001.seg', '00000000000000000002.seg', '00000000000000000003.seg', '00000000000000000004.seg']);
    for (const n of names) expect((await stat(join(dir, n))).mode & 0o777).toBe(0o600);
  });

  it('rejects a transaction it cannot record, and appends after close', async () => {
    const dir = await tempDir();
    const w = await JournalWriter.open({ dir, fsync: 'none', log: silent });
    await expect(w.append({ conn: 1, statements: [] })).rejects.toMatchObject({ code: 'JOURNAL_BAD_TXN' });
    await expect(w.append({ conn: 1, statements: [statement('x', { insertId: '12abc' })] })).rejects.toMatchObject({ code: 'JOURNAL_BAD_TXN' });
    await expect(w.append(txn(1, 'INSERT INTO t VALUES (1)'))).resolves.toEqual({ txn: 1, firstSeq: 1, lastSeq: 1 });
    await w.close();
    const late = w.append(txn(1, 'INSERT INTO t VALUES (2)'));
    await expect(late).rejects.toBeInstanceOf(JournalError);
    await expect(late).rejects.toMatchObject({ code: 'JOURNAL_CLOSED' });
  });
});

describe('reading from a late seq', () => {
  it('starts at a boundary an earlier reader saw and gives exactly the entries from there, also after more appends', async () => {
    const dir = await tempDir();
    const w = await JournalWriter.open({ dir, fsync: 'none', log: silent });
    const txns = Array.from({ length: 3000 }, (_, i) => txn(1 + (i % 3), `INSERT INTO t VALUES (${i})`, `UPDATE t SET a = ${i}`));
    for (const t of txns) await w.append(t);
    const all = await readAll(dir); // remembers batch boundaries
    expect(all).toHaveLength(6000);
    for (const from of [1, 999, 1000, 1001, 4321, 5999, 6000]) {
      const got = await readAll(dir, from);
      expect(got.map((e) => e.seq)).toEqual(all.slice(from - 1).map((e) => e.seq));
      expect(got[0]).toEqual(all[from - 1]);
    }
    await w.append(txn(9, 'INSERT INTO t VALUES (-1)'));
    const tail = await readAll(dir, 5500);
    expect(tail.map((e) => e.seq)).toEqual(Array.from({ length: 502 }, (_, i) => 5500 + i));
    await w.close();
  });
});
