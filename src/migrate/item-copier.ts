import type { Connection, ConnectionOptions } from 'mysql2/promise';
import { TargetSession } from '../apply/target-session.js';
import { JournalReader } from '../journal/journal-reader.js';
import type { Logger } from '../log.js';
import type { ConvertContext, LogicalItem, Pack, SqlRunner } from '../translate/pack.js';
import { ItemLog, itemDoneSql, itemId } from './item-log.js';
import { causeText, MigrateError } from './migrate-errors.js';
import { quoteIdent } from './sql-names.js';
import { StopRequested, type Throttle } from './throttle.js';
import { runUpgradeCommand, type UpgradeCommand } from './upgrade-command.js';

// Items a target transaction commits together (with their item-log rows), and the bytes written
// and time open after which it commits early: fewer commits, yet a bounded transaction, and
// progress (onItem) and stops that lag a slow or throttled run by no more than BATCH_MS.
const BATCH_ITEMS = 50;
const BATCH_BYTES = 1024 * 1024;
const BATCH_MS = 100;

export interface ItemCopyOptions {
  /** A pack with listItems and convertItem. */
  pack: Pack;
  /** The target server; the pack writes into `targetDb` there. */
  target: ConnectionOptions;
  targetDb: string;
  journalDir: string;
  /** The migration's bookkeeping connection to the target. */
  book: Connection;
  throttle: Throttle;
  log: Logger;
  stopping: () => boolean;
  /** Called after each item converted at this cut. */
  onItem: () => void;
  /** Makes the target schema instead of the pack's targetSchema. */
  upgradeCommand?: UpgradeCommand;
}

export interface ItemCopyResult {
  /** false: stopped before every item was converted. */
  complete: boolean;
  converted: number;
  /** Items converted at an older cut with no write since: not converted again. */
  kept: number;
  /** The target database was made anew (first run, or writes since the older cut). */
  rebuilt: boolean;
}

/**
 * Converts a pack's logical items from a snapshot of the source at the cut into `targetDb`, in
 * listItems order, one at a time, several items per target transaction (BATCH_ITEMS, _BYTES, _MS),
 * each logged (ItemLog) in the transaction that converted it: a kill loses whole items only.
 *
 * Resuming. Items done before a kill hold the source as of their own older cut S1; this run's cut
 * is S2. If the journal holds no entry in (S1, S2], nothing was written and every done item is
 * kept. If it holds any, the target database is dropped and converted again from nothing:
 * converting an item again only replaces what the item is now, so an item the source lost in
 * between (a page deleted or moved away) would stay on the target, and the pack's itemsOf names
 * pages by id or whole tables for some writes, too coarse to tell which older items a write
 * touched. Simple and exact; a busy source makes every resume a full conversion.
 */
export class ItemCopier {
  private readonly itemLog: ItemLog;

  constructor(private readonly o: ItemCopyOptions) {
    this.itemLog = new ItemLog(o.book);
  }

  async run(source: SqlRunner, cutSeq: number): Promise<ItemCopyResult> {
    await this.itemLog.createSchema();
    const rebuilt = await this.prepareTarget(cutSeq);
    await this.itemLog.promoteDone(cutSeq);
    const done = await this.itemLog.doneItems();
    if (done.size > 0) this.o.log.info({ cutSeq, kept: done.size }, 'resuming: items converted at an older cut with no write since are kept');
    const result: ItemCopyResult = { complete: false, converted: 0, kept: done.size, rebuilt };
    const ctx = this.runContext(rebuilt);
    const target = new CountingRunner(await this.open(TargetSession.open({ ...this.o.target, database: this.o.targetDb })));
    const batch: LogicalItem[] = [];
    let openedAt = 0;
    const commit = async () => {
      if (batch.length === 0) return;
      await this.onTarget(`committing ${batch.length} items up to ${label(batch[batch.length - 1])}`, () => target.exec('COMMIT'));
      const committed = batch.splice(0).length;
      result.converted += committed;
      for (let i = 0; i < committed; i++) this.o.onItem();
    };
    try {
      for await (const item of this.o.pack.listItems!(source)) {
        if (done.has(itemId(item))) continue;
        if (this.o.stopping() || !(await this.admitted())) {
          await commit();
          return result;
        }
        if (batch.length === 0) {
          await this.onTarget(`converting ${label(item)}`, () => target.exec('START TRANSACTION'));
          target.bytes = 0;
          openedAt = Date.now();
        }
        batch.push(item);
        await this.convert(item, source, target, cutSeq, ctx);
        if (batch.length >= BATCH_ITEMS || target.bytes >= BATCH_BYTES || Date.now() - openedAt >= BATCH_MS) await commit();
      }
      await commit();
    } catch (err) {
      if (batch.length > 0) await target.exec('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      await target.close();
    }
    result.complete = true;
    return result;
  }

  /** false: a stop was requested while waiting for the throttle. */
  private async admitted(): Promise<boolean> {
    try {
      await this.o.throttle.admit(1);
      return true;
    } catch (err) {
      if (err instanceof StopRequested) return false;
      throw err;
    }
  }

  /**
   * A target made by this run holds nothing of an item before it is converted, unless the
   * application's upgrade command made it: that may add content of its own (an installer's main page).
   */
  private runContext(rebuilt: boolean): ConvertContext {
    const reads = new Map<string, Promise<unknown>>();
    return {
      fresh: rebuilt && !this.o.upgradeCommand,
      readOnce<T>(key: string, read: () => Promise<T>): Promise<T> {
        if (!reads.has(key)) reads.set(key, read());
        return reads.get(key) as Promise<T>;
      },
    };
  }

  /**
   * Makes the target database when this migration has not made it yet, or made it only partly,
   * or when writes since the older items' cut make them stale. Returns whether it was (re)made.
   */
  private async prepareTarget(cutSeq: number): Promise<boolean> {
    const db = this.o.targetDb;
    const state = await this.itemLog.targetState(db);
    if (state === 'absent' && (await this.databaseExists(db))) {
      throw new MigrateError('MIGRATE_TARGET_NOT_EMPTY', `the target database ${db} exists and was not made by this migration; drop it or choose another --target-db`);
    }
    if (state === 'ready' && !(await this.writtenSinceOldestItem(cutSeq))) return false;
    if (state === 'ready') this.o.log.warn({ cutSeq }, 'the source was written since the items converted before were read: converting every item again');
    await this.itemLog.markCreating(db);
    await this.itemLog.forgetItems();
    const admin = await this.open(TargetSession.open(this.o.target));
    try {
      await this.onTarget(`dropping ${db}`, () => admin.exec(`DROP DATABASE IF EXISTS ${quoteIdent(db)}`));
      await this.onTarget(`creating ${db}`, () => admin.exec(`CREATE DATABASE ${quoteIdent(db)}`));
    } finally {
      await admin.close();
    }
    if (this.o.upgradeCommand) await runUpgradeCommand(this.o.upgradeCommand, this.o.target, db, this.o.log);
    const target = await this.open(TargetSession.open({ ...this.o.target, database: db }));
    try {
      const schema = this.o.upgradeCommand ? [] : this.o.pack.targetSchema ?? [];
      for (const ddl of schema) await this.onTarget(`creating ${db}'s schema`, () => target.exec(ddl));
      await this.onTarget(`preparing ${db} for the pack`, () => this.o.pack.prepareTarget?.(target, db) ?? Promise.resolve());
    } finally {
      await target.close();
    }
    await this.itemLog.markReady(db);
    return true;
  }

  /** Any journal entry after the oldest converted item's cut, up to this cut (the journal holds only writes). */
  private async writtenSinceOldestItem(cutSeq: number): Promise<boolean> {
    const cuts = [...(await this.itemLog.doneItems()).values()];
    if (cuts.length === 0) return false;
    const oldest = Math.min(...cuts);
    if (oldest >= cutSeq) return false;
    const ac = new AbortController();
    try {
      for await (const e of new JournalReader(this.o.journalDir).entries({ from: oldest + 1, signal: ac.signal })) return e.seq <= cutSeq;
      return false;
    } catch (err) {
      if ((err as { code?: string }).code === 'JOURNAL_SEQ_GONE') return true;
      throw err;
    } finally {
      ac.abort();
    }
  }

  /** Converts one item and logs it, inside the batch's open transaction. */
  private async convert(item: LogicalItem, source: SqlRunner, target: SqlRunner, cutSeq: number, ctx: ConvertContext): Promise<void> {
    await this.o.pack.convertItem!(item, source, target, ctx).catch((err: unknown) => {
      throw new MigrateError('MIGRATE_CONVERT_FAILED', `converting ${label(item)} failed: ${causeText(err)}; fix the cause and run migrate again (it resumes after the items done)`, { cause: err });
    });
    await this.onTarget(`logging ${label(item)}`, () => target.exec(itemDoneSql(item, cutSeq)));
  }

  private async databaseExists(db: string): Promise<boolean> {
    const [rows] = await this.o.book.query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [db]);
    return (rows as unknown[]).length > 0;
  }

  private async open(session: Promise<TargetSession>): Promise<TargetSession> {
    return session.catch((err: unknown) => {
      throw new MigrateError('MIGRATE_TARGET_FAILED', `cannot connect to the target ${this.o.target.host ?? 'localhost'}:${this.o.target.port ?? 3306}: ${causeText(err)}`, { cause: err });
    });
  }

  private async onTarget<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof MigrateError) throw err;
      throw new MigrateError('MIGRATE_TARGET_FAILED', `${what}: the target refused it: ${causeText(err)}`, { cause: err });
    }
  }
}

function label(item: LogicalItem): string {
  return `${item.type} ${JSON.stringify(item.key)}`;
}

/** The target session, counting the bytes written through it (to bound a batch's transaction). */
class CountingRunner implements SqlRunner {
  bytes = 0;

  constructor(private readonly session: TargetSession) {}

  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.session.query<T>(sql, params);
  }

  exec(sql: string | Buffer, params?: unknown[]): Promise<{ affectedRows: number; insertId: number }> {
    this.bytes += sql.length + (params ?? []).reduce<number>((n, v) => n + (Buffer.isBuffer(v) ? v.length : String(v).length), 0);
    return this.session.exec(sql, params);
  }

  close(): Promise<void> {
    return this.session.close();
  }
}
