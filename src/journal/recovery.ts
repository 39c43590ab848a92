import { open, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { corruptSegment, JournalError } from './errors.js';
import { scanSegment, type SegmentScan } from './segment-scan.js';
import { createSegment, listSegments, SEGMENT_HEADER_BYTES, segmentName, syncDir, type SegmentHeader, type SegmentName } from './segment-file.js';

export interface ActiveSegment {
  path: string;
  /** Durable end of the segment: the writer's next write goes here. */
  size: number;
  nextSeq: number;
  nextTxn: number;
}

type Log = (msg: string, extra?: object) => void;

/**
 * Brings the journal to a state a writer can continue from. The last segment may end in an
 * unfinished write (a crash between write and fsync): that tail is cut back to the end of its
 * last complete batch, which ends on a complete transaction, and logged. Anything else that fails
 * a check in the last two segments is damage and fails with JOURNAL_CORRUPT.
 */
export async function recoverJournal(dir: string, sync: boolean, log: Log): Promise<ActiveSegment> {
  const segments = await listSegments(dir);
  while (segments.length > 0) {
    const last = segments[segments.length - 1];
    const previous = segments.length > 1 ? segments[segments.length - 2] : null;
    const scan = await scanSegment(last.path);
    if (scan.problem && !scan.problem.tail) throw corruptSegment(last.path, scan.problem.offset, scan.problem.reason);
    if (scan.header === null || (previous && (await isLeftover(previous, scan, scan.header)))) {
      if (!previous && last.firstSeq !== 1) throw corruptSegment(last.path, 0, 'the only segment has no valid header, so the seq and txn counters cannot be recovered');
      await removeUnused(last, scan.size, sync, log);
      segments.pop();
      continue;
    }
    if (scan.header.firstSeq !== last.firstSeq) throw corruptSegment(last.path, 0, `header says first seq ${scan.header.firstSeq}, the file name says ${last.firstSeq}`);
    if (scan.problem) await cutTail(scan, sync, log);
    return { path: last.path, size: scan.goodEnd, nextSeq: scan.nextSeq, nextTxn: scan.nextTxn };
  }
  const path = join(dir, segmentName(1));
  await (await createSegment(path, { firstSeq: 1, firstTxn: 1 }, sync)).close();
  return { path, size: SEGMENT_HEADER_BYTES, nextSeq: 1, nextTxn: 1 };
}

/**
 * Checks the segment before the last one, which must be complete and be continued exactly by
 * the last one. A last segment that holds no complete batch and does not continue it is left
 * over from a segment roll that failed or crashed: true, it can go.
 */
async function isLeftover(previous: SegmentName, last: SegmentScan, header: SegmentHeader): Promise<boolean> {
  const prev = await scanSegment(previous.path);
  if (prev.problem) throw corruptSegment(previous.path, prev.problem.offset, prev.problem.reason);
  if (prev.nextSeq === header.firstSeq && prev.nextTxn === header.firstTxn) return false;
  if (last.goodEnd <= SEGMENT_HEADER_BYTES) return true;
  throw new JournalError(
    'JOURNAL_CORRUPT',
    `journal segment ${last.path} does not continue ${previous.path}: expected seq ${prev.nextSeq}, txn ${prev.nextTxn}, found seq ${header.firstSeq}, txn ${header.firstTxn}; check the journal with verify`,
  );
}

async function removeUnused(segment: SegmentName, bytes: number, sync: boolean, log: Log): Promise<void> {
  log('journal recovery: removing a segment that holds no complete write (left by a crash or failure while it was being created)', { file: segment.path, bytes });
  await unlink(segment.path);
  if (sync) await syncDir(dirname(segment.path));
}

async function cutTail(scan: SegmentScan, sync: boolean, log: Log): Promise<void> {
  const fh = await open(scan.path, 'r+');
  try {
    await fh.truncate(scan.goodEnd);
    if (sync) await fh.datasync();
  } finally {
    await fh.close();
  }
  log('journal recovery: dropped an unfinished write at the tail; these bytes were never acknowledged to any client', {
    file: scan.path,
    offset: scan.goodEnd,
    droppedBytes: scan.size - scan.goodEnd,
    reason: scan.problem?.reason,
    lastSeq: scan.nextSeq - 1,
  });
}
