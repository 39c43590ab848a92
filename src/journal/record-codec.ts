/**
 * One journal record on disk (all integers little-endian):
 *
 *   offset  size  field
 *   0       2     magic "MJ" (0x4D 0x4A)
 *   2       4     body length L (u32, at most MAX_BODY_BYTES)
 *   6       4     CRC32 of the body
 *   10      4     CRC32 of bytes 0..9, so a damaged length is told apart from a short write
 *   14      L     body
 *
 * Body:
 *   0       8     seq           u64
 *   8       8     txn           u64
 *   16      8     batchSeq      u64  seq of the first record of the write (batch) this record came in
 *   24      8     ts            u64  microseconds since the epoch
 *   32      8     affectedRows  u64
 *   40      4     conn          u32
 *   44      1     bits          bit0 last record of its txn, bit1 last record of its batch, bit2 db is NULL
 *   45      ...   six fields, each a u32 byte length then the bytes, in this order:
 *                 db (UTF-8, empty when NULL), insertId (ASCII digits), kind (UTF-8),
 *                 session (JSON object of strings), flags (JSON array of strings), sql (raw bytes)
 *
 * u64 values are limited to 2^53-1 (JavaScript safe integers); a larger one decodes as invalid.
 * The sql bytes are stored untouched, so any byte sequence round-trips.
 */
import { crc32 } from 'node:zlib';
import { isStringMap, type JournalEntry, type StoredRecord } from './record.js';
import { readU64, writeU64 } from './u64.js';

export const RECORD_HEADER_BYTES = 14;
export const MAX_BODY_BYTES = 1024 * 1024 * 1024;

const MAGIC0 = 0x4d;
const MAGIC1 = 0x4a;
export const RECORD_MAGIC = Buffer.from([MAGIC0, MAGIC1]);
const FIXED_BODY_BYTES = 45;
const FIELD_COUNT = 6;
const BIT_LAST = 1;
const BIT_BATCH_END = 2;
const BIT_DB_NULL = 4;

export type DecodeResult =
  | { status: 'ok'; record: StoredRecord; size: number }
  /** `needed` = bytes from the record's start required before it can be decoded. */
  | { status: 'incomplete'; needed: number }
  | { status: 'invalid'; reason: string };

interface Prepared {
  record: StoredRecord;
  db: string;
  session: string;
  flags: string;
  bodyBytes: number;
}

/** Encodes records back to back into one buffer (one allocation, each sql copied once). */
export function encodeRecords(records: StoredRecord[]): Buffer {
  const prepared = records.map(prepare);
  let total = 0;
  for (const p of prepared) total += RECORD_HEADER_BYTES + p.bodyBytes;
  const buf = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const p of prepared) offset = writeRecord(buf, offset, p);
  return buf;
}

function prepare(record: StoredRecord): Prepared {
  const e = record.entry;
  const db = e.db ?? '';
  const session = sessionJson(e.session);
  const flags = JSON.stringify(e.flags);
  const bodyBytes =
    FIXED_BODY_BYTES +
    FIELD_COUNT * 4 +
    Buffer.byteLength(db) +
    e.insertId.length +
    Buffer.byteLength(e.kind) +
    Buffer.byteLength(session) +
    Buffer.byteLength(flags) +
    e.sql.length;
  if (bodyBytes > MAX_BODY_BYTES) throw new RangeError(`record of seq ${e.seq} is ${bodyBytes} bytes, above the ${MAX_BODY_BYTES}-byte limit`);
  return { record, db, session, flags, bodyBytes };
}

/** The proxy hands the same frozen session snapshot to every write until it changes: encode it once. */
const sessionJsonCache = new WeakMap<object, string>();

function sessionJson(session: Record<string, string>): string {
  if (!Object.isFrozen(session)) return JSON.stringify(session);
  let json = sessionJsonCache.get(session);
  if (json === undefined) {
    json = JSON.stringify(session);
    sessionJsonCache.set(session, json);
  }
  return json;
}

function writeRecord(buf: Buffer, start: number, p: Prepared): number {
  const e = p.record.entry;
  const body = start + RECORD_HEADER_BYTES;
  writeU64(buf, body, e.seq);
  writeU64(buf, body + 8, e.txn);
  writeU64(buf, body + 16, p.record.batchSeq);
  writeU64(buf, body + 24, e.ts);
  writeU64(buf, body + 32, e.affectedRows);
  buf.writeUInt32LE(e.conn, body + 40);
  buf[body + 44] = (e.last ? BIT_LAST : 0) | (p.record.batchEnd ? BIT_BATCH_END : 0) | (e.db === null ? BIT_DB_NULL : 0);
  let offset = body + FIXED_BODY_BYTES;
  offset = writeText(buf, offset, p.db, 'utf8');
  offset = writeText(buf, offset, e.insertId, 'latin1');
  offset = writeText(buf, offset, e.kind, 'utf8');
  offset = writeText(buf, offset, p.session, 'utf8');
  offset = writeText(buf, offset, p.flags, 'utf8');
  buf.writeUInt32LE(e.sql.length, offset);
  e.sql.copy(buf, offset + 4);
  offset += 4 + e.sql.length;
  buf[start] = MAGIC0;
  buf[start + 1] = MAGIC1;
  buf.writeUInt32LE(p.bodyBytes, start + 2);
  buf.writeUInt32LE(crc32(buf.subarray(body, offset)), start + 6);
  buf.writeUInt32LE(crc32(buf.subarray(start, start + 10)), start + 10);
  return offset;
}

function writeText(buf: Buffer, offset: number, text: string, encoding: 'utf8' | 'latin1'): number {
  const n = buf.write(text, offset + 4, encoding);
  buf.writeUInt32LE(n, offset);
  return offset + 4 + n;
}

/**
 * Decodes the record starting at `offset`; the bytes available are those up to `buf.length`.
 * Never throws: garbage is reported as 'invalid'. The header is checked before the body length
 * is trusted, so callers can bound what they read by `needed`.
 */
export function decodeRecord(buf: Buffer, offset = 0): DecodeResult {
  const available = buf.length - offset;
  if (available < RECORD_HEADER_BYTES) return { status: 'incomplete', needed: RECORD_HEADER_BYTES };
  if (buf[offset] !== MAGIC0 || buf[offset + 1] !== MAGIC1) return { status: 'invalid', reason: 'no record magic' };
  if (crc32(buf.subarray(offset, offset + 10)) !== buf.readUInt32LE(offset + 10)) return { status: 'invalid', reason: 'record header checksum mismatch' };
  const bodyBytes = buf.readUInt32LE(offset + 2);
  if (bodyBytes > MAX_BODY_BYTES) return { status: 'invalid', reason: `record length ${bodyBytes} above the limit` };
  const size = RECORD_HEADER_BYTES + bodyBytes;
  if (available < size) return { status: 'incomplete', needed: size };
  const body = buf.subarray(offset + RECORD_HEADER_BYTES, offset + size);
  if (crc32(body) !== buf.readUInt32LE(offset + 6)) return { status: 'invalid', reason: 'record body checksum mismatch' };
  const record = decodeBody(body);
  if (typeof record === 'string') return { status: 'invalid', reason: record };
  return { status: 'ok', record, size };
}

/** The record's fields, or why the body is malformed. */
function decodeBody(body: Buffer): StoredRecord | string {
  if (body.length < FIXED_BODY_BYTES + FIELD_COUNT * 4) return 'record body too short';
  const numbers = [0, 8, 16, 24, 32].map((at) => readU64(body, at));
  if (numbers.some((n) => n < 0)) return 'record number above 2^53';
  const [seq, txn, batchSeq, ts, affectedRows] = numbers;
  const conn = body.readUInt32LE(40);
  const bits = body[44];
  const fields: Buffer[] = [];
  let offset = FIXED_BODY_BYTES;
  for (let i = 0; i < FIELD_COUNT; i++) {
    if (offset + 4 > body.length) return 'record field length past the body';
    const n = body.readUInt32LE(offset);
    if (offset + 4 + n > body.length) return 'record field past the body';
    fields.push(body.subarray(offset + 4, offset + 4 + n));
    offset += 4 + n;
  }
  if (offset !== body.length) return 'bytes after the last record field';
  const [db, insertId, kind, sessionJson, flagsJson, sql] = fields;
  const session = parseJson(sessionJson);
  if (!isStringMap(session)) return 'record session is not an object of strings';
  const flags = parseJson(flagsJson);
  if (!Array.isArray(flags) || flags.some((f) => typeof f !== 'string')) return 'record flags are not an array of strings';
  const entry: JournalEntry = {
    seq,
    txn,
    conn,
    last: (bits & BIT_LAST) !== 0,
    sql: Buffer.from(sql),
    db: (bits & BIT_DB_NULL) !== 0 ? null : db.toString('utf8'),
    session,
    ts,
    affectedRows,
    insertId: insertId.toString('latin1'),
    flags: flags as string[],
    kind: kind.toString('utf8'),
  };
  return { entry, batchSeq, batchEnd: (bits & BIT_BATCH_END) !== 0 };
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}
