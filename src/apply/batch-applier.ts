import type { JournalEntry } from '../journal/record.js';
import type { Logger } from '../log.js';
import { TranslateError, type LogicalItem, type Pack } from '../translate/pack.js';
import { meansAlreadyApplied } from './ddl-entries.js';
import { queueSql, repairItems } from './repair-queue.js';
import { takesStatementPrefix, withPrefix } from './statement-prefix.js';
import { ReplayError, ReplayHalt, statementExcerpt } from './replay-errors.js';
import type { ReplayPosition } from './replay-position.js';
import { asStatementError, joinStatements, type StatementError, type TargetSession } from './target-session.js';

export type OnError = 'halt' | 'repair';

/** A batch as one packet, and the repair-queue rows in it. */
export interface Planned {
  /** The multi-statement text, joined ahead of time so the packet leaves as soon as the target is free. */
  packet: string;
  queued: Queued[];
}

/** A repair-queue row written with a batch. */
export interface Queued {
  entry: JournalEntry;
  items: LogicalItem[];
  reason: string;
  sql: string;
}

/** A deadlock or lock wait timeout: the target rolled back because of other work, not the entry. */
export class TransientError extends Error {
  constructor(readonly entry: JournalEntry, cause: StatementError) {
    super(`the target answered: ${cause.message} (error ${cause.errno})`);
  }
}

export interface ApplierOptions {
  session: TargetSession;
  position: ReplayPosition;
  pack: Pack;
  consumer: string;
  onError: OnError;
  /** Database the pack writes into; null: each entry's own. */
  targetDb: string | null;
  maxPacketBytes: number;
  log: Logger;
  /** After each commit on the target: the entries it covered and the repair rows it wrote. */
  committed(entries: JournalEntry[], queued: Queued[]): void;
  /** The last committed position (halts report it; a failed DDL puts it back). */
  applied(): { seq: number; txn: number };
}

/** Why one entry could not be applied as it is. */
interface EntryFailure {
  reason: string;
  items: LogicalItem[];
  errno?: number;
}

const TRANSIENT_ERRNOS = new Set([1205, 1213]);
const TXN_SAVEPOINT = 'metamorph_txn';
const ENTRY_SAVEPOINT = 'metamorph_entry';

/**
 * How batches of entries reach the target: as one planned packet (BEGIN, each entry's context
 * and statements, the position, COMMIT), or statement by statement with savepoints to pin down
 * and handle a failing entry (halt or repair), and DDL on its own.
 */
export class BatchApplier {
  constructor(private readonly o: ApplierOptions) {}

  /** The batch as one packet; null when the pack has no plan, cannot translate an entry, or it is too big. */
  plan(entries: JournalEntry[]): Planned | null {
    const { pack, session } = this.o;
    if (!pack.plan) return null;
    const statements: (string | Buffer)[] = ['BEGIN'];
    let bytes = 0;
    const queued: Queued[] = [];
    for (const e of entries) {
      let sql: (string | Buffer)[];
      try {
        sql = pack.plan(e, this.dbOf(e));
      } catch (err) {
        session.context.forget(); // the context statements planned so far were never sent
        if (err instanceof TranslateError) return null;
        throw err;
      }
      if (session.setStatement && sql.length === 1 && takesStatementPrefix(sql[0])) {
        const context = session.context.withStatementPrefix(e, this.dbOf(e), pack.forceInsertId === true);
        statements.push(...context.before, withPrefix(context.prefix, sql[0]));
      } else {
        statements.push(...session.context.statementsFor(e, this.dbOf(e), pack.forceInsertId === true), ...sql);
      }
      for (const s of sql) bytes += s.length;
      if (e.flags.length > 0 && this.o.onError === 'repair') {
        const q = this.queue(e, flaggedReason(e));
        statements.push(q.sql);
        queued.push(q);
      }
    }
    const last = entries[entries.length - 1];
    statements.push(this.o.position.updateSql(last.seq, last.txn), 'COMMIT');
    if (bytes * 4 > this.o.maxPacketBytes) {
      session.context.forget();
      return null; // too big for one packet (a character can take 4 bytes): statement by statement
    }
    return { packet: joinStatements(statements), queued };
  }

  /** Runs a planned packet: true once committed, false when a statement failed (call rollback()). */
  async send(planned: Planned): Promise<boolean> {
    try {
      await this.o.session.runPacket(planned.packet);
      return true;
    } catch (err) {
      if (!asStatementError(err)) throw this.targetFailed(err);
      return false;
    }
  }

  /** Undoes the open transaction; what the connection's session holds is no longer known. */
  async rollback(): Promise<void> {
    await this.o.session.run(['ROLLBACK']);
    this.o.session.context.forget();
  }

  /**
   * The slow, exact path: one statement per round trip, a savepoint at each source transaction
   * (a halt keeps the transactions before the failing one) and, under repair, at each entry.
   */
  async applyOneByOne(entries: JournalEntry[]): Promise<void> {
    const { session, position } = this.o;
    await session.run(['BEGIN']);
    let txnStart = 0;
    const queued: Queued[] = [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (i === 0 || entries[i - 1].last) {
        txnStart = i;
        await session.run([`SAVEPOINT ${TXN_SAVEPOINT}`]);
      }
      const failure = await this.applyEntry(e, true);
      if (failure && this.o.onError === 'halt') {
        await this.keepBefore(entries, txnStart);
        throw this.halt(e, failure.reason);
      }
      const q = this.queueIfNeeded(e, failure);
      if (q) {
        await session.run([q.sql]);
        queued.push(q);
      }
    }
    const last = entries[entries.length - 1];
    await session.run([position.updateSql(last.seq, last.txn), 'COMMIT']);
    this.o.committed(entries, queued);
  }

  /**
   * A DDL commits on its own: mark it started, run it, then store the position past it. After a
   * crash between the two the restarted replayer runs it again (`rerun`), and "already exists /
   * does not exist" errors for that one entry then mean it had taken effect.
   */
  async applyDdl(e: JournalEntry, rerun: boolean): Promise<void> {
    const { session, position } = this.o;
    await session.run([position.markDdlSql(e.seq)]);
    let failure = await this.applyEntry(e, false);
    session.context.forgetDatabase(); // DROP DATABASE may have taken the current one away
    if (failure && rerun && failure.errno !== undefined && meansAlreadyApplied(failure.errno)) {
      this.o.log.warn({ seq: e.seq, statement: statementExcerpt(e.sql), error: failure.reason },
        'this DDL had already taken effect before the replayer was restarted (it crashed between the DDL and its position update); counted as applied');
      failure = null;
    }
    if (failure && this.o.onError === 'halt') {
      const applied = this.o.applied();
      await session.run([position.updateSql(applied.seq, applied.txn)]); // clears the "DDL started" mark
      throw this.halt(e, failure.reason);
    }
    const q = this.queueIfNeeded(e, failure);
    const queued = q ? [q] : [];
    await session.run(['BEGIN', ...queued.map((x) => x.sql), position.updateSql(e.seq, e.txn), 'COMMIT']);
    this.o.committed([e], queued);
  }

  halt(e: JournalEntry, reason: string): ReplayHalt {
    return new ReplayHalt(e.seq, e.txn, statementExcerpt(e.sql), reason, this.o.applied().seq);
  }

  private dbOf(e: JournalEntry): string | null {
    return this.o.targetDb ?? e.db;
  }

  /** On a halt: commit the batch's transactions before the failing one, undo the rest. */
  private async keepBefore(entries: JournalEntry[], txnStart: number): Promise<void> {
    const { session, position } = this.o;
    if (txnStart === 0) {
      await session.run(['ROLLBACK']);
      return;
    }
    const keep = entries.slice(0, txnStart);
    const last = keep[keep.length - 1];
    await session.run([`ROLLBACK TO SAVEPOINT ${TXN_SAVEPOINT}`, position.updateSql(last.seq, last.txn), 'COMMIT']);
    this.o.committed(keep, []);
  }

  /**
   * Runs one entry: its context, then the pack. A statement error or a TranslateError is the
   * entry's failure (in a transaction under repair, its effects are rolled back to a savepoint);
   * anything else (the connection, a bug in the pack) is thrown.
   */
  private async applyEntry(e: JournalEntry, inTransaction: boolean): Promise<EntryFailure | null> {
    const { session, pack } = this.o;
    const db = this.dbOf(e);
    try {
      const context = session.context.statementsFor(e, db, pack.forceInsertId === true);
      if (context.length > 0) await session.run(context);
    } catch (err) {
      session.context.forget();
      const failure = this.entryFailure(e, err);
      return { ...failure, reason: `its session context (database ${db ?? 'none'}, SET ...) failed: ${failure.reason}` };
    }
    const savepoint = inTransaction && this.o.onError === 'repair';
    if (savepoint) await session.run([`SAVEPOINT ${ENTRY_SAVEPOINT}`]);
    try {
      if (pack.plan) for (const sql of pack.plan(e, db)) await session.run([sql]);
      else await pack.apply(e, { target: session, targetDb: db });
      return null;
    } catch (err) {
      const failure = this.entryFailure(e, err);
      if (savepoint) await session.run([`ROLLBACK TO SAVEPOINT ${ENTRY_SAVEPOINT}`]);
      return failure;
    }
  }

  private entryFailure(e: JournalEntry, err: unknown): EntryFailure {
    if (err instanceof TranslateError) return { reason: `the ${this.o.pack.name} pack cannot translate it: ${err.message}`, items: err.items };
    const se = asStatementError(err);
    if (se && TRANSIENT_ERRNOS.has(se.errno)) throw new TransientError(e, se);
    if (se) return { reason: `the target refused it: ${se.message} (error ${se.errno})`, items: [], errno: se.errno };
    if ((err as { fatal?: boolean } | null)?.fatal) throw this.targetFailed(err);
    throw this.halt(e, `the ${this.o.pack.name} pack failed on it: ${(err as Error)?.stack ?? String(err)}`);
  }

  /** The repair row for a failed entry, or for a flagged one under repair; null when none is due. */
  private queueIfNeeded(e: JournalEntry, failure: EntryFailure | null): Queued | null {
    if (failure) return this.queue(e, failure.reason, failure.items);
    return e.flags.length > 0 && this.o.onError === 'repair' ? this.queue(e, flaggedReason(e)) : null;
  }

  private queue(entry: JournalEntry, reason: string, fromError: LogicalItem[] = []): Queued {
    const items = repairItems(this.o.pack, entry, fromError);
    return { entry, items, reason, sql: queueSql(this.o.consumer, entry.seq, items, reason) };
  }

  targetFailed(err: unknown): ReplayError {
    return new ReplayError('REPLAY_TARGET_FAILED',
      `the target connection failed: ${(err as Error)?.message ?? String(err)}; nothing after seq ${this.o.applied().seq} was committed, run replay again to resume`, { cause: err });
  }
}

function flaggedReason(e: JournalEntry): string {
  return `applied, but flagged by the proxy: ${e.flags.join('; ')}`;
}
