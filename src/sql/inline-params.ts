import { SqlTextError } from './errors.js';
import { Lexer, isWordByte, type LexOptions } from './lexer.js';

const SPACE = Buffer.from(' ');

/**
 * The statement with each `?` placeholder (outside strings, comments and identifiers) replaced, in
 * order, by the given literal bytes. Throws SqlTextError SQL_PARAM_COUNT when the counts differ.
 */
export function inlineParams(sql: Buffer, literals: Buffer[], opts: LexOptions = {}): Buffer {
  const placeholders: number[] = [];
  const lx = new Lexer(sql, opts);
  for (let t = lx.next(); t !== 'end'; t = lx.next()) {
    if (t === 'param') placeholders.push(lx.start);
  }
  if (placeholders.length !== literals.length) {
    throw new SqlTextError(
      'SQL_PARAM_COUNT',
      `statement has ${placeholders.length} ? placeholders but ${literals.length} parameter values were given; ` +
        'the prepared statement text and its execute packet do not match',
    );
  }
  const parts: Buffer[] = [];
  let copied = 0;
  placeholders.forEach((at, i) => {
    const literal = literals[i];
    parts.push(sql.subarray(copied, at));
    // `LIMIT?` with 5 must not become the identifier LIMIT5.
    if (at > 0 && isWordByte(sql[at - 1]) && isWordByte(literal[0])) parts.push(SPACE);
    parts.push(literal);
    if (at + 1 < sql.length && isWordByte(sql[at + 1]) && isWordByte(literal[literal.length - 1])) parts.push(SPACE);
    copied = at + 1;
  });
  parts.push(sql.subarray(copied));
  return Buffer.concat(parts);
}
