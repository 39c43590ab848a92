// Renders model expressions back to SQL for the target, with the literals passed as parameters
// (bytes stay exact) and every column reference resolved by the caller (renamed, qualified, or
// refused when the target has no such column).
import { isUtf8 } from 'node:buffer';
import { TranslateError } from '../pack.js';
import type { Literal } from './sql-normalise.js';
import type { Expr } from './write-model.js';

export interface RenderScope {
  literals: Literal[];
  /** Parameters of the statement being built; rendering appends to it. */
  params: unknown[];
  /** SQL for a column reference; throws TranslateError when the target has no counterpart. */
  column(table: string | null, name: string): string;
}

/** A literal as a value to bind: valid UTF-8 text as a string; X'..', _binary and other bytes as a Buffer. */
export function literalValue(l: Literal): string | Buffer {
  if (l.kind === 'number') return l.bytes.toString('latin1');
  if (l.kind === 'hex' || l.charset === '_binary' || !isUtf8(l.bytes)) return l.bytes;
  return l.bytes.toString('utf8');
}

/** Bytes as a value to bind: a string when they are valid UTF-8. */
export function bytesValue(b: Buffer): string | Buffer {
  return isUtf8(b) ? b.toString('utf8') : b;
}

const PLAIN_NUMBER = /^[0-9A-Za-z_.]+$/;

export function renderExpr(e: Expr, s: RenderScope): string {
  switch (e.t) {
    case 'lit':
      return renderLiteral(s.literals[e.i], s);
    case 'null':
      return 'NULL';
    case 'raw':
      return e.sql;
    case 'col':
      return s.column(e.table, e.name);
    case 'op':
      return `(${renderExpr(e.l, s)} ${e.op} ${renderExpr(e.r, s)})`;
    case 'in':
      return `(${renderExpr(e.l, s)} ${e.not ? 'NOT IN' : 'IN'} (${e.list.map((x) => renderExpr(x, s)).join(', ')}))`;
    case 'between':
      return `(${renderExpr(e.l, s)} ${e.not ? 'NOT BETWEEN' : 'BETWEEN'} ${renderExpr(e.lo, s)} AND ${renderExpr(e.hi, s)})`;
    case 'unary':
      return `(${e.op} ${renderExpr(e.e, s)})`;
    case 'fn':
      return `${e.name}(${e.args.map((x) => renderExpr(x, s)).join(', ')})`;
  }
}

function renderLiteral(l: Literal, s: RenderScope): string {
  // Numbers go in as written: a quoted '5' is not the same in LIMIT or arithmetic on strings.
  if (l.kind === 'number') {
    const text = l.bytes.toString('latin1');
    if (!PLAIN_NUMBER.test(text)) throw new TranslateError(`unexpected number literal ${text}`);
    return text;
  }
  s.params.push(literalValue(l));
  return '?';
}

/** `?, ?, ?` for a list of values. */
export function marks(values: readonly unknown[]): string {
  return values.map(() => '?').join(', ');
}

export function quoteIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

/** Every column named anywhere in `e`. */
export function columnsOf(e: Expr | null, out: Array<{ table: string | null; name: string }> = []): Array<{ table: string | null; name: string }> {
  if (e === null) return out;
  switch (e.t) {
    case 'col':
      out.push({ table: e.table, name: e.name });
      break;
    case 'op':
      columnsOf(e.l, out);
      columnsOf(e.r, out);
      break;
    case 'in':
      columnsOf(e.l, out);
      for (const x of e.list) columnsOf(x, out);
      break;
    case 'between':
      columnsOf(e.l, out);
      columnsOf(e.lo, out);
      columnsOf(e.hi, out);
      break;
    case 'unary':
      columnsOf(e.e, out);
      break;
    case 'fn':
      for (const x of e.args) columnsOf(x, out);
      break;
  }
  return out;
}
