import type { JournalStatement } from '../journal/record.js';

/**
 * Writes of the client's open transaction, held in memory until the server acknowledges the
 * COMMIT (then they become one journal transaction) or a ROLLBACK discards them.
 */
export class TransactionBuffer {
  private writes: JournalStatement[] = [];
  private savepoints: { name: string; at: number }[] = [];
  /** When the open transaction first wrote (ms since epoch), or null. */
  firstWriteAt: number | null = null;

  get size(): number {
    return this.writes.length;
  }

  add(w: JournalStatement): void {
    if (this.writes.length === 0) this.firstWriteAt = Date.now();
    this.writes.push(w);
  }

  /** Hands out the buffered writes and starts empty. */
  take(): JournalStatement[] {
    const out = this.writes;
    this.discard();
    return out;
  }

  discard(): void {
    this.writes = [];
    this.savepoints = [];
    this.firstWriteAt = null;
  }

  /** Savepoints of the open transaction, oldest first (re-created when the session moves to another server). */
  get savepointNames(): string[] {
    return this.savepoints.map((s) => s.name);
  }

  get hasSavepoints(): boolean {
    return this.savepoints.length > 0;
  }

  savepoint(name: string): void {
    const key = name.toLowerCase();
    this.savepoints = this.savepoints.filter((s) => s.name !== key);
    this.savepoints.push({ name: key, at: this.writes.length });
  }

  /** ROLLBACK TO SAVEPOINT: drop writes made after it; the savepoint itself survives. */
  rollbackTo(name: string): void {
    const key = name.toLowerCase();
    const i = this.savepoints.findIndex((s) => s.name === key);
    if (i < 0) return; // the server answered OK, so it knew the savepoint; we saw no writes since
    this.writes.length = this.savepoints[i].at;
    this.savepoints.length = i + 1;
    if (this.writes.length === 0) this.firstWriteAt = null;
  }

  release(name: string): void {
    const key = name.toLowerCase();
    const i = this.savepoints.findIndex((s) => s.name === key);
    if (i >= 0) this.savepoints.length = i;
  }
}
