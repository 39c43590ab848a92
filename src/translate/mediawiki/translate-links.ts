// links (page id -> page id) and brokenlinks (page id -> prefixed title) become one pagelinks
// table keyed by target title. One link can be in both 1.4 tables' history at once (creating a
// page moves its incoming links from brokenlinks to links; deleting it moves them back), so a
// pagelinks row is kept while either 1.4 table still has it: both are mirrored in the target
// (with the title each row stands for) and a pagelinks row goes only when neither has it.
import { TranslateError } from '../pack.js';
import { BROKENLINKS_SHADOW, LINKS_SHADOW } from './bookkeeping-tables.js';
import { sameColumns } from './column-scopes.js';
import { splitPrefixedTitle } from './namespaces.js';
import { bytesValue, renderExpr } from './sql-render.js';
import type { TableTranslator, Translation } from './translation.js';
import { insertRows, intOf, literalOf } from './write-values.js';
import type { Expr, UpdateModel } from './write-model.js';

interface PageLink {
  from: number;
  ns: number;
  title: unknown;
}

const LINKS_COLUMNS = new Set(['l_from', 'l_to']);
const BROKENLINKS_COLUMNS = new Set(['bl_from', 'bl_to']);

export const translateLinks: TableTranslator = async (t) => {
  const m = t.write.model;
  if (m.op === 'insert') return insertLinks(t);
  if (m.op === 'update') return updateLinks(t, m);
  return deleteMirrored(t, LINKS_SHADOW, 'l_from', LINKS_COLUMNS, m.where);
};

export const translateBrokenLinks: TableTranslator = async (t) => {
  const m = t.write.model;
  if (m.op === 'insert') return insertBrokenLinks(t);
  if (m.op === 'update') throw new TranslateError('UPDATE brokenlinks is not translated');
  return deleteMirrored(t, BROKENLINKS_SHADOW, 'bl_from', BROKENLINKS_COLUMNS, m.where);
};

async function insertLinks(t: Translation): Promise<void> {
  if (t.write.model.op === 'insert' && t.write.model.replace) throw new TranslateError('REPLACE INTO links is not translated');
  const pairs = insertRows(t).map((row) => [intOf(t, row.get('l_from'), 'l_from'), intOf(t, row.get('l_to'), 'l_to')]);
  await mirrorLinks(t, pairs);
}

/** Mirrors links rows with the title each stands for: its target page's title when the link is made. */
async function mirrorLinks(t: Translation, pairs: number[][]): Promise<void> {
  await t.target.exec(
    `INSERT${t.write.ignore ? ' IGNORE' : ''} INTO ${t.target.own(LINKS_SHADOW)} (l_from, l_to, pl_namespace, pl_title)
     SELECT v.f, v.t, p.page_namespace, p.page_title
       FROM (${pairs.map(() => 'SELECT ? AS f, ? AS t').join(' UNION ALL ')}) v
       LEFT JOIN ${t.target.table('page')} p ON p.page_id = v.t`,
    pairs.flat(),
  );
  await addFromLinks(t, pairs);
}

/** 1.4 re-points links when a page moves (UPDATE links SET l_to=<redirect> WHERE l_to=<page>). */
async function updateLinks(t: Translation, m: UpdateModel): Promise<void> {
  const newValue = new Map<string, number>();
  for (const a of m.set) {
    if (!LINKS_COLUMNS.has(a.column) || a.value.t !== 'lit') throw new TranslateError(`UPDATE links SET ${a.column} = <expression> is not translated`);
    newValue.set(a.column, intOf(t, a.value, a.column));
  }
  const params: unknown[] = [];
  const where = whereSql(t, m.where, LINKS_COLUMNS, params);
  const before = await t.target.query<{ l_from: number; l_to: number; pl_namespace: number | null; pl_title: unknown }>(
    `SELECT l_from, l_to, pl_namespace, pl_title FROM ${t.target.own(LINKS_SHADOW)}${where} FOR UPDATE`,
    params,
  );
  requireSameCount(t, before.length);
  if (before.length === 0) return;
  const pairs = before.map((r) => [newValue.get('l_from') ?? Number(r.l_from), newValue.get('l_to') ?? Number(r.l_to)]);
  await t.target.exec(`DELETE FROM ${t.target.own(LINKS_SHADOW)}${where}`, params);
  await mirrorLinks(t, pairs);
  await dropUnsupported(t, before.filter((r) => r.pl_namespace !== null).map((r) => ({ from: Number(r.l_from), ns: Number(r.pl_namespace), title: r.pl_title })));
}

async function insertBrokenLinks(t: Translation): Promise<void> {
  if (t.write.model.op === 'insert' && t.write.model.replace) throw new TranslateError('REPLACE INTO brokenlinks is not translated');
  const rows = insertRows(t).map((row) => {
    const to = literalOf(t, row.get('bl_to'), 'bl_to')?.bytes ?? Buffer.alloc(0);
    const { ns, title } = splitPrefixedTitle(to, t.namespaces);
    return { from: intOf(t, row.get('bl_from'), 'bl_from'), to: bytesValue(to), ns, title: bytesValue(title) };
  });
  await t.target.exec(
    `INSERT${t.write.ignore ? ' IGNORE' : ''} INTO ${t.target.own(BROKENLINKS_SHADOW)} (bl_from, bl_to, pl_namespace, pl_title) VALUES ${rows.map(() => '(?, ?, ?, ?)').join(', ')}`,
    rows.flatMap((r) => [r.from, r.to, r.ns, r.title]),
  );
  await t.target.exec(
    `INSERT IGNORE INTO ${t.target.table('pagelinks')} (pl_from, pl_namespace, pl_title) VALUES ${rows.map(() => '(?, ?, ?)').join(', ')}`,
    rows.flatMap((r) => [r.from, r.ns, r.title]),
  );
}

async function deleteMirrored(t: Translation, shadow: string, fromColumn: string, columns: ReadonlySet<string>, where: Expr | null): Promise<void> {
  const params: unknown[] = [];
  const condition = whereSql(t, where, columns, params);
  const before = await t.target.query<{ f: number; ns: number | null; title: unknown }>(
    `SELECT ${fromColumn} AS f, pl_namespace AS ns, pl_title AS title FROM ${t.target.own(shadow)}${condition} FOR UPDATE`,
    params,
  );
  requireSameCount(t, before.length);
  if (before.length === 0) return;
  await t.target.exec(`DELETE FROM ${t.target.own(shadow)}${condition}`, params);
  await dropUnsupported(t, before.filter((r) => r.ns !== null).map((r) => ({ from: Number(r.f), ns: Number(r.ns), title: r.title })));
}

/** pagelinks rows for these links rows (those whose target page existed). */
async function addFromLinks(t: Translation, pairs: number[][]): Promise<void> {
  await t.target.exec(
    `INSERT IGNORE INTO ${t.target.table('pagelinks')} (pl_from, pl_namespace, pl_title)
     SELECT l_from, pl_namespace, pl_title FROM ${t.target.own(LINKS_SHADOW)}
      WHERE (l_from, l_to) IN (${pairs.map(() => '(?, ?)').join(', ')}) AND pl_title IS NOT NULL`,
    pairs.flat(),
  );
}

/** Removes the pagelinks rows that neither mirrored 1.4 table holds any more. */
async function dropUnsupported(t: Translation, links: PageLink[]): Promise<void> {
  if (links.length === 0) return;
  const tuples = links.map(() => '(?, ?, ?)').join(', ');
  const params = links.flatMap((l) => [l.from, l.ns, l.title]);
  const supported = await t.target.query<{ f: number; ns: number; title: unknown }>(
    `SELECT l_from AS f, pl_namespace AS ns, pl_title AS title FROM ${t.target.own(LINKS_SHADOW)} WHERE (l_from, pl_namespace, pl_title) IN (${tuples})
     UNION SELECT bl_from, pl_namespace, pl_title FROM ${t.target.own(BROKENLINKS_SHADOW)} WHERE (bl_from, pl_namespace, pl_title) IN (${tuples})`,
    [...params, ...params],
  );
  const keep = new Set(supported.map((r) => linkKey(Number(r.f), Number(r.ns), r.title)));
  const gone = links.filter((l) => !keep.has(linkKey(l.from, l.ns, l.title)));
  if (gone.length === 0) return;
  await t.target.exec(
    `DELETE FROM ${t.target.table('pagelinks')} WHERE (pl_from, pl_namespace, pl_title) IN (${gone.map(() => '(?, ?, ?)').join(', ')})`,
    gone.flatMap((l) => [l.from, l.ns, l.title]),
  );
}

function linkKey(from: number, ns: number, title: unknown): string {
  const bytes = Buffer.isBuffer(title) ? title : Buffer.from(String(title), 'utf8');
  return `${from}:${ns}:${bytes.toString('hex')}`;
}

function whereSql(t: Translation, where: Expr | null, columns: ReadonlySet<string>, params: unknown[]): string {
  return where === null ? '' : ` WHERE ${renderExpr(where, sameColumns(t, params, columns))}`;
}

/** The mirror must change exactly as the source table did, or it no longer mirrors it. */
function requireSameCount(t: Translation, matched: number): void {
  if (matched !== t.entry.affectedRows) {
    throw new TranslateError(`${t.write.model.op.toUpperCase()} on ${t.table} changed ${t.entry.affectedRows} row(s) on the source but matches ${matched} in the target's mirror of ${t.table}: the target diverged`);
  }
}
