import { appendFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { JournalReader } from '../../src/journal/journal-reader.js';
import { JournalWriter } from '../../src/journal/journal-writer.js';
import type { JournalEntry, JournalTxn } from '../../src/journal/record.js';
import { cleanup, expectedEntries, silent, tempDir, txn } from './helpers.js';

afterAll(cleanup);

/** Follows `dir` in the background; `stop()` aborts and returns everything received. */
function follow(dir: string, from?: number): { received: JournalEntry[]; stop: () => Promise<JournalEntry[]> } {
  const controller = new AbortController();
  const received: JournalEntry[] = [];
  const done = (async () => {
    for await (const e of new JournalReader(dir).entries({ from, follow: true, signal: controller.signal })) received.push(e);
  })();
  return {
    received,
    stop: async () => {
      controller.abort();
      await done;
      return received;
    },
  };
}

async function waitFor(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the follower');
    await sleep(10);
  }
}

function someTxns(n: number, offset = 0): JournalTxn[] {
  return Array.from({ length: n }, (_, i) => (i % 4 === 0 ? txn(i, `INSERT INTO f VALUES (${offset + i})`, `UPDATE f SET n = ${i}`, `DELETE FROM f WHERE n < 0`) : txn(i, `INSERT INTO f VALUES (${offset + i})`)));
}

describe('follow', () => {
  it('receives what is appended later, across segment rolls, starting before the journal exists', async () => {
    const dir = join(await tempDir(), 'journal');
    const follower = follow(dir);
    await sleep(50);
    const w = await JournalWriter.open({ dir, fsync: 'always', segmentBytes: 1024, log: silent });
    const txns = someTxns(120);
    for (let i = 0; i < txns.length; i += 10) {
      await Promise.all(txns.slice(i, i + 10).map((t) => w.append(t)));
      await sleep(5);
    }
    const expected = expectedEntries(txns);
    await waitFor(() => follower.received.length >= expected.length);
    await sleep(100);
    expect(await follower.stop()).toEqual(expected);
    expect((await readdir(dir)).filter((n) => n.endsWith('.seg')).length).toBeGreaterThan(5);
    await w.close();
  });

  it('starts at `from` and only ever hands out whole transactions', async () => {
    const dir = await tempDir();
    const w = await JournalWriter.open({ dir, fsync: 'always', segmentBytes: 2048, log: silent });
    const first = someTxns(30);
    for (const t of first) await w.append(t);
    const from = 20;
    const follower = follow(dir, from);
    const second = someTxns(30, 1000);
    const checks: boolean[] = [];
    for (const t of second) {
      await w.append(t);
      const last = follower.received.at(-1);
      checks.push(last === undefined || last.last);
    }
    const expected = expectedEntries([...first, ...second]).filter((e) => e.seq >= from);
    await waitFor(() => follower.received.length >= expected.length);
    expect(await follower.stop()).toEqual(expected);
    expect(checks.every(Boolean)).toBe(true);
    await w.close();
  });

  it('waits at a crashed writer\'s garbage tail and continues once a new writer cuts it off and appends', async () => {
    const dir = await tempDir();
    const first = someTxns(10);
    const w1 = await JournalWriter.open({ dir, fsync: 'always', log: silent });
    for (const t of first) await w1.append(t);
    await w1.close();
    const [segment] = (await readdir(dir)).filter((n) => n.endsWith('.seg'));
    await appendFile(join(dir, segment), Buffer.from('MJ and then some torn garbage from a crash'));

    const follower = follow(dir);
    await waitFor(() => follower.received.length === expectedEntries(first).length);
    const w2 = await JournalWriter.open({ dir, fsync: 'always', log: silent });
    const second = someTxns(10, 100);
    for (const t of second) await w2.append(t);
    const expected = expectedEntries([...first, ...second]);
    await waitFor(() => follower.received.length >= expected.length);
    expect(await follower.stop()).toEqual(expected);
    await w2.close();
  });

  it('ends promptly when aborted while waiting', async () => {
    const dir = await tempDir();
    const w = await JournalWriter.open({ dir, fsync: 'none', log: silent });
    await w.append(txn(1, 'INSERT INTO f VALUES (1)'));
    const follower = follow(dir);
    await waitFor(() => follower.received.length === 1);
    const started = Date.now();
    await follower.stop();
    expect(Date.now() - started).toBeLessThan(500);
    await w.close();
  });
});
