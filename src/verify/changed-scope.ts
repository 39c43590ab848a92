import { JournalReader } from '../journal/journal-reader.js';
import type { JournalEntry } from '../journal/record.js';
import { journalWrites } from '../migrate/journal-writes.js';
import { Lexer } from '../sql/lexer.js';
import type { LogicalItem, Pack, SqlRunner } from '../translate/pack.js';
import { databasesOf, isComparedDatabase, schemaOf } from './table-schema.js';
import { isTablePack, type VerifyScope } from './verify.js';

export interface ChangedScopeOptions {
  /**
   * Identity: the source, to read its schema. Then a statement counts for every table it names,
   * the children of cascading foreign keys and, with triggers, all tables (as migrate decides
   * which copied chunks a write may have changed). Without it, the table each statement writes
   * (the pack's itemsOf), which misses the second table of a multi-table UPDATE or DELETE.
   */
  source?: SqlRunner;
  databases?: string[];
}

/**
 * What the journal entries in (fromSeq, toSeq] may have changed, as a scope for verifyData:
 * tables (identity) or the pack's items (pack.itemsOf). When an entry's reach is unknown the
 * scope is everything ({}).
 */
export async function changedScope(journalDir: string, fromSeq: number, toSeq: number, pack: Pack, opts: ChangedScopeOptions = {}): Promise<VerifyScope> {
  if (toSeq <= fromSeq) return isTablePack(pack) ? { tables: [] } : { items: [] };
  if (isTablePack(pack) && opts.source) {
    const dbs = opts.databases ?? (await databasesOf(opts.source)).filter(isComparedDatabase);
    const writes = await journalWrites(journalDir, fromSeq, toSeq, await schemaOf(opts.source, dbs));
    return writes.everything > 0 ? {} : { tables: [...writes.perTable.keys()].sort() };
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

/** CREATE/DROP TEMPORARY TABLE: a session's scratch table, no persistent item changes. */
function isTemporaryTableDdl(e: JournalEntry): boolean {
  if (e.kind !== 'ddl') return false;
  const lx = new Lexer(e.sql);
  if (lx.next() !== 'word' || !(lx.isWord('CREATE') || lx.isWord('DROP'))) return false;
  return lx.next() === 'word' && lx.isWord('TEMPORARY');
}
