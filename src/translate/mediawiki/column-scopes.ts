// Render scopes: how the column references of a 1.4 statement are written for the 1.5 target.
import { TranslateError } from '../pack.js';
import { quoteIdent, type RenderScope } from './sql-render.js';
import type { Translation } from './translation.js';

/** For VALUES and SET values that must be plain values: any column reference is refused. */
export function valuesOnly(t: Translation, params: unknown[]): RenderScope {
  return {
    literals: t.write.literals,
    params,
    column(_table, name) {
      throw new TranslateError(`a value in ${t.table} refers to column ${name}; not translated`);
    },
  };
}

/**
 * Columns renamed by `rename` (which returns the target column's SQL, or null when the 1.5
 * schema has no counterpart: then the statement is refused).
 */
export function renamedColumns(t: Translation, params: unknown[], rename: (name: string, table: string | null) => string | null): RenderScope {
  return {
    literals: t.write.literals,
    params,
    column(table, name) {
      const sql = rename(name, table);
      if (sql === null) throw new TranslateError(`${t.table}.${name} has no counterpart in the 1.5 schema for this statement; not translated`);
      return sql;
    },
  };
}

/** Columns kept as they are (the 1.5 table has them under the same name). */
export function sameColumns(t: Translation, params: unknown[], allowed?: ReadonlySet<string>): RenderScope {
  return renamedColumns(t, params, (name) => (allowed && !allowed.has(name) ? null : quoteIdent(name)));
}
