import { describe, expect, it } from 'vitest';
import { ServerStatus } from '../../src/protocol/constants.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { buildEof, isEofPacket, parseEof } from '../../src/protocol/eof-packet.js';

describe('EOF packet', () => {
  it('recognises 0xFE packets shorter than 9 bytes only', () => {
    expect(isEofPacket(Buffer.from('fe00000200', 'hex'))).toBe(true);
    expect(isEofPacket(Buffer.from('fe', 'hex'))).toBe(true);
    // A row whose first column is a 9-byte lenenc integer also starts with 0xFE.
    expect(isEofPacket(Buffer.from('fe0000000001000000', 'hex'))).toBe(false);
    expect(isEofPacket(Buffer.from('0000000200', 'hex'))).toBe(false);
    expect(isEofPacket(Buffer.alloc(0))).toBe(false);
  });

  it('reads warnings and status', () => {
    expect(parseEof(Buffer.from('fe03002200', 'hex'))).toEqual({
      warnings: 3,
      status: ServerStatus.AUTOCOMMIT | ServerStatus.NO_INDEX_USED,
    });
    expect(parseEof(Buffer.from('fe', 'hex'))).toEqual({ warnings: 0, status: 0 });
  });

  it('round trips through buildEof', () => {
    const eof = { warnings: 65535, status: ServerStatus.MORE_RESULTS_EXISTS | ServerStatus.IN_TRANS };
    expect(parseEof(buildEof(eof))).toEqual(eof);
    expect(buildEof(eof).toString('hex')).toBe('feffff0900');
  });

  it('rejects non-EOF and truncated packets with ProtocolError', () => {
    expect(() => parseEof(Buffer.from('00000002000000', 'hex'))).toThrow(ProtocolError);
    expect(() => parseEof(Buffer.from('fe0100', 'hex'))).toThrow(/truncated/);
  });
});
