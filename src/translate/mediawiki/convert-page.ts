// Bulk conversion of one 1.4 title: its cur row becomes page + current revision + text, and the
// old rows filed under the title become its history, numbered as the 1.5 updater numbers them
// (rev_id = rev_text_id = old_id; the current revision gets a new id above every old_id). The
// bookkeeping is what replaying the title's whole history leaves: every old row in the id map
// under its title, history of a title no page has in the orphans table, the current revision
// (which no old row stands for yet) out of the map, nothing unpushed.
import type { ConvertContext } from '../pack.js';
import { IDMAP, ORPHANS, UNPUSHED } from './bookkeeping-tables.js';
import { fileHistory, type OldRowTitle } from './history-by-title.js';
import { insertBatches } from './row-batches.js';
import { marks } from './sql-render.js';
import type { Target } from './translation.js';

type Row = Record<string, unknown>;

/**
 * With a fresh `ctx` (a target this run made, the title not converted into it yet) nothing of the
 * title is there: clearing is skipped, and no id the history needs is taken (current revisions of
 * titles converted before got ids above the source's largest old_id).
 */
export async function convertPage(src: Target, dst: Target, at: OldRowTitle, ctx?: ConvertContext): Promise<void> {
  // 1.4 may hold one title twice in cur; the updater keeps the newest row, so does this.
  const [cur] = await src.query<Row>(
    `SELECT * FROM ${src.table('cur')} WHERE cur_namespace = ? AND cur_title = ? ORDER BY cur_timestamp DESC LIMIT 1`,
    [at.ns, at.title],
  );
  const history = await src.query<Row>(
    `SELECT old_id, old_text, old_flags, old_comment, old_user, old_user_text, old_timestamp, old_minor_edit
       FROM ${src.table('old')} WHERE old_namespace = ? AND old_title = ? ORDER BY old_id`,
    [at.ns, at.title],
  );
  const maxOld = ctx ? await ctx.readOnce(`max old_id of ${src.table('old')}`, () => maxOldId(src)) : await maxOldId(src);
  const pageId = cur ? Number(cur.cur_id) : 0;
  const fresh = ctx?.fresh ?? false;
  if (!fresh) await clearTitle(dst, at, pageId);
  if (cur) await createPage(dst, cur, maxOld);
  await addHistory(dst, at, pageId, history, maxOld, fresh);
}

async function maxOldId(src: Target): Promise<number> {
  const [{ maxOld }] = await src.query<{ maxOld: unknown }>(`SELECT COALESCE(MAX(old_id), 0) AS maxOld FROM ${src.table('old')}`);
  return Number(maxOld);
}

/** Removes what the target holds for the title (and any other page holding its page id). */
async function clearTitle(dst: Target, at: OldRowTitle, pageId: number): Promise<void> {
  const pages = await dst.query<{ page_id: unknown; ns: unknown; title: unknown }>(
    `SELECT page_id, page_namespace AS ns, page_title AS title FROM ${dst.table('page')}
      WHERE (page_namespace = ? AND page_title = ?) OR page_id = ? FOR UPDATE`,
    [at.ns, at.title, pageId],
  );
  const pageIds = pages.map((p) => Number(p.page_id));
  const titled = await dst.query<{ rev_id: unknown }>(`SELECT rev_id FROM ${dst.own(IDMAP)} WHERE old_namespace = ? AND old_title = ? FOR UPDATE`, [at.ns, at.title]);
  // The pages' own revisions: current and unpushed ones, which no old row stands for.
  const own = pageIds.length === 0 ? [] : await dst.query<{ rev_id: unknown }>(
    `SELECT r.rev_id FROM ${dst.table('revision')} r LEFT JOIN ${dst.own(IDMAP)} m ON m.rev_id = r.rev_id
      WHERE r.rev_page IN (${marks(pageIds)}) AND m.rev_id IS NULL FOR UPDATE`,
    pageIds,
  );
  const revIds = [...titled, ...own].map((r) => Number(r.rev_id));
  if (revIds.length > 0) {
    const texts = await dst.query<{ id: unknown }>(
      `SELECT rev_text_id AS id FROM ${dst.table('revision')} WHERE rev_id IN (${marks(revIds)})
       UNION SELECT rev_text_id FROM ${dst.own(ORPHANS)} WHERE rev_id IN (${marks(revIds)})`,
      [...revIds, ...revIds],
    );
    for (const table of [dst.table('revision'), dst.own(ORPHANS), dst.own(IDMAP)]) {
      await dst.exec(`DELETE FROM ${table} WHERE rev_id IN (${marks(revIds)})`, revIds);
    }
    await deleteUnusedTexts(dst, texts.map((r) => Number(r.id)));
  }
  if (pageIds.length === 0) return;
  await dst.exec(`DELETE FROM ${dst.own(UNPUSHED)} WHERE page_id IN (${marks(pageIds)})`, pageIds);
  await dst.exec(`DELETE FROM ${dst.table('page')} WHERE page_id IN (${marks(pageIds)})`, pageIds);
  // A page that held this page id under another title leaves that title's history without a page.
  for (const p of pages) if (Number(p.ns) !== at.ns || !sameBytes(p.title, at.title)) await fileHistory(dst, { ns: Number(p.ns), title: p.title });
}

/** Text rows no revision or archive row points at any more (1.5 keeps archived text). */
async function deleteUnusedTexts(dst: Target, textIds: number[]): Promise<void> {
  if (textIds.length === 0) return;
  await dst.exec(
    `DELETE FROM ${dst.table('text')} WHERE old_id IN (${marks(textIds)})
        AND NOT EXISTS (SELECT 1 FROM ${dst.table('revision')} r WHERE r.rev_text_id = old_id)
        AND NOT EXISTS (SELECT 1 FROM ${dst.own(ORPHANS)} o WHERE o.rev_text_id = old_id)
        AND NOT EXISTS (SELECT 1 FROM ${dst.table('archive')} a WHERE a.ar_text_id = old_id)`,
    textIds,
  );
}

async function createPage(dst: Target, cur: Row, maxOld: number): Promise<void> {
  const [revId] = await freshIds(dst, 1, maxOld);
  const text = Buffer.isBuffer(cur.cur_text) ? cur.cur_text : Buffer.from(String(cur.cur_text ?? ''), 'utf8');
  await dst.exec(`INSERT INTO ${dst.table('text')} (old_id, old_text, old_flags) VALUES (?, ?, '')`, [revId, text]);
  await dst.exec(
    `INSERT INTO ${dst.table('revision')} (rev_id, rev_page, rev_text_id, rev_comment, rev_user, rev_user_text, rev_timestamp, rev_minor_edit, rev_deleted)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`,
    [revId, cur.cur_id, revId, cur.cur_comment, cur.cur_user, cur.cur_user_text, cur.cur_timestamp, cur.cur_minor_edit],
  );
  await dst.exec(
    `INSERT INTO ${dst.table('page')} (page_id, page_namespace, page_title, page_restrictions, page_counter, page_is_redirect, page_is_new, page_random, page_touched, page_latest, page_len)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [cur.cur_id, cur.cur_namespace, cur.cur_title, cur.cur_restrictions, cur.cur_counter, cur.cur_is_redirect, cur.cur_is_new, cur.cur_random, cur.cur_touched, revId, text.length],
  );
}

/**
 * The title's old rows as revisions of `pageId` (or orphans when it is 0), each bound in the id
 * map. rev_id = old_id unless the target already uses that id (a repair after replay made
 * revisions of its own), then a fresh one.
 */
async function addHistory(dst: Target, at: OldRowTitle, pageId: number, history: Row[], maxOld: number, fresh: boolean): Promise<void> {
  if (history.length === 0) return;
  const oldIds = history.map((r) => Number(r.old_id));
  const taken = new Set(fresh ? [] : (await idsInUse(dst, oldIds)).map(Number));
  const spare = await freshIds(dst, oldIds.filter((id) => taken.has(id)).length, maxOld);
  const revIds = oldIds.map((id) => (taken.has(id) ? spare.shift()! : id));
  await insertBatches(dst, 'INSERT', dst.table('text'), ['old_id', 'old_text', 'old_flags'], history.map((r, i) => [revIds[i], r.old_text, r.old_flags]));
  await insertBatches(
    dst,
    'INSERT',
    pageId === 0 ? dst.own(ORPHANS) : dst.table('revision'),
    ['rev_id', 'rev_page', 'rev_text_id', 'rev_comment', 'rev_user', 'rev_user_text', 'rev_timestamp', 'rev_minor_edit', 'rev_deleted'],
    history.map((r, i) => [revIds[i], pageId, revIds[i], r.old_comment, r.old_user, r.old_user_text, r.old_timestamp, r.old_minor_edit, 0]),
  );
  await insertBatches(dst, 'INSERT', dst.own(IDMAP), ['old_id', 'rev_id', 'old_namespace', 'old_title'], oldIds.map((id, i) => [id, revIds[i], at.ns, at.title]));
}

async function idsInUse(dst: Target, ids: number[]): Promise<unknown[]> {
  const rows = await dst.query<{ id: unknown }>(
    `SELECT rev_id AS id FROM ${dst.table('revision')} WHERE rev_id IN (${marks(ids)})
     UNION SELECT rev_id FROM ${dst.own(ORPHANS)} WHERE rev_id IN (${marks(ids)})
     UNION SELECT old_id FROM ${dst.table('text')} WHERE old_id IN (${marks(ids)})`,
    [...ids, ...ids, ...ids],
  );
  return rows.map((r) => r.id);
}

/**
 * `n` ids free as both rev_id and text id, above `floor` (the source's largest old_id, so the
 * old rows of titles converted later keep theirs). Conversions into one target run one at a time.
 */
async function freshIds(dst: Target, n: number, floor: number): Promise<number[]> {
  if (n === 0) return [];
  const [{ top }] = await dst.query<{ top: unknown }>(
    `SELECT GREATEST(?, (SELECT COALESCE(MAX(rev_id), 0) FROM ${dst.table('revision')}),
                        (SELECT COALESCE(MAX(rev_id), 0) FROM ${dst.own(ORPHANS)}),
                        (SELECT COALESCE(MAX(old_id), 0) FROM ${dst.table('text')})) AS top`,
    [floor],
  );
  return Array.from({ length: n }, (_, i) => Number(top) + 1 + i);
}

function sameBytes(a: unknown, b: unknown): boolean {
  const bytes = (v: unknown) => (Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8'));
  return bytes(a).equals(bytes(b));
}
