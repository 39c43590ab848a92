import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/protocol/errors.js';
import { parsePrepareOk } from '../../src/protocol/stmt-prepare-ok.js';

// Real PREPARE_OK packets are also parsed in stmt-execute and stmt-long-data tests, where the
// statement id and parameter count they yield drive the decoding of captured executes.
describe('parsePrepareOk', () => {
  it('reads the 12-byte form MariaDB sends', () => {
    // Captured from MariaDB 10.11 for "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?".
    expect(parsePrepareOk(Buffer.from('000100000009000900000000', 'hex'))).toEqual({
      statementId: 1,
      numColumns: 9,
      numParams: 9,
      warnings: 0,
    });
    expect(parsePrepareOk(Buffer.from('00ffffffff0000ffff000300', 'hex'))).toEqual({
      statementId: 0xffffffff,
      numColumns: 0,
      numParams: 0xffff,
      warnings: 3,
    });
  });

  it('accepts the short form without warnings', () => {
    expect(parsePrepareOk(Buffer.from('000200000001000200', 'hex'))).toEqual({ statementId: 2, numColumns: 1, numParams: 2, warnings: 0 });
  });

  it('rejects an ERR response and truncated packets with ProtocolError', () => {
    expect(() => parsePrepareOk(Buffer.from('ff7a042334325330325461626c65', 'hex'))).toThrow(/prepare failed/);
    expect(() => parsePrepareOk(Buffer.from('0001000000', 'hex'))).toThrow(ProtocolError);
  });
});
