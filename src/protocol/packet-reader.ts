import { ProtocolError } from './errors.js';

/** Payload length that means "this logical packet continues in the next frame". */
export const MAX_FRAME_PAYLOAD = 0xffffff;
const HEADER = 4;
const DEFAULT_MAX_PACKET_BYTES = 256 * 1024 * 1024;
/** Chunks below this size that arrive while data is pending are copied into an accumulator. */
const SMALL_CHUNK = 16 * 1024;
const ACCUMULATOR_SIZE = 64 * 1024;

/**
 * One logical packet. `seq` is the sequence id of its first frame; a packet made of k frames used
 * ids seq .. seq+k-1 (mod 256), so the next packet continues at (seq + wire.length) & 0xff.
 */
export interface Packet {
  seq: number;
  payload: Buffer;
  /** The exact bytes of every physical frame, headers included, to relay untouched. */
  wire: Buffer[];
}

export interface PacketReaderOptions {
  /** Largest logical payload accepted; bigger ones throw PACKET_TOO_LARGE. Default 256 MiB. */
  maxPacketBytes?: number;
}

interface FrameSpan {
  start: number;
  payloadLength: number;
}

/**
 * Incremental framer: push() socket chunks of any size, then call next() until it returns null.
 * Chunks are not concatenated while a packet is incomplete, and a packet that arrives inside a
 * single chunk is returned as subarray views without copying. After a ProtocolError the stream is
 * out of sync and the reader must be discarded with its connection.
 */
export class PacketReader {
  private readonly maxPacketBytes: number;
  private chunks: Buffer[] = [];
  /** Read position inside chunks[0]. */
  private head = 0;
  private buffered = 0;
  /** Total buffered bytes needed before another scan can succeed; avoids rescans per tiny chunk. */
  private needed = HEADER;
  /** Owned buffer behind the last entry of chunks while small chunks are being merged, else null. */
  private acc: Buffer | null = null;
  private accLength = 0;

  constructor(opts: PacketReaderOptions = {}) {
    const max = opts.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new ProtocolError('BAD_OPTION', `maxPacketBytes must be a non-negative integer, got ${max}`);
    }
    this.maxPacketBytes = max;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Removes and returns every buffered byte not yet returned as a packet, e.g. to hand the rest
   * of the stream to a TLS layer after an SSLRequest.
   */
  takeBuffered(): Buffer {
    const rest = this.chunks.length === 0 ? Buffer.alloc(0) : this.peek(0, this.buffered);
    this.chunks = [];
    this.head = 0;
    this.buffered = 0;
    this.needed = HEADER;
    this.acc = null;
    return rest;
  }

  /**
   * Takes ownership of chunk (it must not be modified afterwards). A peer that trickles bytes in
   * tiny segments would otherwise cost one Buffer object per byte while a large packet builds up,
   * so small chunks arriving behind pending data are merged; a chunk that starts with nothing
   * pending is kept as is, which keeps the common case copy-free.
   */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.buffered += chunk.length;
    if (chunk.length < SMALL_CHUNK && this.chunks.length > 0) {
      this.merge(chunk);
    } else {
      this.chunks.push(chunk);
      this.acc = null;
    }
  }

  next(): Packet | null {
    if (this.buffered < this.needed) return null;
    const frames = this.scan();
    if (frames === null) return null;
    const packet = this.extract(frames);
    this.needed = HEADER;
    return packet;
  }

  /** Frame positions (relative to head) of the first logical packet, or null if incomplete. */
  private scan(): FrameSpan[] | null {
    const frames: FrameSpan[] = [];
    let pos = 0;
    let total = 0;
    let prevSeq = -1;
    for (;;) {
      if (this.buffered < pos + HEADER) return this.waitFor(pos + HEADER);
      const header = this.peek(pos, HEADER);
      const payloadLength = header.readUIntLE(0, 3);
      const seq = header[3]!;
      if (prevSeq >= 0 && seq !== ((prevSeq + 1) & 0xff)) {
        throw new ProtocolError(
          'BAD_SEQUENCE',
          `continuation frame has sequence id ${seq}, expected ${(prevSeq + 1) & 0xff}; the stream is out of sync`,
        );
      }
      total += payloadLength;
      if (total > this.maxPacketBytes) {
        throw new ProtocolError(
          'PACKET_TOO_LARGE',
          `packet payload of at least ${total} bytes exceeds the ${this.maxPacketBytes}-byte limit; raise maxPacketBytes if such packets are expected`,
        );
      }
      frames.push({ start: pos, payloadLength });
      pos += HEADER + payloadLength;
      if (this.buffered < pos) return this.waitFor(pos);
      if (payloadLength < MAX_FRAME_PAYLOAD) return frames;
      prevSeq = seq;
    }
  }

  private merge(chunk: Buffer): void {
    if (this.acc === null || this.accLength + chunk.length > this.acc.length) {
      this.acc = Buffer.allocUnsafe(ACCUMULATOR_SIZE);
      this.accLength = 0;
      this.chunks.push(this.acc.subarray(0, 0));
    }
    chunk.copy(this.acc, this.accLength);
    this.accLength += chunk.length;
    this.chunks[this.chunks.length - 1] = this.acc.subarray(0, this.accLength);
  }

  private waitFor(bytes: number): null {
    this.needed = bytes;
    return null;
  }

  private extract(frames: FrameSpan[]): Packet {
    const last = frames[frames.length - 1]!;
    const size = last.start + HEADER + last.payloadLength;
    const first = this.chunks[0]!;
    const inOneChunk = this.head + size <= first.length;
    const wire = frames.map((f) =>
      inOneChunk
        ? first.subarray(this.head + f.start, this.head + f.start + HEADER + f.payloadLength)
        : this.peek(f.start, HEADER + f.payloadLength),
    );
    const seq = wire[0]![3]!;
    const payload =
      wire.length === 1 ? wire[0]!.subarray(HEADER) : Buffer.concat(wire.map((w) => w.subarray(HEADER)));
    this.consume(size);
    return { seq, payload, wire };
  }

  /**
   * `len` bytes starting `offset` bytes after head: a view when they sit in one chunk, else a copy.
   * The caller has checked they are buffered.
   */
  private peek(offset: number, len: number): Buffer {
    let i = 0;
    let at = this.head + offset;
    while (at >= this.chunks[i]!.length) {
      at -= this.chunks[i]!.length;
      i++;
    }
    const chunk = this.chunks[i]!;
    if (at + len <= chunk.length) return chunk.subarray(at, at + len);
    const out = Buffer.allocUnsafe(len);
    let filled = 0;
    while (filled < len) {
      const c = this.chunks[i]!;
      const n = Math.min(len - filled, c.length - at);
      c.copy(out, filled, at, at + n);
      filled += n;
      at = 0;
      i++;
    }
    return out;
  }

  private consume(n: number): void {
    this.buffered -= n;
    let left = n;
    let drop = 0;
    while (left > 0) {
      const avail = this.chunks[drop]!.length - this.head;
      if (left < avail) {
        this.head += left;
        break;
      }
      left -= avail;
      this.head = 0;
      drop++;
    }
    if (drop > 0) this.chunks.splice(0, drop);
    // The accumulator is always the last chunk, so it is gone exactly when nothing is left.
    if (this.chunks.length === 0) this.acc = null;
  }
}
