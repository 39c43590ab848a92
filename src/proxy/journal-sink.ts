import type { Logger } from '../log.js';
import type { JournalWriter } from '../journal/journal-writer.js';
import type { AppendResult, JournalTxn } from '../journal/record.js';

export class JournalUnavailableError extends Error {
  readonly code = 'JOURNAL_UNAVAILABLE';
}

/**
 * The proxy's side of the journal. When an append fails (disk full, I/O error) the server has
 * already committed those writes, so they are kept here and retried until the disk takes them;
 * meanwhile `writable` is false and the proxy refuses new writes before they reach the server.
 */
export class JournalSink {
  private backlog: JournalTxn[] = [];
  private failure: Error | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private inFlight = new Set<Promise<unknown>>();

  constructor(private readonly writer: JournalWriter, private readonly log: Logger, private readonly retryMs = 1000) {}

  get writable(): boolean {
    return this.failure === null;
  }

  get lastError(): Error | null {
    return this.failure;
  }

  get headSeq(): number {
    return this.writer.headSeq;
  }

  /** Resolves once durable; rejects if the journal could not take it (it stays queued for retry). */
  append(txn: JournalTxn): Promise<AppendResult> {
    if (this.failure) {
      this.backlog.push(txn);
      return Promise.reject(new JournalUnavailableError(`journal not writable: ${this.failure.message}`));
    }
    const p = this.writer.append(txn).catch((e: Error) => {
      this.fail(e, txn);
      throw e;
    });
    this.track(p);
    return p;
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
  }

  private fail(e: Error, txn: JournalTxn): void {
    this.backlog.push(txn);
    if (!this.failure) {
      this.failure = e;
      this.log.error({ err: e.message, code: (e as { code?: string }).code }, 'journal append failed: refusing writes until the journal is writable again; committed writes are kept in memory and retried');
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.retry();
    }, this.retryMs);
    this.retryTimer.unref();
  }

  private async retry(): Promise<void> {
    while (this.backlog.length > 0) {
      try {
        await this.writer.append(this.backlog[0]);
        this.backlog.shift();
      } catch (e) {
        this.failure = e as Error;
        this.scheduleRetry();
        return;
      }
    }
    this.log.warn({ headSeq: this.writer.headSeq }, 'journal writable again: backlog of committed writes recorded, writes resume');
    this.failure = null;
  }

  /** The head once every append in flight has settled: all acknowledged commits are in it. */
  async settledSeq(): Promise<number> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    return this.writer.headSeq;
  }

  get stats(): { fsyncs: number; writes: number; bytes: number } {
    return this.writer.stats;
  }

  /** Waits for appends in flight; the backlog is retried for up to `ms`. */
  async drain(ms: number): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    const deadline = Date.now() + ms;
    while (this.backlog.length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (this.backlog.length > 0) {
      this.log.error({ transactions: this.backlog.length }, 'exiting with committed writes that never reached the journal; the target must be verified and repaired from the source');
    }
  }

  async close(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.writer.close();
  }
}
