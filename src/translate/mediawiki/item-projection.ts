// Pack.project: one logical item as projection.ts sees it on either side, so that a replayed page
// or user can be compared with its source. Pages by `namespace:title` (or by id), users by id.
import { TranslateError, type LogicalItem, type SqlRunner } from '../pack.js';

export async function projectItem(item: LogicalItem, side: 'source' | 'target', db: SqlRunner): Promise<unknown> {
  const p = await import('./projection.js');
  const v14 = side === 'source';
  if (item.type === 'page' || item.type === 'page-id') {
    const page = item.type === 'page' ? splitKey(item.key) : await pageOfId(db, v14, Number(item.key));
    if (page === null) return null;
    const [current, archived] = v14
      ? [await p.projectPage14(db, page.ns, page.title), await p.projectArchive14(db, page.ns, page.title)]
      : [await p.projectPage15(db, page.ns, page.title), await p.projectArchive15(db, page.ns, page.title)];
    return { page: current, archive: archived };
  }
  if (item.type === 'user') {
    const [row] = await db.query<{ name: Buffer | string }>('SELECT user_name AS name FROM user WHERE user_id = ?', [Number(item.key)]);
    if (!row) return null;
    const name = Buffer.isBuffer(row.name) ? row.name.toString('utf8') : row.name;
    return v14 ? p.projectUser14(db, name) : p.projectUser15(db, name);
  }
  throw new TranslateError(`the mediawiki-1.4-to-1.5 pack projects pages and users, not ${item.type} items`);
}

function splitKey(key: string): { ns: number; title: string } {
  const colon = key.indexOf(':');
  return { ns: Number(key.slice(0, colon)), title: key.slice(colon + 1) };
}

async function pageOfId(db: SqlRunner, v14: boolean, id: number): Promise<{ ns: number; title: Buffer } | null> {
  const sql = v14 ? 'SELECT cur_namespace AS ns, cur_title AS title FROM cur WHERE cur_id = ?' : 'SELECT page_namespace AS ns, page_title AS title FROM page WHERE page_id = ?';
  const [row] = await db.query<{ ns: number; title: Buffer | string }>(sql, [id]);
  return row ? { ns: Number(row.ns), title: Buffer.isBuffer(row.title) ? row.title : Buffer.from(row.title, 'utf8') } : null;
}
