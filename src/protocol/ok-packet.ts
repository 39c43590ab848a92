import { ByteReader, ByteWriter, lenencPrefixSize } from './bytes.js';
import { Capability } from './constants.js';
import { ProtocolError } from './errors.js';

export interface OkPacket {
  affectedRows: number | bigint;
  insertId: bigint;
  status: number;
  warnings: number;
  /** Human-readable info ("Rows matched: ..."), raw bytes; empty when absent. */
  info: Buffer;
}

export const OK_HEADER = 0x00;
/** Header of the OK packet that ends a result set when CLIENT_DEPRECATE_EOF is negotiated. */
export const OK_EOF_HEADER = 0xfe;

/**
 * True for a protocol-4.1 OK packet (header 0x00, at least 7 bytes). Only meaningful where the
 * server may answer with OK; the 0xFE form that ends a result set under CLIENT_DEPRECATE_EOF is
 * not detected here because it is told apart from EOF by context, not by its bytes alone.
 */
export function isOkPacket(payload: Buffer): boolean {
  return payload.length >= 7 && payload[0] === OK_HEADER;
}

/**
 * Parses an OK packet (header 0x00, or 0xFE for the CLIENT_DEPRECATE_EOF terminator) under the
 * negotiated capabilities. The fields a proxy acts on are read strictly; the trailing info and
 * session-state data is only kept as raw info and never fails the parse.
 */
export function parseOk(payload: Buffer, caps: number): OkPacket {
  const r = new ByteReader(payload);
  const header = r.u8();
  if (header !== OK_HEADER && header !== OK_EOF_HEADER) {
    throw new ProtocolError('NOT_OK', `packet header 0x${header.toString(16)} is not an OK packet (0x00 or 0xfe)`);
  }
  const affectedRows = r.lenencInt();
  const insertId = BigInt(r.lenencInt());
  let status = 0;
  let warnings = 0;
  if (caps & Capability.PROTOCOL_41) {
    status = r.u16();
    warnings = r.u16();
  } else if (caps & Capability.TRANSACTIONS) {
    status = r.u16();
  }
  const info = caps & Capability.SESSION_TRACK ? lenencInfo(r.rest()) : r.rest();
  return { affectedRows, insertId, status, warnings, info };
}

/** With CLIENT_SESSION_TRACK the info is length-encoded; fall back to the raw rest if it is not. */
function lenencInfo(rest: Buffer): Buffer {
  const prefix = lenencPrefixSize(rest[0] ?? 0xff);
  if (prefix === 0 || prefix > rest.length) return rest;
  const r = new ByteReader(rest);
  const len = r.lenencInt();
  return typeof len === 'number' && len <= r.remaining ? r.bytes(len) : rest;
}

export interface BuildOkOptions {
  affectedRows?: number | bigint;
  insertId?: number | bigint;
  status?: number;
  warnings?: number;
  info?: Buffer | string;
  /** Negotiated capabilities; decides whether info is length-encoded. Default CLIENT_PROTOCOL_41. */
  caps?: number;
  /** 0x00 (default) or 0xFE for the CLIENT_DEPRECATE_EOF result-set terminator. */
  header?: typeof OK_HEADER | typeof OK_EOF_HEADER;
}

/** OK packet payload in the protocol-4.1 form. */
export function buildOk(opts: BuildOkOptions = {}): Buffer {
  const caps = opts.caps ?? Capability.PROTOCOL_41;
  const info = typeof opts.info === 'string' ? Buffer.from(opts.info, 'utf8') : (opts.info ?? Buffer.alloc(0));
  const w = new ByteWriter(16 + info.length)
    .u8(opts.header ?? OK_HEADER)
    .lenencInt(opts.affectedRows ?? 0)
    .lenencInt(opts.insertId ?? 0)
    .u16(opts.status ?? 0)
    .u16(opts.warnings ?? 0);
  if (caps & Capability.SESSION_TRACK) w.lenencBytes(info);
  else w.bytes(info);
  return w.toBuffer();
}
