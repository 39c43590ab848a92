import { spawn, execFileSync } from 'node:child_process';
import { readFile, truncate } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JournalReader } from '../../src/journal/journal-reader.js';
import { JournalWriter } from '../../src/journal/journal-writer.js';
import { decodeRecord } from '../../src/journal/record-codec.js';
import { SEGMENT_HEADER_BYTES } from '../../src/journal/segment-file.js';
import { cleanup, readAll, segmentPaths, silent, tempDir } from './helpers.js';

const root = resolve(import.meta.dirname, '../..');
let compiled = '';

beforeAll(async () => {
  // The child runs plain Node, so it gets the writer compiled to JavaScript.
  const out = await tempDir('compiled-');
  execFileSync(join(root, 'node_modules/.bin/tsc'), [
    '--ignoreConfig', '--outDir', out, '--rootDir', join(root, 'src'), '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
    '--target', 'ES2022', '--types', 'node', '--skipLibCheck', join(root, 'src/journal/journal-writer.ts'),
  ], { cwd: root, stdio: 'inherit' });
  compiled = join(out, 'journal');
});
afterAll(cleanup);

interface Ack {
  firstSeq: number;
  lastSeq: number;
  tag: string;
}

/** Runs the append loop, SIGKILLs it `ms` after its first acknowledgement, returns what it acknowledged. */
async function runAndKill(dir: string, run: number, ms: number): Promise<Ack[]> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/append-loop.mjs'), compiled, dir, String(run)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const seen: Ack[] = [];
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const [firstSeq, lastSeq, tag] = line.split(' ');
      seen.push({ firstSeq: Number(firstSeq), lastSeq: Number(lastSeq), tag });
      if (seen.length === 1) setTimeout(() => child.kill('SIGKILL'), ms);
    }
  });
  const exit = await new Promise<NodeJS.Signals | number | null>((done) => child.on('close', (code, signal) => done(signal ?? code)));
  expect(exit).toBe('SIGKILL');
  return seen;
}

/**
 * SIGKILL leaves whole writes in the page cache; a power loss may also lose what was not yet
 * fsync'd. Cut the last segment somewhere after the write holding the last acknowledged record
 * (deterministically varied by run), which may be mid-record, to act that out too.
 */
async function loseUnsyncedTail(dir: string, maxAck: number, run: number): Promise<void> {
  const last = (await segmentPaths(dir)).at(-1) as string;
  const bytes = await readFile(last);
  // An acknowledged record's whole write was fsync'd: the loss can only start after its batch end.
  let ackEnd = SEGMENT_HEADER_BYTES;
  for (let at = SEGMENT_HEADER_BYTES, r = decodeRecord(bytes, at); r.status === 'ok'; r = decodeRecord(bytes, at)) {
    at += r.size;
    if (r.record.batchSeq <= maxAck && r.record.batchEnd) ackEnd = at;
  }
  const spare = bytes.length - ackEnd;
  if (spare > 0) await truncate(last, ackEnd + Math.floor((spare * (run % 7)) / 7));
}

describe('crash realism', () => {
  it('keeps every acknowledged transaction through repeated kill -9 mid-stream', async () => {
    const dir = await tempDir();
    const acknowledged: Ack[] = [];
    for (let run = 0; run < 8; run++) {
      acknowledged.push(...(await runAndKill(dir, run, 50 + run * 37)));
      await loseUnsyncedTail(dir, Math.max(...acknowledged.map((a) => a.lastSeq)), run);
      const w = await JournalWriter.open({ dir, fsync: 'always', segmentBytes: 256 * 1024, log: silent });
      const head = w.headSeq;
      await w.close();
      const entries = await readAll(dir);
      expect(entries.length).toBe(head);
      expect(entries.every((e, i) => e.seq === i + 1)).toBe(true);
      const lost = acknowledged.filter((ack) => {
        const txnEntries = entries.slice(ack.firstSeq - 1, ack.lastSeq);
        const intact = txnEntries.length === ack.lastSeq - ack.firstSeq + 1 && txnEntries.every((e) => e.sql.toString().includes(`'${ack.tag}'`));
        return !intact || txnEntries.at(-1)?.last !== true;
      });
      expect(lost).toEqual([]);
      const summary = await new JournalReader(dir).verify();
      expect(summary.errors).toEqual([]);
      expect(summary.lastSeq).toBe(head);
    }
  });
});
