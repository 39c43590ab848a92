import { afterAll, describe, expect, it } from 'vitest';
import { JournalReader } from '../../src/journal/journal-reader.js';
import { JournalWriter } from '../../src/journal/journal-writer.js';
import { cleanup, readAll, silent, tempDir, txn } from './helpers.js';

afterAll(cleanup);

describe('group commit', () => {
  it('resolves 10k concurrent appends in order, with contiguous seqs and far fewer fsyncs than appends', async () => {
    const dir = await tempDir();
    const w = await JournalWriter.open({ dir, fsync: 'always', log: silent });
    const order: number[] = [];
    const appends = Array.from({ length: 10_000 }, (_, i) =>
      w.append(i % 10 === 0 ? txn(i, `INSERT INTO g VALUES (${i})`, `UPDATE g SET n = ${i}`) : txn(i, `INSERT INTO g VALUES (${i})`)).then((r) => {
        order.push(i);
        return r;
      }),
    );
    const results = await Promise.all(appends);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    let seq = 1;
    results.forEach((r, i) => {
      expect(r).toEqual({ txn: i + 1, firstSeq: seq, lastSeq: seq + (i % 10 === 0 ? 1 : 0) });
      seq = r.lastSeq + 1;
    });
    expect(w.headSeq).toBe(11_000);
    expect(w.stats.fsyncs).toBeLessThan(100);
    expect(w.stats.writes).toBe(w.stats.fsyncs);
    await w.close();
    const entries = await readAll(dir);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 11_000 }, (_, i) => i + 1));
    expect((await new JournalReader(dir).verify()).errors).toEqual([]);
  });

  it('batches appends that arrive while an fsync runs into the next single write', async () => {
    const dir = await tempDir();
    const w = await JournalWriter.open({ dir, fsync: 'always', log: silent });
    const first = w.append(txn(1, 'INSERT INTO g VALUES (0)'));
    await Promise.resolve();
    await Promise.resolve();
    // The first write is in flight now; these 500 queue behind it.
    const rest = Array.from({ length: 500 }, (_, i) => w.append(txn(2, `INSERT INTO g VALUES (${i + 1})`)));
    await Promise.all([first, ...rest]);
    expect(w.stats.writes).toBe(2);
    expect(w.stats.fsyncs).toBe(2);
    await w.close();
  });

  it("with fsync 'none' writes in order and never fsyncs", async () => {
    const dir = await tempDir();
    const w = await JournalWriter.open({ dir, fsync: 'none', log: silent });
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => w.append(txn(i, `INSERT INTO g VALUES (${i})`))));
    expect(results.map((r) => r.firstSeq)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(w.stats.fsyncs).toBe(0);
    await w.close();
    expect((await readAll(dir)).length).toBe(2000);
  });
});
