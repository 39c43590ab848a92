// Bulk conversion of the tables converted whole (after every page): the link tables (with the
// pack's mirrors of 1.4's links and brokenlinks), the watchlist, and the tables whose rows mean
// the same in both versions.
import { BROKENLINKS_SHADOW, LINKS_SHADOW } from './bookkeeping-tables.js';
import { splitPrefixedTitle } from './namespaces.js';
import { copyRows, insertBatches } from './row-batches.js';
import type { Target } from './translation.js';

/**
 * Copied row for row. recentchanges included: its old_ids are rev_ids, as every converted old
 * row keeps its id (and the 1.5 updater leaves the rows alone too).
 */
export const COPIED_TABLES: readonly string[] = [
  'site_stats', 'recentchanges', 'logging', 'user_newtalk', 'imagelinks', 'categorylinks', 'hitcounter', 'ipblocks',
  'image', 'oldimage', 'math', 'searchindex', 'interwiki', 'querycache', 'objectcache',
];

/** The tables converted whole, in order: the names of their logical items (`table:<name>`). */
export const WHOLE_TABLES: readonly string[] = ['links', 'watchlist', ...COPIED_TABLES];

export async function convertTable(src: Target, dst: Target, name: string, namespaces: ReadonlyMap<string, number>): Promise<void> {
  if (name === 'links') return convertLinks(src, dst, namespaces);
  if (name === 'watchlist') return convertWatchlist(src, dst);
  await copyRows(src, dst, name);
}

/**
 * links and brokenlinks mirrored with the title each row stands for (links: the target page's
 * title now, as the updater reads it), and pagelinks made of both.
 */
async function convertLinks(src: Target, dst: Target, namespaces: ReadonlyMap<string, number>): Promise<void> {
  for (const table of [dst.own(LINKS_SHADOW), dst.own(BROKENLINKS_SHADOW), dst.table('pagelinks')]) await dst.exec(`DELETE FROM ${table}`);
  const links = await src.query<{ f: unknown; t: unknown }>(`SELECT l_from AS f, l_to AS t FROM ${src.table('links')}`);
  await insertBatches(dst, 'INSERT', dst.own(LINKS_SHADOW), ['l_from', 'l_to'], links.map((l) => [l.f, l.t]));
  await dst.exec(
    `UPDATE ${dst.own(LINKS_SHADOW)} s JOIN ${dst.table('page')} p ON p.page_id = s.l_to
        SET s.pl_namespace = p.page_namespace, s.pl_title = p.page_title`,
  );
  const broken = await src.query<{ f: unknown; t: Buffer }>(`SELECT bl_from AS f, bl_to AS t FROM ${src.table('brokenlinks')}`);
  await insertBatches(
    dst,
    'INSERT',
    dst.own(BROKENLINKS_SHADOW),
    ['bl_from', 'bl_to', 'pl_namespace', 'pl_title'],
    broken.map((b) => {
      const { ns, title } = splitPrefixedTitle(b.t, namespaces);
      return [b.f, b.t, ns, title];
    }),
  );
  await dst.exec(
    `INSERT IGNORE INTO ${dst.table('pagelinks')} (pl_from, pl_namespace, pl_title)
     SELECT l_from, pl_namespace, pl_title FROM ${dst.own(LINKS_SHADOW)} WHERE pl_title IS NOT NULL
     UNION ALL SELECT bl_from, pl_namespace, pl_title FROM ${dst.own(BROKENLINKS_SHADOW)}`,
  );
}

/** 1.4's subject-namespace rows become a subject and a talk row each, no notification sent. */
async function convertWatchlist(src: Target, dst: Target): Promise<void> {
  await dst.exec(`DELETE FROM ${dst.table('watchlist')}`);
  const rows = await src.query<{ u: unknown; ns: unknown; t: unknown }>(`SELECT wl_user AS u, wl_namespace AS ns, wl_title AS t FROM ${src.table('watchlist')}`);
  await insertBatches(
    dst,
    'INSERT IGNORE',
    dst.table('watchlist'),
    ['wl_user', 'wl_namespace', 'wl_title', 'wl_notificationtimestamp'],
    rows.flatMap((r) => [[r.u, Number(r.ns) & ~1, r.t, '0'], [r.u, Number(r.ns) | 1, r.t, '0']]),
  );
}
