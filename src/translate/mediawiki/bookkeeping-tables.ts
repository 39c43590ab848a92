import type { Target } from './translation.js';

/**
 * 1.4 old_id -> the 1.5 rev_id holding that revision (text via rev_text_id), with the title the old
 * row has in 1.4: 1.4 files history by title, so the revision belongs to the page at that title
 * (rev_page 0 while there is none), exactly as the 1.5 updater would file it.
 */
export const IDMAP = 'metamorph_mw_idmap';
/**
 * Revisions that were a page's current revision until an edit replaced it, and that 1.4 has not
 * yet pushed into `old` (its INSERT old follows the UPDATE cur). Usually empty between transactions.
 */
export const UNPUSHED = 'metamorph_mw_unpushed';
/**
 * Revisions whose 1.4 old rows have a title no page has (yet): out of `revision`, as the 1.5
 * updater makes no revision of such a row; back in when a page takes the title.
 */
export const ORPHANS = 'metamorph_mw_orphans';
/** The 1.4 link tables as they are, with the (namespace, title) each row stands for in pagelinks. */
export const LINKS_SHADOW = 'metamorph_mw_links';
export const BROKENLINKS_SHADOW = 'metamorph_mw_brokenlinks';

const DDL: Record<string, string> = {
  [IDMAP]: `(
    old_id INT UNSIGNED NOT NULL PRIMARY KEY,
    rev_id INT UNSIGNED NOT NULL,
    old_namespace INT NOT NULL,
    old_title VARBINARY(255) NOT NULL,
    KEY rev_id (rev_id),
    KEY old_title (old_namespace, old_title))`,
  [UNPUSHED]: `(
    rev_id INT UNSIGNED NOT NULL PRIMARY KEY,
    page_id INT UNSIGNED NOT NULL,
    KEY page_id (page_id))`,
  [LINKS_SHADOW]: `(
    l_from INT UNSIGNED NOT NULL,
    l_to INT UNSIGNED NOT NULL,
    pl_namespace INT NULL,
    pl_title VARBINARY(255) NULL,
    UNIQUE KEY l_from (l_from, l_to),
    KEY l_to (l_to),
    KEY pl (l_from, pl_namespace, pl_title))`,
  [BROKENLINKS_SHADOW]: `(
    bl_from INT UNSIGNED NOT NULL,
    bl_to VARBINARY(255) NOT NULL,
    pl_namespace INT NOT NULL,
    pl_title VARBINARY(255) NOT NULL,
    UNIQUE KEY bl_from (bl_from, bl_to),
    KEY bl_to (bl_to),
    KEY pl (bl_from, pl_namespace, pl_title))`,
};

/** Creates the pack's bookkeeping tables in the target (InnoDB: they commit with the replay). */
export async function createBookkeeping(target: Target): Promise<void> {
  for (const [name, body] of Object.entries(DDL)) {
    await target.exec(`CREATE TABLE IF NOT EXISTS ${target.own(name)} ${body} ENGINE=InnoDB DEFAULT CHARSET=binary`);
  }
  await target.exec(`CREATE TABLE IF NOT EXISTS ${target.own(ORPHANS)} LIKE ${target.table('revision')}`);
}
