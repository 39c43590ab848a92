import type { Connection } from 'mysql2/promise';
import { causeText, MigrateError } from './migrate-errors.js';
import { qualified, quoteIdent } from './sql-names.js';

/**
 * Creates the source's triggers on the target, once the rows are there (before, they would fire
 * on the copy's inserts). Identity replay needs them: the journal holds the statement that fired a
 * trigger, not the trigger's writes. Each is created under its own sql_mode, in the order the
 * source runs them. Returns how many.
 */
export async function copyTriggers(source: Connection, target: Connection, dbs: string[]): Promise<number> {
  if (dbs.length === 0) return 0;
  const [list] = await source.query(
    `SELECT TRIGGER_SCHEMA AS db, TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN (${dbs.map(() => '?').join(',')})
      ORDER BY TRIGGER_SCHEMA, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`, dbs);
  const triggers = list as { db: string; name: string }[];
  for (const t of triggers) {
    const [rows] = await source.query(`SHOW CREATE TRIGGER ${qualified(t.db, t.name)}`);
    const [def] = rows as Record<string, string>[];
    await target.query(`USE ${quoteIdent(t.db)}`);
    await target.query(`DROP TRIGGER IF EXISTS ${qualified(t.db, t.name)}`);
    await target.query('SET SESSION sql_mode = ?', [def.sql_mode]);
    try {
      await target.query(def['SQL Original Statement']);
    } catch (err) {
      throw new MigrateError('MIGRATE_TARGET_FAILED', `creating trigger ${qualified(t.db, t.name)} on the target failed: ${causeText(err)} ` +
        '(its DEFINER account may be missing there); fix it and run migrate again: the rows stay, only the triggers are created again', { cause: err });
    } finally {
      await target.query('SET SESSION sql_mode = DEFAULT');
    }
  }
  return triggers.length;
}
