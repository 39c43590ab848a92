// Turns one journaled statement into a cacheable shape: its literals cut out (kept as exact bytes)
// and replaced by numbered placeholders, comments dropped, and the MySQL scheduling modifiers that
// node-sql-parser rejects or misreads (LOW_PRIORITY, DELAYED, HIGH_PRIORITY, QUICK, IGNORE after
// the verb) removed. Statements that differ only in their values share one shape, so the costly
// parse runs once per shape.
import { Lexer, QUOTE, unquote, type LexOptions } from '../../sql/lexer.js';
import { TranslateError } from '../pack.js';

export type LiteralKind = 'string' | 'number' | 'hex';

export interface Literal {
  kind: LiteralKind;
  /** The value's bytes: unescaped string content, the number's digits, the hex literal's bytes. */
  bytes: Buffer;
  /** A charset introducer written before a string (`_binary`, `_latin1`), lower case; null if none. */
  charset: string | null;
}

export interface NormalisedStatement {
  /** Statement text with literal i replaced by `:vi` and scheduling modifiers removed. */
  shape: string;
  literals: Literal[];
  /** The verb carried IGNORE (INSERT IGNORE, UPDATE IGNORE, DELETE IGNORE). */
  ignore: boolean;
}

const WRITE_VERBS = new Set(['INSERT', 'REPLACE', 'UPDATE', 'DELETE']);
// Scheduling only: dropping them changes when the statement runs, not what it does.
const SCHEDULING_MODIFIERS = new Set(['LOW_PRIORITY', 'DELAYED', 'HIGH_PRIORITY', 'QUICK']);

export function normaliseStatement(sql: Buffer, opts: LexOptions = {}): NormalisedStatement {
  const lx = new Lexer(sql, opts);
  const out = new ShapeWriter(sql, opts.noBackslashEscapes !== true);
  let ignore = false;
  let t = lx.next();
  if (t === 'word' && WRITE_VERBS.has(lx.upper())) {
    out.token(lx);
    t = lx.next();
    while (t === 'word' && (SCHEDULING_MODIFIERS.has(lx.upper()) || lx.isWord('IGNORE'))) {
      if (lx.isWord('IGNORE')) ignore = true;
      t = lx.next();
    }
  }
  for (; t !== 'end'; t = lx.next()) {
    if (t === 'string') out.stringLiteral(lx);
    else if (t === 'number') out.literal(lx, 'number', sql.subarray(lx.start, lx.stop));
    else if (t === 'param') throw new TranslateError('the statement still has a ? placeholder (a prepared statement whose parameters were not inlined)');
    else out.token(lx);
  }
  return { shape: out.text(), literals: out.literals, ignore };
}

/** Builds the shape token by token, keeping a space only where the source had one. */
class ShapeWriter {
  readonly literals: Literal[] = [];
  private readonly parts: string[] = [];
  private lastStop = -1;
  private lastLiteralStop = -2;
  // An introducer (_binary) is written as a word; it is taken back when a string follows it.
  private pendingIntroducer: { charset: string; partIndex: number } | null = null;

  constructor(
    private readonly sql: Buffer,
    private readonly backslashEscapes: boolean,
  ) {}

  token(lx: Lexer): void {
    this.space(lx.start);
    const word = lx.type === 'word' ? this.sql.toString('utf8', lx.start, lx.stop) : null;
    this.pendingIntroducer = word !== null && word.startsWith('_') ? { charset: word.toLowerCase(), partIndex: this.parts.length } : null;
    this.parts.push(word ?? this.sql.toString('utf8', lx.start, lx.stop));
    this.lastStop = lx.stop;
  }

  stringLiteral(lx: Lexer): void {
    const sql = this.sql;
    const first = sql[lx.start];
    const prefix = first === QUOTE || first === 0x22 ? 0 : first | 0x20; // x, b, n or none
    if (prefix === 0x62) throw new TranslateError("bit literals b'..' are not translated");
    const bytes = prefix === 0x78 ? hexBytes(sql, lx.start) : unquote(sql, lx.start + (prefix ? 1 : 0), lx.stop, this.backslashEscapes);
    const previous = this.literals[this.literals.length - 1];
    // Adjacent quoted strings are one value in MySQL ('a' 'b' = 'ab').
    if (prefix !== 0x78 && previous?.kind === 'string' && this.lastStop === this.lastLiteralStop) {
      previous.bytes = Buffer.concat([previous.bytes, bytes]);
      this.lastStop = this.lastLiteralStop = lx.stop;
      return;
    }
    let charset: string | null = null;
    if (this.pendingIntroducer && this.pendingIntroducer.partIndex === this.parts.length - 1) {
      charset = this.pendingIntroducer.charset;
      this.parts.pop();
    }
    this.literal(lx, prefix === 0x78 ? 'hex' : 'string', bytes, charset);
  }

  literal(lx: Lexer, kind: LiteralKind, bytes: Buffer, charset: string | null = null): void {
    this.space(lx.start);
    this.parts.push(`:v${this.literals.length}`);
    this.literals.push({ kind, bytes, charset });
    this.pendingIntroducer = null;
    this.lastStop = this.lastLiteralStop = lx.stop;
  }

  private space(start: number): void {
    if (this.parts.length > 0 && start > this.lastStop) this.parts.push(' ');
  }

  text(): string {
    return this.parts.join('');
  }
}

function hexBytes(sql: Buffer, start: number): Buffer {
  const hex = sql.toString('latin1', start + 2, sql.indexOf(QUOTE, start + 2));
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new TranslateError(`malformed hex literal X'${hex.slice(0, 40)}'`);
  return Buffer.from(hex, 'hex');
}

/** The start of a statement, for error messages. */
export function preview(sql: Buffer, max = 300): string {
  const text = sql.subarray(0, max).toString('utf8');
  return sql.length > max ? `${text}...` : text;
}
