import { mkdir, type FileHandle, open } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { JournalError } from './errors.js';
import { checkTxn, type AppendResult, type JournalTxn, type StoredRecord } from './record.js';
import { encodeRecords } from './record-codec.js';
import { recoverJournal } from './recovery.js';
import { createSegment, SEGMENT_HEADER_BYTES, segmentName, syncDir } from './segment-file.js';
import { WriterLock } from './writer-lock.js';

export interface JournalWriterOptions {
  dir: string;
  /**
   * 'always': an append resolves only after its bytes are fsync'd. 'none' skips every fsync:
   * an acknowledged append can be lost on power failure or an OS crash. Unsafe outside tests and benchmarks.
   */
  fsync: 'always' | 'none';
  /** A new segment starts at the first transaction boundary at or past this size. Default 64 MiB. */
  segmentBytes?: number;
  log?: (msg: string, extra?: object) => void;
  /** Called with the duration of each data fsync, in seconds (for the fsync latency histogram). */
  onSync?: (seconds: number) => void;
}

interface Pending {
  txn: JournalTxn;
  bytes: number;
  resolve: (result: AppendResult) => void;
  reject: (err: Error) => void;
}

interface EncodedBatch {
  buffer: Buffer;
  results: AppendResult[];
  nextSeq: number;
  nextTxn: number;
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Bounds the memory of one batch; group commit needs far less than this. */
const MAX_BATCH_BYTES = 16 * 1024 * 1024;
/** Per-statement framing and context, for sizing batches (exactness is not needed). */
const STATEMENT_OVERHEAD_ESTIMATE = 160;

/**
 * The journal's only writer (a lock file keeps others out). Appends are written in call order.
 * Group commit: while one write+fsync runs, new appends queue, and then all of them go out as
 * one write and one fsync. Seqs and txn ids are assigned when a batch is encoded and kept only
 * once it is durable, so a failed write leaves neither a gap nor a torn record behind.
 */
export class JournalWriter {
  readonly stats = { fsyncs: 0, writes: 0, bytes: 0 };
  private queue: Pending[] = [];
  private draining: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  /** A failed write could not be cut back yet; do that before the next one. */
  private tailDirty = false;

  private constructor(
    private readonly dir: string,
    private readonly sync: boolean,
    private readonly segmentBytes: number,
    private readonly log: (msg: string, extra?: object) => void,
    private readonly lock: WriterLock,
    private fh: FileHandle,
    private size: number,
    private nextSeq: number,
    private nextTxn: number,
    private readonly onSync: (seconds: number) => void,
  ) {}

  static async open(opts: JournalWriterOptions): Promise<JournalWriter> {
    const segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes <= SEGMENT_HEADER_BYTES) {
      throw new JournalError('JOURNAL_BAD_OPTION', `journal segmentBytes must be an integer above ${SEGMENT_HEADER_BYTES}, got ${segmentBytes}`);
    }
    const log = opts.log ?? logToStderr;
    const sync = opts.fsync === 'always';
    const created = await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    if (created && sync) await syncNewDirs(resolve(opts.dir), resolve(created));
    const lock = await WriterLock.acquire(opts.dir, log);
    try {
      const active = await recoverJournal(opts.dir, sync, log);
      const fh = await open(active.path, 'r+');
      return new JournalWriter(opts.dir, sync, segmentBytes, log, lock, fh, active.size, active.nextSeq, active.nextTxn, opts.onSync ?? (() => {}));
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /** Last durable seq; 0 when the journal is empty. */
  get headSeq(): number {
    return this.nextSeq - 1;
  }

  /**
   * Resolves once the transaction's records are written (and fsync'd with fsync 'always').
   * `txn` is encoded when its batch is written, so it must not change until this settles.
   */
  append(txn: JournalTxn): Promise<AppendResult> {
    if (this.closing) return Promise.reject(new JournalError('JOURNAL_CLOSED', `journal ${this.dir} is closed; open a new writer`));
    const problem = checkTxn(txn);
    if (problem) return Promise.reject(new JournalError('JOURNAL_BAD_TXN', `journal ${this.dir} cannot record this transaction: ${problem}`));
    return new Promise((resolve, reject) => {
      this.queue.push({ txn, bytes: estimateBytes(txn), resolve, reject });
      this.draining ??= this.drain();
    });
  }

  /** Writes everything queued, then releases the directory. */
  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    while (this.draining) await this.draining;
    await this.fh.close();
    await this.lock.release();
  }

  private async drain(): Promise<void> {
    // Let appends made in the same tick join the first batch.
    await Promise.resolve();
    while (this.queue.length > 0) await this.writeBatch(this.takeBatch());
    this.draining = null;
  }

  /** Whole transactions from the queue, up to what fits the current segment or the batch limit. */
  private takeBatch(): Pending[] {
    const start = this.size >= this.segmentBytes ? SEGMENT_HEADER_BYTES : this.size;
    const room = Math.min(MAX_BATCH_BYTES, this.segmentBytes - start);
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && (count === 0 || bytes < room)) bytes += this.queue[count++].bytes;
    return this.queue.splice(0, count);
  }

  /** Never throws: a failure rejects the batch's and the queued appends and leaves the journal as it was. */
  private async writeBatch(batch: Pending[]): Promise<void> {
    try {
      if (this.tailDirty) await this.cutBack();
      if (this.size >= this.segmentBytes) await this.roll();
      const encoded = this.encode(batch);
      await this.writeDurably(encoded.buffer);
      this.size += encoded.buffer.length;
      this.nextSeq = encoded.nextSeq;
      this.nextTxn = encoded.nextTxn;
      batch.forEach((p, i) => p.resolve(encoded.results[i]));
    } catch (err) {
      await this.cutBack().catch((cutErr: Error) => this.noteDirtyTail(cutErr));
      const error = new JournalError(
        'JOURNAL_WRITE_FAILED',
        `journal ${this.dir}: ${(err as Error).message}; writes are refused until the journal is writable again`,
        { cause: err },
      );
      // What queued behind the failed write fails with it, so none of it lands ahead of a retry.
      for (const p of [...batch, ...this.queue.splice(0)]) p.reject(error);
    }
  }

  private encode(batch: Pending[]): EncodedBatch {
    const batchSeq = this.nextSeq;
    let seq = this.nextSeq;
    let txnId = this.nextTxn;
    const records: StoredRecord[] = [];
    const results: AppendResult[] = [];
    for (const { txn } of batch) {
      const firstSeq = seq;
      const last = txn.statements.length - 1;
      txn.statements.forEach((s, i) => {
        const entry = { sql: s.sql, db: s.db, session: s.session, ts: s.ts, affectedRows: s.affectedRows, insertId: s.insertId, flags: s.flags, kind: s.kind, seq: seq++, txn: txnId, conn: txn.conn, last: i === last };
        records.push({ entry, batchSeq, batchEnd: false });
      });
      results.push({ txn: txnId++, firstSeq, lastSeq: seq - 1 });
    }
    records[records.length - 1].batchEnd = true;
    return { buffer: encodeRecords(records), results, nextSeq: seq, nextTxn: txnId };
  }

  private async writeDurably(buffer: Buffer): Promise<void> {
    for (let done = 0; done < buffer.length; ) {
      const { bytesWritten } = await this.fh.write(buffer, done, buffer.length - done, this.size + done);
      if (bytesWritten === 0) throw new Error('write made no progress');
      done += bytesWritten;
    }
    this.stats.writes++;
    this.stats.bytes += buffer.length;
    if (this.sync) {
      const started = performance.now();
      await this.fh.datasync();
      this.stats.fsyncs++;
      this.onSync((performance.now() - started) / 1000);
    }
  }

  /** Starts the next segment, named after the next seq; the old one is complete and durable. */
  private async roll(): Promise<void> {
    const path = join(this.dir, segmentName(this.nextSeq));
    const fh = await createSegment(path, { firstSeq: this.nextSeq, firstTxn: this.nextTxn }, this.sync);
    if (this.sync) this.stats.fsyncs += 2;
    const old = this.fh;
    this.fh = fh;
    this.size = SEGMENT_HEADER_BYTES;
    await old.close().catch((err: Error) => this.log('journal: closing a finished segment failed', { error: err.message }));
  }

  /** Removes whatever a failed write left past the durable end. */
  private async cutBack(): Promise<void> {
    await this.fh.truncate(this.size);
    if (this.sync) await this.fh.datasync();
    this.tailDirty = false;
  }

  private noteDirtyTail(err: Error): void {
    this.tailDirty = true;
    this.log('journal: could not cut back a failed write; retrying before the next write', { dir: this.dir, offset: this.size, error: err.message });
  }
}

/** fsyncs the parent of every directory from `dir` up to `top`, all just created, so they survive a crash. */
async function syncNewDirs(dir: string, top: string): Promise<void> {
  for (let d = dir; ; d = dirname(d)) {
    await syncDir(dirname(d));
    if (d === top || d === dirname(d)) return;
  }
}

function estimateBytes(txn: JournalTxn): number {
  let bytes = 0;
  for (const s of txn.statements) bytes += s.sql.length + STATEMENT_OVERHEAD_ESTIMATE;
  return bytes;
}

function logToStderr(msg: string, extra?: object): void {
  process.stderr.write(`${JSON.stringify({ msg, ...extra })}\n`);
}
