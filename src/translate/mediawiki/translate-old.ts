// `old` held past revisions by title; in 1.5 they are revisions of a page (revision + text).
// The INSERT old of an edit pushes the revision the edit replaced: that revision already exists
// on the target (unpushed since the UPDATE cur), so the new old_id is bound to it. Undelete's
// INSERT old ... SELECT FROM archive re-creates revisions from the archive. Moves rename old rows
// by title, and so does the translation: 1.4 files history by title (a revision belongs to the
// page at its old row's title), and so does the 1.5 updater, whose result this must equal.
import { TranslateError } from '../pack.js';
import { renamedColumns } from './column-scopes.js';
import { deleteHistory, fileHistory, historyAt, renameHistory, type OldRowTitle } from './history-by-title.js';
import { bindOldId, revIdsOf, takeUnpushed } from './id-map.js';
import { REVISION_FIELDS, insertRevision, insertText, pageByTitle, type RevisionFields } from './revision-store.js';
import { PAGE_COLUMNS } from './translate-cur.js';
import { marks, quoteIdent, renderExpr } from './sql-render.js';
import type { TableTranslator, Translation } from './translation.js';
import { conjuncts, equalityOf, insertRows, insertedIds, intOf, revisionFieldsOf, valueOf, valuesListOf, type Row } from './write-values.js';
import type { Expr, InsertModel, SelectModel, UpdateModel } from './write-model.js';

const TITLE_COLUMNS = new Set(['old_namespace', 'old_title']);
const TEXT_COLUMNS = new Set(['old_text', 'old_flags']);
// The copied-over columns of an INSERT old ... SELECT: old_<x> takes <source>_<x>.
const COPIED = ['namespace', 'title', 'text', 'comment', 'user', 'user_text', 'timestamp', 'minor_edit', 'flags'];

export const translateOld: TableTranslator = async (t) => {
  const m = t.write.model;
  if (m.op === 'insert') return m.select ? insertOldSelect(t, m, m.select) : pushRevisions(t);
  if (m.op === 'update') return updateOld(t, m);
  return deleteOld(t, m.where);
};

async function pushRevisions(t: Translation): Promise<void> {
  const rows = insertRows(t);
  const oldIds = insertedIds(t, rows, 'old_id');
  for (let i = 0; i < rows.length; i++) await pushRevision(t, rows[i], oldIds[i]);
}

async function pushRevision(t: Translation, row: Row, oldId: number): Promise<void> {
  const at = { ns: intOf(t, row.get('old_namespace'), 'old_namespace'), title: valueOf(t, row.get('old_title'), 'old_title') ?? '' };
  // History belongs to the page at its title; with none (yet), 1.4 holds an old row no page shows.
  const pageId = (await pageByTitle(t.target, at.ns, at.title))?.page_id ?? 0;
  const fields = revisionFieldsOf(t, row, 'old_');
  const text = valueOf(t, row.get('old_text'), 'old_text') ?? '';
  const flags = valueOf(t, row.get('old_flags'), 'old_flags') ?? '';
  const revId = await takeUnpushed(t.target, pageId, fields.timestamp);
  if (revId === null) {
    // Not the revision an edit replaced (an import, a script, a race with a deletion): a revision of its own.
    const textId = await insertText(t.target, text, flags);
    await bindOldId(t.target, oldId, await insertRevision(t.target, pageId, textId, fields), at);
    if (pageId === 0) await fileHistory(t.target, at);
    return;
  }
  // The old row is what 1.4 keeps of that revision from now on: its text may be compressed, its flags set.
  const given = REVISION_FIELDS.filter((f) => fields[f] !== undefined);
  await t.target.exec(
    `UPDATE ${t.target.table('revision')} r JOIN ${t.target.table('text')} x ON x.old_id = r.rev_text_id
        SET x.old_text = ?, x.old_flags = ?, r.rev_page = ?${given.map((f) => `, r.rev_${f} = ?`).join('')}
      WHERE r.rev_id = ?`,
    [text, flags, pageId, ...given.map((f) => fields[f]), revId],
  );
  await bindOldId(t.target, oldId, revId, at);
  if (pageId === 0) await fileHistory(t.target, at);
}

async function insertOldSelect(t: Translation, m: InsertModel, select: SelectModel): Promise<void> {
  if (select.from.length !== 1) throw new TranslateError('INSERT INTO old ... SELECT from several tables is not translated');
  const source = select.from[0].name.slice(t.target.prefix.length);
  if (source === 'archive') return restoreFromArchive(t, m, select);
  if (source === 'cur') return pushCurrent(t, m, select);
  throw new TranslateError(`INSERT INTO old ... SELECT FROM ${source} is not translated`);
}

/** Undelete: archived revisions become revisions of the (re-created) page again. */
async function restoreFromArchive(t: Translation, m: InsertModel, select: SelectModel): Promise<void> {
  requireCopiedColumns(m, select, 'ar_');
  const params: unknown[] = [];
  const where = select.where === null ? '' : ` WHERE ${renderExpr(select.where, renamedColumns(t, params, (name) => (name.startsWith('ar_') ? quoteIdent(name) : null)))}`;
  const rows = await t.target.query<Record<string, unknown>>(
    `SELECT ar_namespace, ar_title, ar_text, ar_flags, ar_comment, ar_user, ar_user_text, ar_timestamp, ar_minor_edit, ar_text_id
       FROM ${t.target.table('archive')}${where} ORDER BY ar_timestamp FOR UPDATE`,
    params,
  );
  if (rows.length !== t.entry.affectedRows) {
    throw new TranslateError(`undelete restored ${t.entry.affectedRows} revision(s) on the source but the target archive has ${rows.length}: the target diverged`);
  }
  let oldId = Number(t.entry.insertId);
  for (const ar of rows) {
    const at = { ns: Number(ar.ar_namespace), title: ar.ar_title };
    const pageId = (await pageByTitle(t.target, at.ns, at.title))?.page_id ?? 0;
    const fields = Object.fromEntries(REVISION_FIELDS.map((f) => [f, ar[`ar_${f}`]])) as RevisionFields;
    // Rows archived here point at their text; rows archived before the replay carry it. The
    // revision gets a new id, as 1.4 gives the restored old row a new old_id (references to
    // the deleted revision, e.g. from recentchanges, stay dangling there too).
    const textId = ar.ar_text_id != null ? Number(ar.ar_text_id) : await insertText(t.target, ar.ar_text, ar.ar_flags);
    const revId = await insertRevision(t.target, pageId, textId, fields);
    await bindOldId(t.target, oldId++, revId, at);
    if (pageId === 0) await fileHistory(t.target, at);
  }
}

/** 1.4's quickEdit copies the current revision into old by SQL: bind the new old_id to it. */
async function pushCurrent(t: Translation, m: InsertModel, select: SelectModel): Promise<void> {
  requireCopiedColumns(m, select, 'cur_');
  const params: unknown[] = [];
  const where = select.where === null ? '' : ` WHERE ${renderExpr(select.where, renamedColumns(t, params, (name) => PAGE_COLUMNS[name] ?? null))}`;
  const pages = await t.target.query<{ page_latest: number; page_namespace: number; page_title: unknown }>(
    `SELECT page_latest, page_namespace, page_title FROM ${t.target.table('page')}${where} ORDER BY page_id FOR UPDATE`,
    params,
  );
  if (pages.length !== t.entry.affectedRows) throw new TranslateError(`INSERT INTO old ... SELECT FROM cur copied ${t.entry.affectedRows} row(s) on the source but matches ${pages.length} page(s) on the target`);
  let oldId = Number(t.entry.insertId);
  for (const p of pages) await bindOldId(t.target, oldId++, Number(p.page_latest), { ns: Number(p.page_namespace), title: p.page_title });
}

/** The SELECT copies old_<x> from <prefix><x>; inverse_timestamp (dropped in 1.5) may be anything. */
function requireCopiedColumns(m: InsertModel, select: SelectModel, prefix: string): void {
  m.columns.forEach((column, i) => {
    if (column === 'inverse_timestamp') return;
    const e = select.columns[i];
    const suffix = column.slice('old_'.length);
    const copies = e.t === 'col' && e.name === `${prefix}${suffix}` && COPIED.includes(suffix);
    const literalFlags = column === 'old_flags' && (e.t === 'lit' || e.t === 'raw');
    if (!copies && !literalFlags) throw new TranslateError(`INSERT INTO old ... SELECT fills ${column} from something other than ${prefix}${suffix}; not translated`);
  });
}

async function updateOld(t: Translation, m: UpdateModel): Promise<void> {
  const columns = m.set.map((a) => a.column);
  if (columns.every((c) => TITLE_COLUMNS.has(c))) return renameHistoryOf(t, m);
  if (!columns.every((c) => TEXT_COLUMNS.has(c))) throw new TranslateError(`UPDATE old SET ${columns.join(', ')} is not translated`);
  const parts = conjuncts(m.where);
  const ids = valuesListOf(parts, 'old_id');
  if (!ids || parts.length !== 1) throw new TranslateError('UPDATE old of text must name rows by old_id only; not translated');
  const revIds = await mappedRevisions(t, ids);
  const params: unknown[] = [];
  const scope = renamedColumns(t, params, (name) => (TEXT_COLUMNS.has(name) ? `x.${quoteIdent(name)}` : null));
  const sets = m.set.map((a) => `x.${quoteIdent(a.column)} = ${renderExpr(a.value, scope)}`);
  await t.target.exec(
    `UPDATE ${t.target.table('text')} x JOIN ${t.target.table('revision')} r ON r.rev_text_id = x.old_id SET ${sets.join(', ')} WHERE r.rev_id IN (${marks(revIds)})`,
    [...params, ...revIds],
  );
}

/** A move renames the history of one title: its revisions are filed under the new title. */
async function renameHistoryOf(t: Translation, m: UpdateModel): Promise<void> {
  const parts = conjuncts(m.where);
  const from = titleNamed(t, parts);
  const set = new Map(m.set.map((a) => [a.column, a.value]));
  const to = {
    ns: set.has('old_namespace') ? intOf(t, set.get('old_namespace'), 'old_namespace') : from.ns,
    title: set.has('old_title') ? (valueOf(t, set.get('old_title'), 'old_title') ?? '') : from.title,
  };
  const renamed = await renameHistory(t.target, from, to);
  if (renamed !== t.entry.affectedRows) throw new TranslateError(`the move renamed ${t.entry.affectedRows} old row(s) on the source but ${renamed} mapped revision(s) on the target: the target diverged`);
}

/** The title a condition names: exactly `old_namespace = n AND old_title = t`. */
function titleNamed(t: Translation, parts: Expr[]): OldRowTitle {
  const ns = equalityOf(parts, 'old_namespace');
  const title = equalityOf(parts, 'old_title');
  if (!ns || !title || parts.length !== 2) throw new TranslateError('old rows must be named by old_id or by exactly old_namespace and old_title; not translated');
  return { ns: intOf(t, ns, 'old_namespace'), title: valueOf(t, title, 'old_title') ?? '' };
}

/** History deleted by title (page deletion) or by old_id. Text rows stay, as 1.5 keeps them. */
async function deleteOld(t: Translation, where: Expr | null): Promise<void> {
  const parts = conjuncts(where);
  const ids = valuesListOf(parts, 'old_id');
  const revIds = ids && parts.length === 1 ? await mappedRevisions(t, ids) : await historyAt(t.target, titleNamed(t, parts));
  if (revIds.length !== t.entry.affectedRows) throw new TranslateError(`DELETE FROM old removed ${t.entry.affectedRows} row(s) on the source but names ${revIds.length} revision(s) on the target: the target diverged`);
  await deleteHistory(t.target, revIds);
}

async function mappedRevisions(t: Translation, ids: Expr[]): Promise<number[]> {
  const oldIds = ids.map((e) => intOf(t, e, 'old_id'));
  const map = await revIdsOf(t.target, oldIds);
  const missing = oldIds.filter((id) => !map.has(id));
  if (missing.length > 0) throw new TranslateError(`old_id ${missing.join(', ')} has no revision on the target`);
  return oldIds.map((id) => map.get(id)!);
}
