import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectionOptions } from 'mysql2/promise';
import type { JournalEntry } from '../journal/record.js';
import { silentLogger, type Logger } from '../log.js';
import type { Pack } from '../translate/pack.js';
import { BatchApplier, TransientError, type OnError, type Planned, type Queued } from './batch-applier.js';
import { CheckpointPublisher } from './checkpoint-publisher.js';
import { commitsOnItsOwn } from './ddl-entries.js';
import { EntryFeed } from './entry-feed.js';
import { queueSql } from './repair-queue.js';
import { ReplayError, statementExcerpt } from './replay-errors.js';
import { ReplayMetrics } from './replay-metrics.js';
import { ReplayPosition, type StoredPosition } from './replay-position.js';
import { sqlIdent } from './sql-literals.js';
import { TargetSession } from './target-session.js';

export type { OnError };

export interface ReplayOptions {
  journalDir: string;
  /** mysql2 connection options of the target (host, port, user, password, ssl...). */
  target: ConnectionOptions;
  /** Database the pack writes into; null (default): each entry's own database. */
  targetDb?: string | null;
  pack: Pack;
  /** Names the position in the target and the checkpoint file; default "replay". */
  consumer?: string;
  /** First seq to apply when the target has no position yet (default 1). */
  from?: number;
  /** Use `from` even when the target's position says otherwise. */
  forceFrom?: boolean;
  /** Keep applying as the journal grows, until stop(). */
  follow?: boolean;
  onError?: OnError;
  /** Most source transactions per target transaction (default 100). */
  batch?: number;
  log?: Logger;
}

export interface ReplaySummary {
  appliedSeq: number;
  statements: number;
  transactions: number;
  flagged: number;
  queued: number;
}

interface PlannedBatch {
  entries: JournalEntry[];
  planned: Planned | null;
}

const CONSUMER_NAME = /^[A-Za-z0-9_.-]{1,60}$/;
/** A batch also ends at about this much estimated work, so locks and follow latency stay short. */
const BATCH_WORK_MS = 5;
const BATCH_SOFT_BYTES = 1024 * 1024;
const TRANSIENT_ATTEMPTS = 5;
const TRANSIENT_PAUSE_MS = 100;

/**
 * Applies committed journal transactions to a target database in journal order, through a pack.
 * The position lives in the target and commits with the writes it covers, so a replayer killed
 * at any moment resumes with no duplicate and no gap. Several source transactions share one
 * target transaction; a pack with `plan` gets them sent in a single round trip, and a failure
 * is then pinned down by replaying that batch statement by statement.
 */
export class ReplayEngine {
  readonly metrics: ReplayMetrics;
  readonly consumer: string;
  private readonly log: Logger;
  private readonly onError: OnError;
  private readonly batchTxns: number;
  private readonly checkpoints: CheckpointPublisher;
  private session: TargetSession | null = null;
  private position: ReplayPosition | null = null;
  private applier: BatchApplier | null = null;
  private feed: EntryFeed | null = null;
  private running: Promise<ReplaySummary> | null = null;
  private ended = false;
  private stopping = false;
  /** Waiting for the first entry of a batch: nothing is open on the target. */
  private idle = false;
  /** A DDL that may have taken effect before a crash (see ddl-entries.ts); null once past it. */
  private uncertainDdlSeq: number | null = null;
  /** The next batch, read and planned while the previous one was executing. */
  private ahead: PlannedBatch | null = null;
  /** Measured target time per entry, to size batches to about BATCH_WORK_MS. */
  private msPerEntry = 0.1;
  private appliedTxn = 0;
  private appliedTs = 0;
  private readonly waiters: { seq: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  /** pauseAt(): apply nothing beyond this seq until resume(). */
  private pauseSeq: number | null = null;
  private wakePaused: (() => void) | null = null;
  private readonly stats: ReplaySummary = { appliedSeq: 0, statements: 0, transactions: 0, flagged: 0, queued: 0 };

  constructor(private readonly opts: ReplayOptions) {
    this.consumer = opts.consumer ?? 'replay';
    if (!CONSUMER_NAME.test(this.consumer)) throw new ReplayError('REPLAY_BAD_OPTION', `consumer name must match ${CONSUMER_NAME}, got ${JSON.stringify(this.consumer)}`);
    this.batchTxns = opts.batch ?? 100;
    if (!Number.isInteger(this.batchTxns) || this.batchTxns < 1) throw new ReplayError('REPLAY_BAD_OPTION', `batch must be an integer >= 1, got ${opts.batch}`);
    if (opts.from !== undefined && (!Number.isSafeInteger(opts.from) || opts.from < 1)) throw new ReplayError('REPLAY_BAD_OPTION', `from must be a seq >= 1, got ${opts.from}`);
    this.onError = opts.onError ?? 'halt';
    this.log = opts.log ?? silentLogger();
    this.checkpoints = new CheckpointPublisher(opts.journalDir, this.consumer, this.log);
    this.metrics = new ReplayMetrics({ appliedSeq: () => this.appliedSeq, lagSeconds: () => this.lagSeconds() });
  }

  /** Last seq committed on the target. */
  get appliedSeq(): number {
    return this.stats.appliedSeq;
  }

  /** Connects, takes the consumer's lock, settles where to start, and starts applying. */
  async start(): Promise<void> {
    if (this.running) throw new ReplayError('REPLAY_BAD_OPTION', 'start() was already called');
    const t = this.opts.target;
    const session = await TargetSession.open(t).catch((err: Error) => {
      throw new ReplayError('REPLAY_TARGET_FAILED', `cannot connect to the target ${t.host ?? 'localhost'}:${t.port ?? 3306} as ${t.user ?? '(no user)'}: ${err.message}`, { cause: err });
    });
    try {
      this.session = session;
      this.position = new ReplayPosition(session, this.consumer);
      await this.position.createSchema();
      await this.position.lock();
      const from = await this.settleStart(await this.position.read());
      this.checkpoints.publish(this.appliedSeq);
      const [{ max }] = await session.query<{ max: number }>('SELECT @@max_allowed_packet AS max');
      this.applier = new BatchApplier({
        session, position: this.position, pack: this.opts.pack, consumer: this.consumer, onError: this.onError,
        targetDb: this.opts.targetDb ?? null, maxPacketBytes: Number(max), log: this.log,
        committed: (entries, queued) => this.committed(entries, queued),
        applied: () => ({ seq: this.appliedSeq, txn: this.appliedTxn }),
      });
      await this.useTargetDb(session);
      await this.opts.pack.prepareTarget?.(session, this.opts.targetDb ?? null);
      this.feed = new EntryFeed({ journalDir: this.opts.journalDir, from, follow: this.opts.follow ?? false });
      this.log.info({ consumer: this.consumer, pack: this.opts.pack.name, from, follow: this.opts.follow ?? false, onError: this.onError }, 'replay started');
    } catch (err) {
      await session.close();
      throw err;
    }
    this.running = this.loop();
    this.running.catch(() => {}); // reported through finished()/waitFor()
  }

  /** Resolves when replay ends (journal end without follow, or stop()); rejects on a halt or failure. */
  finished(): Promise<ReplaySummary> {
    if (!this.running) throw new ReplayError('REPLAY_BAD_OPTION', 'finished() before start()');
    return this.running;
  }

  /** Finishes the current batch, commits it and ends. */
  async stop(): Promise<ReplaySummary> {
    this.stopping = true;
    this.wakePaused?.();
    if (this.idle) await this.feed?.close();
    return this.finished();
  }

  /** Resolves once everything up to `seq` is committed on the target. */
  waitFor(seq: number, timeoutMs?: number): Promise<void> {
    if (this.appliedSeq >= seq) return Promise.resolve();
    if (this.ended) return Promise.reject(this.stoppedBefore(seq));
    return new Promise((resolve, reject) => {
      const waiter = { seq, resolve, reject };
      this.waiters.push(waiter);
      if (timeoutMs === undefined) return;
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new ReplayError('REPLAY_STOPPED', `seq ${seq} was not applied within ${timeoutMs} ms (applied: ${this.appliedSeq})`));
      }, timeoutMs);
      waiter.resolve = () => { clearTimeout(timer); resolve(); };
      waiter.reject = (e) => { clearTimeout(timer); reject(e); };
    });
  }

  /**
   * Applies everything up to exactly `seq` (the last seq of a transaction, as a locked gate's
   * seq is) and nothing beyond it until resume(); resolves once the target is there. Call it
   * before the journal can pass `seq` (e.g. while the gate is locked) or it may already have.
   */
  pauseAt(seq: number): Promise<void> {
    if (this.appliedSeq > seq) return Promise.reject(new ReplayError('REPLAY_BAD_OPTION', `cannot pause at seq ${seq}: seq ${this.appliedSeq} is already applied`));
    this.pauseSeq = seq;
    return this.waitFor(seq).then(() => {
      if (this.appliedSeq !== seq) throw new ReplayError('REPLAY_BAD_OPTION', `pausing at seq ${seq} came too late: a batch up to seq ${this.appliedSeq} was already under way`);
    });
  }

  resume(): void {
    this.pauseSeq = null;
    this.wakePaused?.();
  }

  summary(): ReplaySummary {
    return { ...this.stats };
  }

  /** Now minus the journal time of the last applied entry; 0 when following and caught up. */
  lagSeconds(): number {
    const caughtUp = this.opts.follow && this.feed !== null && this.feed.buffered === 0 && this.appliedSeq >= this.feed.lastSeq;
    if (caughtUp || this.appliedTs === 0) return 0;
    return Math.max(0, (Date.now() * 1000 - this.appliedTs) / 1e6);
  }

  /** Packs may write unqualified names into the --target database; replay creates no database. */
  private async useTargetDb(session: TargetSession): Promise<void> {
    const db = this.opts.targetDb;
    if (!db) return;
    await session.run([`USE ${sqlIdent(db)}`]).catch((err: Error) => {
      throw new ReplayError('REPLAY_TARGET_FAILED', `cannot use the target database ${sqlIdent(db)}: ${err.message}; replay creates no database, create it first`, { cause: err });
    });
  }

  /** The first seq to apply: the target's position wins; --from only where there is none, or forced. */
  private async settleStart(stored: StoredPosition | null): Promise<number> {
    const from = this.opts.from;
    const position = this.position as ReplayPosition;
    if (stored && (from === undefined || from === stored.seq + 1)) {
      this.stats.appliedSeq = stored.seq;
      this.appliedTxn = stored.txn;
      this.uncertainDdlSeq = stored.ddlSeq === stored.seq + 1 ? stored.ddlSeq : null;
      return stored.seq + 1;
    }
    if (stored && !this.opts.forceFrom) {
      const effect = (from as number) <= stored.seq ? `apply seqs ${from}..${stored.seq} a second time` : `skip seqs ${stored.seq + 1}..${(from as number) - 1}`;
      throw new ReplayError('REPLAY_FROM_CONFLICTS',
        `the target says consumer "${this.consumer}" has applied through seq ${stored.seq}, so replay resumes at ${stored.seq + 1}; ` +
          `--from ${from} would ${effect}. Leave out --from to resume, or add --force-from if that is really wanted`);
    }
    const start = from ?? 1;
    if (stored) this.log.warn({ consumer: this.consumer, stored: stored.seq, from: start }, '--force-from: overriding the position stored in the target');
    // Skipping is never silent: the skipped seqs go to the repair queue with the new position.
    const skipped = stored && start > stored.seq + 1
      ? [queueSql(this.consumer, stored.seq + 1, [{ type: 'skipped-seqs', key: `${stored.seq + 1}..${start - 1}` }], `--force-from ${start} skipped them unapplied`)]
      : [];
    await position.reset(start - 1, skipped);
    this.stats.appliedSeq = start - 1;
    return start;
  }

  private async loop(): Promise<ReplaySummary> {
    const feed = this.feed as EntryFeed;
    try {
      for (;;) {
        if (await this.heldAtPause()) break;
        let batch: PlannedBatch;
        if (this.ahead) {
          batch = this.takeAhead();
        } else {
          this.idle = true;
          const more = await feed.ready();
          this.idle = false;
          if (!more) break;
          if (this.pauseSeq !== null && this.appliedSeq >= this.pauseSeq) continue; // paused while waiting
          const first = feed.take() as JournalEntry;
          if (commitsOnItsOwn(first)) {
            const rerun = this.uncertainDdlSeq === first.seq;
            this.uncertainDdlSeq = null;
            await this.retrying(() => (this.applier as BatchApplier).applyDdl(first, rerun));
            if (this.stopping) break;
            continue;
          }
          batch = { entries: await this.collectBatch(first), planned: null };
        }
        await this.retrying(async () => {
          const planned = batch.planned;
          batch.planned = null; // a retry starts from a forgotten context: plan again
          await this.applyBatch(batch.entries, planned);
        });
        if (this.stopping) break; // a batch read ahead is dropped: it was not applied, and is read again next time
      }
      this.log.info({ ...this.stats, consumer: this.consumer }, 'replay finished');
      return this.summary();
    } catch (err) {
      this.failWaiters(err as Error);
      throw err;
    } finally {
      this.ended = true;
      this.idle = false;
      await feed.close();
      await this.checkpoints.flush();
      await this.session?.close();
      this.failWaiters(null);
    }
  }

  /** Waits while paused at the applied seq; true when stop() came meanwhile. */
  private async heldAtPause(): Promise<boolean> {
    while (this.pauseSeq !== null && this.appliedSeq >= this.pauseSeq && !this.stopping) {
      this.idle = true;
      await new Promise<void>((resolve) => { this.wakePaused = resolve; });
      this.wakePaused = null;
      this.idle = false;
    }
    return this.stopping;
  }

  /** The batch read ahead; when a pause came after it was read and it crosses the pause, its part up to the pause. */
  private takeAhead(): PlannedBatch {
    const ahead = this.ahead as PlannedBatch;
    this.ahead = null;
    const cut = this.pauseSeq === null ? -1 : ahead.entries.findIndex((e) => e.last && e.seq >= (this.pauseSeq as number));
    if (cut < 0 || cut === ahead.entries.length - 1) return ahead;
    // The plan covered both parts; the context it assumed for the second part is forgotten, so both are planned again.
    (this.session as TargetSession).context.forget();
    this.ahead = { entries: ahead.entries.slice(cut + 1), planned: null };
    return { entries: ahead.entries.slice(0, cut + 1), planned: null };
  }

  /**
   * Whole source transactions from `first` on, ending at the --batch count, ~5 ms of estimated
   * work, 1 MiB of SQL, a DDL, or when no more entries are already read (never waiting with a
   * transaction open, except for the rest of a transaction, which is already being read).
   */
  private async collectBatch(first: JournalEntry): Promise<JournalEntry[]> {
    const feed = this.feed as EntryFeed;
    const entries = [first];
    let txns = first.last ? 1 : 0;
    let bytes = first.sql.length;
    const workBudget = Math.max(1, Math.floor(BATCH_WORK_MS / this.msPerEntry));
    for (let e = first; ;) {
      if (e.last) {
        if (txns >= this.batchTxns || entries.length >= workBudget || bytes >= BATCH_SOFT_BYTES || this.stopping || !feed.peek() || this.pausesAfter(e)) break;
      } else if (!(await feed.ready())) {
        throw new ReplayError('REPLAY_JOURNAL_ENDED', `the journal ended inside transaction ${e.txn} (after seq ${e.seq}): a reader never hands out part of a transaction, so the journal was closed or changed under it`);
      }
      const next = feed.peek() as JournalEntry;
      if (commitsOnItsOwn(next)) break;
      e = feed.take() as JournalEntry;
      entries.push(e);
      bytes += e.sql.length;
      if (e.last) txns++;
    }
    return entries;
  }

  /**
   * Deadlocks and lock wait timeouts come from what else runs on the target, not from the
   * entries: the target has rolled back, so the same work is tried again from its start.
   */
  private async retrying(work: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await work();
        return;
      } catch (err) {
        if (!(err instanceof TransientError)) throw err;
        const applier = this.applier as BatchApplier;
        await applier.rollback();
        if (attempt >= TRANSIENT_ATTEMPTS) throw applier.halt(err.entry, `${err.message}, ${attempt} times in a row`);
        this.log.warn({ seq: err.entry.seq, error: err.message, attempt }, 'target busy; retrying');
        await sleep(TRANSIENT_PAUSE_MS * attempt);
      }
    }
  }

  /**
   * The fast path: the batch in one packet. While the target executes it, the next batch is
   * read and planned (its context assumes this one succeeds; if it fails, that plan is dropped).
   * A failed packet is rolled back and the batch replayed statement by statement.
   */
  private async applyBatch(entries: JournalEntry[], plannedBefore: Planned | null): Promise<void> {
    const applier = this.applier as BatchApplier;
    const started = performance.now();
    const planned = plannedBefore ?? applier.plan(entries);
    if (planned) {
      const readAhead = this.ahead || this.stopping ? Promise.resolve() : this.readAhead();
      // Both settle before any rollback: the plan read ahead must not land on a forgotten context.
      const [ok] = await Promise.all([applier.send(planned), readAhead]);
      if (ok) {
        this.committed(entries, planned.queued);
      } else {
        if (this.ahead) this.ahead.planned = null;
        await applier.rollback();
        await applier.applyOneByOne(entries);
      }
    } else {
      await applier.applyOneByOne(entries);
    }
    this.msPerEntry = 0.8 * this.msPerEntry + 0.2 * ((performance.now() - started) / entries.length);
  }

  /** Takes and plans the next batch if its first entry is already read (and is no DDL). */
  private async readAhead(): Promise<void> {
    const feed = this.feed as EntryFeed;
    const first = feed.peek();
    if (!first || commitsOnItsOwn(first) || (this.pauseSeq !== null && first.seq > this.pauseSeq)) return;
    feed.take();
    const entries = await this.collectBatch(first);
    this.ahead = { entries, planned: (this.applier as BatchApplier).plan(entries) };
  }

  private pausesAfter(e: JournalEntry): boolean {
    return this.pauseSeq !== null && e.seq >= this.pauseSeq;
  }

  private committed(entries: JournalEntry[], queued: Queued[]): void {
    const last = entries[entries.length - 1];
    this.stats.appliedSeq = last.seq;
    this.appliedTxn = last.txn;
    this.appliedTs = last.ts;
    let txns = 0;
    for (const e of entries) {
      if (e.last) txns++;
      if (e.flags.length === 0) continue;
      this.stats.flagged++;
      this.metrics.flagged.inc();
      this.log.warn({ seq: e.seq, flags: e.flags, statement: statementExcerpt(e.sql) }, 'applied a statement the proxy flagged: the target may differ from the source here');
    }
    this.stats.statements += entries.length;
    this.stats.transactions += txns;
    for (const q of queued) {
      this.log.warn({ seq: q.entry.seq, items: q.items, reason: q.reason, statement: statementExcerpt(q.entry.sql) }, 'queued for repair');
    }
    this.stats.queued += queued.length;
    this.metrics.statements.inc(entries.length);
    this.metrics.transactions.inc(txns);
    if (queued.length > 0) this.metrics.queued.inc(queued.length);
    this.checkpoints.publish(last.seq);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i].seq > last.seq) continue;
      this.waiters[i].resolve();
      this.waiters.splice(i, 1);
    }
  }

  private stoppedBefore(seq: number): ReplayError {
    return new ReplayError('REPLAY_STOPPED', `replay ended at seq ${this.appliedSeq}, before seq ${seq}`);
  }

  private failWaiters(err: Error | null): void {
    for (const w of this.waiters.splice(0)) w.reject(err ?? this.stoppedBefore(w.seq));
  }
}
