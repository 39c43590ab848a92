import { open, type FileHandle } from 'node:fs/promises';
import type { StoredRecord } from './record.js';
import { decodeRecord, RECORD_HEADER_BYTES, RECORD_MAGIC } from './record-codec.js';
import { RecordOrder } from './record-order.js';
import { SegmentCursor, type CursorStep } from './segment-cursor.js';
import { readSegmentHeader, SEGMENT_HEADER_BYTES, type SegmentHeader } from './segment-file.js';

export interface SegmentProblem {
  offset: number;
  reason: string;
  /** True when it looks like an unfinished final write (a crash), false for damage to older data. */
  tail: boolean;
}

export interface SegmentScan {
  path: string;
  size: number;
  header: SegmentHeader | null;
  /** Records and complete transactions up to `goodEnd`. */
  records: number;
  transactions: number;
  /** End of the last complete batch: the offset a writer continues from. */
  goodEnd: number;
  /** Seq and txn counters at `goodEnd`. */
  nextSeq: number;
  nextTxn: number;
  problem: SegmentProblem | null;
}

/** Reads and checks a whole segment: header, every record's checksum and framing, and their order. */
export async function scanSegment(path: string): Promise<SegmentScan> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const header = await readSegmentHeader(fh);
    if (typeof header === 'string') {
      const problem = { offset: 0, reason: `bad segment header: ${header}`, tail: size <= SEGMENT_HEADER_BYTES };
      return { path, size, header: null, records: 0, transactions: 0, goodEnd: 0, nextSeq: 0, nextTxn: 0, problem };
    }
    return { path, size, header, ...(await scanRecords(fh, header)) };
  } finally {
    await fh.close();
  }
}

async function scanRecords(fh: FileHandle, header: SegmentHeader): Promise<Omit<SegmentScan, 'path' | 'size' | 'header'>> {
  const cursor = new SegmentCursor(fh, SEGMENT_HEADER_BYTES);
  const order = new RecordOrder(header.firstSeq, header.firstTxn);
  const good = { records: 0, transactions: 0, goodEnd: SEGMENT_HEADER_BYTES, nextSeq: header.firstSeq, nextTxn: header.firstTxn };
  let records = 0;
  let transactions = 0;
  for (;;) {
    const step = await cursor.next();
    if (step.kind !== 'record') return { ...good, problem: await describeStop(fh, step, good) };
    const outOfOrder = order.accept(step.record);
    if (outOfOrder) return { ...good, problem: { offset: step.offset, reason: outOfOrder, tail: false } };
    records++;
    if (step.record.entry.last) transactions++;
    if (step.record.batchEnd) Object.assign(good, { records, transactions, goodEnd: step.end, nextSeq: order.nextSeq, nextTxn: order.nextTxn });
  }
}

async function describeStop(fh: FileHandle, step: Exclude<CursorStep, { kind: 'record' }>, good: { goodEnd: number; nextSeq: number }): Promise<SegmentProblem | null> {
  switch (step.kind) {
    case 'end':
      if (step.offset === good.goodEnd) return null;
      return { offset: good.goodEnd, reason: 'the last write stops before its final record', tail: true };
    case 'incomplete':
      return { offset: step.offset, reason: step.reason, tail: true };
    case 'invalid':
      return { offset: step.offset, reason: step.reason, tail: !(await laterWriteAfter(fh, step.offset, good.nextSeq)) };
  }
}

const SEARCH_CHUNK = 1024 * 1024;

/**
 * True when a valid record of a write later than the batch that starts with seq `batchSeq` lies
 * after `from`. A crash can only damage the final write, so such a record proves that the bad
 * bytes at `from` are damage to acknowledged data rather than an unfinished final write.
 */
export async function laterWriteAfter(fh: FileHandle, from: number, batchSeq: number): Promise<boolean> {
  const size = (await fh.stat()).size;
  const chunk = Buffer.allocUnsafe(SEARCH_CHUNK);
  // Chunks overlap by one byte so a magic split across two of them is still seen.
  for (let pos = from + 1; pos < size - 1; pos += SEARCH_CHUNK - 1) {
    const { bytesRead } = await fh.read(chunk, 0, SEARCH_CHUNK, pos);
    const view = chunk.subarray(0, bytesRead);
    for (let i = view.indexOf(RECORD_MAGIC); i >= 0; i = view.indexOf(RECORD_MAGIC, i + 1)) {
      const record = await readRecordAt(fh, pos + i, size);
      if (record && record.batchSeq !== batchSeq) return true;
    }
  }
  return false;
}

async function readRecordAt(fh: FileHandle, offset: number, size: number): Promise<StoredRecord | null> {
  const header = Buffer.alloc(RECORD_HEADER_BYTES);
  await fh.read(header, 0, RECORD_HEADER_BYTES, offset);
  const first = decodeRecord(header);
  if (first.status !== 'incomplete' || offset + first.needed > size) return null;
  const whole = Buffer.alloc(first.needed);
  await fh.read(whole, 0, first.needed, offset);
  const result = decodeRecord(whole);
  return result.status === 'ok' ? result.record : null;
}
