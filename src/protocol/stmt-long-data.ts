import { ByteReader } from './bytes.js';
import { Command } from './constants.js';
import { ProtocolError } from './errors.js';

export interface SendLongData {
  statementId: number;
  paramId: number;
  /** A view into the payload; copy it if the payload buffer is reused. */
  data: Buffer;
}

/** COM_STMT_SEND_LONG_DATA: 0x18, statement id u32, parameter index u16, data to the end. */
export function parseSendLongData(payload: Buffer): SendLongData {
  const r = new ByteReader(payload);
  const command = r.u8();
  if (command !== Command.STMT_SEND_LONG_DATA) {
    throw new ProtocolError(
      'NOT_SEND_LONG_DATA',
      `command byte 0x${command.toString(16)} is not COM_STMT_SEND_LONG_DATA (0x18)`,
    );
  }
  const statementId = r.u32();
  const paramId = r.u16();
  return { statementId, paramId, data: r.rest() };
}
