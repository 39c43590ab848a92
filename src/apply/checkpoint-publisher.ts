import { writeCheckpoint } from '../journal/consumer-checkpoints.js';
import type { Logger } from '../log.js';

/**
 * Publishes the applied seq to `<journal>/consumers/<name>.json` for the proxy's lag and
 * retention view. Never blocks replay: one write at a time, and while one is running only the
 * newest seq is kept for the next. The target's position row stays the authority.
 */
export class CheckpointPublisher {
  private pending: number | null = null;
  private writing: Promise<void> | null = null;
  private warned = false;

  constructor(private readonly journalDir: string, private readonly name: string, private readonly log: Logger) {}

  publish(seq: number): void {
    this.pending = seq;
    this.writing ??= this.drain();
  }

  /** Resolves once the newest seq published so far is on disk (or failed, logged). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    while (this.pending !== null) {
      const seq = this.pending;
      this.pending = null;
      try {
        await writeCheckpoint(this.journalDir, this.name, seq);
        this.warned = false;
      } catch (err) {
        // The proxy then shows a stale position (more lag); replay itself is unaffected.
        if (!this.warned) this.log.warn({ err, journalDir: this.journalDir }, 'cannot write the consumer checkpoint file; the proxy will show a stale replay position');
        this.warned = true;
      }
    }
    this.writing = null;
  }
}
