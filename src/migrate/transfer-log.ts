import mysql, { type Connection } from 'mysql2/promise';
import type { ChunkBounds } from './chunk-planner.js';
import type { TableInfo } from './source-schema.js';

/** A chunk as the target records it. */
export interface ChunkRecord extends ChunkBounds {
  db: string;
  table: string;
  /** Rows copied; null while not done. */
  rows: number | null;
  /** The cut whose snapshot the chunk's rows come from; null while not done. */
  cutSeq: number | null;
  done: boolean;
}

/** A table as planned: its definition at planning time. */
export interface TableRecord {
  db: string;
  table: string;
  createSql: string;
}

export interface CutRecord {
  seq: number;
  completed: boolean;
}

const NAME = 'VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL';

const SCHEMA = [
  'CREATE DATABASE IF NOT EXISTS metamorph_migrate',
  `CREATE TABLE IF NOT EXISTS metamorph_migrate.cut (
     seq BIGINT UNSIGNED NOT NULL PRIMARY KEY,
     created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
     hold_ms DOUBLE NOT NULL,
     completed_at DATETIME(6) NULL
   ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS metamorph_migrate.tables (
     db_name ${NAME}, table_name ${NAME},
     create_sql MEDIUMTEXT NOT NULL,
     planned_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
     PRIMARY KEY (db_name, table_name)
   ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS metamorph_migrate.transfer (
     db_name ${NAME}, table_name ${NAME},
     chunk_no INT UNSIGNED NOT NULL,
     chunk_lo MEDIUMTEXT NULL COMMENT 'JSON array of the bound PK values in hex; NULL: from the first row',
     chunk_hi MEDIUMTEXT NULL COMMENT 'JSON array of the bound PK values in hex; NULL: to the last row',
     est_rows BIGINT UNSIGNED NOT NULL,
     \`rows\` BIGINT UNSIGNED NULL,
     cut_seq BIGINT UNSIGNED NULL,
     done_at DATETIME(6) NULL,
     PRIMARY KEY (db_name, table_name, chunk_no)
   ) ENGINE=InnoDB`,
];

/**
 * The migration's bookkeeping in the target (database metamorph_migrate): the cuts taken, the
 * tables planned with their definitions, and every chunk with the cut its rows were copied at.
 * A chunk becomes done in the same target transaction as its rows (see doneSql), so after a
 * kill -9 a chunk is either entirely there and marked, or not there at all.
 */
export class TransferLog {
  constructor(private readonly conn: Connection) {}

  async createSchema(): Promise<void> {
    for (const sql of SCHEMA) await this.conn.query(sql);
  }

  async latestCut(): Promise<CutRecord | null> {
    const [rows] = await this.conn.query('SELECT seq, completed_at IS NOT NULL AS completed FROM metamorph_migrate.cut ORDER BY seq DESC LIMIT 1');
    const r = (rows as { seq: number | string; completed: number }[])[0];
    return r ? { seq: Number(r.seq), completed: r.completed === 1 } : null;
  }

  async tables(): Promise<TableRecord[]> {
    const [rows] = await this.conn.query('SELECT db_name, table_name, create_sql FROM metamorph_migrate.tables ORDER BY db_name, table_name');
    return (rows as { db_name: string; table_name: string; create_sql: string }[]).map((r) => ({ db: r.db_name, table: r.table_name, createSql: r.create_sql }));
  }

  async chunks(): Promise<ChunkRecord[]> {
    const [rows] = await this.conn.query(
      'SELECT db_name, table_name, chunk_no, chunk_lo, chunk_hi, est_rows, `rows`, cut_seq, done_at IS NOT NULL AS done FROM metamorph_migrate.transfer ORDER BY db_name, table_name, chunk_no');
    return (rows as Record<string, unknown>[]).map((r) => ({
      db: String(r.db_name), table: String(r.table_name), no: Number(r.chunk_no),
      lo: decodeBound(r.chunk_lo), hi: decodeBound(r.chunk_hi), estRows: Number(r.est_rows),
      rows: r.rows === null ? null : Number(r.rows), cutSeq: r.cut_seq === null ? null : Number(r.cut_seq), done: Number(r.done) === 1,
    }));
  }

  /** The table's definition and chunks, in one transaction (a table is planned entirely or not at all). */
  async savePlan(t: TableInfo, chunks: ChunkBounds[]): Promise<void> {
    await this.transaction(async () => {
      await this.conn.query('INSERT INTO metamorph_migrate.tables (db_name, table_name, create_sql) VALUES (?, ?, ?)', [t.db, t.name, t.createSql]);
      for (let i = 0; i < chunks.length; i += 500) {
        const values = chunks.slice(i, i + 500).map((c) => [t.db, t.name, c.no, encodeBound(c.lo), encodeBound(c.hi), c.estRows]);
        await this.conn.query('INSERT INTO metamorph_migrate.transfer (db_name, table_name, chunk_no, chunk_lo, chunk_hi, est_rows) VALUES ?', [values]);
      }
    });
  }

  /** Drops a table's plan (its target copy must already be dropped). */
  async forgetTable(db: string, table: string): Promise<void> {
    await this.transaction(async () => {
      await this.conn.query('DELETE FROM metamorph_migrate.transfer WHERE db_name = ? AND table_name = ?', [db, table]);
      await this.conn.query('DELETE FROM metamorph_migrate.tables WHERE db_name = ? AND table_name = ?', [db, table]);
    });
  }

  /** A new cut; a re-run that finds no write since the last one may record the same seq again. */
  async recordCut(seq: number, holdMs: number): Promise<void> {
    await this.conn.query('INSERT INTO metamorph_migrate.cut (seq, hold_ms) VALUES (?, ?) ON DUPLICATE KEY UPDATE hold_ms = VALUES(hold_ms), completed_at = NULL', [seq, holdMs]);
  }

  /**
   * A done chunk whose rows are stale: its rows leave the target (`deleteSql`, the chunk's range)
   * and it becomes not done, in one transaction. Done before the copy starts, one chunk at a time,
   * so copy workers never delete next to each other's inserts.
   */
  async resetChunk(c: ChunkRecord, deleteSql: string): Promise<void> {
    await this.transaction(async () => {
      await this.conn.query(deleteSql);
      await this.conn.query('UPDATE metamorph_migrate.transfer SET done_at = NULL, `rows` = NULL, cut_seq = NULL WHERE db_name = ? AND table_name = ? AND chunk_no = ?', [c.db, c.table, c.no]);
    });
  }

  /** Every done chunk now holds its rows as of `seq` (run after the stale ones were reset); returns how many moved. */
  async promoteDone(seq: number): Promise<number> {
    const [res] = await this.conn.query('UPDATE metamorph_migrate.transfer SET cut_seq = ? WHERE done_at IS NOT NULL AND cut_seq <> ?', [seq, seq]);
    return (res as mysql.ResultSetHeader).affectedRows;
  }

  async complete(seq: number): Promise<void> {
    await this.conn.query('UPDATE metamorph_migrate.cut SET completed_at = CURRENT_TIMESTAMP(6) WHERE seq = ?', [seq]);
  }

  private async transaction(work: () => Promise<void>): Promise<void> {
    await this.conn.query('START TRANSACTION');
    try {
      await work();
      await this.conn.query('COMMIT');
    } catch (err) {
      await this.conn.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }
}

/** The statement that marks a chunk done; runs inside the transaction that wrote its rows. */
export function doneSql(c: { db: string; table: string; no: number }, rows: number, cutSeq: number): string {
  return mysql.format('UPDATE metamorph_migrate.transfer SET `rows` = ?, cut_seq = ?, done_at = CURRENT_TIMESTAMP(6) WHERE db_name = ? AND table_name = ? AND chunk_no = ?',
    [rows, cutSeq, c.db, c.table, c.no]);
}

function encodeBound(values: Buffer[] | null): string | null {
  return values ? JSON.stringify(values.map((v) => v.toString('hex'))) : null;
}

function decodeBound(text: unknown): Buffer[] | null {
  if (text === null || text === undefined) return null;
  return (JSON.parse(String(text)) as string[]).map((h) => Buffer.from(h, 'hex'));
}
