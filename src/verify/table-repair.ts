// Identity repair: the target's differing rows are deleted and the source's inserted, in one
// target transaction per table; a table that differs as a whole (missing, extra, other
// definition, no key to find rows by) is dropped and, when the source has it, made again and filled.
import { rowLiteral } from '../migrate/column-literals.js';
import type { TableInfo } from '../migrate/source-schema.js';
import { qualified, quoteIdent, tableKey } from '../migrate/sql-names.js';
import type { SqlRunner } from '../translate/pack.js';
import { hexValues, keyCondition, rawColumnsSql } from './row-sql.js';
import { tablesOf } from './table-schema.js';
import type { Difference, RepairOptions, RepairResult } from './verify.js';

interface TableRepair { db: string; table: string; whole: boolean; keys: string[][]; items: string[] }

const KEYS_PER_STATEMENT = 200;
const INSERT_CHARS = 1024 * 1024;

export async function repairTables(differences: Difference[], o: RepairOptions): Promise<RepairResult> {
  const result: RepairResult = { repaired: [], failed: [] };
  const work = new Map<string, TableRepair>();
  for (const d of differences) {
    if (!d.ref || d.ref.kind === 'item') {
      result.failed.push({ item: d.item, reason: 'the difference does not say which table or row it is' });
      continue;
    }
    const k = tableKey(d.ref.db, d.ref.table);
    const w = work.get(k) ?? { db: d.ref.db, table: d.ref.table, whole: false, keys: [], items: [] };
    if (d.ref.kind === 'table') w.whole = true;
    else w.keys.push(d.ref.key);
    w.items.push(d.item);
    work.set(k, w);
  }
  const targetDb = (db: string) => (o.sourceDb !== undefined && db === o.sourceDb ? o.targetDb ?? db : db);
  const dbs = [...new Set([...work.values()].map((w) => w.db))];
  const sources = await tablesOf(o.source, dbs);
  const restore = await Promise.all([sessionForRepair(o.source, false), sessionForRepair(o.target, true)]);
  try {
    for (const w of work.values()) {
      const source = sources.get(tableKey(w.db, w.table));
      try {
        if (w.whole || !source?.pk) await replaceTable(o, source, targetDb(w.db), w.table);
        else await replaceRows(o, source, targetDb(w.db), w.keys);
        result.repaired.push(...w.items);
      } catch (err) {
        await o.target.exec('ROLLBACK').catch(() => {});
        for (const item of w.items) result.failed.push({ item, reason: (err as Error).message });
      }
    }
  } finally {
    for (const r of restore) await r();
  }
  return result;
}

/**
 * Values travel as raw bytes both ways (see column-literals.ts): TIMESTAMP text in UTC on both
 * sides, strict (a value the target cannot hold fails), a 0 stays 0 in an auto-increment column,
 * and no foreign key action touches rows outside the repair. Returns what puts the session back.
 */
async function sessionForRepair(db: SqlRunner, target: boolean): Promise<() => Promise<void>> {
  const [was] = await db.query<{ m: unknown; z: unknown; f: unknown }>('SELECT @@SESSION.sql_mode AS m, @@SESSION.time_zone AS z, @@SESSION.foreign_key_checks AS f');
  await db.exec(target
    ? "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00', foreign_key_checks = 0"
    : "SET SESSION time_zone = '+00:00'");
  return async () => {
    await db.exec('SET SESSION sql_mode = ?, time_zone = ?, foreign_key_checks = ?', [String(was.m), String(was.z), Number(was.f)]);
  };
}

async function replaceTable(o: RepairOptions, source: TableInfo | undefined, db: string, table: string): Promise<void> {
  await o.target.exec(`DROP TABLE IF EXISTS ${qualified(db, table)}`);
  if (!source) return;
  await o.target.exec(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(db)}`);
  const create = source.createSql.replace(`CREATE TABLE ${quoteIdent(table)}`, `CREATE TABLE ${qualified(db, table)}`);
  await o.target.exec(create);
  await o.target.exec('START TRANSACTION');
  await copyRows(o, source, db, '');
  await o.target.exec('COMMIT');
}

async function replaceRows(o: RepairOptions, source: TableInfo, db: string, keys: string[][]): Promise<void> {
  const pk = source.pk as NonNullable<TableInfo['pk']>;
  await o.target.exec('START TRANSACTION');
  for (let i = 0; i < keys.length; i += KEYS_PER_STATEMENT) {
    const condition = keys.slice(i, i + KEYS_PER_STATEMENT).map((k) => `(${keyCondition(pk, k)})`).join(' OR ');
    await o.target.exec(`DELETE FROM ${qualified(db, source.name)} WHERE ${condition}`);
    await copyRows(o, source, db, condition);
  }
  await o.target.exec('COMMIT');
}

/** The source's rows matching `condition` inserted into the target's `db` table, in multi-row INSERTs. */
async function copyRows(o: RepairOptions, source: TableInfo, db: string, condition: string): Promise<void> {
  const cols = source.columns;
  const rows = await o.source.query(`SELECT ${rawColumnsSql(cols)} FROM ${qualified(source.db, source.name)}${condition ? ` WHERE ${condition}` : ''}`);
  const insert = `INSERT INTO ${qualified(db, source.name)} (${cols.map((c) => quoteIdent(c.name)).join(', ')}) VALUES `;
  const kinds = cols.map((c) => c.kind);
  let values: string[] = [];
  let chars = 0;
  const flush = async () => {
    if (values.length > 0) await o.target.exec(insert + values.join(','));
    values = [];
    chars = 0;
  };
  for (const r of rows) {
    const literal = rowLiteral(hexValues(r, 'v', cols.length).map((h) => (h === null ? null : Buffer.from(h, 'hex'))), kinds);
    values.push(literal);
    chars += literal.length;
    if (chars >= INSERT_CHARS) await flush();
  }
  await flush();
}
