// `cur` held a page and its current revision in one row; 1.5 splits it into page + revision + text.
// Page create: INSERT cur -> text, revision, page (page_id = cur_id). Edit: the guarded UPDATE cur
// -> a new revision that becomes page_latest; the replaced revision waits for the INSERT old that
// 1.4 issues next (see translate-old.ts). Touches, counters, protection: UPDATE page. Renames and
// deletions also refile the history of the titles involved (see history-by-title.ts); a deleted
// page's current revision goes, its text stays (as in 1.5) for the archive row that points at it.
import { TranslateError } from '../pack.js';
import { renamedColumns, valuesOnly } from './column-scopes.js';
import { IDMAP } from './bookkeeping-tables.js';
import { fileHistory, type OldRowTitle } from './history-by-title.js';
import { forgetUnpushed, isBound, markUnpushed } from './id-map.js';
import {
  REVISION_FIELDS,
  discardRevisions,
  insertRevision,
  insertText,
  pageById,
  pageByTitle,
  revisionFields,
  type RevisionFields,
} from './revision-store.js';
import { columnsOf, literalValue, marks, quoteIdent, renderExpr } from './sql-render.js';
import { isWikiTable, temporaryTable } from './temporary-tables.js';
import type { TableTranslator, Translation } from './translation.js';
import { byteLength, conjuncts, equalityOf, insertRows, insertedIds, intOf, revisionFieldsOf, valueOf, valuesListOf, type Row } from './write-values.js';
import type { Assignment, Expr, UpdateModel } from './write-model.js';

/** cur columns that live on in `page`. */
export const PAGE_COLUMNS: Readonly<Record<string, string>> = {
  cur_id: 'page_id',
  cur_namespace: 'page_namespace',
  cur_title: 'page_title',
  cur_restrictions: 'page_restrictions',
  cur_counter: 'page_counter',
  cur_is_redirect: 'page_is_redirect',
  cur_is_new: 'page_is_new',
  cur_random: 'page_random',
  cur_touched: 'page_touched',
};
const CONTENT_COLUMNS = new Set(['cur_text', ...REVISION_FIELDS.map((f) => `cur_${f}`)]);
const TITLE_COLUMNS = new Set(['cur_namespace', 'cur_title']);
// 1.5 orders history by rev_timestamp; the inverted copy 1.4 kept for its indexes is dropped.
const DROPPED_COLUMNS = new Set(['inverse_timestamp']);

export const translateCur: TableTranslator = async (t) => {
  const m = t.write.model;
  if (m.op === 'insert') return createPages(t);
  if (m.op === 'update') return updateCur(t, m);
  return deletePages(t, m.where);
};

async function createPages(t: Translation): Promise<void> {
  const rows = insertRows(t);
  if (t.write.ignore && rows.length > 1 && t.entry.affectedRows < rows.length) {
    throw new TranslateError(`INSERT IGNORE into cur skipped some of its ${rows.length} rows; which ones is unknown`);
  }
  const ids = insertedIds(t, rows, 'cur_id');
  for (let i = 0; i < rows.length; i++) await createPage(t, rows[i], ids[i]);
}

async function createPage(t: Translation, row: Row, pageId: number): Promise<void> {
  for (const column of row.keys()) requireCurColumn(column);
  const text = valueOf(t, row.get('cur_text'), 'cur_text') ?? '';
  const textId = await insertText(t.target, text, '');
  const revId = await insertRevision(t.target, pageId, textId, revisionFieldsOf(t, row, 'cur_'));
  const params: unknown[] = [pageId];
  const columns = ['page_id'];
  const values = ['?'];
  for (const [column, e] of row) {
    if (column === 'cur_id' || !PAGE_COLUMNS[column]) continue;
    columns.push(PAGE_COLUMNS[column]);
    values.push(renderExpr(e, valuesOnly(t, params)));
  }
  columns.push('page_latest', 'page_len');
  values.push('?', '?');
  params.push(revId, byteLength(text));
  await t.target.exec(`INSERT INTO ${t.target.table('page')} (${columns.join(', ')}) VALUES (${values.join(', ')})`, params);
  // Old rows with this title (left behind by a move, restored by an undelete) are now its history.
  const ns = row.has('cur_namespace') ? intOf(t, row.get('cur_namespace'), 'cur_namespace') : 0;
  await fileHistory(t.target, { ns, title: valueOf(t, row.get('cur_title'), 'cur_title') ?? '' });
}

async function updateCur(t: Translation, m: UpdateModel): Promise<void> {
  for (const a of m.set) if (isCurColumn(a)) requireCurColumn(a.column);
  const changesContent = m.set.some((a) => isCurColumn(a) && CONTENT_COLUMNS.has(a.column));
  const renames = m.set.some((a) => isCurColumn(a) && TITLE_COLUMNS.has(a.column));
  if (m.tables.length > 1) {
    if (changesContent || renames) throw new TranslateError('a multi-table UPDATE of cur that changes revision content or titles is not translated');
    return updatePages(t, m, m.where);
  }
  const mappable = whereIsOnPageColumns(m.where);
  if (!changesContent && !renames && mappable) return updatePages(t, m, m.where);
  const pageIds = mappable ? await pageIdsWhere(t, m.where) : await keyedPageIds(t, m.where);
  if (pageIds.length === 0) throw new TranslateError(`UPDATE cur changed ${t.entry.affectedRows} row(s) on the source but matches no page on the target: the target diverged`);
  const before = renames ? await titlesOf(t, pageIds) : [];
  if (!changesContent) await updatePages(t, m, null, pageIds);
  else if (pageIds.length !== 1) throw new TranslateError(`an UPDATE of cur content must name one page; it named ${pageIds.length}`);
  else await changeContent(t, m, pageIds[0]);
  // History stays filed under the old title until 1.4 renames the old rows too.
  if (renames) for (const at of [...before, ...(await titlesOf(t, pageIds))]) await fileHistory(t.target, at);
}

/** UPDATE page [, other tables] SET <page columns> WHERE <renamed condition | page_id IN ids>. */
async function updatePages(t: Translation, m: UpdateModel, where: Expr | null, pageIds?: number[]): Promise<void> {
  const params: unknown[] = [];
  const scope = renamedColumns(t, params, (name, table) => curToPage(t, name, table));
  const sets = m.set
    .filter((a) => !(isCurColumn(a) && DROPPED_COLUMNS.has(a.column)))
    .map((a) => `${scope.column(a.table, a.column)} = ${renderExpr(a.value, scope)}`);
  if (sets.length === 0) return;
  const tables = m.tables.map((tr) => otherTable(t, tr.name) + (tr.alias ? ` AS ${quoteIdent(tr.alias)}` : ''));
  let condition = where === null ? '' : ` WHERE ${renderExpr(where, scope)}`;
  if (pageIds) {
    condition = ` WHERE page_id IN (${marks(pageIds)})`;
    params.push(...pageIds);
  }
  await t.target.exec(`UPDATE ${tables.join(', ')} SET ${sets.join(', ')}${condition}`, params);
}

/** An edit (or a 1.4 in-place rewrite): the content becomes a new revision, page_latest moves to it. */
async function changeContent(t: Translation, m: UpdateModel, pageId: number): Promise<void> {
  const page = await pageById(t.target, pageId);
  if (!page) throw new TranslateError(`cur_id ${pageId} was updated on the source but the target has no page ${pageId}: the target diverged`);
  const set = new Map(m.set.map((a) => [a.column, a.value]));
  const fields = revisionFieldsOf(t, set, 'cur_');
  if (!set.has('cur_text')) {
    await updateRevision(t, page.page_latest, fields);
    return updatePages(t, { ...m, set: m.set.filter((a) => !CONTENT_COLUMNS.has(a.column)) }, null, [pageId]);
  }
  const previous = page.page_latest;
  const complete = REVISION_FIELDS.every((f) => f in fields) ? fields : { ...(await revisionFields(t.target, previous)), ...fields };
  const text = valueOf(t, set.get('cur_text'), 'cur_text') ?? '';
  const textId = await insertText(t.target, text, '');
  const revId = await insertRevision(t.target, pageId, textId, complete);
  await movePageLatest(t, m.set, pageId, previous, revId, byteLength(text));
  await settleReplaced(t, pageId, previous, set);
}

/** UPDATE page SET page_latest, page_len, <page columns> WHERE page_id AND page_latest (1.5's guard). */
async function movePageLatest(t: Translation, set: Assignment[], pageId: number, previous: number, revId: number, len: number): Promise<void> {
  const params: unknown[] = [revId, len];
  const scope = renamedColumns(t, params, (name) => curToPage(t, name, null));
  const sets = ['page_latest = ?', 'page_len = ?'];
  for (const a of set) {
    if (CONTENT_COLUMNS.has(a.column) || DROPPED_COLUMNS.has(a.column)) continue;
    sets.push(`${scope.column(a.table, a.column)} = ${renderExpr(a.value, scope)}`);
  }
  params.push(pageId, previous);
  const r = await t.target.exec(`UPDATE ${t.target.table('page')} SET ${sets.join(', ')} WHERE page_id = ? AND page_latest = ?`, params);
  if (r.affectedRows !== 1) throw new TranslateError(`page ${pageId} changed under the translation (page_latest is no longer ${previous}): the target diverged`);
}

/**
 * The revision an edit replaced: 1.4 normally pushes it into `old` next (it waits as unpushed).
 * A rewrite that marks the row new (cur_is_new=1, 1.4's move over a redirect) keeps no history:
 * the replaced revision is gone in 1.4, so it goes here too.
 */
async function settleReplaced(t: Translation, pageId: number, previous: number, set: Map<string, Expr>): Promise<void> {
  if (await isBound(t.target, previous)) return;
  const isNew = set.get('cur_is_new');
  if (isNew !== undefined && isNew.t === 'lit' && literalValue(t.write.literals[isNew.i]).toString() === '1') {
    await discardRevisions(t.target, [previous]);
    return;
  }
  await markUnpushed(t.target, pageId, previous);
}

async function updateRevision(t: Translation, revId: number, fields: RevisionFields): Promise<void> {
  const given = REVISION_FIELDS.filter((f) => fields[f] !== undefined);
  if (given.length === 0) return;
  await t.target.exec(
    `UPDATE ${t.target.table('revision')} SET ${given.map((f) => `rev_${f} = ?`).join(', ')} WHERE rev_id = ?`,
    [...given.map((f) => fields[f]), revId],
  );
}

async function deletePages(t: Translation, where: Expr | null): Promise<void> {
  const pageIds = whereIsOnPageColumns(where) ? await pageIdsWhere(t, where) : await keyedPageIds(t, where);
  if (pageIds.length !== t.entry.affectedRows) {
    throw new TranslateError(`DELETE FROM cur removed ${t.entry.affectedRows} row(s) on the source but matches ${pageIds.length} page(s) on the target: the target diverged`);
  }
  if (pageIds.length === 0) return;
  const titles = await titlesOf(t, pageIds);
  // The current revision (and any replaced one 1.4 never pushed) goes with the page; history
  // stays with its title until 1.4 deletes the old rows (or a new page takes the title).
  const own = await t.target.query<{ rev_id: number }>(
    `SELECT r.rev_id FROM ${t.target.table('revision')} r LEFT JOIN ${t.target.own(IDMAP)} m ON m.rev_id = r.rev_id
      WHERE r.rev_page IN (${marks(pageIds)}) AND m.rev_id IS NULL FOR UPDATE`,
    pageIds,
  );
  const revIds = own.map((r) => Number(r.rev_id));
  if (revIds.length > 0) await t.target.exec(`DELETE FROM ${t.target.table('revision')} WHERE rev_id IN (${marks(revIds)})`, revIds);
  await t.target.exec(`DELETE FROM ${t.target.table('page')} WHERE page_id IN (${marks(pageIds)})`, pageIds);
  await forgetUnpushed(t.target, pageIds);
  for (const at of titles) await fileHistory(t.target, at);
}

async function titlesOf(t: Translation, pageIds: number[]): Promise<OldRowTitle[]> {
  if (pageIds.length === 0) return [];
  const rows = await t.target.query<{ ns: number; title: unknown }>(`SELECT page_namespace AS ns, page_title AS title FROM ${t.target.table('page')} WHERE page_id IN (${marks(pageIds)})`, pageIds);
  return rows.map((r) => ({ ns: Number(r.ns), title: r.title }));
}

async function pageIdsWhere(t: Translation, where: Expr | null): Promise<number[]> {
  const params: unknown[] = [];
  const condition = where === null ? '' : ` WHERE ${renderExpr(where, renamedColumns(t, params, (name) => curToPage(t, name, null)))}`;
  const rows = await t.target.query<{ page_id: number }>(`SELECT page_id FROM ${t.target.table('page')}${condition} FOR UPDATE`, params);
  return rows.map((r) => Number(r.page_id));
}

/**
 * The pages a condition names by key (cur_id = / IN, or cur_namespace = AND cur_title =); its
 * other parts (1.4's cur_timestamp guard) held on the source, as its affected-row count shows.
 */
async function keyedPageIds(t: Translation, where: Expr | null): Promise<number[]> {
  const parts = conjuncts(where);
  const ids = valuesListOf(parts, 'cur_id');
  if (ids) return ids.map((e) => intOf(t, e, 'cur_id'));
  const ns = equalityOf(parts, 'cur_namespace');
  const title = equalityOf(parts, 'cur_title');
  if (ns && title) {
    const page = await pageByTitle(t.target, intOf(t, ns, 'cur_namespace'), valueOf(t, title, 'cur_title'));
    return page ? [page.page_id] : [];
  }
  throw new TranslateError('the condition on cur neither names cur_id nor cur_namespace and cur_title, and uses columns page does not have; not translated');
}

function whereIsOnPageColumns(where: Expr | null): boolean {
  return columnsOf(where).every((c) => !c.name.startsWith('cur_') || PAGE_COLUMNS[c.name] !== undefined);
}

function curToPage(t: Translation, name: string, table: string | null): string | null {
  if (table !== null && !isCurTable(t, table)) return `${otherTable(t, table)}.${quoteIdent(name)}`;
  if (name.startsWith('cur_') || DROPPED_COLUMNS.has(name)) return PAGE_COLUMNS[name] ?? null;
  return quoteIdent(name); // a column of the other table of a multi-table UPDATE
}

function isCurColumn(a: Assignment): boolean {
  return a.column.startsWith('cur_') || DROPPED_COLUMNS.has(a.column);
}

function requireCurColumn(column: string): void {
  if (!PAGE_COLUMNS[column] && !CONTENT_COLUMNS.has(column) && !DROPPED_COLUMNS.has(column)) {
    throw new TranslateError(`cur has no column ${column} in MediaWiki 1.4; not translated`);
  }
}

/** A table of a multi-table UPDATE of cur: cur is page; the other one, the hit counter's temporary table. */
function otherTable(t: Translation, name: string): string {
  if (isCurTable(t, name)) return t.target.table('page');
  if (isWikiTable(name, t.target)) throw new TranslateError(`an UPDATE of cur together with ${name} is not translated`);
  return temporaryTable(t.target, t.entry, name);
}

function isCurTable(t: Translation, name: string): boolean {
  return strip(t, name) === 'cur';
}

function strip(t: Translation, name: string): string {
  return name.startsWith(t.target.prefix) ? name.slice(t.target.prefix.length) : name;
}
