import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { dumpJournal, formatEntry, verifyJournal } from '../../src/journal/dump.js';
import { JournalWriter } from '../../src/journal/journal-writer.js';
import type { JournalEntry } from '../../src/journal/record.js';
import { toExecutableText } from '../../src/sql/executable-text.js';
import { cleanup, expectedEntries, recordOffsets, segmentPaths, silent, statement, tempDir, txn } from './helpers.js';

afterAll(cleanup);

function entry(sql: Buffer, session: Record<string, string> = {}): JournalEntry {
  return { ...statement(sql, { session, ts: 1_732_000_000_123_456, insertId: '18446744073709551615', flags: ['now()'] }), seq: 5, txn: 3, conn: 9, last: true };
}

/** A writable that takes `delayMs` per chunk and keeps what it got. */
function slowSink(delayMs: number): { out: Writable; text: () => string; finished: () => Promise<void>; maxBuffered: () => number } {
  const chunks: string[] = [];
  let maxBuffered = 0;
  const out = new Writable({
    highWaterMark: 64,
    write(chunk: Buffer, _enc, done) {
      maxBuffered = Math.max(maxBuffered, out.writableLength);
      chunks.push(chunk.toString());
      setTimeout(done, delayMs);
    },
  });
  const finished = async () => {
    out.end();
    await once(out, 'finish');
  };
  return { out, text: () => chunks.join(''), finished, maxBuffered: () => maxBuffered };
}

describe('dump', () => {
  it('formats UTF-8 SQL as text, with every field', () => {
    const e = entry(Buffer.from("INSERT INTO t VALUES ('héllo ✓')"));
    expect(formatEntry(e)).toEqual({
      seq: 5, txn: 3, conn: 9, db: 'app', sql: "INSERT INTO t VALUES ('héllo ✓')", affectedRows: 1,
      insertId: '18446744073709551615', ts: 1_732_000_000_123_456, kind: 'insert', session: {}, flags: ['now()'], last: true,
    });
  });

  it('formats non-UTF-8 SQL as executable text plus the exact bytes', () => {
    const sql = Buffer.concat([Buffer.from("INSERT INTO t VALUES ('"), Buffer.from([0xff, 0x00, 0xc3]), Buffer.from("')")]);
    const out = formatEntry(entry(sql));
    expect(out.sql).toBe(toExecutableText(sql));
    expect(out.sql).not.toContain('\ufffd');
    expect(Buffer.from(out.sqlBase64 as string, 'base64').equals(sql)).toBe(true);
    expect(out.sqlInexact).toBeUndefined();
  });

  it('keeps the exact bytes and says so when no exact text exists', () => {
    const sql = Buffer.concat([Buffer.from('INSERT INTO t'), Buffer.from([0xff]), Buffer.from(" VALUES ('x')")]);
    const out = formatEntry(entry(sql));
    expect(out.sqlInexact).toMatch(/.+/);
    expect(Buffer.from(out.sqlBase64 as string, 'base64').equals(sql)).toBe(true);
  });

  it('writes one JSON line per entry to a slow stream, waiting for it to drain', async () => {
    const dir = await tempDir();
    const w = await JournalWriter.open({ dir, fsync: 'none', log: silent });
    const txns = Array.from({ length: 200 }, (_, i) => txn(i, `INSERT INTO d VALUES (${i})`, `UPDATE d SET n = ${i}`));
    await Promise.all(txns.map((t) => w.append(t)));
    await w.close();
    const sink = slowSink(0);
    expect(await dumpJournal({ dir, from: 11, out: sink.out })).toBe(390);
    await sink.finished();
    expect(sink.maxBuffered()).toBeLessThan(1000);
    const lines = sink.text().trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual(expectedEntries(txns).slice(10).map((e) => JSON.parse(JSON.stringify(formatEntry(e)))));
  });

  it('follows until aborted', async () => {
    const dir = await tempDir();
    const w = await JournalWriter.open({ dir, fsync: 'none', log: silent });
    const controller = new AbortController();
    const sink = slowSink(1);
    const dumping = dumpJournal({ dir, follow: true, out: sink.out, signal: controller.signal });
    for (let i = 0; i < 5; i++) await w.append(txn(i, `INSERT INTO d VALUES (${i})`));
    while (sink.text().split('\n').length < 6) await sleep(10);
    controller.abort();
    expect(await dumping).toBe(5);
    await w.close();
  });

  it('verifyJournal prints a summary, and each error when damaged', async () => {
    const dir = await tempDir();
    const w = await JournalWriter.open({ dir, fsync: 'always', log: silent });
    for (let i = 0; i < 3; i++) await w.append(txn(i, `INSERT INTO v VALUES (${i})`));
    await w.close();
    const good = slowSink(0);
    expect(await verifyJournal(dir, good.out)).toBe(true);
    await good.finished();
    expect(good.text()).toMatch(/^journal .+: 1 segment\(s\), 3 record\(s\), 3 transaction\(s\), seq 1\.\.3, \d+ bytes\nok: /);

    const [segment] = await segmentPaths(dir);
    const offsets = await recordOffsets(segment);
    const bytes = await readFile(segment);
    bytes[offsets[1] + 20] ^= 1;
    await writeFile(segment, bytes);
    const bad = slowSink(0);
    expect(await verifyJournal(dir, bad.out)).toBe(false);
    await bad.finished();
    expect(bad.text()).toContain(`  error: 00000000000000000001.seg: at offset ${offsets[1]}: record body checksum mismatch`);
    expect(bad.text()).toContain('FAILED: 1 error(s)');
  });
});
