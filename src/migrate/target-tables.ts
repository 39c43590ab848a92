import type { Connection, ConnectionOptions } from 'mysql2/promise';
import type { Logger } from '../log.js';
import { planChunks } from './chunk-planner.js';
import { MigrateError } from './migrate-errors.js';
import { SourceSession } from './source-session.js';
import { sameDefinition, type SourceSchema } from './source-schema.js';
import { qualified, quoteIdent, tableKey } from './sql-names.js';
import type { TransferLog } from './transfer-log.js';

export interface TargetTablesOptions {
  schema: SourceSchema;
  /** The bookkeeping connection to the target. */
  book: Connection;
  transfer: TransferLog;
  source: ConnectionOptions;
  chunkRows: number;
  log: Logger;
}

const TRANSACTIONAL_ENGINES = new Set(['innodb']);

/**
 * The target's databases and tables for the source schema. A table planned before whose
 * definition changed, or that the source or the target no longer has, is dropped and forgotten;
 * a table the target has but this migration did not plan is refused; new tables are planned (the
 * plan saved first, so a kill leaves no unplanned table behind), then created. Planning reads the
 * source outside any snapshot: bounds only split the key space.
 */
export async function prepareTargetTables(o: TargetTablesOptions): Promise<void> {
  const { schema, book, transfer, log } = o;
  const onTarget = await targetTables(book, [...schema.databases.keys()]);
  const planned = new Map((await transfer.tables()).map((t) => [tableKey(t.db, t.table), t]));
  const byKey = new Map(schema.tables.map((t) => [tableKey(t.db, t.name), t]));
  for (const [key, p] of planned) {
    const now = byKey.get(key);
    if (now && sameDefinition(now.createSql, p.createSql) && onTarget.has(key)) continue;
    log.warn({ table: key, reason: !now ? 'gone from the source' : !onTarget.has(key) ? 'gone from the target' : 'definition changed' }, 'dropping the copy of this table and planning it again');
    await book.query(`DROP TABLE IF EXISTS ${qualified(p.db, p.table)}`);
    await transfer.forgetTable(p.db, p.table);
    planned.delete(key);
    onTarget.delete(key);
  }
  const foreign = schema.tables.filter((t) => !planned.has(tableKey(t.db, t.name)) && onTarget.has(tableKey(t.db, t.name)));
  if (foreign.length > 0) {
    throw new MigrateError('MIGRATE_TARGET_NOT_EMPTY', `the target already has ${foreign.map((t) => qualified(t.db, t.name)).join(', ')}, which this migration did not create; ` +
      'drop them (or use an empty target) and run migrate again');
  }
  await book.query('SET SESSION foreign_key_checks = 0'); // tables referencing each other, in any order
  for (const create of schema.databases.values()) await book.query(create.replace(/^CREATE DATABASE /, 'CREATE DATABASE IF NOT EXISTS '));
  const planner = await SourceSession.open(o.source);
  try {
    for (const t of schema.tables) {
      const key = tableKey(t.db, t.name);
      if (planned.has(key)) continue;
      const chunks = await planChunks(planner, t, o.chunkRows);
      await transfer.savePlan(t, chunks);
      await book.query(`USE ${quoteIdent(t.db)}`);
      await book.query(t.createSql.replace(/^CREATE TABLE /, 'CREATE TABLE IF NOT EXISTS '));
      log.info({ table: key, chunks: chunks.length, ...(t.wholeReason ? { whole: t.wholeReason } : {}) },
        t.wholeReason ? 'planned: copied whole, in one chunk inside the snapshot' : 'planned');
      if (!TRANSACTIONAL_ENGINES.has(t.engine.toLowerCase())) {
        log.warn({ table: key, engine: t.engine }, 'not InnoDB: a snapshot does not cover this table, writes during its copy may be missed or applied twice by replay');
      }
    }
  } finally {
    await planner.close();
  }
}

async function targetTables(book: Connection, dbs: string[]): Promise<Set<string>> {
  if (dbs.length === 0) return new Set();
  const [rows] = await book.query(`SELECT TABLE_SCHEMA AS db, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (${dbs.map(() => '?').join(',')})`, dbs);
  return new Set((rows as { db: string; t: string }[]).map((r) => tableKey(r.db, r.t)));
}
