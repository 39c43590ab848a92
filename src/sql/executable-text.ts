import { isUtf8 } from 'node:buffer';
import { SqlTextError } from './errors.js';
import { DQUOTE, Lexer, QUOTE, isWordByte, unquote, type LexOptions } from './lexer.js';

export function isValidUtf8(buf: Buffer): boolean {
  return isUtf8(buf);
}

/**
 * The statement as a JavaScript string that, executed, stores exactly the same bytes. Valid UTF-8 is
 * decoded as is; otherwise every string literal whose content is not UTF-8 becomes a hex literal
 * X'..' of the bytes it stands for (adjacent literals, which MySQL concatenates, become one).
 * Invalid bytes inside plain comments are replaced (comments do not execute); anywhere else they
 * cannot be made exact and throw SqlTextError SQL_NOT_UTF8.
 */
export function toExecutableText(sql: Buffer, opts: LexOptions = {}): string {
  if (isUtf8(sql)) return sql.toString('utf8');
  const backslashEscapes = opts.noBackslashEscapes !== true;
  const lx = new Lexer(sql, opts);
  const parts: string[] = [];
  let emitted = 0;
  let t = lx.next();
  while (t !== 'end') {
    if (t !== 'string' || !isTextLiteral(sql, lx.start)) {
      requireUtf8Token(lx);
      t = lx.next();
      continue;
    }
    // A run of adjacent text literals is one value; rewrite it whole or not at all.
    const runStart = lx.start;
    const members: Array<[number, number]> = [];
    let runIsUtf8 = true;
    do {
      const open = literalQuote(sql, lx.start);
      members.push([open, lx.stop]);
      runIsUtf8 &&= isUtf8(sql.subarray(open + 1, lx.stop - 1));
      t = lx.next();
    } while (t === 'string' && (sql[lx.start] === QUOTE || sql[lx.start] === DQUOTE));
    if (runIsUtf8) continue;
    const runStop = members[members.length - 1][1];
    const bytes = Buffer.concat(members.map(([open, stop]) => unquote(sql, open, stop, backslashEscapes)));
    // Keep an attached introducer (_binary'..') a separate word: `_binary X'..'`.
    const space = runStart > 0 && isWordByte(sql[runStart - 1]) ? ' ' : '';
    parts.push(sql.toString('utf8', emitted, runStart), `${space}X'${bytes.toString('hex').toUpperCase()}'`);
    emitted = runStop;
  }
  // Between the checked tokens lie only whitespace and comments: a lossy decode changes nothing that runs.
  parts.push(sql.toString('utf8', emitted));
  return parts.join('');
}

/** A literal MySQL concatenates with its neighbours: '..', "..", N'..' (not X'..' or B'..'). */
function isTextLiteral(sql: Buffer, start: number): boolean {
  const c = sql[start];
  return c === QUOTE || c === DQUOTE || (c | 0x20) === 0x6e;
}

function literalQuote(sql: Buffer, start: number): number {
  const c = sql[start];
  return c === QUOTE || c === DQUOTE ? start : start + 1;
}

function requireUtf8Token(lx: Lexer): void {
  if (isUtf8(lx.buf.subarray(lx.start, lx.stop))) return;
  throw new SqlTextError(
    'SQL_NOT_UTF8',
    `statement has bytes that are not valid UTF-8 outside string literals (${lx.type} token at byte ${lx.start}), ` +
      'so it has no exact text form; keep it as bytes, or have the client use a UTF-8 connection character set',
  );
}
