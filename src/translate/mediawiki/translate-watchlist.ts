// 1.4 watches a page with one row in its subject namespace; 1.5 keeps two rows, the subject and
// the talk namespace (ns & ~1, ns | 1), and a notification timestamp ('0': none sent).
import { TranslateError } from '../pack.js';
import { sameColumns } from './column-scopes.js';
import { columnsOf, renderExpr } from './sql-render.js';
import type { TableTranslator, Translation } from './translation.js';
import { insertRows, intOf, valueOf } from './write-values.js';
import type { Expr } from './write-model.js';

const COLUMNS = new Set(['wl_user', 'wl_namespace', 'wl_title']);

export const translateWatchlist: TableTranslator = async (t) => {
  const m = t.write.model;
  if (m.op === 'insert') return watch(t);
  if (m.op === 'update') throw new TranslateError('UPDATE watchlist is not translated (1.4 never writes one)');
  const params: unknown[] = [];
  const where = m.where === null ? '' : ` WHERE ${renderExpr(bothNamespaces(t, m.where), sameColumns(t, params, COLUMNS))}`;
  await t.target.exec(`DELETE FROM ${t.target.table('watchlist')}${where}`, params);
};

/** INSERT and REPLACE alike: 1.5 watches with INSERT IGNORE of both rows. */
async function watch(t: Translation): Promise<void> {
  const rows = insertRows(t).flatMap((row) => {
    for (const column of row.keys()) if (!COLUMNS.has(column)) throw new TranslateError(`watchlist has no column ${column} in 1.4; not translated`);
    // A column left out gets its default (wl_user has none: 0, as a non-strict server stores it).
    const user = row.has('wl_user') ? intOf(t, row.get('wl_user'), 'wl_user') : 0;
    const ns = row.has('wl_namespace') ? intOf(t, row.get('wl_namespace'), 'wl_namespace') : 0;
    const title = valueOf(t, row.get('wl_title'), 'wl_title') ?? '';
    return [[user, ns & ~1, title], [user, ns | 1, title]];
  });
  await t.target.exec(
    `INSERT IGNORE INTO ${t.target.table('watchlist')} (wl_user, wl_namespace, wl_title, wl_notificationtimestamp) VALUES ${rows.map(() => "(?, ?, ?, '0')").join(', ')}`,
    rows.flat(),
  );
}

/** `wl_namespace = n` becomes `wl_namespace IN (subject, talk)`: unwatching drops both rows. */
function bothNamespaces(t: Translation, e: Expr): Expr {
  if (e.t === 'op' && (e.op === 'AND' || e.op === '&&')) return { ...e, l: bothNamespaces(t, e.l), r: bothNamespaces(t, e.r) };
  if (e.t === 'op' && e.op === '=' && e.l.t === 'col' && e.l.name === 'wl_namespace' && e.r.t === 'lit') {
    const ns = intOf(t, e.r, 'wl_namespace');
    return { t: 'in', not: false, l: e.l, list: [{ t: 'raw', sql: String(ns & ~1) }, { t: 'raw', sql: String(ns | 1) }] };
  }
  if (columnsOf(e).some((c) => c.name === 'wl_namespace')) throw new TranslateError('a watchlist condition on wl_namespace other than `wl_namespace = n` under AND is not translated');
  return e;
}
