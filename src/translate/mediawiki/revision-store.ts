// The 1.5 page/revision/text rows, written the way 1.5's Article and Revision classes write them.
import { TranslateError } from '../pack.js';
import { marks } from './sql-render.js';
import type { Target } from './translation.js';

/** Revision metadata by 1.4 column suffix: cur_<f>, old_<f>, ar_<f> all become rev_<f>. */
export const REVISION_FIELDS = ['comment', 'user', 'user_text', 'timestamp', 'minor_edit'] as const;
export type RevisionField = (typeof REVISION_FIELDS)[number];
export type RevisionFields = Partial<Record<RevisionField, unknown>>;

export interface PageRow {
  page_id: number;
  page_latest: number;
}

export async function insertText(t: Target, text: unknown, flags: unknown): Promise<number> {
  const r = await t.exec(`INSERT INTO ${t.table('text')} (old_text, old_flags) VALUES (?, ?)`, [text ?? '', flags ?? '']);
  return r.insertId;
}

/** A revision of `pageId` (0: history whose title has no page). */
export async function insertRevision(t: Target, pageId: number, textId: number, fields: RevisionFields): Promise<number> {
  const given = REVISION_FIELDS.filter((f) => fields[f] !== undefined);
  const columns = ['rev_page', 'rev_text_id', ...given.map((f) => `rev_${f}`), 'rev_deleted'];
  const params: unknown[] = [pageId, textId, ...given.map((f) => fields[f]), 0];
  const r = await t.exec(`INSERT INTO ${t.table('revision')} (${columns.join(', ')}) VALUES (${marks(params)})`, params);
  return r.insertId;
}

export async function revisionFields(t: Target, revId: number): Promise<RevisionFields> {
  const rows = await t.query<Record<string, unknown>>(
    `SELECT ${REVISION_FIELDS.map((f) => `rev_${f} AS ${f}`).join(', ')} FROM ${t.table('revision')} WHERE rev_id = ?`,
    [revId],
  );
  if (rows.length === 0) throw new TranslateError(`the target has no revision ${revId}, which the id map names: the target diverged`);
  return rows[0] as RevisionFields;
}

export async function pageByTitle(t: Target, ns: number, title: unknown): Promise<PageRow | null> {
  const rows = await t.query<PageRow>(
    `SELECT page_id, page_latest FROM ${t.table('page')} WHERE page_namespace = ? AND page_title = ? FOR UPDATE`,
    [ns, title],
  );
  return rows.length === 0 ? null : { page_id: Number(rows[0].page_id), page_latest: Number(rows[0].page_latest) };
}

export async function pageById(t: Target, pageId: number): Promise<PageRow | null> {
  const rows = await t.query<PageRow>(`SELECT page_id, page_latest FROM ${t.table('page')} WHERE page_id = ? FOR UPDATE`, [pageId]);
  return rows.length === 0 ? null : { page_id: Number(rows[0].page_id), page_latest: Number(rows[0].page_latest) };
}

/**
 * Removes revisions 1.4 threw away without keeping them anywhere, with their text unless
 * another revision or an archive row still points at it.
 */
export async function discardRevisions(t: Target, revIds: number[]): Promise<void> {
  if (revIds.length === 0) return;
  const texts = await t.query<{ rev_text_id: number }>(`SELECT rev_text_id FROM ${t.table('revision')} WHERE rev_id IN (${marks(revIds)})`, revIds);
  await t.exec(`DELETE FROM ${t.table('revision')} WHERE rev_id IN (${marks(revIds)})`, revIds);
  const textIds = texts.map((r) => Number(r.rev_text_id));
  if (textIds.length === 0) return;
  await t.exec(
    `DELETE FROM ${t.table('text')} WHERE old_id IN (${marks(textIds)})
        AND NOT EXISTS (SELECT 1 FROM ${t.table('revision')} r WHERE r.rev_text_id = old_id)
        AND NOT EXISTS (SELECT 1 FROM ${t.table('archive')} a WHERE a.ar_text_id = old_id)`,
    textIds,
  );
}
