import { appendFile, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { RECORD_HEADER_BYTES } from '../../src/journal/record-codec.js';
import { JournalReader } from '../../src/journal/journal-reader.js';
import { JournalWriter } from '../../src/journal/journal-writer.js';
import type { JournalTxn } from '../../src/journal/record.js';
import { cleanup, expectedEntries, logCollector, readAll, recordOffsets, segmentPaths, silent, tempDir, txn } from './helpers.js';

afterAll(cleanup);

const base: JournalTxn[] = [
  txn(1, 'INSERT INTO t VALUES (1)'),
  txn(2, 'INSERT INTO t VALUES (2)', 'UPDATE t SET a = 3 WHERE a = 2'),
  txn(3, 'DELETE FROM t WHERE a = 1'),
];

/** A journal holding `base`, one append per write, and the path of its only segment. */
async function journalWithBase(): Promise<{ dir: string; segment: string }> {
  const dir = await tempDir();
  const w = await JournalWriter.open({ dir, fsync: 'always', log: silent });
  for (const t of base) await w.append(t);
  await w.close();
  return { dir, segment: (await segmentPaths(dir))[0] };
}

/** Reopens after damage: the writer must be back at the end of `base`, and continue from there. */
async function expectRecoveredToBase(dir: string, segment: string, damagedSize: number): Promise<void> {
  const before = (await stat(segment)).size;
  expect(before).toBe(damagedSize);
  expect(await readAll(dir)).toEqual(expectedEntries(base));
  const { log, lines } = logCollector();
  const w = await JournalWriter.open({ dir, fsync: 'always', log });
  expect(w.headSeq).toBe(4);
  const cut = lines.find((l) => l.msg.includes('dropped an unfinished write'));
  expect(cut?.msg).toContain('never acknowledged');
  const goodEnd = (await recordOffsets(segment)).at(-1) as number;
  expect(cut?.extra).toMatchObject({ file: segment, droppedBytes: damagedSize - goodEnd, lastSeq: 4 });
  const more = [txn(4, 'INSERT INTO t VALUES (4)', 'INSERT INTO t VALUES (5)'), txn(5, 'INSERT INTO t VALUES (6)')];
  expect(await w.append(more[0])).toEqual({ txn: 4, firstSeq: 5, lastSeq: 6 });
  expect(await w.append(more[1])).toEqual({ txn: 5, firstSeq: 7, lastSeq: 7 });
  await w.close();
  expect(await readAll(dir)).toEqual(expectedEntries([...base, ...more]));
  const summary = await new JournalReader(dir).verify();
  expect(summary).toMatchObject({ errors: [], records: 7, transactions: 5, lastSeq: 7 });
}

describe('torn tail recovery', () => {
  it('drops garbage appended after the last complete transaction', async () => {
    const { dir, segment } = await journalWithBase();
    await appendFile(segment, Buffer.from('this is not a journal record at all, just junk bytes'));
    await expectRecoveredToBase(dir, segment, (await stat(segment)).size);
  });

  it('drops zeros, as a power loss leaves in a file extended but never written', async () => {
    const { dir, segment } = await journalWithBase();
    await appendFile(segment, Buffer.alloc(4096));
    await expectRecoveredToBase(dir, segment, (await stat(segment)).size);
  });

  it('drops a record header whose length runs past the end of the file, without reading that much', async () => {
    const { dir, segment } = await journalWithBase();
    const header = Buffer.alloc(RECORD_HEADER_BYTES);
    header.write('MJ', 0, 'latin1');
    header.writeUInt32LE(900 * 1024 * 1024, 2);
    header.writeUInt32LE(crc32(header.subarray(0, 10)), 10);
    await appendFile(segment, Buffer.concat([header, Buffer.from('a few body bytes')]));
    const rssBefore = process.memoryUsage().rss;
    await expectRecoveredToBase(dir, segment, (await stat(segment)).size);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
  });

  it('drops a record cut in half', async () => {
    const { dir, segment } = await journalWithBase();
    const w = await JournalWriter.open({ dir, fsync: 'always', log: silent });
    await w.append(txn(9, "INSERT INTO t VALUES ('cut short')"));
    await w.close();
    const offsets = await recordOffsets(segment);
    const lastStart = offsets[offsets.length - 2];
    await truncate(segment, lastStart + 20);
    await expectRecoveredToBase(dir, segment, lastStart + 20);
  });

  it('drops the first half of a multi-statement transaction, which readers never see', async () => {
    const { dir, segment } = await journalWithBase();
    const w = await JournalWriter.open({ dir, fsync: 'always', log: silent });
    await w.append(txn(9, 'INSERT INTO t VALUES (7)', 'INSERT INTO t VALUES (8)', 'INSERT INTO t VALUES (9)'));
    await w.close();
    const offsets = await recordOffsets(segment);
    const secondOfTxn = offsets[offsets.length - 3];
    await truncate(segment, secondOfTxn);
    await expectRecoveredToBase(dir, segment, secondOfTxn);
  });

  it('drops a whole unfinished write, including complete transactions in it that were never acknowledged', async () => {
    const { dir, segment } = await journalWithBase();
    const w = await JournalWriter.open({ dir, fsync: 'always', log: silent });
    await Promise.all([txn(7, 'INSERT INTO t VALUES (10)'), txn(8, 'INSERT INTO t VALUES (11)'), txn(9, 'INSERT INTO t VALUES (12)')].map((t) => w.append(t)));
    expect(w.stats.writes).toBe(1);
    await w.close();
    const offsets = await recordOffsets(segment);
    const size = offsets[offsets.length - 1] - 3;
    await truncate(segment, size);
    await expectRecoveredToBase(dir, segment, size);
  });

  it('drops a final write damaged in its middle when nothing written later follows it', async () => {
    const { dir, segment } = await journalWithBase();
    const w = await JournalWriter.open({ dir, fsync: 'always', log: silent });
    await Promise.all([txn(7, 'INSERT INTO t VALUES (10)'), txn(8, 'INSERT INTO t VALUES (11)'), txn(9, 'INSERT INTO t VALUES (12)')].map((t) => w.append(t)));
    await w.close();
    const offsets = await recordOffsets(segment);
    const bytes = await readFile(segment);
    bytes.fill(0, offsets[offsets.length - 3], offsets[offsets.length - 2]);
    await writeFile(segment, bytes);
    await expectRecoveredToBase(dir, segment, bytes.length);
  });
});
