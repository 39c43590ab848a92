// Reading values out of a parsed write: the rows of an INSERT by column, literal values, the ids
// an INSERT created, and the `column = value` conditions of a WHERE.
import { TranslateError } from '../pack.js';
import { REVISION_FIELDS, type RevisionFields } from './revision-store.js';
import { literalValue } from './sql-render.js';
import type { Literal } from './sql-normalise.js';
import type { Translation } from './translation.js';
import type { Expr, InsertModel } from './write-model.js';

export type Row = Map<string, Expr>;

/** The VALUES rows of an INSERT/REPLACE, each as column -> expression. */
export function insertRows(t: Translation): Row[] {
  const m = t.write.model as InsertModel;
  if (!m.rows) throw new TranslateError(`INSERT ... SELECT into ${t.table} is not translated`);
  return m.rows.map((row) => new Map(row.map((e, i) => [m.columns[i], e])));
}

/** The literal an expression is, null for NULL; anything computed is refused. */
export function literalOf(t: Translation, e: Expr | undefined, what: string): Literal | null {
  if (e === undefined || e.t === 'null') return null;
  if (e.t === 'lit') return t.write.literals[e.i];
  throw new TranslateError(`${what} in ${t.table} is an expression, not a value; not translated`);
}

/** A value to bind: string, bytes, or null (also for an absent column). */
export function valueOf(t: Translation, e: Expr | undefined, what: string): string | Buffer | null {
  const l = literalOf(t, e, what);
  return l === null ? null : literalValue(l);
}

export function intOf(t: Translation, e: Expr | undefined, what: string): number {
  const l = literalOf(t, e, what);
  const text = l === null ? '' : l.bytes.toString('latin1').trim();
  if (!/^-?\d+$/.test(text)) throw new TranslateError(`${what} in ${t.table} is not an integer: ${l === null ? 'NULL' : JSON.stringify(text.slice(0, 40))}`);
  return Number(text);
}

/** Byte length of a value as stored (page_len counts bytes, not characters). */
export function byteLength(v: string | Buffer | null): number {
  if (v === null) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
}

/**
 * The auto-increment ids an INSERT created, row by row: the id given in the row, else the
 * source's insert id (the first generated id; MySQL generates consecutive ids for one INSERT).
 */
export function insertedIds(t: Translation, rows: Row[], idColumn: string): number[] {
  let next = Number(t.entry.insertId);
  return rows.map((row) => {
    const given = row.get(idColumn);
    if (given !== undefined && given.t !== 'null') return intOf(t, given, idColumn);
    if (next === 0) throw new TranslateError(`INSERT into ${t.table} generated ${idColumn} but the journal recorded no insert id`);
    return next++;
  });
}

/** The AND-ed parts of a condition. */
export function conjuncts(e: Expr | null): Expr[] {
  if (e === null) return [];
  if (e.t === 'op' && (e.op === 'AND' || e.op === '&&')) return [...conjuncts(e.l), ...conjuncts(e.r)];
  return [e];
}

/** The literal in a top-level `column = literal` (either order) of the condition, if any. */
export function equalityOf(where: Expr[], column: string): Expr | undefined {
  for (const c of where) {
    if (c.t !== 'op' || c.op !== '=') continue;
    if (c.l.t === 'col' && c.l.name === column && c.r.t === 'lit') return c.r;
    if (c.r.t === 'col' && c.r.name === column && c.l.t === 'lit') return c.l;
  }
  return undefined;
}

/** The literals of a top-level `column IN (...)` or `column = literal`, if any. */
export function valuesListOf(where: Expr[], column: string): Expr[] | undefined {
  const eq = equalityOf(where, column);
  if (eq) return [eq];
  for (const c of where) {
    if (c.t === 'in' && !c.not && c.l.t === 'col' && c.l.name === column && c.list.every((x) => x.t === 'lit')) return c.list;
  }
  return undefined;
}

/** The revision metadata among `values` (<prefix>comment, <prefix>user, ...). */
export function revisionFieldsOf(t: Translation, values: Map<string, Expr>, prefix: string): RevisionFields {
  const out: RevisionFields = {};
  for (const f of REVISION_FIELDS) {
    const e = values.get(`${prefix}${f}`);
    if (e !== undefined) out[f] = valueOf(t, e, `${prefix}${f}`);
  }
  return out;
}
