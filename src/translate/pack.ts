import type { JournalEntry } from '../journal/record.js';

/** Runs SQL on one database connection (the replay target, or the source for conversions). */
export interface SqlRunner {
  /** Rows of a SELECT, as plain objects. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A write; its affected rows and insert id. A Buffer is sent byte for byte (a journaled statement as it is). */
  exec(sql: string | Buffer, params?: unknown[]): Promise<{ affectedRows: number; insertId: number }>;
}

/** A unit a pack converts, verifies and repairs on its own (MediaWiki: a page, a user, ...). */
export interface LogicalItem {
  /** e.g. 'page', 'user', 'table-range'. */
  type: string;
  /** Stable key within its type, e.g. `0:Main_Page` (namespace:title) or `42` (user id). */
  key: string;
}

/** What a bulk conversion run (one source snapshot, one target) offers convertItem. */
export interface ConvertContext {
  /**
   * Nothing of the item is on the target yet: the run made the target database and has not
   * converted the item before. convertItem may then skip clearing the item's old copy.
   */
  fresh: boolean;
  /**
   * The value `read` gives, read once per run under `key`: for source facts the snapshot fixes
   * (e.g. a table's largest id), which cannot change between the run's items.
   */
  readOnce<T>(key: string, read: () => Promise<T>): Promise<T>;
}

/** What the engine offers a pack while it translates one journal entry. */
export interface TranslateContext {
  /** The target, inside the replay transaction that will also store the applied position. */
  target: SqlRunner;
  /**
   * The target database (schema) name the pack writes into; entries' `db` names the source's.
   * For identity it is the entry's own database.
   */
  targetDb: string | null;
}

export class TranslateError extends Error {
  readonly code = 'TRANSLATE_FAILED';
  /** Logical items whose state on the target may now be wrong: queued for re-conversion under --on-error=repair. */
  constructor(message: string, readonly items: LogicalItem[] = []) {
    super(message);
  }
}

/**
 * A translation pack: how journal entries written against one schema become writes against
 * another. The engine knows packs only through the registry; a new pack is a new file.
 */
export interface Pack {
  name: string;
  description: string;
  /** DDL of the target schema (unqualified, run in the target database) when migrate makes it; identity copies the source's. */
  targetSchema?: string[];
  /** Once per replay start, before any entry: create the pack's bookkeeping (id maps) in the target. */
  prepareTarget?(target: SqlRunner, targetDb: string | null): Promise<void>;
  /**
   * Translate one journal entry and apply the result on `ctx.target` (inside the replay
   * transaction). Throws TranslateError when the entry cannot be translated.
   */
  apply(entry: JournalEntry, ctx: TranslateContext): Promise<void>;
  /**
   * Optional fast path: the target statements for one entry, when they can be computed without
   * reading the target. The engine then sends many entries' statements in one round trip (the
   * identity pack replays several times faster this way) and falls back to running them one by
   * one only to pin down a failure. Must describe exactly what `apply` would do. Throws
   * TranslateError like `apply`. A Buffer is sent byte for byte, a string as UTF-8.
   */
  plan?(entry: JournalEntry, targetDb: string | null): (string | Buffer)[];
  /**
   * The pack's statements generate the auto-increment values the source statement generated
   * (identity): the engine then pins each entry's insert id with SET INSERT_ID. Leave it unset
   * when the pack writes other tables or assigns ids itself, or its first auto-increment insert
   * would get the source's id.
   */
  forceInsertId?: boolean;
  /** Logical items an entry touches (used to queue repairs when applying it fails). */
  itemsOf?(entry: JournalEntry): LogicalItem[];
  /** Source items for bulk conversion, in the partial order conversion needs. */
  listItems?(source: SqlRunner): AsyncIterable<LogicalItem>;
  /**
   * Re-create one logical item on the target from the source's current state (bulk copy, repair).
   * Without `ctx` (repair) it assumes the target may hold any older copy of the item.
   */
  convertItem?(item: LogicalItem, source: SqlRunner, target: SqlRunner, ctx?: ConvertContext): Promise<void>;
  /** A comparable projection of one item on either side (ids the translation renumbers left out). */
  project?(item: LogicalItem, side: 'source' | 'target', db: SqlRunner): Promise<unknown>;
}
