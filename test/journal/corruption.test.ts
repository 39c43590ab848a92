import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JournalError } from '../../src/journal/errors.js';
import { JournalReader } from '../../src/journal/journal-reader.js';
import { JournalWriter } from '../../src/journal/journal-writer.js';
import { cleanup, readAll, recordOffsets, segmentPaths, silent, tempDir, txn } from './helpers.js';

afterAll(cleanup);

/** 30 txns, one write each, across several small segments. */
async function journal(): Promise<string> {
  const dir = await tempDir();
  const w = await JournalWriter.open({ dir, fsync: 'always', segmentBytes: 1024, log: silent });
  for (let i = 0; i < 30; i++) await w.append(txn(i, `INSERT INTO c VALUES (${i}, 'some text to fill the segment')`));
  await w.close();
  return dir;
}

async function flipByte(path: string, offset: number): Promise<void> {
  const bytes = await readFile(path);
  bytes[offset] ^= 0x20;
  await writeFile(path, bytes);
}

async function openError(dir: string): Promise<JournalError> {
  try {
    await (await JournalWriter.open({ dir, fsync: 'always', log: silent })).close();
  } catch (err) {
    return err as JournalError;
  }
  throw new Error('open succeeded on a damaged journal');
}

describe('corruption', () => {
  it('fails to open when a non-last segment is damaged in its middle, naming the file and offset', async () => {
    const dir = await journal();
    const segments = await segmentPaths(dir);
    expect(segments.length).toBeGreaterThanOrEqual(3);
    const victim = segments[segments.length - 2];
    const offsets = await recordOffsets(victim);
    const at = offsets[1] + 30;
    await flipByte(victim, at);
    const sizes = await Promise.all(segments.map(async (s) => (await stat(s)).size));

    const err = await openError(dir);
    expect(err).toBeInstanceOf(JournalError);
    expect(err.code).toBe('JOURNAL_CORRUPT');
    expect(err.message).toContain(victim);
    expect(err.message).toContain(`offset ${offsets[1]}`);
    expect(await Promise.all(segments.map(async (s) => (await stat(s)).size))).toEqual(sizes);

    const summary = await new JournalReader(dir).verify();
    expect(summary.errors).toEqual([`${basename(victim)}: at offset ${offsets[1]}: record body checksum mismatch`]);
    await expect(readAll(dir)).rejects.toMatchObject({ code: 'JOURNAL_CORRUPT' });
  });

  it('does not cut off acknowledged data when the last segment is damaged before later writes', async () => {
    const dir = await journal();
    const segments = await segmentPaths(dir);
    const last = segments[segments.length - 1];
    const offsets = await recordOffsets(last);
    expect(offsets.length).toBeGreaterThan(3);
    await flipByte(last, offsets[0] + 40);
    const size = (await stat(last)).size;

    const err = await openError(dir);
    expect(err.code).toBe('JOURNAL_CORRUPT');
    expect(err.message).toContain(`${last} is damaged at offset ${offsets[0]}`);
    expect((await stat(last)).size).toBe(size);
    expect((await new JournalReader(dir).verify()).errors).toHaveLength(1);
    await expect(readAll(dir)).rejects.toMatchObject({ code: 'JOURNAL_CORRUPT' });
  });

  it('reports a missing segment as a seq gap', async () => {
    const dir = await journal();
    const segments = await segmentPaths(dir);
    const first = await readAll(dir);
    await rm(segments[1]);
    const summary = await new JournalReader(dir).verify();
    expect(summary.errors).toHaveLength(1);
    expect(summary.errors[0]).toMatch(/^\d{20}\.seg: starts at seq \d+, txn \d+; the previous segment ends before seq \d+, txn \d+$/);
    await expect(readAll(dir)).rejects.toMatchObject({ code: 'JOURNAL_CORRUPT' });
    expect(first.length).toBe(30);
  });

  it('reports garbage in place of a segment header', async () => {
    const dir = await journal();
    const segments = await segmentPaths(dir);
    await flipByte(segments[0], 2);
    const summary = await new JournalReader(dir).verify();
    expect(summary.errors).toEqual([`${basename(segments[0])}: at offset 0: bad segment header: no segment magic`]);
  });
});
