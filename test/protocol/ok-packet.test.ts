import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/protocol/bytes.js';
import { Capability, ServerStatus } from '../../src/protocol/constants.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { buildOk, isOkPacket, parseOk } from '../../src/protocol/ok-packet.js';

const CAPS_41 = Capability.PROTOCOL_41 | Capability.TRANSACTIONS;
const CAPS_TRACK = CAPS_41 | Capability.SESSION_TRACK;

describe('parseOk', () => {
  it('reads the minimal protocol-4.1 OK', () => {
    const ok = parseOk(Buffer.from('00000002000000', 'hex'), CAPS_41);
    expect(ok).toEqual({ affectedRows: 0, insertId: 0n, status: ServerStatus.AUTOCOMMIT, warnings: 0, info: Buffer.alloc(0) });
  });

  it('reads lenenc counters, status, warnings and raw info without CLIENT_SESSION_TRACK', () => {
    const payload = Buffer.concat([
      Buffer.from('00fc2c01fd40420f03000400', 'hex'),
      Buffer.from('Rows matched: 300  Changed: 300  Warnings: 0'),
    ]);
    const ok = parseOk(payload, CAPS_41);
    expect(ok.affectedRows).toBe(300);
    expect(ok.insertId).toBe(1_000_000n);
    expect(ok.status).toBe(ServerStatus.IN_TRANS | ServerStatus.AUTOCOMMIT);
    expect(ok.warnings).toBe(4);
    expect(ok.info.toString()).toBe('Rows matched: 300  Changed: 300  Warnings: 0');
  });

  it('reads lenenc info and skips session-state data with CLIENT_SESSION_TRACK', () => {
    const payload = new ByteWriter()
      .u8(0)
      .lenencInt(1)
      .lenencInt(0)
      .u16(ServerStatus.AUTOCOMMIT | ServerStatus.SESSION_STATE_CHANGED)
      .u16(0)
      .lenencString('info text')
      .lenencBytes(Buffer.from('0004036162630178', 'hex'))
      .toBuffer();
    const ok = parseOk(payload, CAPS_TRACK);
    expect(ok.info.toString()).toBe('info text');
    expect(ok.status & ServerStatus.SESSION_STATE_CHANGED).toBeTruthy();
  });

  it('keeps a malformed session-track info as raw bytes instead of failing', () => {
    const payload = Buffer.from('00000002000000' + 'fc10', 'hex');
    expect(parseOk(payload, CAPS_TRACK).info.toString('hex')).toBe('fc10');
  });

  it('returns affected rows above 2^53 - 1 as bigint and insert id always as bigint', () => {
    const payload = new ByteWriter().u8(0).lenencInt(2n ** 53n + 1n).lenencInt(2n ** 64n - 1n).u16(2).u16(0).toBuffer();
    const ok = parseOk(payload, CAPS_41);
    expect(ok.affectedRows).toBe(2n ** 53n + 1n);
    expect(ok.insertId).toBe(2n ** 64n - 1n);
  });

  it('accepts the 0xFE header of the CLIENT_DEPRECATE_EOF terminator', () => {
    const ok = parseOk(Buffer.from('fe00000a000100', 'hex'), CAPS_41 | Capability.DEPRECATE_EOF);
    expect(ok.status).toBe(ServerStatus.AUTOCOMMIT | ServerStatus.MORE_RESULTS_EXISTS);
    expect(ok.warnings).toBe(1);
  });

  it('rejects other headers and truncated packets with ProtocolError', () => {
    expect(() => parseOk(Buffer.from('ff1504', 'hex'), CAPS_41)).toThrow(ProtocolError);
    expect(() => parseOk(Buffer.from('000000', 'hex'), CAPS_41)).toThrow(/truncated/);
    expect(() => parseOk(Buffer.alloc(0), CAPS_41)).toThrow(ProtocolError);
  });
});

describe('isOkPacket', () => {
  it('needs header 0x00 and the 7 bytes of a 4.1 OK', () => {
    expect(isOkPacket(Buffer.from('00000002000000', 'hex'))).toBe(true);
    expect(isOkPacket(Buffer.from('000000020000', 'hex'))).toBe(false);
    expect(isOkPacket(Buffer.from('fe000002000000', 'hex'))).toBe(false);
    expect(isOkPacket(Buffer.alloc(0))).toBe(false);
  });
});

describe('buildOk', () => {
  it('builds the minimal OK byte for byte', () => {
    expect(buildOk({ status: ServerStatus.AUTOCOMMIT }).toString('hex')).toBe('00000002000000');
  });

  it('round trips through parseOk with and without CLIENT_SESSION_TRACK', () => {
    for (const caps of [CAPS_41, CAPS_TRACK]) {
      const opts = { affectedRows: 70000, insertId: 2n ** 60n, status: 3, warnings: 9, info: 'done', caps };
      const ok = parseOk(buildOk(opts), caps);
      expect(ok).toEqual({ affectedRows: 70000, insertId: 2n ** 60n, status: 3, warnings: 9, info: Buffer.from('done') });
    }
    expect(buildOk({ header: 0xfe })[0]).toBe(0xfe);
  });
});
