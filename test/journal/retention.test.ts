import { readdir } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { JournalReader } from '../../src/journal/journal-reader.js';
import { JournalWriter } from '../../src/journal/journal-writer.js';
import { removeSegmentsBelow } from '../../src/journal/retention.js';
import { cleanup, readAll, silent, tempDir, txn } from './helpers.js';

afterAll(cleanup);

async function segmentFirstSeqs(dir: string): Promise<number[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort().map((n) => Number(n.slice(0, 20)));
}

describe('retention', () => {
  it('removes only segments whose every seq is below the bound, never the last', async () => {
    const dir = await tempDir();
    const w = await JournalWriter.open({ dir, fsync: 'always', segmentBytes: 1024, log: silent });
    for (let i = 0; i < 60; i++) await w.append(txn(i, `INSERT INTO r VALUES (${i}, 'padding padding padding')`));
    const firsts = await segmentFirstSeqs(dir);
    expect(firsts.length).toBeGreaterThan(4);

    // A bound inside the third segment keeps it: only the first two are wholly below.
    const bound = firsts[2] + 1;
    expect(await removeSegmentsBelow(dir, bound)).toEqual(firsts.slice(0, 2).map((s) => `${String(s).padStart(20, '0')}.seg`));
    expect(await segmentFirstSeqs(dir)).toEqual(firsts.slice(2));
    // A bound equal to a segment's first seq removes the one before it.
    expect(await removeSegmentsBelow(dir, firsts[3])).toEqual([`${String(firsts[2]).padStart(20, '0')}.seg`]);
    expect(await removeSegmentsBelow(dir, firsts[3])).toEqual([]);

    const entries = await readAll(dir);
    expect(entries[0].seq).toBe(firsts[3]);
    expect(entries.at(-1)?.seq).toBe(60);
    await expect(readAll(dir, 1)).rejects.toMatchObject({ code: 'JOURNAL_SEQ_GONE' });
    expect((await readAll(dir, firsts[3] + 1))[0].seq).toBe(firsts[3] + 1);

    expect(await removeSegmentsBelow(dir, Number.MAX_SAFE_INTEGER)).toHaveLength(firsts.length - 4);
    expect(await segmentFirstSeqs(dir)).toEqual([firsts.at(-1)]);
    expect((await new JournalReader(dir).verify()).errors).toEqual([]);

    expect(await w.append(txn(1, 'INSERT INTO r VALUES (61)'))).toMatchObject({ firstSeq: 61 });
    await w.close();
    const reopened = await JournalWriter.open({ dir, fsync: 'always', segmentBytes: 1024, log: silent });
    expect(reopened.headSeq).toBe(61);
    await reopened.close();
  });
});
