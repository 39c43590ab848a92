import { ReplayError } from './replay-errors.js';
import { APPLIED_TABLE, REPLAY_SCHEMA_SQL } from './replay-schema.js';
import { sqlString } from './sql-literals.js';
import type { TargetSession } from './target-session.js';

export interface StoredPosition {
  seq: number;
  txn: number;
  /** Set while a DDL at that seq is being applied; see ddl-entries.ts. */
  ddlSeq: number | null;
}

/** How long a new replayer waits for the connection of a killed one to be cleaned up. */
const LOCK_WAIT_S = 15;

/**
 * One consumer's applied position in the target. The UPDATE statements returned here run inside
 * the transactions that apply the writes, so the position and the data commit together.
 */
export class ReplayPosition {
  private readonly consumerSql: string;

  constructor(private readonly target: TargetSession, readonly consumer: string) {
    this.consumerSql = sqlString(consumer);
  }

  async createSchema(): Promise<void> {
    await this.target.run(REPLAY_SCHEMA_SQL);
  }

  /**
   * A user lock per consumer, held for the connection's life. It keeps two replayers off the same
   * position, and makes a restarted one wait until the server has finished (committed or rolled
   * back) the last packet of a killed one, which it may still be executing.
   */
  async lock(): Promise<void> {
    const name = sqlString(`metamorph_replay.${this.consumer}`);
    const [row] = await this.target.query<{ got: number | null; holder: number | null }>(
      `SELECT GET_LOCK(${name}, ${LOCK_WAIT_S}) AS got, IS_USED_LOCK(${name}) AS holder`);
    if (Number(row.got) === 1) return;
    throw new ReplayError('REPLAY_CONSUMER_BUSY',
      `another replayer for consumer "${this.consumer}" is connected to the target (connection ${row.holder ?? '?'}, still there after ${LOCK_WAIT_S} s); ` +
        'stop it first, or give this one another --name');
  }

  async read(): Promise<StoredPosition | null> {
    const rows = await this.target.query<{ seq: number; txn: number; ddl_seq: number | null }>(
      `SELECT seq, txn, ddl_seq FROM ${APPLIED_TABLE} WHERE consumer = ${this.consumerSql}`);
    if (rows.length === 0) return null;
    const r = rows[0];
    return { seq: Number(r.seq), txn: Number(r.txn), ddlSeq: r.ddl_seq === null ? null : Number(r.ddl_seq) };
  }

  /** Stores "applied through `seq`" (first start, --force-from), in one transaction with `alsoRun`. */
  async reset(seq: number, alsoRun: string[] = []): Promise<void> {
    await this.target.run(['BEGIN', ...alsoRun, this.updateSql(seq, 0), 'COMMIT']);
  }

  /**
   * Applied through `seq` (journal txn `txn`); clears a DDL marker. An upsert: a row deleted by
   * hand comes back with the true position instead of the update silently matching nothing.
   */
  updateSql(seq: number, txn: number): string {
    return `INSERT INTO ${APPLIED_TABLE} (consumer, seq, txn, ddl_seq, updated_at) VALUES (${this.consumerSql}, ${seq}, ${txn}, NULL, SYSDATE(6)) ` +
      'ON DUPLICATE KEY UPDATE seq = VALUES(seq), txn = VALUES(txn), ddl_seq = NULL, updated_at = VALUES(updated_at)';
  }

  /** Marks the DDL at `seq` as started; the position stays just before it. */
  markDdlSql(seq: number): string {
    return `INSERT INTO ${APPLIED_TABLE} (consumer, seq, txn, ddl_seq, updated_at) VALUES (${this.consumerSql}, ${seq - 1}, 0, ${seq}, SYSDATE(6)) ` +
      'ON DUPLICATE KEY UPDATE ddl_seq = VALUES(ddl_seq), updated_at = VALUES(updated_at)';
  }
}
