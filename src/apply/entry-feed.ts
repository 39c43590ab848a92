import { JournalReader } from '../journal/journal-reader.js';
import type { JournalEntry } from '../journal/record.js';

export interface FeedOptions {
  journalDir: string;
  from: number;
  follow: boolean;
}

const COMPACT_AT = 4096;
// Read-ahead limits: the reader pauses while this much is buffered.
const MAX_ENTRIES = 50_000;
const MAX_BYTES = 64 * 1024 * 1024;

/**
 * Reads the journal ahead of the applier into a bounded buffer, so reading and applying overlap
 * and the applier can see what is already there (to close a batch instead of waiting).
 */
export class EntryFeed {
  private buf: JournalEntry[] = [];
  private head = 0;
  private bytes = 0;
  private ended = false;
  private failure: unknown = null;
  private wakeConsumer: (() => void) | null = null;
  private wakeReader: (() => void) | null = null;
  private readonly abort = new AbortController();
  private readonly pumping: Promise<void>;
  /** Seq of the newest entry read from the journal so far. */
  lastSeq: number;

  constructor(opts: FeedOptions) {
    this.lastSeq = opts.from - 1;
    this.pumping = this.pump(opts);
  }

  /**
   * Waits until an entry is buffered (true) or the journal ended (not following) or close() was
   * called (false). Throws what the reader threw (corruption, retention removed the seq).
   */
  async ready(): Promise<boolean> {
    for (;;) {
      if (this.head < this.buf.length) return true;
      if (this.failure) throw this.failure;
      if (this.ended) return false;
      await new Promise<void>((resolve) => { this.wakeConsumer = resolve; });
    }
  }

  /** The next entry if it is already buffered, left in place. */
  peek(): JournalEntry | undefined {
    return this.buf[this.head];
  }

  /** The next entry if it is already buffered. */
  take(): JournalEntry | undefined {
    if (this.head >= this.buf.length) return undefined;
    const e = this.buf[this.head++];
    this.bytes -= e.sql.length;
    if (this.head >= COMPACT_AT) {
      this.buf = this.buf.slice(this.head);
      this.head = 0;
    }
    this.wake('reader');
    return e;
  }

  get buffered(): number {
    return this.buf.length - this.head;
  }

  /** Stops reading; buffered entries are dropped. */
  async close(): Promise<void> {
    this.abort.abort();
    this.ended = true;
    this.buf = [];
    this.head = 0;
    this.wake('reader');
    this.wake('consumer');
    await this.pumping;
  }

  private async pump(opts: FeedOptions): Promise<void> {
    try {
      const entries = new JournalReader(opts.journalDir).entries({ from: opts.from, follow: opts.follow, signal: this.abort.signal });
      for await (const e of entries) {
        if (this.abort.signal.aborted) break;
        this.buf.push(e);
        this.bytes += e.sql.length;
        this.lastSeq = e.seq;
        this.wake('consumer');
        while (!this.abort.signal.aborted && (this.buffered >= MAX_ENTRIES || this.bytes >= MAX_BYTES)) {
          await new Promise<void>((resolve) => { this.wakeReader = resolve; });
        }
      }
    } catch (err) {
      if (!this.abort.signal.aborted) this.failure = err;
    } finally {
      this.ended = true;
      this.wake('consumer');
    }
  }

  private wake(who: 'consumer' | 'reader'): void {
    const fn = who === 'consumer' ? this.wakeConsumer : this.wakeReader;
    if (who === 'consumer') this.wakeConsumer = null;
    else this.wakeReader = null;
    fn?.();
  }
}
