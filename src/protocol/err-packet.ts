import { ByteReader, ByteWriter } from './bytes.js';
import { Capability } from './constants.js';
import { ProtocolError } from './errors.js';

export interface ErrPacket {
  code: number;
  sqlState: string;
  message: string;
}

export const ERR_HEADER = 0xff;
/** Error code MariaDB uses for progress reports, which are not errors. */
const PROGRESS_REPORT_CODE = 0xffff;
/** State reported for ERR packets that carry none (pre-4.1 or sent before the handshake). */
const DEFAULT_SQL_STATE = 'HY000';

/** MariaDB progress report (0xFF then error code 0xFFFF): informational, the command continues. */
export function isProgressReport(payload: Buffer): boolean {
  return payload.length >= 3 && payload[0] === ERR_HEADER && payload.readUInt16LE(1) === PROGRESS_REPORT_CODE;
}

export function isErrPacket(payload: Buffer): boolean {
  return payload.length >= 3 && payload[0] === ERR_HEADER && !isProgressReport(payload);
}

/**
 * Parses an ERR packet. The '#'+SQLSTATE marker is read when present: servers omit it for errors
 * sent before capabilities are agreed (e.g. "host is not allowed to connect"), and then the state
 * is reported as HY000.
 */
export function parseErr(payload: Buffer, caps: number): ErrPacket {
  const r = new ByteReader(payload);
  const header = r.u8();
  if (header !== ERR_HEADER) {
    throw new ProtocolError('NOT_ERR', `packet header 0x${header.toString(16)} is not an ERR packet (0xff)`);
  }
  const code = r.u16();
  if (code === PROGRESS_REPORT_CODE) {
    throw new ProtocolError('PROGRESS_REPORT', 'packet is a MariaDB progress report, not an error; check isProgressReport() first');
  }
  let sqlState = DEFAULT_SQL_STATE;
  if (caps & Capability.PROTOCOL_41 && r.peek() === 0x23 /* '#' */ && r.remaining >= 6) {
    r.skip(1);
    sqlState = r.bytes(5).toString('latin1');
  }
  return { code, sqlState, message: r.rest().toString('utf8') };
}

/** ERR packet payload in the protocol-4.1 form: 0xFF, code, '#', 5-character SQLSTATE, message. */
export function buildErr(err: ErrPacket): Buffer {
  if (!/^[0-9A-Z]{5}$/.test(err.sqlState)) {
    throw new ProtocolError('OUT_OF_RANGE', `SQLSTATE ${JSON.stringify(err.sqlState)} is not 5 characters [0-9A-Z]`);
  }
  if (err.code === PROGRESS_REPORT_CODE) {
    throw new ProtocolError('OUT_OF_RANGE', 'error code 65535 is reserved for MariaDB progress reports');
  }
  return new ByteWriter(16 + err.message.length * 3)
    .u8(ERR_HEADER)
    .u16(err.code)
    .string('#')
    .string(err.sqlState)
    .string(err.message)
    .toBuffer();
}
