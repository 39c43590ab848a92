import type { JournalEntry } from '../../journal/record.js';
import type { SqlRunner } from '../pack.js';
import type { ParsedWrite } from './parse-write.js';
import { quoteIdent } from './sql-render.js';

/** The 1.5 database being written: table names resolved, SQL run on the replay transaction. */
export class Target {
  constructor(
    readonly run: SqlRunner,
    readonly db: string | null,
    readonly prefix: string,
  ) {}

  /** A MediaWiki table, with the wiki's table prefix, qualified by the target database. */
  table(name: string): string {
    return this.qualified(this.prefix + name);
  }

  /** One of this pack's bookkeeping tables. */
  own(name: string): string {
    return this.qualified(name);
  }

  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.run.query<T>(sql, params);
  }

  exec(sql: string, params?: unknown[]): Promise<{ affectedRows: number; insertId: number }> {
    return this.run.exec(sql, params);
  }

  private qualified(name: string): string {
    return this.db === null ? quoteIdent(name) : `${quoteIdent(this.db)}.${quoteIdent(name)}`;
  }
}

/** One journaled write being translated. */
export interface Translation {
  entry: JournalEntry;
  write: ParsedWrite;
  /** The 1.4 table it writes, without the table prefix. */
  table: string;
  target: Target;
  /** Namespace names by prefix, for titles 1.4 wrote as prefixed text. */
  namespaces: ReadonlyMap<string, number>;
}

export type TableTranslator = (t: Translation) => Promise<void>;
