import type { JournalEntry } from '../journal/record.js';
import { Lexer } from '../sql/lexer.js';
import type { LogicalItem, Pack } from './pack.js';

const DOT = 0x2e;

/** The same schema on both sides: every journaled statement runs on the target byte for byte. */
export const identityPack: Pack = {
  name: 'identity',
  description: 'replays every journaled statement unchanged (same schema on the target)',
  forceInsertId: true,
  plan(entry) {
    return [entry.sql];
  },
  async apply(entry, ctx) {
    await ctx.target.exec(entry.sql);
  },
  itemsOf(entry) {
    const table = writtenTable(entry);
    return table ? [table] : [];
  },
};

// Words between a statement's verb and the table it writes: INSERT LOW_PRIORITY IGNORE INTO t, CREATE OR REPLACE TEMPORARY TABLE IF NOT EXISTS t, ...
const MODIFIERS = new Set(['LOW_PRIORITY', 'DELAYED', 'HIGH_PRIORITY', 'IGNORE', 'INTO', 'QUICK', 'FROM', 'ONLINE', 'OR', 'REPLACE', 'TEMPORARY', 'TABLE', 'IF', 'NOT', 'EXISTS']);
const ROW_VERBS = new Set(['INSERT', 'REPLACE', 'UPDATE', 'DELETE', 'TRUNCATE']);
// These name a table only in their TABLE form (ALTER DATABASE, CREATE INDEX, DROP VIEW are not).
const TABLE_VERBS = new Set(['ALTER', 'CREATE', 'DROP', 'RENAME']);

/** The table a statement writes, as a `table` item keyed `db.table`; null when it is not that simple. */
function writtenTable(e: JournalEntry): LogicalItem | null {
  const lx = new Lexer(e.sql);
  if (lx.next() !== 'word') return null;
  const verb = lx.upper();
  if (!ROW_VERBS.has(verb) && !TABLE_VERBS.has(verb)) return null;
  let sawTable = false;
  for (let t = lx.next(); t === 'word' && MODIFIERS.has(lx.upper()); t = lx.next()) sawTable ||= lx.isWord('TABLE');
  if (TABLE_VERBS.has(verb) && !sawTable) return null;
  if (lx.type !== 'word' && lx.type !== 'ident') return null;
  let db = e.db ?? '';
  let table = lx.name();
  const after = lx.fork();
  after.next();
  if (after.isPunct(DOT) && (after.next() === 'word' || after.type === 'ident')) {
    db = table;
    table = after.name();
  }
  return { type: 'table', key: `${db}.${table}` };
}
