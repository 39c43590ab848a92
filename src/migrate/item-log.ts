import mysql, { type Connection } from 'mysql2/promise';
import type { LogicalItem } from '../translate/pack.js';

/** Where the database a pack converts into stands: not made by this migration, being made, or ready. */
export type TargetDbState = 'absent' | 'creating' | 'ready';

// The target database's own row: its schema is ready once done_at is set (DDL is not transactional).
const TARGET_DB = 'target-database';

const SCHEMA = [
  'CREATE DATABASE IF NOT EXISTS metamorph_migrate',
  `CREATE TABLE IF NOT EXISTS metamorph_migrate.items (
     item_type VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
     item_key VARCHAR(512) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
     cut_seq BIGINT UNSIGNED NULL,
     done_at DATETIME(6) NULL,
     PRIMARY KEY (item_type, item_key)
   ) ENGINE=InnoDB`,
];

/**
 * The item-level transfer log of a pack that converts logical items (metamorph_migrate.items in
 * the target): each converted item with the cut its source state was read at, written in the
 * transaction that converted it (see itemDoneSql), and one row for the target database itself.
 */
export class ItemLog {
  constructor(private readonly conn: Connection) {}

  async createSchema(): Promise<void> {
    for (const sql of SCHEMA) await this.conn.query(sql);
  }

  async targetState(db: string): Promise<TargetDbState> {
    const [rows] = await this.conn.query('SELECT done_at IS NOT NULL AS ready FROM metamorph_migrate.items WHERE item_type = ? AND item_key = ?', [TARGET_DB, db]);
    const r = (rows as { ready: number }[])[0];
    return r === undefined ? 'absent' : Number(r.ready) === 1 ? 'ready' : 'creating';
  }

  /** Before the target database is (re)made: from now on it is this migration's to drop. */
  async markCreating(db: string): Promise<void> {
    await this.conn.query(`INSERT INTO metamorph_migrate.items (item_type, item_key) VALUES (?, ?)
      ON DUPLICATE KEY UPDATE cut_seq = NULL, done_at = NULL`, [TARGET_DB, db]);
  }

  async markReady(db: string): Promise<void> {
    await this.conn.query('UPDATE metamorph_migrate.items SET done_at = CURRENT_TIMESTAMP(6) WHERE item_type = ? AND item_key = ?', [TARGET_DB, db]);
  }

  /** Converted items: `type\0key` -> the cut they were read at. */
  async doneItems(): Promise<Map<string, number>> {
    const [rows] = await this.conn.query('SELECT item_type, item_key, cut_seq FROM metamorph_migrate.items WHERE item_type <> ? AND done_at IS NOT NULL', [TARGET_DB]);
    return new Map((rows as { item_type: string; item_key: string; cut_seq: number | string }[]).map((r) => [itemId({ type: r.item_type, key: r.item_key }), Number(r.cut_seq)]));
  }

  /** Drops every item row (the target database is being made again). */
  async forgetItems(): Promise<void> {
    await this.conn.query('DELETE FROM metamorph_migrate.items WHERE item_type <> ?', [TARGET_DB]);
  }

  /** Every converted item now holds its state as of `seq` (run once the older ones are known unwritten since). */
  async promoteDone(seq: number): Promise<number> {
    const [res] = await this.conn.query('UPDATE metamorph_migrate.items SET cut_seq = ? WHERE item_type <> ? AND done_at IS NOT NULL AND cut_seq <> ?', [seq, TARGET_DB, seq]);
    return (res as mysql.ResultSetHeader).affectedRows;
  }
}

export function itemId(item: LogicalItem): string {
  return `${item.type}\u0000${item.key}`;
}

/** The statement that marks an item converted; runs inside the transaction that converted it. */
export function itemDoneSql(item: LogicalItem, cutSeq: number): string {
  return mysql.format(`INSERT INTO metamorph_migrate.items (item_type, item_key, cut_seq, done_at) VALUES (?, ?, ?, CURRENT_TIMESTAMP(6))
    ON DUPLICATE KEY UPDATE cut_seq = VALUES(cut_seq), done_at = VALUES(done_at)`, [item.type, item.key, cutSeq]);
}
