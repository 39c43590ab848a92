// The persistent id map between 1.4 old rows and 1.5 revisions, kept in the target and written in
// the replay transaction, so it always matches the applied journal position.
import { IDMAP, UNPUSHED } from './bookkeeping-tables.js';
import type { OldRowTitle } from './history-by-title.js';
import { marks } from './sql-render.js';
import type { Target } from './translation.js';

/** old_id now stands for `revId`, filed under the 1.4 title `at`. */
export async function bindOldId(t: Target, oldId: number, revId: number, at: OldRowTitle): Promise<void> {
  await t.exec(
    `INSERT INTO ${t.own(IDMAP)} (old_id, rev_id, old_namespace, old_title) VALUES (?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE rev_id = VALUES(rev_id), old_namespace = VALUES(old_namespace), old_title = VALUES(old_title)`,
    [oldId, revId, at.ns, at.title],
  );
}

/**
 * rev_id for each 1.4 old_id. An old_id the map does not know predates the replay: a target
 * converted by the 1.5 updater has rev_id = old_id for history, so that is used when such a
 * revision exists. Ids with neither are left out of the result.
 */
export async function revIdsOf(t: Target, oldIds: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const wanted = [...new Set(oldIds.filter((id) => id > 0))];
  if (wanted.length === 0) return out;
  const mapped = await t.query<{ old_id: number; rev_id: number }>(`SELECT old_id, rev_id FROM ${t.own(IDMAP)} WHERE old_id IN (${marks(wanted)})`, wanted);
  for (const r of mapped) out.set(Number(r.old_id), Number(r.rev_id));
  const unknown = wanted.filter((id) => !out.has(id));
  if (unknown.length === 0) return out;
  const converted = await t.query<{ rev_id: number }>(`SELECT rev_id FROM ${t.table('revision')} WHERE rev_id IN (${marks(unknown)})`, unknown);
  for (const r of converted) out.set(Number(r.rev_id), Number(r.rev_id));
  return out;
}

/** Whether some 1.4 old row already stands for this revision. */
export async function isBound(t: Target, revId: number): Promise<boolean> {
  const rows = await t.query(`SELECT 1 AS bound FROM ${t.own(IDMAP)} WHERE rev_id = ? LIMIT 1`, [revId]);
  return rows.length > 0;
}

export async function markUnpushed(t: Target, pageId: number, revId: number): Promise<void> {
  await t.exec(`INSERT INTO ${t.own(UNPUSHED)} (rev_id, page_id) VALUES (?, ?)`, [revId, pageId]);
}

/**
 * The unpushed revision an INSERT old with this timestamp pushes, now taken off the list: the
 * one of `pageId` (the page at the old row's title) if there is one, else the oldest of any page
 * (the page was renamed between 1.4's read of cur and its INSERT old).
 */
export async function takeUnpushed(t: Target, pageId: number, timestamp: unknown): Promise<number | null> {
  const rows = await t.query<{ rev_id: number }>(
    `SELECT u.rev_id FROM ${t.own(UNPUSHED)} u JOIN ${t.table('revision')} r ON r.rev_id = u.rev_id
      WHERE r.rev_timestamp = ? ORDER BY u.page_id = ? DESC, u.rev_id LIMIT 1 FOR UPDATE`,
    [timestamp ?? '', pageId],
  );
  if (rows.length === 0) return null;
  const revId = Number(rows[0].rev_id);
  await t.exec(`DELETE FROM ${t.own(UNPUSHED)} WHERE rev_id = ?`, [revId]);
  return revId;
}

export async function forgetUnpushed(t: Target, pageIds: number[]): Promise<void> {
  if (pageIds.length === 0) return;
  await t.exec(`DELETE FROM ${t.own(UNPUSHED)} WHERE page_id IN (${marks(pageIds)})`, pageIds);
}
