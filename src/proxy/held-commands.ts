import type { Packet } from '../protocol/packet-reader.js';

export interface HeldCommandsHooks {
  maxHoldMs: number;
  /** Run a released command as if it had just arrived (it may be held again). */
  run(p: Packet): void;
  /** Answer a command that will never run with an ERR carrying `message`. */
  refuse(p: Packet, message: string): void;
  holdEnded(seconds: number): void;
}

/**
 * One session's commands waiting at the write gate, in arrival order: everything behind a
 * held write waits behind it, so the client's order is kept. None is ever dropped silently:
 * each is released, or refused (after `maxHoldMs`, on reject, on shutdown).
 */
export class HeldCommands {
  private queue: { p: Packet; at: number }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly hooks: HeldCommandsHooks) {}

  get size(): number {
    return this.queue.length;
  }

  hold(p: Packet): void {
    this.queue.push({ p, at: Date.now() });
    if (!this.timer) this.arm();
  }

  /** Runs held commands in order; `stillOpen` stops it when the session closes meanwhile. */
  release(stillOpen: () => boolean): void {
    const queue = this.take();
    const now = Date.now();
    for (const h of queue) {
      if (!stillOpen()) return;
      if (this.queue.length === 0) this.hooks.holdEnded((now - h.at) / 1000);
      this.hooks.run(h.p);
    }
  }

  refuseAll(message: string): void {
    const now = Date.now();
    for (const h of this.take()) {
      this.hooks.holdEnded((now - h.at) / 1000);
      this.hooks.refuse(h.p, message);
    }
  }

  /** The session is gone: its client will never read an answer. */
  drop(): void {
    this.take();
  }

  private take(): { p: Packet; at: number }[] {
    const queue = this.queue;
    this.queue = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return queue;
  }

  private arm(): void {
    const first = this.queue[0];
    if (!first) return;
    const { maxHoldMs } = this.hooks;
    this.timer = setTimeout(() => {
      this.timer = null;
      const h = this.queue.shift();
      if (!h) return;
      this.hooks.holdEnded((Date.now() - h.at) / 1000);
      this.hooks.refuse(h.p, `this write was held ${maxHoldMs} ms (gate.maxHoldMs) by the upgrade write gate and was not executed; retry it`);
      this.arm();
    }, Math.max(0, first.at + maxHoldMs - Date.now()));
  }
}
