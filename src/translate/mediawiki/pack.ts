// MediaWiki 1.4 -> 1.5: every write a live 1.4 wiki makes, applied to a 1.5 database as 1.5
// itself would have written it (see shared/reference/mediawiki-1.4-to-1.5.md sections 3-4).
import type { JournalEntry } from '../../journal/record.js';
import { TranslateError, type LogicalItem, type Pack, type SqlRunner, type TranslateContext } from '../pack.js';
import { createBookkeeping } from './bookkeeping-tables.js';
import { createItemConverter } from './convert-items.js';
import { projectItem } from './item-projection.js';
import { itemsOfWrite } from './logical-items.js';
import { defaultNamespaces, namespacesByName } from './namespaces.js';
import { lexOptionsOf, parseWrite, type ParsedWrite } from './parse-write.js';
import { UNCHANGED_TABLES, passThrough } from './pass-through.js';
import { SCHEMA_1_5 } from './schema-1.5.js';
import { preview } from './sql-normalise.js';
import { translateArchive } from './translate-archive.js';
import { translateCur } from './translate-cur.js';
import { translateBrokenLinks, translateLinks } from './translate-links.js';
import { translateOld } from './translate-old.js';
import { translateRecentChanges } from './translate-recentchanges.js';
import { translateUserRights } from './translate-user-rights.js';
import { translateWatchlist } from './translate-watchlist.js';
import { translateTemporaryTable } from './temporary-tables.js';
import { Target, type TableTranslator } from './translation.js';

export interface MediawikiPackOptions {
  /** $wgDBprefix of the wiki (both versions). */
  tablePrefix?: string;
  /** $wgMetaNamespace: the name of namespace 4 in 1.4's brokenlinks titles; default 'Wikipedia'. */
  metaNamespace?: string;
  /** All namespace names by number (the wiki's language); overrides metaNamespace. */
  namespaceNames?: ReadonlyMap<number, string>;
}

// Statements that change rows: when the source changed none, there is nothing to translate.
const ROW_WRITES = new Set(['insert', 'replace', 'update', 'delete']);
// Errors the target reports about the situation, not the statement: the engine retries those.
const TRANSIENT_ERRNOS = new Set([1205, 1213]);

const TRANSLATORS = new Map<string, TableTranslator>([
  ...[...UNCHANGED_TABLES].map((name): [string, TableTranslator] => [name, passThrough()]),
  ['cur', translateCur],
  ['old', translateOld],
  ['archive', translateArchive],
  ['links', translateLinks],
  ['brokenlinks', translateBrokenLinks],
  ['user_rights', translateUserRights],
  ['watchlist', translateWatchlist],
  ['recentchanges', translateRecentChanges],
  ['user', passThrough({ autoId: 'user_id' })],
  ['ipblocks', passThrough({ autoId: 'ipb_id' })],
  // 1.5 reads image metadata lazily and upgrades leave it empty; the column has no default.
  ['image', passThrough({ required: { img_metadata: '' } })],
  // 1.4's cache of each page's links: 1.5 has no such table and rebuilds nothing from it.
  ['linkscc', async () => {}],
]);

export function createMediawikiPack(opts: MediawikiPackOptions = {}): Pack {
  const prefix = opts.tablePrefix ?? '';
  const namespaces = opts.namespaceNames ? namespacesByName(opts.namespaceNames) : defaultNamespaces(opts.metaNamespace);
  const converter = createItemConverter({ prefix, namespaces });
  return {
    name: 'mediawiki-1.4-to-1.5',
    description: 'MediaWiki 1.4 (cur/old) writes replayed into a MediaWiki 1.5 (page/revision/text) database',
    targetSchema: SCHEMA_1_5,
    async prepareTarget(target: SqlRunner, targetDb: string | null) {
      await createBookkeeping(new Target(target, targetDb, prefix));
    },
    async apply(entry: JournalEntry, ctx: TranslateContext) {
      if (ROW_WRITES.has(entry.kind) && entry.affectedRows === 0) return;
      let write: ParsedWrite | null = null;
      let table = '?';
      try {
        const target = new Target(ctx.target, ctx.targetDb, prefix);
        if (entry.kind === 'ddl') {
          table = 'a temporary table';
          return await translateTemporaryTable(entry, target);
        }
        write = parseWrite(entry.sql, lexOptionsOf(entry.session));
        table = writtenTable(write, entry, prefix);
        const translate = TRANSLATORS.get(table);
        if (!translate) throw new TranslateError(`${table} is not a MediaWiki 1.4 table this pack knows`);
        await translate({ entry, write, table, target, namespaces });
      } catch (err) {
        throw asTranslateError(err, entry, table, write);
      }
    },
    project: projectItem,
    listItems: converter.listItems,
    convertItem: converter.convertItem,
    itemsOf(entry: JournalEntry): LogicalItem[] {
      try {
        const write = parseWrite(entry.sql, lexOptionsOf(entry.session));
        return itemsOfWrite(write, writtenTable(write, entry, prefix));
      } catch {
        return [];
      }
    },
  };
}

/** The registered pack: no table prefix, English namespace names, namespace 4 'Wikipedia'. */
export const mediawiki14to15: Pack = createMediawikiPack();

/** The 1.4 table the statement writes, without the table prefix. */
function writtenTable(w: ParsedWrite, entry: JournalEntry, prefix: string): string {
  const m = w.model;
  const ref = m.op === 'update' ? m.tables[0] : m.table;
  if (ref.db !== null && ref.db !== entry.db) throw new TranslateError(`the statement writes ${ref.db}.${ref.name}, outside the wiki's database ${String(entry.db)}`);
  if (!ref.name.startsWith(prefix)) throw new TranslateError(`${ref.name} does not carry the wiki's table prefix "${prefix}"`);
  return ref.name.slice(prefix.length);
}

/**
 * A TranslateError naming the statement and the items it touches; SQL errors of the target
 * are translation failures too, except the transient ones (the engine retries those).
 */
function asTranslateError(err: unknown, entry: JournalEntry, table: string, write: ParsedWrite | null): unknown {
  const sqlError = err as { errno?: unknown; fatal?: unknown; message?: string } | null;
  const isStatementError = typeof sqlError?.errno === 'number' && sqlError.fatal !== true && !TRANSIENT_ERRNOS.has(sqlError.errno);
  if (!(err instanceof TranslateError) && !isStatementError) return err;
  const reason = err instanceof TranslateError ? err.message : `the target rejected the translated write: ${String(sqlError?.message)}`;
  const items = err instanceof TranslateError && err.items.length > 0 ? err.items : write ? itemsOfWrite(write, table) : [];
  const described = new TranslateError(`cannot translate the write to ${table} at seq ${entry.seq}: ${reason}; statement: ${preview(entry.sql)}`, items);
  return Object.assign(described, { cause: err });
}
