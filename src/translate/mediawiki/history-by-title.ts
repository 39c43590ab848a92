// 1.4 files history by title: an old row belongs to the cur row with the same title, whichever
// that is when the wiki is read (a move renames cur first and its old rows later; an edit that
// raced a move or a deletion leaves an old row under a title no page has). The 1.5 updater
// converts exactly that, so the translation keeps the same filing: each mapped revision is a
// revision of the page now at its old row's title, and while there is none it waits outside
// `revision` (in the orphans table), keeping its rev_id for when a page takes the title.
import { IDMAP, ORPHANS } from './bookkeeping-tables.js';
import { pageByTitle } from './revision-store.js';
import { marks } from './sql-render.js';
import type { Target } from './translation.js';

export interface OldRowTitle {
  ns: number;
  title: unknown;
}

/** Files the history of a 1.4 title under the page now at that title, or out of `revision`. */
export async function fileHistory(t: Target, at: OldRowTitle): Promise<void> {
  const titled = `SELECT rev_id FROM ${t.own(IDMAP)} WHERE old_namespace = ? AND old_title = ?`;
  const key = [at.ns, at.title];
  const page = await pageByTitle(t, at.ns, at.title);
  if (page) {
    const adopted = await t.exec(`INSERT INTO ${t.table('revision')} SELECT * FROM ${t.own(ORPHANS)} WHERE rev_id IN (${titled})`, key);
    if (adopted.affectedRows > 0) await t.exec(`DELETE FROM ${t.own(ORPHANS)} WHERE rev_id IN (${titled})`, key);
    await t.exec(`UPDATE ${t.table('revision')} SET rev_page = ? WHERE rev_id IN (${titled}) AND rev_page <> ?`, [page.page_id, ...key, page.page_id]);
    return;
  }
  const orphaned = await t.exec(`INSERT INTO ${t.own(ORPHANS)} SELECT * FROM ${t.table('revision')} WHERE rev_id IN (${titled})`, key);
  if (orphaned.affectedRows > 0) await t.exec(`DELETE FROM ${t.table('revision')} WHERE rev_id IN (${titled})`, key);
}

/** History revisions filed under a 1.4 title. */
export async function historyAt(t: Target, at: OldRowTitle): Promise<number[]> {
  const rows = await t.query<{ rev_id: number }>(`SELECT rev_id FROM ${t.own(IDMAP)} WHERE old_namespace = ? AND old_title = ? FOR UPDATE`, [at.ns, at.title]);
  return rows.map((r) => Number(r.rev_id));
}

/** 1.4 renamed the old rows of one title (a move): their revisions follow the new title. */
export async function renameHistory(t: Target, from: OldRowTitle, to: OldRowTitle): Promise<number> {
  const r = await t.exec(`UPDATE ${t.own(IDMAP)} SET old_namespace = ?, old_title = ? WHERE old_namespace = ? AND old_title = ?`, [to.ns, to.title, from.ns, from.title]);
  await fileHistory(t, to);
  return r.affectedRows;
}

/** Deletes history revisions wherever they are filed (text rows stay, as 1.5 keeps them). */
export async function deleteHistory(t: Target, revIds: number[]): Promise<void> {
  if (revIds.length === 0) return;
  for (const table of [t.table('revision'), t.own(ORPHANS)]) await t.exec(`DELETE FROM ${table} WHERE rev_id IN (${marks(revIds)})`, revIds);
  await t.exec(`DELETE FROM ${t.own(IDMAP)} WHERE rev_id IN (${marks(revIds)})`, revIds);
}
