import mysql, { type Connection, type ConnectionOptions } from 'mysql2/promise';
import { journalHead } from '../apply/journal-head.js';
import { JournalReader } from '../journal/journal-reader.js';
import { silentLogger, type Logger } from '../log.js';
import { InterceptionLag } from '../proxy/interception-lag.js';
import type { Pack } from '../translate/pack.js';
import { chunkCondition } from './chunk-planner.js';
import { takeCut, type Cut } from './consistent-cut.js';
import { journalWrites, type JournalWrites } from './journal-writes.js';
import { causeText, MigrateError } from './migrate-errors.js';
import { MigrateMetrics } from './migrate-metrics.js';
import { ItemCopier } from './item-copier.js';
import { readSourceSchema, type SourceSchema, type TableInfo } from './source-schema.js';
import { SnapshotRunner } from './snapshot-runner.js';
import { qualified, tableKey } from './sql-names.js';
import { openCopyTarget, TableCopier } from './table-copier.js';
import { prepareTargetTables } from './target-tables.js';
import { copyTriggers } from './target-triggers.js';
import { StopRequested, Throttle, type ThrottleLimits } from './throttle.js';
import { TransferLog, type ChunkRecord } from './transfer-log.js';
import type { UpgradeCommand } from './upgrade-command.js';

export interface MigrateOptions {
  /** The source database itself (not the proxy): schema, chunk planning and the snapshots. */
  source: ConnectionOptions;
  target: ConnectionOptions;
  pack: Pack;
  /** The proxy's admin socket (its write gate makes the cut). */
  adminSocket: string;
  /** The proxy's journal: DDL and writes between cuts, consumers' lag. */
  journalDir: string;
  /** Parallel copy workers, each with its own snapshot session (default 4). */
  workers?: number;
  /** Databases to copy; default every database but the system ones. */
  databases?: string[] | null;
  /** Rows per primary-key chunk (default 10 000). */
  chunkRows?: number;
  /** The proxy's `lock` timeout for the cut (default 5000 ms). */
  lockTimeoutMs?: number;
  limits?: Partial<ThrottleLimits>;
  log?: Logger;
  /** Packs that convert items: the source database they read (default: `databases` when it names one). */
  sourceDb?: string;
  /** Packs that convert items: the target database they write (made by the migration). */
  targetDb?: string;
  /** Packs that convert items: the application's command that makes the target schema, instead of the pack's targetSchema. */
  upgradeCommand?: UpgradeCommand;
}

export interface MigrateResult {
  /** The cut every copied chunk is at. */
  cutSeq: number;
  /** Where replay must start: cutSeq + 1. */
  replayFrom: number;
  /** false: stopped (SIGTERM) before every chunk was copied; run again to resume. */
  complete: boolean;
  /** How long this run's cut held writes; null when the copy was already complete (no cut taken). */
  holdMs: number | null;
  copiedRows: number;
  copiedChunks: number;
  /** Chunks done at an older cut whose table the journal shows unwritten since: kept. */
  keptChunks: number;
  /** Chunks done at an older cut whose table was written since: copied again. */
  recopiedChunks: number;
  /** Packs that convert items: items converted by this run. */
  convertedItems: number;
  /** Packs that convert items: items converted at an older cut with no write since: kept. */
  keptItems: number;
}

export type MigratePhase = 'starting' | 'planning' | 'cut' | 'copying' | 'complete' | 'stopped' | 'failed';

export interface MigrateStatus {
  phase: MigratePhase;
  cutSeq: number | null;
  holdMs: number | null;
  doneRows: number;
  totalRows: number;
  progressRatio: number;
  chunksDone: number;
  chunksTotal: number;
  /** Rows committed by this run. */
  copiedRows: number;
  held: string | null;
  limits: ThrottleLimits;
  threadsRunning: number | null;
  replayLagSeconds: number | null;
}

const DEFAULT_WORKERS = 4;
const DEFAULT_CHUNK_ROWS = 10_000;
const SCHEMA_ATTEMPTS = 5;

/**
 * `metamorph migrate` for the identity pack: a consistent cut, then every table copied in
 * primary-key chunks by parallel workers, each reading in its own snapshot of the cut, resumable
 * chunk by chunk. The copy ends at the cut; replay from cut + 1 carries the target on.
 *
 * Resuming. A killed run's snapshots are gone, so a re-run takes a new cut S2 while the chunks
 * done before hold their table as of their own older cut S1. The rule that keeps the copy exact:
 * a chunk done at S1 stays only if the journal shows no write to its table in (S1, S2] (then the
 * table is the same at S1 and S2, every write going through the proxy); otherwise it is copied
 * again at S2, its range on the target deleted first in the same transaction. `journal-writes.ts`
 * errs towards "written". So when the copy completes every chunk is at the last cut, and replay
 * from that cut + 1 is exact. Chunk bounds are planned once and kept in the target, so chunks
 * mean the same rows across runs; a table whose definition changed is dropped and planned again.
 *
 * Packs that translate to another schema (listItems/convertItem) convert item by item instead
 * of by chunk, at the same kind of cut with one snapshot session: the target database is made
 * from the pack's targetSchema (or the application's upgradeCommand) and prepareTarget,
 * listItems gives the items in the order conversion needs, and each convertItem runs in one
 * target transaction with its row in metamorph_migrate.items. Their resume rule is coarser than chunks' (see ItemCopier).
 */
export class Migration {
  readonly throttle: Throttle;
  readonly metrics: MigrateMetrics;
  private readonly log: Logger;
  private readonly workers: number;
  private readonly chunkRows: number;
  private phase: MigratePhase = 'starting';
  private stopping = false;
  private cut: Pick<Cut, 'seq' | 'holdMs'> | null = null;
  private doneRows = 0;
  private totalRows = 0;
  private chunksDone = 0;
  private chunksTotal = 0;
  private copiedRows = 0;
  private control: Connection | null = null;
  private lag: InterceptionLag | null = null;
  private head = 0;
  /** Items mode: the databases the pack reads and writes; null for identity. */
  private readonly itemDbs: { source: string; target: string } | null;

  constructor(private readonly opts: MigrateOptions) {
    this.workers = opts.workers ?? DEFAULT_WORKERS;
    this.chunkRows = opts.chunkRows ?? DEFAULT_CHUNK_ROWS;
    if (!Number.isInteger(this.workers) || this.workers < 1 || this.workers > 64) throw new MigrateError('MIGRATE_BAD_OPTION', `workers must be an integer 1..64, got ${opts.workers}`);
    if (!Number.isInteger(this.chunkRows) || this.chunkRows < 1) throw new MigrateError('MIGRATE_BAD_OPTION', `chunk rows must be an integer >= 1, got ${opts.chunkRows}`);
    this.itemDbs = opts.pack.name === 'identity' ? null : itemDatabases(opts);
    if (opts.upgradeCommand && !this.itemDbs) throw new MigrateError('MIGRATE_BAD_OPTION', 'an upgrade command needs a pack that converts items: identity makes each table as the source has it');
    this.log = opts.log ?? silentLogger();
    this.throttle = new Throttle(opts.limits ?? {}, {
      threadsRunning: () => this.threadsRunning(),
      replayLagSeconds: () => this.replayLag(),
    }, (err) => this.log.warn({ err: err.message }, 'throttle probe failed; the copy goes on with the last reading'));
    this.metrics = new MigrateMetrics({ progressRatio: () => this.ratio(), throttled: () => (this.throttle.heldBecause() ? 1 : 0) });
  }

  /** Finish the chunks being copied and end (run() then resolves with complete: false). */
  stop(): void {
    this.stopping = true;
    this.throttle.requestStop();
  }

  status(): MigrateStatus {
    return {
      phase: this.phase, cutSeq: this.cut?.seq ?? null, holdMs: this.cut ? round1(this.cut.holdMs) : null,
      doneRows: this.doneRows, totalRows: this.totalRows, progressRatio: this.ratio(),
      chunksDone: this.chunksDone, chunksTotal: this.chunksTotal, copiedRows: this.copiedRows,
      held: this.throttle.heldBecause(), limits: { ...this.throttle.limits },
      threadsRunning: this.throttle.lastThreadsRunning, replayLagSeconds: this.throttle.lastReplayLagSeconds,
    };
  }

  async run(): Promise<MigrateResult> {
    await journalHead(this.opts.journalDir).catch((err: unknown) => {
      throw new MigrateError('MIGRATE_BAD_OPTION', `cannot read the journal in ${this.opts.journalDir} (${causeText(err)}): point --journal at the proxy's journal.dir`, { cause: err });
    });
    const control = await connect('source', this.opts.source);
    this.control = control;
    let book: Connection | null = null;
    try {
      book = await connect('target', this.opts.target);
      const transfer = new TransferLog(book);
      await transfer.createSchema();
      const latest = await transfer.latestCut();
      if (latest?.completed) return await this.alreadyComplete(transfer, latest.seq);
      this.throttle.start();
      if (this.itemDbs) return await this.convertItems(this.itemDbs, transfer, book);
      this.phase = 'planning';
      const { cut, schema } = await this.prepareAndCut(control, book, transfer);
      this.cut = cut;
      try {
        return await this.copyAtCut(cut, schema, transfer, book);
      } finally {
        await Promise.all(cut.sessions.map((s) => s.close().catch(() => s.destroy())));
      }
    } catch (err) {
      this.phase = 'failed';
      throw err;
    } finally {
      this.throttle.stop();
      await book?.end().catch(() => {});
      await control.end().catch(() => {});
    }
  }

  private async alreadyComplete(transfer: TransferLog, seq: number): Promise<MigrateResult> {
    const chunks = await transfer.chunks();
    this.countChunks(chunks);
    this.phase = 'complete';
    this.log.info({ cutSeq: seq, replayFrom: seq + 1 }, 'the copy was already complete; nothing to do');
    return { cutSeq: seq, replayFrom: seq + 1, complete: true, holdMs: null, copiedRows: 0, copiedChunks: 0, keptChunks: 0, recopiedChunks: 0, convertedItems: 0, keptItems: 0 };
  }

  /** Items mode: one snapshot session at the cut, the pack's items converted in order (see ItemCopier). */
  private async convertItems(dbs: { source: string; target: string }, transfer: TransferLog, book: Connection): Promise<MigrateResult> {
    this.phase = 'cut';
    const cut = await takeCut({
      adminSocket: this.opts.adminSocket, source: this.opts.source, sessions: 1, lockTimeoutMs: this.opts.lockTimeoutMs ?? 5000,
      open: () => SnapshotRunner.open(this.opts.source, dbs.source),
    });
    this.cut = cut;
    this.metrics.cutHold.set(cut.holdMs / 1000);
    this.log.info({ seq: cut.seq, holdMs: round1(cut.holdMs), lockWaitMs: cut.lockWaitMs, sessions: 1 }, 'consistent cut taken');
    try {
      await transfer.recordCut(cut.seq, cut.holdMs);
      this.phase = 'copying';
      const copier = new ItemCopier({
        pack: this.opts.pack, target: this.opts.target, targetDb: dbs.target, journalDir: this.opts.journalDir, book, throttle: this.throttle, log: this.log,
        stopping: () => this.stopping, onItem: () => { this.chunksDone++; this.metrics.chunks.inc(); },
        ...(this.opts.upgradeCommand ? { upgradeCommand: this.opts.upgradeCommand } : {}),
      });
      const items = await copier.run(cut.sessions[0], cut.seq);
      const result: MigrateResult = { cutSeq: cut.seq, replayFrom: cut.seq + 1, complete: false, holdMs: cut.holdMs, copiedRows: 0, copiedChunks: 0, keptChunks: 0, recopiedChunks: 0, convertedItems: items.converted, keptItems: items.kept };
      if (!items.complete) return this.stopped(result);
      await transfer.complete(cut.seq);
      this.phase = 'complete';
      result.complete = true;
      this.log.info({ cutSeq: cut.seq, replayFrom: cut.seq + 1, convertedItems: items.converted, keptItems: items.kept, rebuilt: items.rebuilt }, 'copy complete');
      return result;
    } finally {
      await cut.sessions[0].close().catch(() => cut.sessions[0].destroy());
    }
  }

  /**
   * Reads the schema, readies the target, then cuts. A DDL journaled between the schema read and
   * the cut means the schema read may not be the schema at the cut: read again.
   */
  private async prepareAndCut(control: Connection, book: Connection, transfer: TransferLog): Promise<{ cut: Cut; schema: SourceSchema }> {
    for (let attempt = 1; ; attempt++) {
      const before = await journalHead(this.opts.journalDir);
      const schema = await readSourceSchema(control, this.opts.databases ?? null).catch((err: unknown) => {
        throw err instanceof MigrateError ? err : new MigrateError('MIGRATE_SOURCE_FAILED', `cannot read the source schema: ${causeText(err)}`, { cause: err });
      });
      await prepareTargetTables({ schema, book, transfer, source: this.opts.source, chunkRows: this.chunkRows, log: this.log });
      this.phase = 'cut';
      const cut = await takeCut({ adminSocket: this.opts.adminSocket, source: this.opts.source, sessions: this.workers, lockTimeoutMs: this.opts.lockTimeoutMs ?? 5000 });
      this.metrics.cutHold.set(cut.holdMs / 1000);
      this.log.info({ seq: cut.seq, holdMs: round1(cut.holdMs), lockWaitMs: cut.lockWaitMs, sessions: cut.sessions.length }, 'consistent cut taken');
      const ddl = await this.ddlBetween(before, cut.seq);
      if (ddl === null) return { cut, schema };
      cut.sessions.forEach((s) => s.destroy());
      if (attempt === SCHEMA_ATTEMPTS) {
        throw new MigrateError('MIGRATE_SCHEMA_UNSTABLE', `DDL ran between reading the schema and the cut ${SCHEMA_ATTEMPTS} times in a row (last: seq ${ddl}); run migrate again when schema changes have stopped`);
      }
      this.log.warn({ ddlSeq: ddl, cutSeq: cut.seq }, 'a DDL ran between reading the schema and the cut; reading the schema again');
    }
  }

  /** The first DDL in (from, to], or null. */
  private async ddlBetween(from: number, to: number): Promise<number | null> {
    if (to <= from) return null;
    const ac = new AbortController();
    try {
      for await (const e of new JournalReader(this.opts.journalDir).entries({ from: from + 1, signal: ac.signal })) {
        if (e.seq > to) return null;
        if (e.kind === 'ddl') return e.seq;
      }
      return null;
    } finally {
      ac.abort();
    }
  }

  private async copyAtCut(cut: Cut, schema: SourceSchema, transfer: TransferLog, book: Connection): Promise<MigrateResult> {
    await transfer.recordCut(cut.seq, cut.holdMs);
    const tables = new Map(schema.tables.map((t) => [tableKey(t.db, t.name), t]));
    const stale = await this.staleChunks(cut.seq, schema, await transfer.chunks());
    for (const c of stale) {
      const t = tables.get(tableKey(c.db, c.table)) as TableInfo;
      const condition = chunkCondition(t.pk, c.lo, c.hi);
      await transfer.resetChunk(c, `DELETE FROM ${qualified(t.db, t.name)}${condition ? ` WHERE ${condition}` : ''}`);
    }
    const reset = stale.length;
    const kept = await transfer.promoteDone(cut.seq);
    if (reset + kept > 0) this.log.info({ cutSeq: cut.seq, kept, recopy: reset }, 'resuming: chunks of tables unwritten since their cut are kept, the others are copied again');
    const chunks = await transfer.chunks();
    this.countChunks(chunks);
    const pending = interleaved(chunks.filter((c) => !c.done));
    const result: MigrateResult = { cutSeq: cut.seq, replayFrom: cut.seq + 1, complete: false, holdMs: cut.holdMs, copiedRows: 0, copiedChunks: 0, keptChunks: kept, recopiedChunks: reset, convertedItems: 0, keptItems: 0 };
    if (this.stopping) return this.stopped(result);
    this.phase = 'copying';
    const [[{ max }]] = (await book.query('SELECT @@max_allowed_packet AS max')) as unknown as [{ max: number }[]];
    const targets = await Promise.all(cut.sessions.map(() => openCopyTarget(this.opts.target)));
    try {
      const failures: unknown[] = [];
      await Promise.all(cut.sessions.map((s, i) => this.worker(new TableCopier(s, targets[i], this.throttle, Number(max)), pending, tables, cut.seq, result, failures)));
      if (failures.length > 0) throw failures[0];
    } finally {
      await Promise.all(targets.map((t) => t.end().catch(() => t.destroy())));
    }
    if (pending.length > 0) return this.stopped(result);
    const triggers = await copyTriggers(this.control as Connection, book, [...schema.databases.keys()]);
    if (triggers > 0) this.log.info({ triggers }, 'triggers created on the target');
    await transfer.complete(cut.seq);
    this.phase = 'complete';
    result.complete = true;
    this.log.info({ cutSeq: cut.seq, replayFrom: cut.seq + 1, copiedRows: result.copiedRows, copiedChunks: result.copiedChunks, keptChunks: kept }, 'copy complete');
    return result;
  }

  /** Takes chunks off the shared queue until it is empty, a stop, or a failure anywhere. */
  private async worker(copier: TableCopier, queue: ChunkRecord[], tables: Map<string, TableInfo>, cutSeq: number, result: MigrateResult, failures: unknown[]): Promise<void> {
    while (!this.stopping && failures.length === 0) {
      const chunk = queue.shift();
      if (!chunk) return;
      const table = tables.get(tableKey(chunk.db, chunk.table)) as TableInfo;
      try {
        const rows = await copier.copy(table, chunk, cutSeq);
        this.doneRows += rows;
        this.totalRows += rows - chunk.estRows;
        this.copiedRows += rows;
        this.chunksDone++;
        result.copiedRows += rows;
        result.copiedChunks++;
        this.metrics.rows.inc(rows);
        this.metrics.chunks.inc();
        this.log.debug({ table: tableKey(chunk.db, chunk.table), chunk: chunk.no, rows }, 'chunk copied');
      } catch (err) {
        queue.unshift(chunk);
        if (err instanceof StopRequested) return;
        failures.push(err);
        this.throttle.requestStop(); // the other workers give up waiting and end after their chunk
        return;
      }
    }
  }

  private stopped(result: MigrateResult): MigrateResult {
    this.phase = 'stopped';
    this.log.info({ cutSeq: result.cutSeq, copiedChunks: result.copiedChunks, chunksDone: this.chunksDone, chunksTotal: this.chunksTotal }, 'copy stopped before the end; run migrate again to resume');
    return result;
  }

  /** Done chunks at an older cut whose table the journal shows written after that cut (see the class comment). */
  private async staleChunks(cutSeq: number, schema: SourceSchema, chunks: ChunkRecord[]): Promise<ChunkRecord[]> {
    const old = chunks.filter((c) => c.done && (c.cutSeq as number) < cutSeq);
    if (old.length === 0) return [];
    const oldest = Math.min(...old.map((c) => c.cutSeq as number));
    const writes = await journalWrites(this.opts.journalDir, oldest, cutSeq, schema).catch((err: { code?: string }): JournalWrites => {
      if (err.code !== 'JOURNAL_SEQ_GONE') throw err;
      this.log.warn({ from: oldest + 1 }, 'the journal no longer holds the seqs since the older cut (retention): every chunk copied before is copied again');
      return { perTable: new Map(), everything: cutSeq };
    });
    return old.filter((c) => Math.max(writes.perTable.get(tableKey(c.db, c.table)) ?? 0, writes.everything) > (c.cutSeq as number));
  }

  private countChunks(chunks: ChunkRecord[]): void {
    this.chunksTotal = chunks.length;
    this.chunksDone = chunks.filter((c) => c.done).length;
    this.doneRows = chunks.reduce((n, c) => n + (c.done ? (c.rows as number) : 0), 0);
    this.totalRows = chunks.reduce((n, c) => n + (c.done ? (c.rows as number) : c.estRows), 0);
  }

  private ratio(): number {
    if (this.phase === 'complete') return 1;
    return this.totalRows > 0 ? Math.min(1, this.doneRows / this.totalRows) : 0;
  }

  private async threadsRunning(): Promise<number> {
    const [rows] = await (this.control as Connection).query("SHOW GLOBAL STATUS LIKE 'Threads_running'");
    return Number((rows as { Value: string }[])[0]?.Value ?? 0);
  }

  private async replayLag(): Promise<number> {
    this.head = await journalHead(this.opts.journalDir);
    this.lag ??= new InterceptionLag(this.opts.journalDir, () => this.head);
    return (await this.lag.measure()).seconds;
  }
}

/**
 * Chunks in turns across tables (t1#0, t2#0, ..., t1#1, t2#1, ...): parallel workers then mostly
 * fill different tables instead of contending for the same index pages.
 */
function interleaved(chunks: ChunkRecord[]): ChunkRecord[] {
  const byTable = new Map<string, ChunkRecord[]>();
  for (const c of chunks) {
    const k = tableKey(c.db, c.table);
    const list = byTable.get(k);
    if (list) list.push(c);
    else byTable.set(k, [c]);
  }
  const lists = [...byTable.values()];
  const out: ChunkRecord[] = [];
  for (let i = 0; out.length < chunks.length; i++) for (const l of lists) if (i < l.length) out.push(l[i]);
  return out;
}

/** The databases an item pack reads and writes, or the reason it cannot migrate. */
function itemDatabases(opts: MigrateOptions): { source: string; target: string } {
  if (!opts.pack.listItems || !opts.pack.convertItem) {
    throw new MigrateError('MIGRATE_UNSUPPORTED_PACK', `pack "${opts.pack.name}" has no listItems/convertItem to migrate with; only identity copies table by table`);
  }
  const source = opts.sourceDb ?? (opts.databases?.length === 1 ? opts.databases[0] : undefined);
  if (!source) throw new MigrateError('MIGRATE_BAD_OPTION', `pack "${opts.pack.name}" converts one database: name it with --source-db (or the --source URL's path)`);
  if (!opts.targetDb) throw new MigrateError('MIGRATE_BAD_OPTION', `pack "${opts.pack.name}" writes a database of its own: name it with --target-db`);
  return { source, target: opts.targetDb };
}

async function connect(side: 'source' | 'target', opts: ConnectionOptions): Promise<Connection> {
  try {
    return await mysql.createConnection({ ...opts, charset: 'UTF8MB4_GENERAL_CI', supportBigNumbers: true, bigNumberStrings: true, dateStrings: true });
  } catch (err) {
    throw new MigrateError(side === 'source' ? 'MIGRATE_SOURCE_FAILED' : 'MIGRATE_TARGET_FAILED',
      `cannot connect to the ${side} ${opts.host ?? 'localhost'}:${opts.port ?? 3306} as ${opts.user ?? '(no user)'}: ${causeText(err)}`, { cause: err });
  }
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}
