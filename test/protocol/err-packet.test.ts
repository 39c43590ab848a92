import { describe, expect, it } from 'vitest';
import { Capability } from '../../src/protocol/constants.js';
import { buildErr, isErrPacket, isProgressReport, parseErr } from '../../src/protocol/err-packet.js';
import { codeOf } from './protocol-error-code.js';

const CAPS_41 = Capability.PROTOCOL_41;

describe('parseErr', () => {
  it('reads code, SQLSTATE and message of a 4.1 ERR', () => {
    const payload = Buffer.from('ff4804234859303030' + Buffer.from('No tables used').toString('hex'), 'hex');
    expect(parseErr(payload, CAPS_41)).toEqual({ code: 1096, sqlState: 'HY000', message: 'No tables used' });
  });

  it('reads an ERR without SQLSTATE marker (sent before the handshake) as HY000', () => {
    const payload = Buffer.concat([Buffer.from('ff6a04', 'hex'), Buffer.from("Host '1.2.3.4' is not allowed")]);
    expect(parseErr(payload, 0)).toEqual({ code: 1130, sqlState: 'HY000', message: "Host '1.2.3.4' is not allowed" });
    expect(parseErr(payload, CAPS_41).message).toBe("Host '1.2.3.4' is not allowed");
  });

  it('decodes a UTF-8 message', () => {
    const err = parseErr(buildErr({ code: 1062, sqlState: '23000', message: "Duplicate entry 'é😀' for key 'PRIMARY'" }), CAPS_41);
    expect(err).toEqual({ code: 1062, sqlState: '23000', message: "Duplicate entry 'é😀' for key 'PRIMARY'" });
  });

  it('rejects non-ERR headers, truncated packets and progress reports', () => {
    expect(codeOf(() => parseErr(Buffer.from('00000002000000', 'hex'), CAPS_41))).toBe('NOT_ERR');
    expect(codeOf(() => parseErr(Buffer.from('ff48', 'hex'), CAPS_41))).toBe('TRUNCATED');
    expect(codeOf(() => parseErr(Buffer.from('ffffff0101000064', 'hex'), CAPS_41))).toBe('PROGRESS_REPORT');
  });
});

describe('isProgressReport / isErrPacket', () => {
  it('tells a MariaDB progress report (code 0xFFFF) from an error', () => {
    const progress = Buffer.from('ffffff01010300e80300' + '0561626364', 'hex');
    const err = buildErr({ code: 1146, sqlState: '42S02', message: "Table 'x' doesn't exist" });
    expect(isProgressReport(progress)).toBe(true);
    expect(isErrPacket(progress)).toBe(false);
    expect(isProgressReport(err)).toBe(false);
    expect(isErrPacket(err)).toBe(true);
    expect(isErrPacket(Buffer.from('ff', 'hex'))).toBe(false);
  });
});

describe('buildErr', () => {
  it('writes 0xFF, code, #, state and message byte for byte', () => {
    expect(buildErr({ code: 1096, sqlState: 'HY000', message: 'No tables used' }).toString('hex')).toBe(
      'ff4804234859303030' + Buffer.from('No tables used').toString('hex'),
    );
  });

  it('refuses a malformed SQLSTATE or the progress-report code', () => {
    expect(codeOf(() => buildErr({ code: 1, sqlState: 'HY00', message: '' }))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => buildErr({ code: 0xffff, sqlState: 'HY000', message: '' }))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => buildErr({ code: 0x10000, sqlState: 'HY000', message: '' }))).toBe('OUT_OF_RANGE');
  });
});
