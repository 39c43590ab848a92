// Items as a pack names them, listed on the target. A pack's listItems reads the source schema;
// for a pack whose target schema differs, how to list the target lives here until packs offer it
// themselves (a `listTargetItems` in the Pack interface would be the place).
import type { LogicalItem, Pack, SqlRunner } from '../translate/pack.js';

type Lister = (target: SqlRunner) => Promise<LogicalItem[]>;

const TARGET_LISTERS: Record<string, Lister> = {
  'mediawiki-1.4-to-1.5': mediawiki15Items,
};

/** The target's items, or null when they cannot be listed. */
export async function listTargetItems(pack: Pack, target: SqlRunner): Promise<LogicalItem[] | null> {
  const lister = Object.hasOwn(TARGET_LISTERS, pack.name) ? TARGET_LISTERS[pack.name] : undefined;
  if (lister) return lister(target);
  if (!pack.listItems) return null;
  try {
    const items: LogicalItem[] = [];
    for await (const item of pack.listItems(target)) items.push(item);
    return items;
  } catch {
    return null; // the target's schema is not the one listItems reads
  }
}

/** Users by id, pages by `namespace:title` (as the pack's listItems names them on 1.4). */
async function mediawiki15Items(target: SqlRunner): Promise<LogicalItem[]> {
  const users = await target.query<{ id: unknown }>('SELECT user_id AS id FROM user ORDER BY user_id');
  const pages = await target.query<{ ns: unknown; title: unknown }>('SELECT page_namespace AS ns, page_title AS title FROM page ORDER BY page_namespace, page_title');
  return [
    ...users.map((u) => ({ type: 'user', key: String(u.id) })),
    ...pages.map((p) => ({ type: 'page', key: `${Number(p.ns)}:${Buffer.isBuffer(p.title) ? p.title.toString('utf8') : String(p.title)}` })),
  ];
}
