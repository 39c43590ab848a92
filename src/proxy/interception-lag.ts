import { JournalReader } from '../journal/journal-reader.js';
import { readCheckpoints, type ConsumerCheckpoint } from '../journal/consumer-checkpoints.js';

export interface ConsumerLag extends ConsumerCheckpoint { behind: number; lagSeconds: number }
export interface LagReport { seconds: number; headSeq: number; consumers: ConsumerLag[] }

/**
 * Interception lag: the age of the oldest journaled write not yet applied by the slowest
 * registered consumer (0 when every consumer is caught up, or none is registered).
 */
export class InterceptionLag {
  private readonly tsCache = new Map<number, number>();

  constructor(private readonly journalDir: string, private readonly headSeq: () => number) {}

  async measure(now = Date.now()): Promise<LagReport> {
    const head = this.headSeq();
    const consumers: ConsumerLag[] = [];
    for (const c of await readCheckpoints(this.journalDir)) {
      const behind = Math.max(0, head - c.seq);
      const lagSeconds = behind === 0 ? 0 : Math.max(0, (now - (await this.writtenAt(c.seq + 1)) / 1000) / 1000);
      consumers.push({ ...c, behind, lagSeconds });
    }
    return { seconds: Math.max(0, ...consumers.map((c) => c.lagSeconds)), headSeq: head, consumers };
  }

  /** The proxy's execution time (µs) of the record at `seq`. */
  private async writtenAt(seq: number): Promise<number> {
    const cached = this.tsCache.get(seq);
    if (cached !== undefined) return cached;
    const ac = new AbortController();
    let ts = Date.now() * 1000;
    for await (const e of new JournalReader(this.journalDir).entries({ from: seq, signal: ac.signal })) {
      ts = e.ts;
      break;
    }
    ac.abort();
    if (this.tsCache.size > 1000) this.tsCache.clear();
    this.tsCache.set(seq, ts);
    return ts;
  }
}
