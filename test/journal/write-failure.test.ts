import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JournalError } from '../../src/journal/errors.js';
import { JournalReader } from '../../src/journal/journal-reader.js';
import { JournalWriter } from '../../src/journal/journal-writer.js';
import type { AppendResult, JournalTxn } from '../../src/journal/record.js';
import { cleanup, expectedEntries, readAll, recordOffsets, segmentPaths, silent, statement, tempDir } from './helpers.js';

// A real full disk: a 256 KiB tmpfs (needs root, as on the test machines).
let mountPoint = '';
beforeAll(async () => {
  mountPoint = await tempDir('tmpfs-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountPoint]);
});
afterAll(async () => {
  // Lazy, so a writer left open by a failed assertion cannot keep it mounted.
  execFileSync('umount', ['-l', mountPoint]);
  await cleanup();
});

function bigTxn(i: number): JournalTxn {
  return { conn: i, statements: [statement(`INSERT INTO f VALUES (${i}, '${'f'.repeat(6000)}')`), statement(`UPDATE f SET n = ${i}`)] };
}

describe('write failure', () => {
  it('rejects appends on a full disk without losing or tearing anything, and resumes once there is space', async () => {
    const dir = join(mountPoint, 'journal');
    const filler = join(mountPoint, 'filler');
    await mkdir(dir);
    await writeFile(filler, Buffer.alloc(150 * 1024));
    const w = await JournalWriter.open({ dir, fsync: 'always', segmentBytes: 40 * 1024, log: silent });

    const appended: JournalTxn[] = [];
    const outcomes: (AppendResult | JournalError)[] = [];
    for (let round = 0; round < 10 && !outcomes.some((o) => o instanceof JournalError); round++) {
      const txns = Array.from({ length: 8 }, (_, i) => bigTxn(round * 8 + i));
      appended.push(...txns);
      outcomes.push(...(await Promise.all(txns.map((t) => w.append(t).catch((e: JournalError) => e)))));
    }
    const firstFailure = outcomes.findIndex((o) => o instanceof JournalError);
    expect(firstFailure).toBeGreaterThan(0);
    const error = outcomes[firstFailure] as JournalError;
    expect(error.code).toBe('JOURNAL_WRITE_FAILED');
    expect(error.message).toContain(dir);
    expect(error.message).toContain('ENOSPC');
    expect(error.message).toContain('writes are refused until the journal is writable again');
    // Nothing after a failed write was acknowledged, so the journal holds exactly the acknowledged prefix.
    expect(outcomes.slice(firstFailure).every((o) => o instanceof JournalError)).toBe(true);
    const acknowledged = appended.slice(0, firstFailure);
    const lastAck = outcomes[firstFailure - 1] as AppendResult;
    expect(w.headSeq).toBe(lastAck.lastSeq);
    expect(await readAll(dir)).toEqual(expectedEntries(acknowledged));
    for (const segment of await segmentPaths(dir)) await recordOffsets(segment); // throws on any torn record
    expect((await new JournalReader(dir).verify()).errors).toEqual([]);

    // Take the last free byte: a retry fails the same way and changes nothing.
    const rest = join(mountPoint, 'rest');
    await expect(writeFile(rest, Buffer.alloc(256 * 1024))).rejects.toMatchObject({ code: 'ENOSPC' });
    await expect(w.append(bigTxn(1000))).rejects.toMatchObject({ code: 'JOURNAL_WRITE_FAILED' });
    expect(w.headSeq).toBe(lastAck.lastSeq);
    expect((await new JournalReader(dir).verify()).errors).toEqual([]);

    await rm(filler);
    await rm(rest);
    const more = Array.from({ length: 20 }, (_, i) => bigTxn(2000 + i));
    const results = await Promise.all(more.map((t) => w.append(t)));
    expect(results[0]).toEqual({ txn: lastAck.txn + 1, firstSeq: lastAck.lastSeq + 1, lastSeq: lastAck.lastSeq + 2 });
    await w.close();
    expect(await readAll(dir)).toEqual(expectedEntries([...acknowledged, ...more]));
    const summary = await new JournalReader(dir).verify();
    expect(summary.errors).toEqual([]);
    expect(summary.segments).toBeGreaterThan(1);
  });
});
