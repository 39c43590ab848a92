import { ProtocolError } from './errors.js';
import { MAX_FRAME_PAYLOAD } from './packet-reader.js';

/**
 * Splits one logical payload into wire frames, one Buffer per frame (header included), so that
 * `frame(p.seq, p.payload).buffers` reproduces the `wire` of a Packet from PacketReader. A payload
 * whose length is a multiple of 0xFFFFFF (including 0) ends with an empty frame, as the protocol
 * requires. `nextSeq` is the sequence id the following packet must use.
 */
export function frame(seq: number, payload: Buffer): { buffers: Buffer[]; nextSeq: number } {
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xff) {
    throw new ProtocolError('OUT_OF_RANGE', `sequence id ${seq} is not an integer in 0..255`);
  }
  const buffers: Buffer[] = [];
  let offset = 0;
  let next = seq;
  let length: number;
  do {
    length = Math.min(MAX_FRAME_PAYLOAD, payload.length - offset);
    const out = Buffer.allocUnsafe(4 + length);
    out.writeUIntLE(length, 0, 3);
    out[3] = next;
    payload.copy(out, 4, offset, offset + length);
    buffers.push(out);
    offset += length;
    next = (next + 1) & 0xff;
  } while (length === MAX_FRAME_PAYLOAD);
  return { buffers, nextSeq: next };
}
