import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PacketReader, type Packet } from '../../src/protocol/packet-reader.js';
import { codeOf } from './protocol-error-code.js';

const MAX = 0xffffff;

function header(length: number, seq: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUIntLE(length, 0, 3);
  h[3] = seq;
  return h;
}

/** Wire bytes of a logical payload, split by hand (independent of frame()). */
function wireOf(seq: number, payload: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  let off = 0;
  for (;;) {
    const n = Math.min(MAX, payload.length - off);
    frames.push(Buffer.concat([header(n, seq), payload.subarray(off, off + n)]));
    off += n;
    seq = (seq + 1) & 0xff;
    if (n < MAX) return frames;
  }
}

function drain(reader: PacketReader): Packet[] {
  const out: Packet[] = [];
  for (let p = reader.next(); p !== null; p = reader.next()) out.push(p);
  return out;
}

function feed(stream: Buffer, chunkSizes: () => number, reader = new PacketReader()): Packet[] {
  const out: Packet[] = [];
  for (let off = 0; off < stream.length; ) {
    const n = Math.min(chunkSizes(), stream.length - off);
    reader.push(stream.subarray(off, off + n));
    off += n;
    out.push(...drain(reader));
  }
  return out;
}

const small = [Buffer.from([0x03, ...Buffer.from('SELECT 1')]), Buffer.alloc(0), randomBytes(300), Buffer.from([0x0e])];
const smallStream = Buffer.concat(small.flatMap((p, i) => wireOf(i, p)));

describe('PacketReader', () => {
  it('returns a packet that sits in one chunk as views, without copying', () => {
    const chunk = Buffer.concat(wireOf(7, Buffer.from('hello')));
    const reader = new PacketReader();
    reader.push(chunk);
    const p = reader.next()!;
    expect(p.seq).toBe(7);
    expect(p.payload.toString()).toBe('hello');
    expect(p.payload.buffer).toBe(chunk.buffer);
    expect(p.payload.byteOffset).toBe(chunk.byteOffset + 4);
    expect(p.wire).toHaveLength(1);
    expect(p.wire[0]!.buffer).toBe(chunk.buffer);
    expect(p.wire[0]).toEqual(chunk);
    expect(reader.next()).toBeNull();
    expect(reader.bufferedBytes).toBe(0);
  });

  it('reassembles packets fed one byte at a time', () => {
    const reader = new PacketReader();
    const got: Packet[] = [];
    for (let i = 0; i < smallStream.length; i++) {
      reader.push(smallStream.subarray(i, i + 1));
      got.push(...drain(reader));
      expect(reader.bufferedBytes).toBe(i + 1 - got.reduce((n, p) => n + p.wire[0]!.length, 0));
    }
    expect(got.map((p) => p.payload)).toEqual(small);
    expect(got.map((p) => p.seq)).toEqual([0, 1, 2, 3]);
    expect(Buffer.concat(got.flatMap((p) => p.wire))).toEqual(smallStream);
  });

  it('returns several packets from one chunk, and keeps a partial one for later', () => {
    const reader = new PacketReader();
    reader.push(smallStream.subarray(0, smallStream.length - 2));
    const first = drain(reader);
    expect(first.map((p) => p.payload)).toEqual(small.slice(0, 3));
    expect(reader.bufferedBytes).toBe(3);
    reader.push(smallStream.subarray(smallStream.length - 2));
    expect(drain(reader).map((p) => p.payload)).toEqual([small[3]]);
  });

  it('merges a trickle of tiny chunks behind a large pending packet correctly', () => {
    const payload = randomBytes(200_000);
    const stream = Buffer.concat(wireOf(0, payload));
    const got = feed(stream, () => 1 + Math.floor(Math.random() * 3));
    expect(got).toHaveLength(1);
    expect(got[0]!.payload.equals(payload)).toBe(true);
    expect(got[0]!.wire[0]!.equals(stream)).toBe(true);
  });

  it.each([
    ['exactly 0xFFFFFF bytes', MAX, [MAX, 0]],
    ['0xFFFFFF*2+5 bytes', MAX * 2 + 5, [MAX, MAX, 5]],
  ])('joins the frames of a payload of %s', (_name, size, frameSizes) => {
    const payload = randomBytes(size);
    const wire = wireOf(254, payload);
    const stream = Buffer.concat([...wire, ...wireOf(1, Buffer.from('next'))]);
    for (const sizes of [() => stream.length, () => 1 + Math.floor(Math.random() * 200_000)]) {
      const got = feed(stream, sizes);
      expect(got).toHaveLength(2);
      const [big, next] = got as [Packet, Packet];
      expect(big.seq).toBe(254);
      expect(big.payload.equals(payload)).toBe(true);
      expect(big.wire.map((w) => w.length - 4)).toEqual(frameSizes);
      expect(big.wire.map((w) => w[3])).toEqual(frameSizes.map((_, i) => (254 + i) & 0xff));
      big.wire.forEach((w, i) => expect(w.equals(wire[i]!)).toBe(true));
      expect(next.payload.toString()).toBe('next');
    }
  });

  it('rejects a continuation frame whose sequence id does not follow', () => {
    const reader = new PacketReader();
    reader.push(header(MAX, 3));
    reader.push(Buffer.alloc(MAX));
    reader.push(header(1, 5));
    expect(codeOf(() => reader.next())).toBe('BAD_SEQUENCE');
  });

  it('rejects a packet over maxPacketBytes as soon as its header arrives', () => {
    const reader = new PacketReader({ maxPacketBytes: 100 });
    reader.push(Buffer.concat(wireOf(0, Buffer.alloc(100))));
    expect(reader.next()!.payload.length).toBe(100);
    reader.push(header(101, 1));
    expect(codeOf(() => reader.next())).toBe('PACKET_TOO_LARGE');
  });

  it('counts every frame of a multi-frame packet against maxPacketBytes', () => {
    const reader = new PacketReader({ maxPacketBytes: MAX + 10 });
    reader.push(header(MAX, 0));
    reader.push(Buffer.alloc(MAX));
    expect(reader.next()).toBeNull();
    reader.push(header(11, 1));
    expect(codeOf(() => reader.next())).toBe('PACKET_TOO_LARGE');
  });

  it('takeBuffered hands over the unparsed rest and empties the reader', () => {
    const reader = new PacketReader();
    reader.push(smallStream.subarray(0, 20));
    reader.push(smallStream.subarray(20, 25));
    const first = reader.next()!;
    const rest = reader.takeBuffered();
    expect(rest).toEqual(smallStream.subarray(first.wire[0]!.length, 25));
    expect(reader.bufferedBytes).toBe(0);
    expect(reader.next()).toBeNull();
  });
});
