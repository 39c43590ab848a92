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
 */
export class OrderedOutput {
  private queue: Item[] = [];
  private blocked = false;
  private queuedBytes = 0;
  private ended = false;

  constructor(private readonly socket: Socket, private readonly onDrained: () => void = () => {}) {}

  /** Bytes waiting behind held bytes (for backpressure). */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  get isBlocked(): boolean {
    return this.blocked;
  }

  write(bufs: Buffer[]): void {
    if (this.ended) return;
    if (!this.blocked) return this.send(bufs);
    this.queue.push({ bufs });
    for (const b of bufs) this.queuedBytes += b.length;
  }

  /** Queues bytes that exist only once `held` resolves; it must not reject. */
  writeAfter(held: Promise<Held>): void {
    if (this.ended) return;
    this.queue.push({ held });
    if (!this.blocked) void this.drain();
  }

  /** Ends the socket after everything queued so far. */
  end(): void {
    if (this.ended) return;
    if (!this.blocked) {
      this.ended = true;
      this.socket.end();
      return;
    }
    this.queue.push({ end: true });
  }

  private send(bufs: Buffer[]): void {
    if (this.socket.destroyed) return;
    if (bufs.length === 1) {
      this.socket.write(bufs[0]);
      return;
    }
    this.socket.cork();
    for (const b of bufs) this.socket.write(b);
    this.socket.uncork();
  }

  private async drain(): Promise<void> {
    this.blocked = true;
    while (this.queue.length > 0) {
      const item = this.queue.shift()!;
      if ('bufs' in item) {
        for (const b of item.bufs) this.queuedBytes -= b.length;
        this.send(item.bufs);
      } else if ('end' in item) {
        this.finish();
        return;
      } else {
        const held = await item.held;
        this.send(held.bufs);
        if (held.end) {
          this.finish();
          return;
        }
      }
    }
    this.blocked = false;
    this.onDrained(); // reading from the server may have been paused on our queue
  }

  private finish(): void {
    this.ended = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.blocked = false;
    this.socket.end();
  }
}
