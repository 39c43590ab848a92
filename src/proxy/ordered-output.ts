import type { Socket } from 'node:net';

export interface Held {
  bufs: Buffer[];
  /** Close the connection after these bytes; whatever was queued behind them is dropped. */
  end?: boolean;
}

type Item = { bufs: Buffer[] } | { held: Promise<Held> } | { end: true };

/**
 * Bytes for one socket, in order, where some bytes may only leave once a promise settles
 * (the OK of a commit waits for its journal fsync). Everything queued behind held bytes waits
 * too, so the client never sees a later packet before the held one.
 *
 * Inside `batch()`, packets that lie next to each other in the chunk they were read from are
 * sent as one slice: a result set of many rows costs one socket write, not one per row.
 */
export class OrderedOutput {
  private queue: Item[] = [];
  private blocked = false;
  private queuedBytes = 0;
  private ended = false;
  private batching = false;
  private run: Buffer | null = null;

  constructor(private readonly socket: Socket, private readonly onDrained: () => void = () => {}) {}

  /** Bytes waiting behind held bytes (for backpressure). */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  get isBlocked(): boolean {
    return this.blocked;
  }

  batch(fn: () => void): void {
    this.batching = true;
    try {
      fn();
    } finally {
      this.batching = false;
      this.flushRun();
    }
  }

  write(bufs: Buffer[]): void {
    if (this.ended) return;
    if (this.blocked) {
      this.queue.push({ bufs });
      for (const b of bufs) this.queuedBytes += b.length;
      return;
    }
    for (const b of bufs) this.append(b);
    if (!this.batching) this.flushRun();
  }

  /** Queues bytes that exist only once `held` resolves; it must not reject. */
  writeAfter(held: Promise<Held>): void {
    if (this.ended) return;
    this.flushRun();
    this.queue.push({ held });
    if (!this.blocked) void this.drain();
  }

  /** Ends the socket after everything queued so far. */
  end(): void {
    if (this.ended) return;
    this.flushRun();
    if (!this.blocked) {
      this.ended = true;
      this.socket.end();
      return;
    }
    this.queue.push({ end: true });
  }

  private append(b: Buffer): void {
    const r = this.run;
    if (r && r.buffer === b.buffer && r.byteOffset + r.length === b.byteOffset) {
      this.run = Buffer.from(r.buffer, r.byteOffset, r.length + b.length);
      return;
    }
    if (r) this.send(r);
    this.run = b;
  }

  private flushRun(): void {
    if (!this.run) return;
    this.send(this.run);
    this.run = null;
  }

  private send(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  private async drain(): Promise<void> {
    this.blocked = true;
    while (this.queue.length > 0) {
      const item = this.queue.shift()!;
      if ('bufs' in item) {
        for (const b of item.bufs) {
          this.queuedBytes -= b.length;
          this.append(b);
        }
      } else if ('end' in item) {
        return this.finish();
      } else {
        this.flushRun();
        const held = await item.held;
        for (const b of held.bufs) this.append(b);
        if (held.end) return this.finish();
      }
    }
    this.flushRun();
    this.blocked = false;
    this.onDrained(); // reading from the server may have been paused on our queue
  }

  private finish(): void {
    this.flushRun();
    this.ended = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.blocked = false;
    this.socket.end();
  }
}
