import { open, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { corruptSegment, JournalError } from './errors.js';
import type { JournalEntry } from './record.js';
import { RecordOrder } from './record-order.js';
import { SegmentCursor } from './segment-cursor.js';
import { listSegments, readSegmentHeader, SEGMENT_HEADER_BYTES, type SegmentHeader, type SegmentName } from './segment-file.js';
import { laterWriteAfter, scanSegment } from './segment-scan.js';

export interface EntriesOptions {
  /** First seq wanted. Default: the oldest seq still in the journal (1 unless retention removed it). */
  from?: number;
  /** Keep waiting for new entries until `signal` aborts. */
  follow?: boolean;
  signal?: AbortSignal;
}

export interface JournalSummary {
  segments: number;
  records: number;
  transactions: number;
  firstSeq: number;
  lastSeq: number;
  bytes: number;
  errors: string[];
}

interface Counters {
  nextSeq: number;
  nextTxn: number;
}

const POLL_MS = 20;
/** A batch boundary is remembered about every this many records, per segment. */
const INDEX_EVERY = 1000;

interface IndexPoint {
  offset: number;
  order: RecordOrder;
}

/**
 * Batch boundaries seen by any reader of this process, per segment file: a reader asked for a
 * late seq starts at the nearest one instead of decoding the segment from its start (segments
 * are append-only; a point is only trusted if the record there is the one it expects).
 */
const seen = new Map<string, IndexPoint[]>();

function remember(path: string, point: IndexPoint): void {
  const points = seen.get(path) ?? [];
  const last = points.at(-1);
  if (last && point.order.nextSeq - last.order.nextSeq < INDEX_EVERY) return;
  points.push({ offset: point.offset, order: point.order.clone() });
  seen.set(path, points);
}

function nearestBefore(path: string, from: number): IndexPoint | null {
  const points = seen.get(path);
  if (!points) return null;
  let best: IndexPoint | null = null;
  for (const p of points) if (p.order.nextSeq <= from) best = p;
  return best;
}

/**
 * Reads a journal directory, also while a writer appends to it. Entries come in seq order and
 * only in whole write batches, so a reader never sees a transaction's first half, nor a write
 * that the writer may still cut back because it failed.
 */
export class JournalReader {
  constructor(private readonly dir: string) {}

  async *entries(opts: EntriesOptions = {}): AsyncGenerator<JournalEntry> {
    const follow = opts.follow ?? false;
    let segment = await this.startSegment(opts.from, follow, opts.signal);
    const from = Math.max(opts.from ?? 1, 1);
    let expected: Counters | null = null;
    while (segment) {
      expected = yield* this.readSegment(segment, from, expected, follow, opts.signal);
      if (!expected) return;
      segment = await this.segmentAfter(segment.firstSeq);
    }
  }

  /** Checks every segment: header, record checksums and framing, seq and txn continuity. */
  async verify(): Promise<JournalSummary> {
    const summary: JournalSummary = { segments: 0, records: 0, transactions: 0, firstSeq: 0, lastSeq: 0, bytes: 0, errors: [] };
    const segments = await this.list();
    let expected: Counters | null = null;
    for (const [i, segment] of segments.entries()) {
      const scan = await scanSegment(segment.path);
      summary.segments++;
      summary.bytes += scan.size;
      const say = (text: string) => summary.errors.push(`${segment.name}: ${text}`);
      if (scan.header) {
        const h = scan.header;
        if (h.firstSeq !== segment.firstSeq) say(`header says first seq ${h.firstSeq}, the file name says ${segment.firstSeq}`);
        if (expected && (expected.nextSeq !== h.firstSeq || expected.nextTxn !== h.firstTxn)) {
          say(`starts at seq ${h.firstSeq}, txn ${h.firstTxn}; the previous segment ends before seq ${expected.nextSeq}, txn ${expected.nextTxn}`);
        }
        summary.records += scan.records;
        summary.transactions += scan.transactions;
        if (scan.records > 0) {
          summary.firstSeq ||= h.firstSeq;
          summary.lastSeq = scan.nextSeq - 1;
        }
      }
      if (scan.problem) {
        const tail = scan.problem.tail && i === segments.length - 1 ? ' (an unfinished final write; the writer cuts it off when it next opens the journal)' : '';
        say(`at offset ${scan.problem.offset}: ${scan.problem.reason}${tail}`);
      }
      expected = scan.header && !scan.problem ? { nextSeq: scan.nextSeq, nextTxn: scan.nextTxn } : null;
    }
    return summary;
  }

  private async list(): Promise<SegmentName[]> {
    try {
      return await listSegments(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new JournalError('JOURNAL_NOT_FOUND', `no journal directory at ${this.dir}`);
      throw err;
    }
  }

  /** The segment holding `from`, waiting for the journal to appear when following. */
  private async startSegment(from: number | undefined, follow: boolean, signal?: AbortSignal): Promise<SegmentName | null> {
    for (;;) {
      const segments = await this.list().catch((err: JournalError) => {
        if (follow && err.code === 'JOURNAL_NOT_FOUND') return [];
        throw err;
      });
      if (segments.length > 0) {
        if (from === undefined) return segments[0];
        const holder = segments.filter((s) => s.firstSeq <= Math.max(from, 1)).pop();
        if (holder) return holder;
        throw new JournalError('JOURNAL_SEQ_GONE', `journal ${this.dir} no longer holds seq ${from}: retention removed it; the oldest seq kept is ${segments[0].firstSeq}`);
      }
      if (!follow || !(await pause(signal))) return null;
    }
  }

  private async segmentAfter(firstSeq: number): Promise<SegmentName | null> {
    return (await this.list()).find((s) => s.firstSeq > firstSeq) ?? null;
  }

  /**
   * Yields the segment's entries from `from` on. Returns the counters at its end once a later
   * segment exists (so this one is final), or null at the end of the journal when not following
   * or on abort.
   */
  private async *readSegment(segment: SegmentName, from: number, expected: Counters | null, follow: boolean, signal?: AbortSignal): AsyncGenerator<JournalEntry, Counters | null> {
    const fh = await this.openSegment(segment);
    try {
      const header = await this.waitForHeader(fh, segment, follow, signal);
      if (!header) return null;
      if (expected && (header.firstSeq !== expected.nextSeq || header.firstTxn !== expected.nextTxn)) {
        throw corruptSegment(segment.path, 0, `starts at seq ${header.firstSeq}, txn ${header.firstTxn}; the previous segment ends before seq ${expected.nextSeq}, txn ${expected.nextTxn}`);
      }
      let committed = await this.startPoint(fh, segment, from, { offset: SEGMENT_HEADER_BYTES, order: new RecordOrder(header.firstSeq, header.firstTxn) });
      const cursor = new SegmentCursor(fh, committed.offset);
      let order = committed.order.clone();
      let pending: JournalEntry[] = [];
      let final = false;
      for (;;) {
        if (signal?.aborted) return null;
        const step = await cursor.next();
        if (step.kind === 'record') {
          const problem = order.accept(step.record);
          if (problem) throw corruptSegment(segment.path, step.offset, problem);
          pending.push(step.record.entry);
          if (!step.record.batchEnd) continue;
          for (const e of pending) if (e.seq >= from) yield e;
          pending = [];
          committed = { offset: step.end, order: order.clone() };
          remember(segment.path, committed);
          continue;
        }
        if (step.kind === 'invalid' && (final || (await laterWriteAfter(fh, step.offset, committed.order.nextSeq)))) {
          throw corruptSegment(segment.path, step.offset, step.reason);
        }
        if (final) {
          if (step.kind === 'end' && pending.length === 0) return { nextSeq: order.nextSeq, nextTxn: order.nextTxn };
          throw corruptSegment(segment.path, step.offset, 'the segment ends in an unfinished write although a later segment exists');
        }
        // Once a later segment exists nothing more is written here: read the rest once more, then move on.
        final = (await this.segmentAfter(segment.firstSeq)) !== null;
        if (!final) {
          if (!follow || !(await pause(signal))) return null;
          const size = (await fh.stat()).size;
          if (size < committed.offset) {
            throw new JournalError('JOURNAL_TRUNCATED', `journal segment ${segment.path} shrank to ${size} bytes below the ${committed.offset} already read: the writer dropped a write whose fsync failed after this reader saw it; restart reading from seq ${committed.order.nextSeq} or earlier`);
          }
        }
        cursor.seek(committed.offset);
        order = committed.order.clone();
        pending = [];
      }
    } finally {
      await fh.close();
    }
  }

  /** Where to start decoding for `from`: a remembered boundary when the record there is the expected one. */
  private async startPoint(fh: FileHandle, segment: SegmentName, from: number, start: IndexPoint): Promise<IndexPoint> {
    const point = nearestBefore(segment.path, from);
    if (!point || point.offset <= start.offset) return start;
    const step = await new SegmentCursor(fh, point.offset).next();
    const fits = step.kind === 'record' && step.record.entry.seq === point.order.nextSeq && step.record.batchSeq === point.order.nextSeq;
    return fits ? { offset: point.offset, order: point.order.clone() } : start;
  }

  private async openSegment(segment: SegmentName): Promise<FileHandle> {
    try {
      return await open(segment.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new JournalError('JOURNAL_SEQ_GONE', `journal segment ${segment.path} was removed (retention) before it was read`);
      throw err;
    }
  }

  /** The header; while a segment is being created (short or torn header) waits when following, else null. */
  private async waitForHeader(fh: FileHandle, segment: SegmentName, follow: boolean, signal?: AbortSignal): Promise<SegmentHeader | null> {
    for (;;) {
      const header = await readSegmentHeader(fh);
      if (typeof header !== 'string') return header;
      if ((await fh.stat()).size > SEGMENT_HEADER_BYTES) throw corruptSegment(segment.path, 0, `bad segment header: ${header}`);
      if ((await this.segmentAfter(segment.firstSeq)) !== null) throw corruptSegment(segment.path, 0, `bad segment header (${header}) although a later segment exists`);
      if (!follow || !(await pause(signal))) return null;
    }
  }
}

/** Waits one poll interval; false when aborted. */
async function pause(signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return false;
  try {
    await sleep(POLL_MS, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
