import type { Connection } from 'mysql2/promise';
import type { JournalEntry } from '../journal/record.js';
import { toExecutableText } from '../sql/executable-text.js';

export type Connect = () => Promise<Connection>;

/** What one target connection has been told already, so context is only re-sent on change. */
interface AppliedContext {
  conn: Connection;
  db: string | null;
  session: Record<string, string>;
}

/**
 * The simplest faithful replay: journal transactions in seq order, one target transaction each,
 * one target connection per source connection (temporary tables and user variables live
 * there), with the recorded database, session settings, timestamp and insert id re-created
 * before every statement. The replay engine proper builds on this.
 */
export class SequentialApplier {
  private readonly conns = new Map<number, AppliedContext>();
  private txn: JournalEntry[] = [];
  applied = 0;

  constructor(private readonly connect: Connect) {}

  /** Feed entries in seq order; a transaction is applied when its last entry arrives. */
  async push(e: JournalEntry): Promise<void> {
    this.txn.push(e);
    if (!e.last) return;
    const txn = this.txn;
    this.txn = [];
    await this.applyTxn(txn);
  }

  private async applyTxn(entries: JournalEntry[]): Promise<void> {
    const c = await this.contextFor(entries[0].conn);
    await c.conn.query('BEGIN');
    for (const e of entries) {
      await this.prepare(c, e);
      try {
        await c.conn.query(toExecutableText(e.sql));
      } catch (err) {
        await c.conn.query('ROLLBACK').catch(() => {});
        throw new Error(`replay halted at seq ${e.seq} (txn ${e.txn}): ${(err as Error).message}\n  statement: ${e.sql.subarray(0, 500).toString('utf8')}`);
      }
      this.applied++;
    }
    await c.conn.query('COMMIT');
  }

  private async contextFor(conn: number): Promise<AppliedContext> {
    let c = this.conns.get(conn);
    if (!c) {
      c = { conn: await this.connect(), db: null, session: {} };
      this.conns.set(conn, c);
    }
    return c;
  }

  private async prepare(c: AppliedContext, e: JournalEntry): Promise<void> {
    if (e.db !== null && e.db !== c.db) {
      await c.conn.query(`USE \`${e.db.replace(/`/g, '``')}\``);
      c.db = e.db;
    }
    for (const [key, fragment] of Object.entries(e.session)) {
      if (c.session[key] !== fragment) await c.conn.query(`SET ${fragment}`);
    }
    c.session = e.session;
    // NOW() reads the proxy's clock at execution; an auto-increment gets the id the source gave.
    const sets: string[] = [];
    if (e.session.timestamp === undefined) sets.push(`TIMESTAMP = ${Math.floor(e.ts / 1e6)}.${String(e.ts % 1e6).padStart(6, '0')}`);
    if (e.insertId !== '0') sets.push(`INSERT_ID = ${e.insertId}`);
    if (sets.length > 0) await c.conn.query(`SET ${sets.join(', ')}`);
  }

  async close(): Promise<void> {
    if (this.txn.length > 0) throw new Error(`journal ended inside transaction ${this.txn[0].txn}: ${this.txn.length} statement(s) not applied`);
    await Promise.all([...this.conns.values()].map((c) => c.conn.end()));
    this.conns.clear();
  }
}
