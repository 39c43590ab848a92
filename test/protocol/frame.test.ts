import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/protocol/errors.js';
import { frame } from '../../src/protocol/frame.js';
import { PacketReader } from '../../src/protocol/packet-reader.js';

const MAX = 0xffffff;

describe('frame', () => {
  it('writes one frame with the header for a small payload', () => {
    const { buffers, nextSeq } = frame(3, Buffer.from('abc'));
    expect(buffers.map((b) => b.toString('hex'))).toEqual(['03000003616263']);
    expect(nextSeq).toBe(4);
  });

  it('writes an empty frame for an empty payload', () => {
    expect(frame(0, Buffer.alloc(0)).buffers.map((b) => b.toString('hex'))).toEqual(['00000000']);
  });

  it.each([
    [MAX, [MAX, 0]],
    [MAX * 2, [MAX, MAX, 0]],
    [MAX * 2 + 5, [MAX, MAX, 5]],
  ])('splits %d bytes into frames of %j and wraps sequence ids', (size, sizes) => {
    const payload = randomBytes(size);
    const { buffers, nextSeq } = frame(255, payload);
    expect(buffers.map((b) => b.readUIntLE(0, 3))).toEqual(sizes);
    expect(buffers.map((b) => b[3])).toEqual(sizes.map((_, i) => (255 + i) & 0xff));
    expect(nextSeq).toBe((255 + sizes.length) & 0xff);

    const reader = new PacketReader();
    for (const b of buffers) reader.push(b);
    const p = reader.next()!;
    expect(p.seq).toBe(255);
    expect(p.payload.equals(payload)).toBe(true);
    expect(p.wire).toHaveLength(buffers.length);
    p.wire.forEach((w, i) => expect(w.equals(buffers[i]!)).toBe(true));
    expect(frame(p.seq, p.payload).buffers.every((b, i) => b.equals(p.wire[i]!))).toBe(true);
  });

  it('rejects a sequence id outside 0..255', () => {
    for (const seq of [-1, 256, 1.5]) {
      expect(() => frame(seq, Buffer.alloc(1))).toThrow(ProtocolError);
    }
  });
});
