import { ProtocolError } from './errors.js';

const NUL = 0x00;

/** Total size of a length-encoded integer from its first byte; 0 if that byte cannot start one. */
export function lenencPrefixSize(first: number): number {
  if (first < 0xfb) return 1;
  if (first === 0xfc) return 3;
  if (first === 0xfd) return 4;
  if (first === 0xfe) return 9;
  return 0;
}

/**
 * Sequential little-endian reader over one packet payload. Every read is bounds-checked first and
 * past-the-end reads throw ProtocolError TRUNCATED, so no length taken from the wire is ever used
 * to allocate or slice before it is known to fit. Byte results are `subarray` views, not copies.
 */
export class ByteReader {
  private readonly buf: Buffer;
  private pos: number;

  constructor(buf: Buffer, offset = 0) {
    this.buf = buf;
    this.pos = offset;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** The next byte without consuming it, or -1 at the end. */
  peek(): number {
    return this.pos < this.buf.length ? this.buf[this.pos]! : -1;
  }

  skip(n: number): void {
    this.need(n, 'skip');
    this.pos += n;
  }

  u8(): number {
    this.need(1, 'u8');
    return this.buf[this.pos++]!;
  }

  i8(): number {
    this.need(1, 'i8');
    return this.buf.readInt8(this.pos++);
  }

  u16(): number {
    this.need(2, 'u16');
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  i16(): number {
    this.need(2, 'i16');
    const v = this.buf.readInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u24(): number {
    this.need(3, 'u24');
    const v = this.buf.readUIntLE(this.pos, 3);
    this.pos += 3;
    return v;
  }

  u32(): number {
    this.need(4, 'u32');
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.need(4, 'i32');
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8, 'u64');
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  i64(): bigint {
    this.need(8, 'i64');
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  f32(): number {
    this.need(4, 'f32');
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8, 'f64');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /**
   * Length-encoded integer. Returns a number whenever the value is a safe integer (<= 2^53 - 1),
   * so every number result is exact; only the 0xFE (8-byte) form can exceed that and then a
   * bigint is returned. 0xFB (NULL in text rows) and 0xFF (ERR marker) are not integers here and
   * throw BAD_LENENC.
   */
  lenencInt(): number | bigint {
    const start = this.pos;
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfc) return this.u16();
    if (first === 0xfd) return this.u24();
    if (first === 0xfe) {
      const v = this.u64();
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    this.pos = start;
    throw new ProtocolError(
      'BAD_LENENC',
      `byte 0x${first.toString(16)} at offset ${start} does not start a length-encoded integer; the packet is corrupt or was parsed as the wrong type`,
    );
  }

  /** Length-encoded byte string, as a view into the payload. */
  lenencBytes(): Buffer {
    const start = this.pos;
    const len = this.lenencInt();
    if (typeof len === 'bigint' || len > this.remaining) {
      this.pos = start;
      throw truncated(`a length-encoded string of ${len} bytes`, start, this.buf.length - start);
    }
    return this.bytes(len);
  }

  lenencString(): string {
    return this.lenencBytes().toString('utf8');
  }

  /** Bytes up to (not including) the next NUL; the NUL is consumed. */
  nulBytes(): Buffer {
    const end = this.buf.indexOf(NUL, this.pos);
    if (end < 0) {
      throw new ProtocolError(
        'TRUNCATED',
        `no NUL terminator after offset ${this.pos} (packet of ${this.buf.length} bytes); the packet is truncated or corrupt`,
      );
    }
    const out = this.buf.subarray(this.pos, end);
    this.pos = end + 1;
    return out;
  }

  nulString(): string {
    return this.nulBytes().toString('utf8');
  }

  /**
   * Like nulBytes, but a missing terminator takes the rest of the packet: some servers and
   * clients omit the NUL after the last field of a packet.
   */
  nulBytesOrRest(): Buffer {
    return this.buf.indexOf(NUL, this.pos) >= 0 ? this.nulBytes() : this.rest();
  }

  bytes(n: number): Buffer {
    this.need(n, `${n} bytes`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Everything left, consumed. */
  rest(): Buffer {
    const out = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return out;
  }

  private need(n: number, what: string): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.buf.length - this.pos) {
      throw truncated(what, this.pos, this.buf.length - this.pos);
    }
  }
}

function truncated(what: string, offset: number, available: number): ProtocolError {
  return new ProtocolError(
    'TRUNCATED',
    `cannot read ${what} at offset ${offset}: only ${available} bytes remain; the packet is truncated or a length field is corrupt`,
  );
}

const MAX_U64 = (1n << 64n) - 1n;

/**
 * Little-endian packet builder that grows as needed. Values out of range for their field throw
 * ProtocolError OUT_OF_RANGE instead of being silently truncated.
 */
export class ByteWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initialSize = 64) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialSize));
  }

  get length(): number {
    return this.len;
  }

  u8(v: number): this {
    checkUint(v, 1, 'u8');
    this.reserve(1);
    this.buf[this.len++] = v;
    return this;
  }

  u16(v: number): this {
    checkUint(v, 2, 'u16');
    this.reserve(2);
    this.len = this.buf.writeUInt16LE(v, this.len);
    return this;
  }

  u24(v: number): this {
    checkUint(v, 3, 'u24');
    this.reserve(3);
    this.len = this.buf.writeUIntLE(v, this.len, 3);
    return this;
  }

  u32(v: number): this {
    checkUint(v, 4, 'u32');
    this.reserve(4);
    this.len = this.buf.writeUInt32LE(v, this.len);
    return this;
  }

  u64(v: number | bigint): this {
    const big = toU64(v, 'u64');
    this.reserve(8);
    this.len = this.buf.writeBigUInt64LE(big, this.len);
    return this;
  }

  /** Smallest length-encoded form of v (1, 3, 4 or 9 bytes). */
  lenencInt(v: number | bigint): this {
    const big = toU64(v, 'lenenc int');
    if (big < 0xfbn) return this.u8(Number(big));
    if (big <= 0xffffn) return this.u8(0xfc).u16(Number(big));
    if (big <= 0xffffffn) return this.u8(0xfd).u24(Number(big));
    return this.u8(0xfe).u64(big);
  }

  lenencBytes(b: Buffer): this {
    return this.lenencInt(b.length).bytes(b);
  }

  lenencString(s: string): this {
    return this.lenencBytes(Buffer.from(s, 'utf8'));
  }

  /** UTF-8 text followed by a NUL terminator. The text itself must not contain NUL. */
  nulString(s: string): this {
    const b = Buffer.from(s, 'utf8');
    if (b.includes(NUL)) {
      throw new ProtocolError('OUT_OF_RANGE', 'a NUL-terminated string cannot contain a NUL byte');
    }
    return this.bytes(b).u8(NUL);
  }

  /** UTF-8 text without terminator or length (for fields that run to the end of the packet). */
  string(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }

  bytes(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** The bytes written so far, as a view (later writes never change them). */
  toBuffer(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
}

function checkUint(v: number, bytes: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** (8 * bytes)) {
    throw new ProtocolError('OUT_OF_RANGE', `${what} value ${v} is not an integer in 0..2^${8 * bytes}-1`);
  }
}

function toU64(v: number | bigint, what: string): bigint {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) {
    throw new ProtocolError('OUT_OF_RANGE', `${what} value ${v} is not a safe integer; pass a bigint`);
  }
  const big = BigInt(v);
  if (big < 0n || big > MAX_U64) {
    throw new ProtocolError('OUT_OF_RANGE', `${what} value ${big} is not in 0..2^64-1`);
  }
  return big;
}
