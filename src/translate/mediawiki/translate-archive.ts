// Page deletion archives the page's revisions. 1.4 copies cur and old rows with their text into
// archive; 1.5 writes the archive row without text, pointing at the revision's id and its
// still-existing text row (ar_rev_id, ar_text_id), which is what this writes. Other archive writes
// (undelete's DELETE, rows written as values) keep their meaning: the 1.4 columns exist in 1.5.
import { TranslateError } from '../pack.js';
import { renamedColumns } from './column-scopes.js';
import { IDMAP } from './bookkeeping-tables.js';
import { passThrough } from './pass-through.js';
import { PAGE_COLUMNS } from './translate-cur.js';
import { renderExpr } from './sql-render.js';
import type { TableTranslator, Translation } from './translation.js';
import type { InsertModel, SelectModel } from './write-model.js';

// archive column <- what 1.4 selects for it from cur / old.
const ARCHIVED_FROM: Record<string, string> = {
  ar_namespace: 'namespace',
  ar_title: 'title',
  ar_text: 'text',
  ar_comment: 'comment',
  ar_user: 'user',
  ar_user_text: 'user_text',
  ar_timestamp: 'timestamp',
  ar_minor_edit: 'minor_edit',
  ar_flags: 'flags',
};

// The 1.5 form of an archive row: no text, the revision's id and its text row's id.
const ARCHIVE_COLUMNS = '(ar_namespace, ar_title, ar_text, ar_comment, ar_user, ar_user_text, ar_timestamp, ar_minor_edit, ar_flags, ar_rev_id, ar_text_id)';
const REVISION_VALUES = "'', r.rev_comment, r.rev_user, r.rev_user_text, r.rev_timestamp, r.rev_minor_edit, '', r.rev_id, r.rev_text_id";

const passArchive = passThrough();

export const translateArchive: TableTranslator = async (t) => {
  const m = t.write.model;
  if (m.op !== 'insert' || !m.select) return passArchive(t);
  if (m.select.from.length !== 1) throw new TranslateError('INSERT INTO archive ... SELECT from several tables is not translated');
  const source = m.select.from[0].name.slice(t.target.prefix.length);
  if (source === 'cur') {
    // The current revision of the page.
    return archive(t, m, m.select, 'cur_', `SELECT p.page_namespace, p.page_title, ${REVISION_VALUES}
      FROM ${t.target.table('page')} p JOIN ${t.target.table('revision')} r ON r.rev_id = p.page_latest`);
  }
  if (source === 'old') {
    // The history filed under the title: the revisions that 1.4's old rows of that title stand for.
    return archive(t, m, m.select, 'old_', `SELECT m.old_namespace, m.old_title, ${REVISION_VALUES}
      FROM ${t.target.own(IDMAP)} m JOIN ${t.target.table('revision')} r ON r.rev_id = m.rev_id`);
  }
  throw new TranslateError(`INSERT INTO archive ... SELECT FROM ${source} is not translated`);
};

async function archive(t: Translation, m: InsertModel, select: SelectModel, prefix: string, source: string): Promise<void> {
  requireArchivedColumns(m, select, prefix);
  const params: unknown[] = [];
  const where = select.where === null ? '' : ` WHERE ${renderExpr(select.where, renamedColumns(t, params, (name) => sourceColumn(name, prefix)))}`;
  const r = await t.target.exec(`INSERT INTO ${t.target.table('archive')} ${ARCHIVE_COLUMNS} ${source}${where}`, params);
  if (r.affectedRows !== t.entry.affectedRows) {
    throw new TranslateError(`deletion archived ${t.entry.affectedRows} revision(s) from ${prefix.slice(0, -1)} on the source but ${r.affectedRows} on the target: the target diverged`);
  }
}

/** The condition's columns: on page (p) for cur, on the id map (m) and revision (r) for old. */
function sourceColumn(name: string, prefix: string): string | null {
  if (prefix === 'cur_') return PAGE_COLUMNS[name] ? `p.${PAGE_COLUMNS[name]}` : null;
  if (name === 'old_namespace' || name === 'old_title') return `m.${name}`;
  if (name === 'old_timestamp') return 'r.rev_timestamp';
  return null;
}

/** The SELECT copies each archive column from its cur/old counterpart (ar_flags may be a constant). */
function requireArchivedColumns(m: InsertModel, select: SelectModel, prefix: string): void {
  m.columns.forEach((column, i) => {
    const e = select.columns[i];
    const suffix = ARCHIVED_FROM[column];
    const copies = suffix !== undefined && e.t === 'col' && e.name === `${prefix}${suffix}`;
    const constantFlags = column === 'ar_flags' && (e.t === 'lit' || e.t === 'raw');
    if (!copies && !constantFlags) throw new TranslateError(`INSERT INTO archive ... SELECT fills ${column} from something other than ${prefix}${suffix ?? '?'}; not translated`);
  });
}
