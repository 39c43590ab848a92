import { Lexer } from '../sql/lexer.js';

const ROW_WRITES = new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE']);

/** A row write that `SET STATEMENT ... FOR` can prefix (not a SET STATEMENT itself, no DDL, LOAD or CALL). */
export function takesStatementPrefix(sql: string | Buffer): boolean {
  const lx = new Lexer(Buffer.isBuffer(sql) ? sql : Buffer.from(sql.slice(0, 4096), 'utf8'));
  return lx.next() === 'word' && ROW_WRITES.has(lx.upper());
}

export function withPrefix(prefix: string, sql: string | Buffer): string | Buffer {
  if (prefix === '') return sql;
  return Buffer.isBuffer(sql) ? Buffer.concat([Buffer.from(prefix, 'latin1'), sql]) : prefix + sql;
}
