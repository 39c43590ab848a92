import { listSegments } from '../journal/segment-file.js';
import { scanSegment } from '../journal/segment-scan.js';

/** The last complete seq in the journal now (0 when empty); reads only the newest segment. */
export async function journalHead(dir: string): Promise<number> {
  const segments = await listSegments(dir);
  const last = segments.at(-1);
  if (!last) return 0;
  const scan = await scanSegment(last.path);
  return scan.header ? scan.nextSeq - 1 : last.firstSeq - 1;
}
