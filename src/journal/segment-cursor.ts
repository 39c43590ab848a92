import type { FileHandle } from 'node:fs/promises';
import type { StoredRecord } from './record.js';
import { decodeRecord, RECORD_HEADER_BYTES } from './record-codec.js';

export type CursorStep =
  | { kind: 'record'; record: StoredRecord; offset: number; end: number }
  /** No bytes after `offset` (yet). */
  | { kind: 'end'; offset: number }
  /** The file stops inside the record at `offset`: a write in progress or cut short. */
  | { kind: 'incomplete'; offset: number; reason: string }
  | { kind: 'invalid'; offset: number; reason: string };

const READ_CHUNK = 1024 * 1024;

/**
 * Reads the records of one segment in order. Buffers are bounded by the file size, so a bogus
 * length in a damaged header never causes a huge allocation. The file may grow between calls
 * (a follower); `seek` drops cached bytes, for when it may also have been truncated.
 */
export class SegmentCursor {
  private window: Buffer = Buffer.alloc(0);
  private windowStart: number;
  private fileSize = 0;

  constructor(private readonly fh: FileHandle, private position: number) {
    this.windowStart = position;
  }

  get offset(): number {
    return this.position;
  }

  seek(offset: number): void {
    this.position = offset;
    this.window = Buffer.alloc(0);
    this.windowStart = offset;
  }

  async next(): Promise<CursorStep> {
    const offset = this.position;
    let needed = RECORD_HEADER_BYTES;
    for (;;) {
      const available = await this.load(needed);
      if (available < needed) {
        if (available === 0) return { kind: 'end', offset };
        return { kind: 'incomplete', offset, reason: `${available} bytes of a ${needed}-byte record at the end of the file` };
      }
      const result = decodeRecord(this.window, offset - this.windowStart);
      if (result.status === 'invalid') return { kind: 'invalid', offset, reason: result.reason };
      if (result.status === 'incomplete') {
        needed = result.needed;
        continue;
      }
      this.position = offset + result.size;
      return { kind: 'record', record: result.record, offset, end: this.position };
    }
  }

  /** Makes `needed` bytes from the position available in the window when the file has them; returns how many are. */
  private async load(needed: number): Promise<number> {
    const have = this.windowStart + this.window.length - this.position;
    if (have >= needed) return have;
    if (this.position + needed > this.fileSize) this.fileSize = (await this.fh.stat()).size;
    const inFile = this.fileSize - this.position;
    if (inFile <= have) return have;
    const fresh = Buffer.allocUnsafe(Math.min(inFile, Math.max(needed, READ_CHUNK)));
    this.window.copy(fresh, 0, this.position - this.windowStart);
    const filled = have + (await readFully(this.fh, fresh, have, this.position + have));
    this.window = fresh.subarray(0, filled);
    this.windowStart = this.position;
    return filled;
  }
}

async function readFully(fh: FileHandle, buf: Buffer, from: number, position: number): Promise<number> {
  let done = 0;
  while (from + done < buf.length) {
    const { bytesRead } = await fh.read(buf, from + done, buf.length - from - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}
