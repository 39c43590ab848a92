import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from '../../src/protocol/bytes.js';
import { codeOf } from './protocol-error-code.js';

describe('ByteWriter / ByteReader round trip', () => {
  it('fixed-width integers, little endian', () => {
    const buf = new ByteWriter(1)
      .u8(0xab)
      .u16(0xbeef)
      .u24(0xc0ffee)
      .u32(0xdeadbeef)
      .u64(0x0123456789abcdefn)
      .toBuffer();
    expect(buf.toString('hex')).toBe('abefbeeeffc0efbeaddeefcdab8967452301');
    const r = new ByteReader(buf);
    expect([r.u8(), r.u16(), r.u24(), r.u32(), r.u64()]).toEqual([0xab, 0xbeef, 0xc0ffee, 0xdeadbeef, 0x0123456789abcdefn]);
    expect(r.remaining).toBe(0);
  });

  it.each([
    [0, '00'],
    [250, 'fa'],
    [251, 'fcfb00'],
    [0xffff, 'fcffff'],
    [0x10000, 'fd000001'],
    [0xffffff, 'fdffffff'],
    [0x1000000, 'fe0000000100000000'],
    [Number.MAX_SAFE_INTEGER, 'feffffffffffff1f00'],
  ])('lenenc int %d has the smallest encoding %s and reads back as a number', (value, hex) => {
    const buf = new ByteWriter().lenencInt(value).toBuffer();
    expect(buf.toString('hex')).toBe(hex);
    const r = new ByteReader(buf);
    expect(r.lenencInt()).toBe(value);
    expect(r.remaining).toBe(0);
  });

  it('lenenc int above 2^53 - 1 reads back as a bigint', () => {
    for (const v of [2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
      const r = new ByteReader(new ByteWriter().lenencInt(v).toBuffer());
      expect(r.lenencInt()).toBe(v);
    }
  });

  it('lenenc, NUL-terminated and fixed byte strings', () => {
    const long = Buffer.alloc(300, 0x61);
    const buf = new ByteWriter()
      .lenencString('héllo')
      .lenencBytes(long)
      .lenencBytes(Buffer.alloc(0))
      .nulString('user')
      .bytes(Buffer.from([1, 2, 3]))
      .string('tail')
      .toBuffer();
    const r = new ByteReader(buf);
    expect(r.lenencString()).toBe('héllo');
    expect(r.lenencBytes()).toEqual(long);
    expect(r.lenencBytes().length).toBe(0);
    expect(r.nulString()).toBe('user');
    expect([...r.bytes(3)]).toEqual([1, 2, 3]);
    expect(r.offset).toBe(buf.length - 4);
    expect(r.rest().toString()).toBe('tail');
    expect(r.remaining).toBe(0);
  });

  it('signed and floating-point reads', () => {
    const b = Buffer.alloc(27);
    b.writeInt8(-5, 0);
    b.writeInt16LE(-300, 1);
    b.writeInt32LE(-70000, 3);
    b.writeBigInt64LE(-(2n ** 63n), 7);
    b.writeFloatLE(0.5, 15);
    b.writeDoubleLE(-1e-300, 19);
    const r = new ByteReader(b);
    expect([r.i8(), r.i16(), r.i32(), r.i64(), r.f32(), r.f64()]).toEqual([-5, -300, -70000, -(2n ** 63n), 0.5, -1e-300]);
  });

  it('toBuffer is not disturbed by later writes that grow the buffer', () => {
    const w = new ByteWriter(16).u32(1);
    const first = w.toBuffer();
    w.bytes(Buffer.alloc(1000, 7));
    expect(first.toString('hex')).toBe('01000000');
    expect(w.length).toBe(1004);
  });
});

describe('ByteReader on malformed input', () => {
  it('throws TRUNCATED for every read past the end', () => {
    const r = () => new ByteReader(Buffer.from([1]));
    expect(codeOf(() => r().u16())).toBe('TRUNCATED');
    expect(codeOf(() => r().u24())).toBe('TRUNCATED');
    expect(codeOf(() => r().u32())).toBe('TRUNCATED');
    expect(codeOf(() => r().u64())).toBe('TRUNCATED');
    expect(codeOf(() => r().f64())).toBe('TRUNCATED');
    expect(codeOf(() => r().bytes(2))).toBe('TRUNCATED');
    expect(codeOf(() => r().skip(2))).toBe('TRUNCATED');
    expect(codeOf(() => r().nulBytes())).toBe('TRUNCATED');
    expect(codeOf(() => new ByteReader(Buffer.alloc(0)).u8())).toBe('TRUNCATED');
  });

  it('a lenenc length beyond the data is TRUNCATED and allocates nothing', () => {
    // Claims 2^64-1 bytes: must fail on the length check, not try to slice or allocate.
    const huge = Buffer.from('feffffffffffffffff41', 'hex');
    expect(codeOf(() => new ByteReader(huge).lenencBytes())).toBe('TRUNCATED');
    expect(codeOf(() => new ByteReader(Buffer.from('fc0001', 'hex')).lenencBytes())).toBe('TRUNCATED');
    expect(codeOf(() => new ByteReader(Buffer.from('fd', 'hex')).lenencInt())).toBe('TRUNCATED');
    expect(codeOf(() => new ByteReader(Buffer.from('05616263', 'hex')).lenencString())).toBe('TRUNCATED');
  });

  it('0xfb and 0xff are not lenenc integers', () => {
    expect(codeOf(() => new ByteReader(Buffer.from([0xfb])).lenencInt())).toBe('BAD_LENENC');
    expect(codeOf(() => new ByteReader(Buffer.from([0xff, 0, 0])).lenencBytes())).toBe('BAD_LENENC');
  });

  it('nulBytesOrRest takes the rest when the terminator is missing', () => {
    const r = new ByteReader(Buffer.from('ab\0cd'));
    expect(r.nulBytesOrRest().toString()).toBe('ab');
    expect(r.nulBytesOrRest().toString()).toBe('cd');
    expect(r.remaining).toBe(0);
  });
});

describe('ByteWriter on out-of-range values', () => {
  it('refuses instead of truncating', () => {
    expect(codeOf(() => new ByteWriter().u8(256))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => new ByteWriter().u16(-1))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => new ByteWriter().u24(0x1000000))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => new ByteWriter().u32(1.5))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => new ByteWriter().u64(2n ** 64n))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => new ByteWriter().lenencInt(2 ** 53))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => new ByteWriter().nulString('a\0b'))).toBe('OUT_OF_RANGE');
  });
});
