// Ways to break a MySQL packet: byte-level mutations of a payload, and framings that lie
// about sequence ids and lengths.
import { int, pick } from './prng.mjs';

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff];
/** Length-encoded integers that claim far more bytes than any packet holds. */
const LENENC_BOMBS = [
  [0xfc, 0xff, 0xff],
  [0xfd, 0xff, 0xff, 0xff],
  [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  [0xfe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80],
  [0xfb],
];
export const MAX_FRAME = 0xffffff;

export function randomBytes(rand, max) {
  const b = Buffer.alloc(int(rand, max + 1));
  for (let i = 0; i < b.length; i++) b[i] = rand() < 0.3 ? pick(rand, INTERESTING) : int(rand, 256);
  return b;
}

/** One to four mutations of `seed` (never modified in place). */
export function mutate(seed, rand) {
  let b = Buffer.from(seed);
  for (let r = 1 + int(rand, 4); r > 0; r--) {
    const at = int(rand, b.length + 1);
    const last = Math.min(at, b.length - 1);
    switch (int(rand, 9)) {
      case 0: if (b.length > 0) b[last] ^= 1 << int(rand, 8); break;
      case 1: if (b.length > 0) b[last] = pick(rand, INTERESTING); break;
      case 2: b = b.subarray(0, at); break;
      case 3: b = Buffer.concat([b.subarray(0, at), Buffer.from([int(rand, 256)]), b.subarray(at)]); break;
      case 4: b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(rand, 8)))]); break;
      case 5: b = Buffer.concat([b, b.subarray(at, at + int(rand, 16))]); break;
      case 6: b = overwrite(b, at, pick(rand, LENENC_BOMBS)); break;
      case 7: b = overwrite(b, at, [0xff, 0xff, 0xff, 0xff]); break; // a u16/u32 count or id at its maximum
      default: b = Buffer.concat([b.subarray(0, at), Buffer.alloc(int(rand, 64), pick(rand, INTERESTING)), b.subarray(at)]);
    }
  }
  return b;
}

function overwrite(b, at, bytes) {
  const out = Buffer.concat([b, Buffer.alloc(Math.max(0, at + bytes.length - b.length))]);
  Buffer.from(bytes).copy(out, at);
  return out;
}

/** Mostly a mutated real packet, sometimes random bytes, sometimes the real packet unchanged. */
export function fuzzPayload(pool, rand) {
  const r = rand();
  if (r < 0.8) return mutate(pick(rand, pool), rand);
  if (r < 0.95) return randomBytes(rand, 96);
  return Buffer.from(pick(rand, pool));
}

function header(length, seq) {
  const h = Buffer.alloc(4);
  h.writeUIntLE(length, 0, 3);
  h[3] = seq & 0xff;
  return h;
}

/**
 * Wire bytes for `payload` sent with sequence id `seq`, framed honestly or not. Returns the bytes
 * and the name of the framing, to print with a failure.
 */
export function frameFuzzed(payload, seq, rand) {
  const kind = pick(rand, ['honest', 'honest', 'honest', 'wrong-seq', 'length-too-long', 'length-too-short', 'max-frame-cut', 'bad-continuation', 'header-only', 'no-header']);
  switch (kind) {
    case 'honest': return { kind, bytes: Buffer.concat([header(payload.length, seq), payload]) };
    case 'wrong-seq': return { kind, bytes: Buffer.concat([header(payload.length, seq + 1 + int(rand, 255)), payload]) };
    case 'length-too-long': return { kind, bytes: Buffer.concat([header(Math.min(MAX_FRAME - 1, payload.length + 1 + int(rand, 5000)), seq), payload]) };
    case 'length-too-short': return { kind, bytes: Buffer.concat([header(int(rand, payload.length + 1), seq), payload]) };
    // Announces 16 MiB, a continuation frame must follow; sends only the start of it.
    case 'max-frame-cut': return { kind, bytes: Buffer.concat([header(MAX_FRAME, seq), payload]) };
    // A whole 16 MiB first frame is too costly per session: a zero-length "frame" claims to continue.
    case 'bad-continuation': return { kind, bytes: Buffer.concat([header(payload.length, seq), payload, header(MAX_FRAME, seq + 7), payload]) };
    case 'header-only': return { kind, bytes: header(int(rand, MAX_FRAME + 1), seq).subarray(0, 1 + int(rand, 4)) };
    default: return { kind, bytes: payload };
  }
}
