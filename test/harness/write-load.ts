import mysql, { type Connection } from 'mysql2/promise';
import type { JournalEntry } from '../../src/journal/record.js';

export interface WriteLoadOptions {
  port: number;
  host?: string;
  user?: string;
  database: string;
  /** A table `(id BIGINT PRIMARY KEY, w INT)`, see WRITE_LOAD_TABLE_SQL. */
  table: string;
  workers: number;
  /** Per-query limit, so that a hung proxy shows up as an error instead of a stuck test. */
  queryTimeoutMs?: number;
  /** Pause after a failed statement or connect before trying again. */
  retryMs?: number;
  /** Worker w uses ids from firstId + w * ID_STRIDE up, so several loads can share a table. */
  firstId?: number;
}

/** A write that got an error instead of its OK; the server may or may not have committed it. */
export interface FailedWrite {
  ids: number[];
  /** The MySQL error number, when the error came from the proxy or the server. */
  errno?: number;
  message: string;
}

export interface WriteLoadResult {
  /** Ids whose OK (autocommit) or COMMIT OK (transaction) reached the client. */
  acked: number[];
  failed: FailedWrite[];
  /** Every failure, connect failures included, as "worker W MODE: message". */
  errors: string[];
}

/** Rows per worker id range: far more than any test inserts. */
export const ID_STRIDE = 10_000_000;

export function writeLoadTableSql(table: string): string {
  return `CREATE TABLE ${table} (id BIGINT PRIMARY KEY, w INT NOT NULL) ENGINE=InnoDB`;
}

type Mode = 'autocommit' | 'transaction' | 'prepared';
const MODES: Mode[] = ['autocommit', 'transaction', 'prepared'];

/**
 * Clients that insert rows with unique ids through a proxy, in turn as autocommit INSERTs,
 * BEGIN/INSERT/INSERT/COMMIT transactions and prepared executes, and record which ids were
 * acknowledged. A failed connection is re-opened until stop(); ids are never reused, so an id
 * whose answer was lost never shows up twice.
 */
export class WriteLoad {
  private readonly acked: number[] = [];
  private readonly failed: FailedWrite[] = [];
  private readonly errors: string[] = [];
  private stopping = false;
  private readonly running: Promise<void>[];

  private constructor(private readonly opts: WriteLoadOptions) {
    this.running = Array.from({ length: opts.workers }, (_, w) => this.work(w));
  }

  static start(opts: WriteLoadOptions): WriteLoad {
    return new WriteLoad(opts);
  }

  get ackedCount(): number {
    return this.acked.length;
  }

  get errorCount(): number {
    return this.errors.length;
  }

  /** Resolves once `count` more ids have been acknowledged (rejects after `timeoutMs`). */
  async untilAcked(count: number, timeoutMs = 10_000): Promise<void> {
    const target = this.acked.length + count;
    const deadline = Date.now() + timeoutMs;
    while (this.acked.length < target) {
      if (Date.now() > deadline) {
        throw new Error(`write load: only ${this.acked.length} of ${target} acknowledgements within ${timeoutMs} ms; last errors: ${this.errors.slice(-3).join(' | ')}`);
      }
      await sleep(20);
    }
  }

  async stop(): Promise<WriteLoadResult> {
    this.stopping = true;
    await Promise.all(this.running);
    return { acked: [...this.acked], failed: [...this.failed], errors: [...this.errors] };
  }

  private async work(w: number): Promise<void> {
    let next = (this.opts.firstId ?? 1) + w * ID_STRIDE;
    let conn: Connection | null = null;
    for (let n = 0; !this.stopping; n++) {
      const mode = MODES[n % MODES.length];
      const ids = mode === 'transaction' ? [next, next + 1] : [next];
      next += ids.length;
      try {
        conn ??= await this.connect();
        await this.write(conn, mode, ids, w);
        this.acked.push(...ids);
      } catch (e) {
        const { errno, message } = e as Error & { errno?: number };
        this.failed.push({ ids, errno, message });
        this.errors.push(`worker ${w} ${mode}: ${message}`);
        conn?.destroy();
        conn = null;
        await sleep(this.opts.retryMs ?? 25);
      }
    }
    await conn?.end().catch(() => conn?.destroy());
  }

  private connect(): Promise<Connection> {
    const o = this.opts;
    return mysql.createConnection({
      host: o.host ?? '127.0.0.1', port: o.port, user: o.user ?? 'root', database: o.database, connectTimeout: 3000,
    });
  }

  private async write(c: Connection, mode: Mode, ids: number[], w: number): Promise<void> {
    const timeout = this.opts.queryTimeoutMs ?? 5000;
    const insert = (id: number) => c.query({ sql: `INSERT INTO ${this.opts.table} (id, w) VALUES (${id}, ${w})`, timeout });
    if (mode === 'autocommit') {
      await insert(ids[0]);
    } else if (mode === 'prepared') {
      await c.execute({ sql: `INSERT INTO ${this.opts.table} (id, w) VALUES (?, ?)`, timeout }, [ids[0], w]);
    } else {
      await c.query({ sql: 'BEGIN', timeout });
      for (const id of ids) await insert(id);
      await c.query({ sql: 'COMMIT', timeout });
    }
  }
}

/** The id of a journaled write-load INSERT (text or prepared, where ids are inlined as doubles: `12E0`). */
export function insertedId(e: JournalEntry): number | null {
  const m = /^INSERT INTO \S+ \(id, w\) VALUES \((\d+)(?:E0)?, /.exec(e.sql.toString('utf8'));
  return m ? Number(m[1]) : null;
}

/** How often each id appears in the journal. */
export function journaledIdCounts(entries: JournalEntry[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const e of entries) {
    const id = insertedId(e);
    if (id !== null) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
