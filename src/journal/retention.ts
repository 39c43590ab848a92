import { open, unlink } from 'node:fs/promises';
import { listSegments, readSegmentHeader, syncDir } from './segment-file.js';

/**
 * Removes, oldest first, the segments whose every record has a seq below `seq`: those followed by
 * a segment that starts at or below `seq`. The last segment (the one a writer appends to) is never
 * removed, and a segment is kept unless the next one has a valid header confirming where it starts.
 * Returns the removed file names.
 */
export async function removeSegmentsBelow(dir: string, seq: number): Promise<string[]> {
  const segments = await listSegments(dir);
  const removed: string[] = [];
  for (let i = 0; i + 1 < segments.length; i++) {
    const next = segments[i + 1];
    if (next.firstSeq > seq || !(await startsAt(next.path, next.firstSeq))) break;
    await unlink(segments[i].path);
    removed.push(segments[i].name);
  }
  if (removed.length > 0) await syncDir(dir);
  return removed;
}

async function startsAt(path: string, firstSeq: number): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const header = await readSegmentHeader(fh);
    return typeof header !== 'string' && header.firstSeq === firstSeq;
  } finally {
    await fh.close();
  }
}
