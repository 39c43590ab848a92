import { buildErr } from '../protocol/err-packet.js';
import { frame } from '../protocol/frame.js';

/**
 * MySQL error codes the proxy answers with itself; names follow the server's. Only server
 * codes: clients reject an ERR packet carrying a client-side code (2000-2999) as malformed.
 */
export const ProxyErrorCode = {
  UNKNOWN_ERROR: 1105,
  OPTION_PREVENTS_STATEMENT: 1290,
  NOT_SUPPORTED_YET: 1235,
  UNKNOWN_COM_ERROR: 1047,
} as const;

/** An ERR packet, framed, ready for the client socket. */
export function errorPacket(seq: number, code: number, message: string, sqlState = 'HY000'): Buffer[] {
  return frame(seq & 0xff, buildErr({ code, sqlState, message: `metamorph proxy: ${message}` })).buffers;
}
