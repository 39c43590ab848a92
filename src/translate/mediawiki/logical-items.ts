// The logical items a 1.4 write touches, read from the literals it names: pages by
// namespace:title (or by id when only the id is written), users by id, else the table.
import type { LogicalItem } from '../pack.js';
import type { ParsedWrite } from './parse-write.js';
import type { Literal } from './sql-normalise.js';
import { conjuncts } from './write-values.js';
import type { Expr } from './write-model.js';

// Per table: the columns naming a page's namespace and title, a page id, a user id.
const TITLE_COLUMNS: Record<string, [string, string]> = {
  cur: ['cur_namespace', 'cur_title'],
  old: ['old_namespace', 'old_title'],
  archive: ['ar_namespace', 'ar_title'],
  recentchanges: ['rc_namespace', 'rc_title'],
  watchlist: ['wl_namespace', 'wl_title'],
  logging: ['log_namespace', 'log_title'],
};
const PAGE_ID_COLUMNS = new Set(['cur_id', 'l_from', 'l_to', 'bl_from', 'il_from', 'cl_from', 'rc_cur_id', 'si_page']);
const USER_ID_COLUMNS = new Set(['user_id', 'ur_user', 'wl_user', 'ug_user', 'ipb_user']);

export function itemsOfWrite(w: ParsedWrite, table: string): LogicalItem[] {
  const items = new Map<string, LogicalItem>();
  const add = (type: string, key: string) => items.set(`${type}\u0000${key}`, { type, key });
  for (const values of namedValues(w)) {
    const [nsColumn, titleColumn] = TITLE_COLUMNS[table] ?? [];
    const ns = nsColumn ? values.get(nsColumn) : undefined;
    const title = titleColumn ? values.get(titleColumn) : undefined;
    if (ns && title) add('page', `${text(ns)}:${text(title)}`);
    for (const [column, l] of values) {
      if (PAGE_ID_COLUMNS.has(column)) add('page-id', text(l));
      if (USER_ID_COLUMNS.has(column)) add('user', text(l));
    }
  }
  if (items.size === 0) add('table', table);
  return [...items.values()];
}

/** column -> literal, once per INSERT row and once for the WHERE's `column = literal` parts. */
function namedValues(w: ParsedWrite): Array<Map<string, Literal>> {
  const m = w.model;
  const out: Array<Map<string, Literal>> = [];
  const literal = (e: Expr | undefined) => (e?.t === 'lit' ? w.literals[e.i] : undefined);
  if (m.op === 'insert') {
    for (const row of m.rows ?? []) {
      const values = new Map<string, Literal>();
      row.forEach((e, i) => {
        const l = literal(e);
        if (l) values.set(m.columns[i], l);
      });
      out.push(values);
    }
  }
  const where = m.op === 'insert' ? m.select?.where ?? null : m.where;
  const values = new Map<string, Literal>();
  for (const c of conjuncts(where)) {
    if (c.t === 'op' && c.op === '=' && c.l.t === 'col' && literal(c.r)) values.set(c.l.name, literal(c.r)!);
    if (c.t === 'in' && !c.not && c.l.t === 'col') {
      for (const x of c.list) if (literal(x)) out.push(new Map([[c.l.name, literal(x)!]]));
    }
  }
  out.push(values);
  return out;
}

function text(l: Literal): string {
  return l.bytes.toString('utf8');
}
