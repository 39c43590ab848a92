import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalReader } from '../../src/journal/journal-reader.js';
import type { JournalEntry, JournalStatement, JournalTxn } from '../../src/journal/record.js';
import { decodeRecord } from '../../src/journal/record-codec.js';
import { SEGMENT_HEADER_BYTES } from '../../src/journal/segment-file.js';

/** A fresh directory under the OS temp dir; `cleanup` removes every one made. */
const made: string[] = [];
export async function tempDir(prefix = 'journal-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `metamorph-${prefix}`));
  made.push(dir);
  return dir;
}
export async function cleanup(): Promise<void> {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

export function statement(sql: string | Buffer, extra: Partial<JournalStatement> = {}): JournalStatement {
  return {
    sql: typeof sql === 'string' ? Buffer.from(sql) : sql,
    db: 'app',
    session: { sql_mode: "@@SESSION.sql_mode = ''", names: 'NAMES utf8mb4' },
    ts: 1_732_000_000_000_000,
    affectedRows: 1,
    insertId: '0',
    flags: [],
    kind: 'insert',
    ...extra,
  };
}

export function txn(conn: number, ...sqls: string[]): JournalTxn {
  return { conn, statements: sqls.map((s) => statement(s)) };
}

export async function readAll(dir: string, from?: number): Promise<JournalEntry[]> {
  const out: JournalEntry[] = [];
  for await (const e of new JournalReader(dir).entries({ from })) out.push(e);
  return out;
}

/** The entries a list of appended transactions should read back as, seqs and txns from 1. */
export function expectedEntries(txns: JournalTxn[], firstSeq = 1, firstTxn = 1): JournalEntry[] {
  const out: JournalEntry[] = [];
  let seq = firstSeq;
  txns.forEach((t, i) =>
    t.statements.forEach((s, j) => out.push({ ...s, seq: seq++, txn: firstTxn + i, conn: t.conn, last: j === t.statements.length - 1 })),
  );
  return out;
}

export const silent = (): void => undefined;

/** Start offsets of the records in a segment file, plus its end. */
export async function recordOffsets(path: string): Promise<number[]> {
  const buf = await readFile(path);
  const offsets: number[] = [];
  let at = SEGMENT_HEADER_BYTES;
  while (at < buf.length) {
    const r = decodeRecord(buf, at);
    if (r.status !== 'ok') throw new Error(`record at ${at} of ${path}: ${r.status}`);
    offsets.push(at);
    at += r.size;
  }
  return [...offsets, at];
}

export async function segmentPaths(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort().map((n) => join(dir, n));
}

/** Collects what a writer logs. */
export function logCollector(): { log: (msg: string, extra?: object) => void; lines: { msg: string; extra?: object }[] } {
  const lines: { msg: string; extra?: object }[] = [];
  return { lines, log: (msg, extra) => lines.push({ msg, extra }) };
}
