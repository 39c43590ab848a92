import type { JournalEntry } from '../journal/record.js';
import { sqlIdent } from './sql-literals.js';

/** The character set of the replayer's target connection when an entry names none. */
export const DEFAULT_NAMES = 'NAMES utf8mb4 COLLATE utf8mb4_general_ci';

// A value no fragment can equal: "the connection may hold anything for this key".
const UNKNOWN = '\u0000unknown';

/**
 * What one target connection has been told, so that re-creating an entry's context sends only
 * what changed. Entries of all source connections replay on this one connection, so a setting
 * the previous entry's session had and this one's lacks is put back to its default.
 */
export class EntryContext {
  private db: string | null | undefined = undefined;
  private readonly session = new Map<string, string>();
  /** µs timestamp the connection's clock is pinned at; null when unknown or set by a fragment. */
  private ts: number | null = null;
  /** SET INSERT_ID stays in force until an auto-increment consumes it: must be cleared after use. */
  private insertIdForced = true;

  /**
   * Statements that give the connection entry `e`'s context: USE `db` (never creating it), its
   * session settings, the proxy's clock and, with `insertId`, the auto-increment value the
   * source generated. Assumes they will run; call `forget()` when that is no longer sure.
   */
  statementsFor(e: JournalEntry, db: string | null, insertId: boolean): string[] {
    const sets = this.sessionSets(e);
    // NOW() and column defaults read the proxy's clock at execution, unless the client pinned it itself.
    if (e.session.timestamp !== undefined) {
      this.ts = null;
    } else if (e.ts !== this.ts) {
      sets.push(`TIMESTAMP = ${timestampOf(e)}`);
      this.ts = e.ts;
    }
    if (insertId && e.insertId !== '0') {
      sets.push(`INSERT_ID = ${e.insertId}`);
      this.insertIdForced = true;
    } else if (this.insertIdForced) {
      sets.push('INSERT_ID = 0');
      this.insertIdForced = false;
    }
    return this.finish(db, e, sets);
  }

  /**
   * The same context for an entry that is one statement, with the clock and insert id in a
   * MariaDB `SET STATEMENT ... FOR ` prefix of that statement instead of a SET of their own: one
   * statement (one parse, one result packet) less per entry. They apply to that statement only.
   */
  withStatementPrefix(e: JournalEntry, db: string | null, insertId: boolean): { before: string[]; prefix: string } {
    const sets = this.sessionSets(e);
    if (this.insertIdForced) {
      sets.push('INSERT_ID = 0'); // SET STATEMENT would restore a stale one afterwards
      this.insertIdForced = false;
    }
    const vars: string[] = [];
    if (e.session.timestamp === undefined) vars.push(`timestamp = ${timestampOf(e)}`);
    else this.ts = null; // the client's own pin, in the session settings
    if (insertId && e.insertId !== '0') vars.push(`insert_id = ${e.insertId}`);
    return { before: this.finish(db, e, sets), prefix: vars.length > 0 ? `SET STATEMENT ${vars.join(', ')} FOR ` : '' };
  }

  /** SET fragments for the session settings that differ from what the connection holds. */
  private sessionSets(e: JournalEntry): string[] {
    const sets: string[] = [];
    for (const key of this.session.keys()) {
      if (key !== 'names' && e.session[key] === undefined) {
        sets.push(resetFragment(key));
        this.session.delete(key);
      }
    }
    for (const key in e.session) {
      const fragment = e.session[key];
      if (key === 'names' || this.session.get(key) === fragment) continue;
      sets.push(fragment);
      this.session.set(key, fragment);
    }
    return sets;
  }

  /** USE and NAMES (its own statement, first: it changes how the literals after it are read), then the SETs. */
  private finish(db: string | null, e: JournalEntry, sets: string[]): string[] {
    const out: string[] = [];
    if (db !== null && db !== this.db) {
      out.push(`USE ${sqlIdent(db)}`);
      this.db = db;
    }
    const names = e.session.names ?? DEFAULT_NAMES;
    if (this.session.get('names') !== names) {
      out.push(`SET ${names}`);
      this.session.set('names', names);
    }
    if (sets.length > 0) out.push(`SET ${sets.join(', ')}`);
    return out;
  }

  /** After a failure mid-way nothing sent since the last success is sure to have run. */
  forget(): void {
    this.db = undefined;
    for (const key of this.session.keys()) this.session.set(key, UNKNOWN);
    this.ts = null;
    this.insertIdForced = true;
  }

  /** DDL may drop the current database (the connection then has none). */
  forgetDatabase(): void {
    this.db = undefined;
  }
}

function timestampOf(e: JournalEntry): string {
  return `${Math.floor(e.ts / 1e6)}.${String(e.ts % 1e6).padStart(6, '0')}`;
}

function resetFragment(key: string): string {
  if (key.startsWith('@')) return `@${sqlIdent(key.slice(1))} = NULL`;
  return `@@SESSION.${key} = DEFAULT`;
}
