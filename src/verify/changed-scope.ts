import { JournalReader } from '../journal/journal-reader.js';
import type { JournalEntry } from '../journal/record.js';
import type { SourceSchema } from '../migrate/source-schema.js';
import { tableKey } from '../migrate/sql-names.js';
import { Lexer } from '../sql/lexer.js';
import type { LogicalItem, Pack, SqlRunner } from '../translate/pack.js';
import { databasesOf, isComparedDatabase, schemaOf } from './table-schema.js';
import { isTablePack, type ScopedRows, type VerifyScope } from './verify.js';
import { writtenRows, type ServerFacts, type WrittenRows } from './written-rows.js';

export interface ChangedScopeOptions {
  /**
   * Identity: the source, to read its schema. Then each statement counts for the rows it wrote
   * when it names them exactly (see written-rows.ts), else for every table it names, the children
   * of cascading foreign keys and, with triggers, all tables (as migrate decides which copied
   * chunks a write may have changed). Without it, the table each statement writes (the pack's
   * itemsOf), which misses the second table of a multi-table UPDATE or DELETE.
   */
  source?: SqlRunner;
  databases?: string[];
}

/**
 * Past this share of a table's rows, comparing the table in checksum chunks costs less than
 * looking its rows up one by one.
 */
const ROWS_SHARE_FOR_WHOLE_TABLE = 0.5;
/** Below this many keys a table's rows are looked up even when its row estimate is low or stale. */
const MIN_ROWS_FOR_WHOLE_TABLE = 1000;

/**
 * What the journal entries in (fromSeq, toSeq] may have changed, as a scope for verifyData:
 * rows and tables (identity) or the pack's items (pack.itemsOf). When an entry's reach is
 * unknown the scope is everything ({}).
 */
export async function changedScope(journalDir: string, fromSeq: number, toSeq: number, pack: Pack, opts: ChangedScopeOptions = {}): Promise<VerifyScope> {
  if (toSeq <= fromSeq) return isTablePack(pack) ? { tables: [] } : { items: [] };
  if (isTablePack(pack) && opts.source) {
    const dbs = opts.databases ?? (await databasesOf(opts.source)).filter(isComparedDatabase);
    const schema = await schemaOf(opts.source, dbs);
    const written = await writtenRows(journalDir, fromSeq, toSeq, schema, await serverFacts(opts.source));
    return written.everything ? {} : rowScope(written, schema);
  }
  const items = new Map<string, LogicalItem>();
  const ac = new AbortController();
  try {
    for await (const e of new JournalReader(journalDir).entries({ from: fromSeq + 1, signal: ac.signal })) {
      if (e.seq > toSeq) break;
      if (isTemporaryTableDdl(e)) continue;
      const touched = pack.itemsOf?.(e) ?? [];
      if (touched.length === 0) return {};
      for (const item of touched) items.set(`${item.type}\u0000${item.key}`, item);
    }
  } finally {
    ac.abort();
  }
  const list = [...items.values()];
  return isTablePack(pack) ? { tables: list.map((i) => i.key).sort() } : { items: list };
}

/** Whole tables, and the rows of the others (a table whose rows are many is compared whole). */
function rowScope(written: WrittenRows, schema: SourceSchema): VerifyScope {
  const tables = new Set(written.tables);
  const rows: ScopedRows[] = [];
  const estimated = new Map(schema.tables.map((t) => [tableKey(t.db, t.name), t.estimatedRows]));
  for (const [table, keys] of written.rows) {
    if (tables.has(table)) continue;
    if (keys.size > (estimated.get(table) ?? 0) * ROWS_SHARE_FOR_WHOLE_TABLE && keys.size > MIN_ROWS_FOR_WHOLE_TABLE) tables.add(table);
    else rows.push({ table, keys: [...keys.values()] });
  }
  return { tables: [...tables].sort(), rows: rows.sort((a, b) => (a.table < b.table ? -1 : 1)) };
}

/** Whether a multi-row INSERT's auto-increment ids are consecutive on this server. */
async function serverFacts(source: SqlRunner): Promise<ServerFacts> {
  const [r] = await source.query<{ m: unknown; i: unknown }>('SELECT @@GLOBAL.innodb_autoinc_lock_mode AS m, @@GLOBAL.auto_increment_increment AS i');
  return { consecutiveIds: Number(r.m) < 2 && Number(r.i) === 1 };
}

/** CREATE/DROP TEMPORARY TABLE: a session's scratch table, no persistent item changes. */
function isTemporaryTableDdl(e: JournalEntry): boolean {
  if (e.kind !== 'ddl') return false;
  const lx = new Lexer(e.sql);
  if (lx.next() !== 'word' || !(lx.isWord('CREATE') || lx.isWord('DROP'))) return false;
  return lx.next() === 'word' && lx.isWord('TEMPORARY');
}
