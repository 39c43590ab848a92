/** A one-line progress display on a terminal: applied/total, rate, ETA. */
export class ReplayProgress {
  private timer: NodeJS.Timeout | null = null;
  private lastSeq: number;
  private lastAt = Date.now();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly startSeq: number,
    private readonly headSeq: number,
    private readonly applied: () => number,
  ) {
    this.lastSeq = startSeq;
  }

  start(intervalMs = 500): void {
    this.timer = setInterval(() => this.draw(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.draw();
    this.out.write('\n');
  }

  private draw(): void {
    const seq = this.applied();
    const now = Date.now();
    const rate = ((seq - this.lastSeq) * 1000) / Math.max(1, now - this.lastAt);
    this.lastSeq = seq;
    this.lastAt = now;
    const total = this.headSeq - this.startSeq;
    const done = seq - this.startSeq;
    const pct = total > 0 ? ((100 * done) / total).toFixed(1) : '100.0';
    const eta = rate > 0 && seq < this.headSeq ? `, ~${Math.ceil((this.headSeq - seq) / rate)} s left` : '';
    this.out.write(`\r\x1b[Kreplay: seq ${seq}/${this.headSeq} (${pct}%), ${Math.round(rate)} entries/s${eta}`);
  }
}
