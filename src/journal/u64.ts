/** 64-bit little-endian unsigned integers limited to JavaScript's safe range (no BigInt on the hot path). */
const TWO_32 = 0x1_0000_0000;
const MAX_HIGH_WORD = 0x1f_ffff; // high 32 bits of Number.MAX_SAFE_INTEGER

export function writeU64(buf: Buffer, offset: number, n: number): void {
  buf.writeUInt32LE(n % TWO_32, offset);
  buf.writeUInt32LE(Math.floor(n / TWO_32), offset + 4);
}

/** The value, or -1 when it does not fit a safe integer. */
export function readU64(buf: Buffer, offset: number): number {
  const high = buf.readUInt32LE(offset + 4);
  if (high > MAX_HIGH_WORD) return -1;
  return high * TWO_32 + buf.readUInt32LE(offset);
}
