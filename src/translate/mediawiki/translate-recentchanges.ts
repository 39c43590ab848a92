// recentchanges keeps its rows. rc_this_oldid / rc_last_oldid name 1.4 old_ids, which become the
// rev_ids of those revisions (through the id map); 0 stays 0. That is what an upgraded 1.4 wiki
// holds (the 1.5 updater leaves these rows alone), so replayed rows and converted rows mean the
// same; 1.5 reads rc_this_oldid 0 as "the current revision" (diff=0).
import { TranslateError } from '../pack.js';
import { revIdsOf } from './id-map.js';
import { passThrough } from './pass-through.js';
import type { TableTranslator, Translation } from './translation.js';
import { intOf } from './write-values.js';
import type { Expr } from './write-model.js';

const OLDID_COLUMNS = new Set(['rc_this_oldid', 'rc_last_oldid']);

const passRecentChanges = passThrough({ autoId: 'rc_id' });

export const translateRecentChanges: TableTranslator = async (t) => {
  const m = t.write.model;
  const oldIds = literalOldIds(t);
  const revIds = await revIdsOf(t.target, oldIds);
  const missing = oldIds.filter((id) => id > 0 && !revIds.has(id));
  if (missing.length > 0) throw new TranslateError(`recentchanges names old_id ${missing.join(', ')}, which has no revision on the target`);
  const mapped = (e: Expr): Expr => {
    if (e.t !== 'lit') return e;
    const oldId = intOf(t, e, 'oldid');
    return { t: 'raw', sql: String(oldId > 0 ? revIds.get(oldId) : 0) };
  };
  if (m.op === 'insert') {
    if (!m.rows) throw new TranslateError('INSERT INTO recentchanges ... SELECT is not translated');
    const rows = m.rows.map((row) => row.map((e, i) => (OLDID_COLUMNS.has(m.columns[i]) ? mapped(e) : e)));
    return passRecentChanges(withModel(t, { ...m, rows }));
  }
  if (m.op === 'update') {
    const set = m.set.map((a) => (OLDID_COLUMNS.has(a.column) ? { ...a, value: mapped(a.value) } : a));
    return passRecentChanges(withModel(t, { ...m, set, where: mapWhere(m.where, mapped) }));
  }
  return passRecentChanges(withModel(t, { ...m, where: mapWhere(m.where, mapped) }));
};

/** Every old_id the statement writes or tests as a literal. */
function literalOldIds(t: Translation): number[] {
  const m = t.write.model;
  const out: number[] = [];
  const take = (e: Expr): Expr => {
    if (e.t === 'lit') out.push(intOf(t, e, 'oldid'));
    return e;
  };
  if (m.op === 'insert') m.rows?.forEach((row) => row.forEach((e, i) => OLDID_COLUMNS.has(m.columns[i]) && take(e)));
  if (m.op === 'update') m.set.forEach((a) => OLDID_COLUMNS.has(a.column) && take(a.value));
  if (m.op !== 'insert') mapWhere(m.where, take);
  return out;
}

/** `rc_*_oldid = literal` and `rc_*_oldid IN (literals)` with the literals mapped; other tests as they are. */
function mapWhere(e: Expr | null, mapped: (e: Expr) => Expr): Expr | null {
  if (e === null) return null;
  switch (e.t) {
    case 'op':
      if (isOldIdColumn(e.l) && e.r.t === 'lit') return { ...e, r: mapped(e.r) };
      if (isOldIdColumn(e.r) && e.l.t === 'lit') return { ...e, l: mapped(e.l) };
      return { ...e, l: mapWhere(e.l, mapped)!, r: mapWhere(e.r, mapped)! };
    case 'in':
      return isOldIdColumn(e.l) ? { ...e, list: e.list.map((x) => (x.t === 'lit' ? mapped(x) : x)) } : e;
    case 'unary':
      return { ...e, e: mapWhere(e.e, mapped)! };
    default:
      return e;
  }
}

function isOldIdColumn(e: Expr): boolean {
  return e.t === 'col' && OLDID_COLUMNS.has(e.name);
}

function withModel(t: Translation, model: Translation['write']['model']): Translation {
  return { ...t, write: { ...t.write, model } };
}
