/**
 * The only error the protocol codec throws. `code` is stable and machine-readable (e.g. TRUNCATED,
 * BAD_LENENC, BAD_SEQUENCE); the message names the cause and what to look at.
 */
export class ProtocolError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
}
