import { JournalReader } from '../journal/journal-reader.js';
import type { JournalEntry } from '../journal/record.js';
import { DQUOTE, Lexer } from '../sql/lexer.js';
import type { SourceSchema } from './source-schema.js';
import { tableKey } from './sql-names.js';

/** Which tables the journal says may have changed between two seqs. */
export interface JournalWrites {
  /** Table key -> the last seq in the range that may have written it. */
  perTable: Map<string, number>;
  /** The last seq that may have written any table (DDL, CALL, a table with triggers...); 0 if none. */
  everything: number;
}

const ROW_KINDS = new Set(['insert', 'update', 'delete', 'replace', 'load']);
const DOT = 0x2e;

/**
 * Reads the journal in (from, to] and finds, per table, the last entry that may have written it.
 * Over-approximates, never misses: a row statement (INSERT, UPDATE, DELETE, REPLACE, LOAD) counts
 * for every table whose name appears anywhere in it (a multi-table UPDATE, a subquery's table, even
 * a column of the same name); every other journaled statement (DDL, CALL, GRANT...) counts for all
 * tables; a write to a table with triggers counts for all tables; a write to a parent table counts
 * for the children its foreign keys' ON DELETE/UPDATE actions change.
 */
export async function journalWrites(journalDir: string, from: number, to: number, schema: SourceSchema): Promise<JournalWrites> {
  const out: JournalWrites = { perTable: new Map(), everything: 0 };
  if (to <= from) return out;
  const byName = new Map<string, { db: string; key: string }[]>();
  for (const t of schema.tables) {
    const n = t.name.toLowerCase();
    byName.set(n, [...(byName.get(n) ?? []), { db: t.db.toLowerCase(), key: tableKey(t.db, t.name) }]);
  }
  const ac = new AbortController();
  try {
    for await (const e of new JournalReader(journalDir).entries({ from: from + 1, signal: ac.signal })) {
      if (e.seq > to) break;
      const touched = ROW_KINDS.has(e.kind) ? namedTables(e, byName) : null;
      if (touched === null || [...touched].some((k) => schema.triggerTables.has(k))) {
        out.everything = e.seq;
        continue;
      }
      for (const k of withCascades(touched, schema.cascades)) out.perTable.set(k, e.seq);
    }
  } finally {
    ac.abort();
  }
  return out;
}

/** Keys of the schema's tables named in the statement (qualified, or in the entry's database). */
export function namedTables(e: JournalEntry, byName: Map<string, { db: string; key: string }[]>): Set<string> {
  const found = new Set<string>();
  const db = e.db?.toLowerCase() ?? null;
  const lx = new Lexer(e.sql);
  let prevName: string | null = null;
  let qualifier: string | null = null;
  for (let t = lx.next(); t !== 'end'; t = lx.next()) {
    const name = t === 'word' || t === 'ident' ? lx.name().toLowerCase()
      : t === 'string' && lx.buf[lx.start] === DQUOTE ? lx.buf.toString('utf8', lx.start + 1, lx.stop - 1).toLowerCase() // ANSI_QUOTES identifiers
        : null;
    if (name === null) {
      qualifier = lx.isPunct(DOT) ? prevName : null;
      prevName = null;
      continue;
    }
    for (const c of byName.get(name) ?? []) {
      if (qualifier !== null ? c.db === qualifier : db === null || c.db === db) found.add(c.key);
    }
    prevName = name;
    qualifier = null;
  }
  return found;
}

function withCascades(keys: Set<string>, cascades: Map<string, string[]>): Set<string> {
  const out = new Set(keys);
  const todo = [...keys];
  for (let k = todo.pop(); k !== undefined; k = todo.pop()) {
    for (const child of cascades.get(k) ?? []) {
      if (!out.has(child)) {
        out.add(child);
        todo.push(child);
      }
    }
  }
  return out;
}
