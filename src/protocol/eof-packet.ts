import { ByteReader, ByteWriter } from './bytes.js';
import { ProtocolError } from './errors.js';

export interface EofPacket {
  warnings: number;
  status: number;
}

export const EOF_HEADER = 0xfe;

/** 0xFE with fewer than 9 bytes: a longer 0xFE packet is a length-encoded integer or an OK. */
export function isEofPacket(payload: Buffer): boolean {
  return payload.length < 9 && payload[0] === EOF_HEADER;
}

/** Parses an EOF packet; the 1-byte pre-4.1 form reports zero warnings and status. */
export function parseEof(payload: Buffer): EofPacket {
  if (!isEofPacket(payload)) {
    throw new ProtocolError(
      'NOT_EOF',
      `packet of ${payload.length} bytes with header 0x${(payload[0] ?? 0).toString(16)} is not an EOF packet (0xfe, < 9 bytes)`,
    );
  }
  if (payload.length === 1) return { warnings: 0, status: 0 };
  const r = new ByteReader(payload, 1);
  const warnings = r.u16();
  const status = r.u16();
  return { warnings, status };
}

export function buildEof(eof: EofPacket): Buffer {
  return new ByteWriter(5).u8(EOF_HEADER).u16(eof.warnings).u16(eof.status).toBuffer();
}
