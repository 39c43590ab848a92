import type { StoredRecord } from './record.js';

/**
 * What the next record must look like: seq +1 with no gap, txn ids +1 after each `last`, a txn
 * stays on one connection, and every batch starts at a txn boundary with `batchSeq` = its first seq.
 */
export class RecordOrder {
  constructor(
    public nextSeq: number,
    public nextTxn: number,
    private midTxnConn: number | null = null,
    private openBatchSeq: number | null = null,
  ) {}

  clone(): RecordOrder {
    return new RecordOrder(this.nextSeq, this.nextTxn, this.midTxnConn, this.openBatchSeq);
  }

  /** At the end of a batch (nothing half-written before this point). */
  get atBatchBoundary(): boolean {
    return this.openBatchSeq === null;
  }

  /** Why `r` cannot come next, or null after accepting it. */
  accept(r: StoredRecord): string | null {
    const e = r.entry;
    if (e.seq !== this.nextSeq) return `seq ${e.seq} where ${this.nextSeq} was expected`;
    if (e.txn !== this.nextTxn) return `txn ${e.txn} where ${this.nextTxn} was expected (seq ${e.seq})`;
    if (this.midTxnConn !== null && e.conn !== this.midTxnConn) return `txn ${e.txn} switches from conn ${this.midTxnConn} to ${e.conn} (seq ${e.seq})`;
    const batchSeq = this.openBatchSeq ?? e.seq;
    if (r.batchSeq !== batchSeq) return `seq ${e.seq} claims batch ${r.batchSeq} where ${batchSeq} was expected`;
    if (r.batchEnd && !e.last) return `batch ends inside txn ${e.txn} (seq ${e.seq})`;
    this.nextSeq++;
    if (e.last) this.nextTxn++;
    this.midTxnConn = e.last ? null : e.conn;
    this.openBatchSeq = r.batchEnd ? null : batchSeq;
    return null;
  }
}
