import type { JournalEntry } from '../../src/journal/record.js';
import type { ProxyFixture } from './proxy-fixture.js';

/** Hands out the journal a piece at a time, so each test asserts on exactly its own writes. */
export class JournalCursor {
  private seen = 0;

  constructor(private readonly proxy: ProxyFixture) {}

  /** Entries journaled since the previous call. */
  async fresh(): Promise<JournalEntry[]> {
    const entries = await this.proxy.entries(this.seen + 1);
    this.seen += entries.length;
    return entries;
  }
}
