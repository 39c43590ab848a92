import { ByteReader } from './bytes.js';
import { ProtocolError } from './errors.js';

export interface PrepareOk {
  statementId: number;
  numColumns: number;
  numParams: number;
  warnings: number;
}

/** COM_STMT_PREPARE_OK: 0x00, statement id u32, columns u16, params u16, [filler, warnings u16]. */
export function parsePrepareOk(payload: Buffer): PrepareOk {
  const r = new ByteReader(payload);
  const header = r.u8();
  if (header !== 0x00) {
    throw new ProtocolError(
      'NOT_PREPARE_OK',
      `packet header 0x${header.toString(16)} is not COM_STMT_PREPARE_OK (0x00); an ERR (0xff) means the prepare failed`,
    );
  }
  const statementId = r.u32();
  const numColumns = r.u16();
  const numParams = r.u16();
  let warnings = 0;
  if (r.remaining >= 3) {
    r.skip(1);
    warnings = r.u16();
  }
  return { statementId, numColumns, numParams, warnings };
}
