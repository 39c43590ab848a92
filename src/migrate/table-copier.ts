import { setTimeout as sleep } from 'node:timers/promises';
import mysql, { type Connection, type ConnectionOptions } from 'mysql2/promise';
import { chunkCondition } from './chunk-planner.js';
import { rowLiteral } from './column-literals.js';
import { causeText, MigrateError } from './migrate-errors.js';
import type { SourceSession } from './source-session.js';
import type { TableInfo } from './source-schema.js';
import { qualified, quoteIdent } from './sql-names.js';
import type { Throttle } from './throttle.js';
import { doneSql, type ChunkRecord } from './transfer-log.js';

const BATCH_ROWS = 2000;
const BATCH_CHARS = 1024 * 1024;
const ER_TABLE_DEF_CHANGED = 1412;
/** Deadlock, lock wait timeout. */
const TRANSIENT_ERRNOS = new Set([1213, 1205]);
const TRANSIENT_ATTEMPTS = 5;
const TRANSIENT_PAUSE_MS = 100;

/**
 * A target connection for bulk writes: unique and foreign key checks off (the rows come from a
 * consistent source), NO_AUTO_VALUE_ON_ZERO so a 0 in an auto-increment column stays 0, strict
 * (a value the target cannot hold is an error, not a silent truncation), READ COMMITTED so
 * workers filling neighbouring ranges of one table take no gap locks.
 */
export async function openCopyTarget(opts: ConnectionOptions): Promise<Connection> {
  // The statements are complete SQL text: no placeholders for mysql2 to scan megabytes of VALUES for.
  const conn = await mysql.createConnection({ ...opts, charset: 'UTF8MB4_GENERAL_CI', multipleStatements: false, queryFormat: (sql: string) => sql });
  try {
    await conn.query("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00', unique_checks = 0, foreign_key_checks = 0");
    await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
  } catch (err) {
    conn.destroy();
    throw err;
  }
  return conn;
}

/**
 * Copies one chunk from a snapshot session to the target in one target transaction: insert the
 * rows in multi-row batches, mark the chunk done, commit. (A chunk being copied again had its
 * range emptied when it was reset; see TransferLog.resetChunk.)
 */
export class TableCopier {
  private readonly maxChars: number;

  constructor(private readonly source: SourceSession, private readonly target: Connection, private readonly throttle: Throttle, maxAllowedPacket: number) {
    this.maxChars = Math.max(64 * 1024, Math.min(BATCH_CHARS, Math.floor(maxAllowedPacket / 2)));
  }

  /**
   * Resolves to the number of rows copied. A deadlock or lock wait timeout on the target comes
   * from other work there, not from the rows: the chunk is rolled back and copied again (the
   * snapshot reads the same rows again).
   */
  async copy(table: TableInfo, chunk: ChunkRecord, cutSeq: number): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.copyOnce(table, chunk, cutSeq);
      } catch (err) {
        const errno = ((err as { cause?: { errno?: number } }).cause)?.errno;
        if (!(err instanceof MigrateError && err.code === 'MIGRATE_TARGET_FAILED' && errno !== undefined && TRANSIENT_ERRNOS.has(errno)) || attempt === TRANSIENT_ATTEMPTS) throw err;
        await sleep(TRANSIENT_PAUSE_MS * attempt);
      }
    }
  }

  private async copyOnce(table: TableInfo, chunk: ChunkRecord, cutSeq: number): Promise<number> {
    const name = qualified(table.db, table.name);
    const columns = table.columns.map((c) => quoteIdent(c.name)).join(', ');
    const kinds = table.columns.map((c) => c.kind);
    const condition = chunkCondition(table.pk, chunk.lo, chunk.hi);
    const where = condition ? ` WHERE ${condition}` : '';
    const order = table.pk ? ` ORDER BY ${table.pk.map((c) => quoteIdent(c.name)).join(', ')}` : '';
    const insert = `INSERT INTO ${name} (${columns}) VALUES `;
    const label = `${name} chunk ${chunk.no}`;
    await this.onTarget(label, 'START TRANSACTION');
    try {
      let rows = 0;
      const batches = this.source.batches(`SELECT ${columns} FROM ${name}${where}${order}`, (r) => rowLiteral(r, kinds), BATCH_ROWS, this.maxChars);
      try {
        for (;;) {
          const next = await batches.next().catch((err: unknown) => { throw sourceFailed(label, err); });
          if (next.done) break;
          await this.throttle.admit(next.value.length);
          await this.onTarget(label, insert + next.value.join(','));
          rows += next.value.length;
        }
      } finally {
        await batches.return(undefined);
      }
      await this.onTarget(label, doneSql(chunk, rows, cutSeq));
      await this.onTarget(label, 'COMMIT');
      return rows;
    } catch (err) {
      await this.target.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }

  private async onTarget(label: string, sql: string): Promise<void> {
    try {
      await this.target.query(sql);
    } catch (err) {
      throw new MigrateError('MIGRATE_TARGET_FAILED', `copying ${label}: the target refused ${sql.slice(0, 120)}...: ${causeText(err)}`, { cause: err });
    }
  }
}

function sourceFailed(where: string, err: unknown): MigrateError {
  const errno = (err as { errno?: number }).errno;
  const hint = errno === ER_TABLE_DEF_CHANGED
    ? 'the table was altered after the cut (DDL during the copy); run migrate again: it takes a new cut and re-copies what changed'
    : 'run migrate again: it resumes with the chunks not yet done';
  return new MigrateError('MIGRATE_SOURCE_FAILED', `copying ${where}: reading the source failed: ${causeText(err)}; ${hint}`, { cause: err });
}
