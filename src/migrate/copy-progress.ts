export interface ProgressSnapshot {
  doneRows: number;
  totalRows: number;
  /** Why the copy is held right now, or null. */
  held: string | null;
}

const BAR = 24;

/** A one-line progress display on a terminal: bar, rows, rows/s, ETA, and what holds the copy. */
export class CopyProgress {
  private timer: NodeJS.Timeout | null = null;
  private lastRows: number | null = null;
  private lastAt = Date.now();
  private rate = 0;

  constructor(private readonly out: NodeJS.WriteStream, private readonly read: () => ProgressSnapshot) {}

  start(intervalMs = 500): void {
    this.timer = setInterval(() => this.draw(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    this.draw();
    this.out.write('\n');
  }

  private draw(): void {
    const p = this.read();
    const now = Date.now();
    if (this.lastRows !== null) {
      const instant = ((p.doneRows - this.lastRows) * 1000) / Math.max(1, now - this.lastAt);
      this.rate = this.rate === 0 ? instant : 0.7 * this.rate + 0.3 * instant; // smoothed: chunks commit in steps
    }
    this.lastRows = p.doneRows;
    this.lastAt = now;
    const ratio = p.totalRows > 0 ? Math.min(1, p.doneRows / p.totalRows) : 1;
    const filled = Math.round(ratio * BAR);
    const left = p.totalRows - p.doneRows;
    const eta = this.rate > 0 && left > 0 ? `, ~${Math.ceil(left / this.rate)} s left` : '';
    const held = p.held ? ` [held: ${p.held}]` : '';
    this.out.write(`\r\x1b[Kcopy [${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${(ratio * 100).toFixed(1)}% ` +
      `${p.doneRows}/${p.totalRows} rows, ${Math.round(this.rate)} rows/s${eta}${held}`);
  }
}
