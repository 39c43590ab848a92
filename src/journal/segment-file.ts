/**
 * Segment files: `<dir>/<first seq, 20 digits>.seg`, append-only, starting with a 32-byte header
 * that is written and fsync'd before any record, so even an empty segment tells where the seq and
 * txn counters stand:
 *
 *   0   4  magic "MJSG"
 *   4   2  format version (1)
 *   6   2  reserved (0)
 *   8   8  first seq of the segment   u64 LE
 *   16  8  first txn of the segment   u64 LE
 *   24  4  CRC32 of bytes 0..23
 *   28  4  reserved (0)
 */
import { open, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { readU64, writeU64 } from './u64.js';

export const SEGMENT_HEADER_BYTES = 32;
const SEGMENT_MAGIC = 'MJSG';
const FORMAT_VERSION = 1;
const NAME_PATTERN = /^(\d{20})\.seg$/;

export interface SegmentHeader {
  firstSeq: number;
  firstTxn: number;
}

export interface SegmentName {
  name: string;
  path: string;
  firstSeq: number;
}

export function segmentName(firstSeq: number): string {
  return `${String(firstSeq).padStart(20, '0')}.seg`;
}

/** The segments in `dir`, oldest first. */
export async function listSegments(dir: string): Promise<SegmentName[]> {
  const names = await readdir(dir);
  const segments: SegmentName[] = [];
  for (const name of names) {
    const m = NAME_PATTERN.exec(name);
    if (m) segments.push({ name, path: join(dir, name), firstSeq: Number(m[1]) });
  }
  return segments.sort((a, b) => a.firstSeq - b.firstSeq);
}

function encodeSegmentHeader(h: SegmentHeader): Buffer {
  const buf = Buffer.alloc(SEGMENT_HEADER_BYTES);
  buf.write(SEGMENT_MAGIC, 0, 'latin1');
  buf.writeUInt16LE(FORMAT_VERSION, 4);
  writeU64(buf, 8, h.firstSeq);
  writeU64(buf, 16, h.firstTxn);
  buf.writeUInt32LE(crc32(buf.subarray(0, 24)), 24);
  return buf;
}

/** The header, or why the first bytes are not one ('incomplete' when the file is too short). */
function decodeSegmentHeader(buf: Buffer): SegmentHeader | 'incomplete' | string {
  if (buf.length < SEGMENT_HEADER_BYTES) return 'incomplete';
  if (buf.toString('latin1', 0, 4) !== SEGMENT_MAGIC) return 'no segment magic';
  if (crc32(buf.subarray(0, 24)) !== buf.readUInt32LE(24)) return 'segment header checksum mismatch';
  const version = buf.readUInt16LE(4);
  if (version !== FORMAT_VERSION) return `segment format version ${version}, this build reads ${FORMAT_VERSION}`;
  const firstSeq = readU64(buf, 8);
  const firstTxn = readU64(buf, 16);
  if (firstSeq < 1 || firstTxn < 1) return 'segment header counters out of range';
  return { firstSeq, firstTxn };
}

export async function readSegmentHeader(fh: FileHandle): Promise<SegmentHeader | 'incomplete' | string> {
  const buf = Buffer.alloc(SEGMENT_HEADER_BYTES);
  const { bytesRead } = await fh.read(buf, 0, SEGMENT_HEADER_BYTES, 0);
  return decodeSegmentHeader(buf.subarray(0, bytesRead));
}

/** fsync of a directory, so that a created or removed file name survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Creates a segment holding just its header, durable before it is used: header fsync'd, then
 * the directory, so the new name survives a crash. With `sync` false both fsyncs are skipped.
 */
export async function createSegment(path: string, header: SegmentHeader, sync: boolean): Promise<FileHandle> {
  const fh = await open(path, 'w', 0o600);
  try {
    await fh.write(encodeSegmentHeader(header), 0, SEGMENT_HEADER_BYTES, 0);
    if (sync) {
      await fh.datasync();
      await syncDir(dirname(path));
    }
    return fh;
  } catch (err) {
    // Best effort: the write error is the one to report, and recovery removes a leftover holding no record.
    await fh.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw err;
  }
}
