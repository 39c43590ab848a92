// Bulk conversion of a MediaWiki 1.4 database into 1.5, item by item, leaving the target (pack
// bookkeeping included) as replaying each item's whole history would have left it, so that replay
// of the journal after the source snapshot's position continues from there.
//
// Items, in the order conversion needs them:
// - `user` (key user_id): the user row and its groups (from user_rights);
// - `page` (key `ns:title`): every title cur or old has: the page and its current revision, and the
//   history filed under the title (a page's edits need its history; links need all pages first);
// - `archive` (key `ns:title`): the title's archived revisions, as 1.4 rows (text inline);
// - `table` (key the 1.4 table): links (links + brokenlinks -> pagelinks, with the pack's mirrors),
//   watchlist, and the tables copied row for row (site_stats, recentchanges, logging, ...).
// The source runner reads inside the caller's snapshot; the target runner uses the 1.5 database
// (unqualified names) and already has the pack's bookkeeping tables (prepareTarget).
import type { ConvertContext, LogicalItem, SqlRunner } from '../pack.js';
import { convertPage } from './convert-page.js';
import { WHOLE_TABLES, convertTable } from './convert-tables.js';
import { copyRows, insertBatches } from './row-batches.js';
import { Target } from './translation.js';

export interface ItemConverterOptions {
  /** $wgDBprefix of both databases. */
  prefix: string;
  /** Namespace numbers by name, for brokenlinks' prefixed titles. */
  namespaces: ReadonlyMap<string, number>;
}

export interface ItemConverter {
  listItems(source: SqlRunner): AsyncIterable<LogicalItem>;
  convertItem(item: LogicalItem, source: SqlRunner, target: SqlRunner, ctx?: ConvertContext): Promise<void>;
}

export function createItemConverter(opts: ItemConverterOptions): ItemConverter {
  return {
    listItems: (source) => listItems(new Target(source, null, opts.prefix)),
    async convertItem(item, source, target, ctx) {
      const src = new Target(source, null, opts.prefix);
      const dst = new Target(target, null, opts.prefix);
      if (item.type === 'user') return convertUser(src, dst, userIdOf(item));
      if (item.type === 'page') return convertPage(src, dst, titleOf(item), ctx);
      if (item.type === 'archive') return convertArchive(src, dst, titleOf(item));
      if (item.type === 'table' && WHOLE_TABLES.includes(item.key)) return convertTable(src, dst, item.key, opts.namespaces);
      throw itemError(item, `is not an item this pack converts (user, page, archive, or table ${WHOLE_TABLES.join('/')})`);
    },
  };
}

async function* listItems(src: Target): AsyncIterable<LogicalItem> {
  const users = await src.query<{ id: unknown }>(`SELECT user_id AS id FROM ${src.table('user')} ORDER BY user_id`);
  for (const u of users) yield { type: 'user', key: String(u.id) };
  const pages = await src.query<{ ns: unknown; title: Buffer }>(
    `SELECT cur_namespace AS ns, cur_title AS title FROM ${src.table('cur')}
     UNION SELECT old_namespace, old_title FROM ${src.table('old')} ORDER BY ns, title`,
  );
  for (const p of pages) yield { type: 'page', key: titleKey(p.ns, p.title) };
  const archived = await src.query<{ ns: unknown; title: Buffer }>(
    `SELECT DISTINCT ar_namespace AS ns, ar_title AS title FROM ${src.table('archive')} ORDER BY ns, title`,
  );
  for (const a of archived) yield { type: 'archive', key: titleKey(a.ns, a.title) };
  for (const table of WHOLE_TABLES) yield { type: 'table', key: table };
}

async function convertUser(src: Target, dst: Target, userId: number): Promise<void> {
  await copyRows(src, dst, 'user', ' WHERE user_id = ?', [userId]);
  await dst.exec(`DELETE FROM ${dst.table('user_groups')} WHERE ug_user = ?`, [userId]);
  const [rights] = await src.query<{ r: Buffer }>(`SELECT ur_rights AS r FROM ${src.table('user_rights')} WHERE ur_user = ?`, [userId]);
  const groups = groupsOf(rights?.r ?? null);
  await insertBatches(dst, 'INSERT IGNORE', dst.table('user_groups'), ['ug_user', 'ug_group'], groups.map((g) => [userId, g]));
}

/**
 * The groups of a rights list as 1.5's updater reads it: comma-separated, PHP-trimmed, each once;
 * an empty list has none (an empty entry in a longer list is kept, as there).
 */
function groupsOf(rights: Buffer | null): Buffer[] {
  if (rights === null || rights.length === 0) return [];
  const names = rights.toString('latin1').split(',').map((r) => r.replace(/^[ \t\n\r\0\x0B]+|[ \t\n\r\0\x0B]+$/g, ''));
  return [...new Set(names)].map((name) => Buffer.from(name, 'latin1'));
}

/** 1.4 archive rows carry their text; 1.5 reads them so (ar_rev_id, ar_text_id NULL), as upgraded. */
async function convertArchive(src: Target, dst: Target, at: { ns: number; title: Buffer }): Promise<void> {
  await copyRows(src, dst, 'archive', ' WHERE ar_namespace = ? AND ar_title = ?', [at.ns, at.title]);
}

/** `ns:title`, the title as UTF-8 text (as the pack's itemsOf names pages). */
function titleKey(ns: unknown, title: Buffer): string {
  const text = title.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(title)) {
    throw Object.assign(new Error(`the title 0x${title.toString('hex')} (namespace ${Number(ns)}) is not UTF-8, so no item key names it; fix or remove the title before converting`), { code: 'CONVERT_TITLE_NOT_UTF8' });
  }
  return `${Number(ns)}:${text}`;
}

function titleOf(item: LogicalItem): { ns: number; title: Buffer } {
  const m = /^(-?\d+):(.*)$/s.exec(item.key);
  if (!m) throw itemError(item, 'has no `namespace:title` key');
  return { ns: Number(m[1]), title: Buffer.from(m[2], 'utf8') };
}

function userIdOf(item: LogicalItem): number {
  const id = Number(item.key);
  if (!Number.isSafeInteger(id) || id < 0) throw itemError(item, 'has no user id as its key');
  return id;
}

function itemError(item: LogicalItem, reason: string): Error {
  return Object.assign(new Error(`cannot convert ${item.type} ${JSON.stringify(item.key)}: it ${reason}; list items with listItems()`), { code: 'CONVERT_BAD_ITEM' });
}
