import mysql, { type Connection as CoreConnection } from 'mysql2';
import type { ConnectionOptions } from 'mysql2/promise';

export type RawRow = (Buffer | null)[];

/**
 * A connection to the source that reads values as the server's raw bytes (no client-side
 * decoding: `character_set_results = binary`, typeCast off), with the session settings every copy
 * connection shares: REPEATABLE READ, time_zone +00:00 (TIMESTAMP text is the same on both sides),
 * no PAD_CHAR_TO_FULL_LENGTH, and timeouts long enough to sit paused by the throttle.
 */
export class SourceSession {
  private constructor(private readonly core: CoreConnection) {}

  static async open(opts: ConnectionOptions): Promise<SourceSession> {
    const core = mysql.createConnection({ ...opts, multipleStatements: false });
    const s = new SourceSession(core);
    try {
      await s.exec("SET SESSION sql_mode = '', time_zone = '+00:00', character_set_results = binary, net_write_timeout = 86400, wait_timeout = 86400");
      await s.exec('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    } catch (err) {
      core.destroy();
      throw err;
    }
    return s;
  }

  /** The InnoDB read view every later read of this session sees. */
  beginSnapshot(): Promise<void> {
    return this.exec('START TRANSACTION WITH CONSISTENT SNAPSHOT');
  }

  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.core.query(sql, (err) => (err ? reject(err) : resolve())));
  }

  rows(sql: string): Promise<RawRow[]> {
    return new Promise((resolve, reject) => {
      this.core.query({ sql, rowsAsArray: true, typeCast: false }, (err, result) => (err ? reject(err) : resolve(result as unknown as RawRow[])));
    });
  }

  /**
   * The rows of `sql`, turned into strings by `encode` as they arrive and handed out in batches of
   * about `maxRows` rows or `maxChars` characters. While the consumer works on one batch the next
   * one is read; beyond that the socket is paused, so memory stays at about two batches.
   */
  async *batches(sql: string, encode: (row: RawRow) => string, maxRows: number, maxChars: number): AsyncGenerator<string[]> {
    const ready: string[][] = [];
    let current: string[] = [];
    let chars = 0;
    let paused = false;
    let ended = false;
    let discard = false;
    let failure: Error | null = null;
    let wake: (() => void) | null = null;
    const core = this.core;
    const q = core.query({ sql, rowsAsArray: true, typeCast: false });
    q.on('result', (row) => {
      if (discard) return;
      const s = encode(row as unknown as RawRow);
      current.push(s);
      chars += s.length;
      if (current.length < maxRows && chars < maxChars) return;
      ready.push(current);
      current = [];
      chars = 0;
      if (ready.length >= 2 && !paused) {
        paused = true;
        core.pause();
      }
      wake?.();
    });
    q.on('error', (err: Error) => {
      failure = err;
      ended = true;
      wake?.();
    });
    q.on('end', () => {
      if (current.length > 0 && !discard) ready.push(current);
      ended = true;
      wake?.();
    });
    try {
      for (;;) {
        const batch = ready.shift();
        if (batch) {
          if (paused && ready.length < 2) {
            paused = false;
            core.resume();
          }
          yield batch;
          continue;
        }
        if (failure) throw failure;
        if (ended) return;
        await new Promise<void>((r) => { wake = r; });
        wake = null;
      }
    } finally {
      // The consumer gave up early: let the rest of the result arrive and drop it.
      if (!ended) {
        discard = true;
        if (paused) core.resume();
      }
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.core.end(() => resolve()));
  }

  destroy(): void {
    this.core.destroy();
  }
}
