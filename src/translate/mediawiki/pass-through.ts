// Writes to tables whose rows mean the same in 1.4 and 1.5 (user, logging, site_stats, ...): the
// statement is re-rendered against the target table, values bound as parameters. Ids the source
// generated are written explicitly, so that later statements naming them find the same rows.
import { TranslateError } from '../pack.js';
import { renderExpr, quoteIdent, type RenderScope } from './sql-render.js';
import type { TableTranslator, Translation } from './translation.js';
import type { Expr, InsertModel, SelectModel, TableRef } from './write-model.js';

/** Tables with the same meaning in both versions (1.5 may add columns with defaults). */
export const UNCHANGED_TABLES: ReadonlySet<string> = new Set([
  'user', 'user_newtalk', 'imagelinks', 'categorylinks', 'site_stats', 'hitcounter', 'ipblocks', 'image', 'oldimage',
  'math', 'searchindex', 'interwiki', 'querycache', 'objectcache', 'logging', 'archive', 'recentchanges',
]);

export interface PassThroughOptions {
  /** Auto-increment column: given the id the source generated when an INSERT leaves it out or NULL. */
  autoId?: string;
  /** Columns 1.5 needs a value for that 1.4 never writes, with the value an upgrade gives old rows. */
  required?: Readonly<Record<string, string>>;
}

export function passThrough(opts: PassThroughOptions = {}): TableTranslator {
  return async (t) => {
    const m = t.write.model;
    const params: unknown[] = [];
    const scope = qualifiedScope(t, params, m.op === 'update' ? m.tables : m.op === 'delete' ? [m.table] : [m.table, ...(m.select?.from ?? [])]);
    const ignore = t.write.ignore ? ' IGNORE' : '';
    let sql: string;
    if (m.op === 'insert') sql = `${m.replace ? 'REPLACE' : `INSERT${ignore}`} INTO ${tableRef(t, m.table)} ${insertBody(t, m, scope, opts)}`;
    else if (m.op === 'update') sql = `UPDATE${ignore} ${m.tables.map((r) => tableRef(t, r)).join(', ')} SET ${m.set.map((a) => `${scope.column(a.table, a.column)} = ${renderExpr(a.value, scope)}`).join(', ')}${where(m.where, scope)}`;
    else sql = `DELETE${ignore} FROM ${tableRef(t, m.table)}${where(m.where, scope)}`;
    await t.target.exec(sql, params);
  };
}

function insertBody(t: Translation, m: InsertModel, scope: RenderScope, opts: PassThroughOptions): string {
  if (m.select) {
    if (opts.required && Object.keys(opts.required).some((c) => !m.columns.includes(c))) {
      throw new TranslateError(`INSERT INTO ${t.table} ... SELECT leaves out a column 1.5 requires; not translated`);
    }
    return `(${m.columns.map(quoteIdent).join(', ')}) ${selectSql(m.select, scope)}`;
  }
  const added = Object.keys(opts.required ?? {}).filter((c) => !m.columns.includes(c));
  const idAt = opts.autoId ? m.columns.indexOf(opts.autoId) : -1;
  let next = Number(t.entry.insertId);
  const addId = opts.autoId !== undefined && idAt === -1 && next > 0;
  const rows = m.rows!.map((row) => {
    const cells = row.map((e, i) => (i === idAt && e.t === 'null' && next > 0 ? String(next++) : renderExpr(e, scope)));
    if (addId) cells.push(String(next++));
    for (const column of added) {
      scope.params.push(opts.required![column]);
      cells.push('?');
    }
    return `(${cells.join(', ')})`;
  });
  const columns = [...m.columns, ...(addId ? [opts.autoId!] : []), ...added];
  return `(${columns.map(quoteIdent).join(', ')}) VALUES ${rows.join(', ')}`;
}

function selectSql(s: SelectModel, scope: RenderScope): string {
  const groupBy = s.groupBy.length > 0 ? ` GROUP BY ${s.groupBy.map((e) => renderExpr(e, scope)).join(', ')}` : '';
  return `SELECT ${s.columns.map((e) => renderExpr(e, scope)).join(', ')} FROM ${s.from.map((r) => scopeTable(scope, r)).join(', ')}${where(s.where, scope)}${groupBy}`;
}

function where(e: Expr | null, scope: RenderScope): string {
  return e === null ? '' : ` WHERE ${renderExpr(e, scope)}`;
}

interface QualifiedScope extends RenderScope {
  table(ref: TableRef): string;
}

function scopeTable(scope: RenderScope, ref: TableRef): string {
  return (scope as QualifiedScope).table(ref);
}

/** Column references keep their names; a table qualifier becomes the target table (or stays an alias). */
function qualifiedScope(t: Translation, params: unknown[], refs: TableRef[]): QualifiedScope {
  const aliases = new Set(refs.map((r) => r.alias).filter((a): a is string => a !== null));
  return {
    literals: t.write.literals,
    params,
    column(table, name) {
      if (table === null) return quoteIdent(name);
      return `${aliases.has(table) ? quoteIdent(table) : targetTable(t, table)}.${quoteIdent(name)}`;
    },
    table: (ref) => tableRef(t, ref),
  };
}

function tableRef(t: Translation, ref: TableRef): string {
  if (ref.db !== null && ref.db !== t.entry.db) throw new TranslateError(`the statement writes ${ref.db}.${ref.name}, outside the wiki's database ${String(t.entry.db)}; not translated`);
  return targetTable(t, ref.name) + (ref.alias ? ` AS ${quoteIdent(ref.alias)}` : '');
}

function targetTable(t: Translation, name: string): string {
  const logical = name.startsWith(t.target.prefix) ? name.slice(t.target.prefix.length) : name;
  if (!UNCHANGED_TABLES.has(logical)) throw new TranslateError(`${name} changed between 1.4 and 1.5; a statement that writes ${t.table} through it is not translated`);
  return t.target.table(logical);
}
