import { SqlTextError } from './errors.js';
import { toExecutableText } from './executable-text.js';
import { Lexer, type LexOptions, type TokenType } from './lexer.js';

export interface SetAssignment {
  /** Lower-case system variable name ('sql_mode'), '@name' for a user variable, 'names' for the charset forms. */
  key: string;
  /** A SET body that re-applies this assignment on another connection: `SET ${fragment}`. */
  fragment: string;
  /**
   * The value is made of literals only, so re-running the fragment gives the same value. Also false
   * when the assignment has bytes that are not UTF-8 outside string literals (possible with a
   * latin1 client): its fragment then only approximates the statement.
   */
  constant: boolean;
  scope: 'session' | 'global' | 'user';
}

const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const LPAREN = 0x28;
const RPAREN = 0x29;
const DOT = 0x2e;
const EQUALS = 0x3d;
const PLUS = 0x2b;
const MINUS = 0x2d;

// Functions MySQL lets you call without parentheses: a bare word that is not a constant.
const VOLATILE_WORDS = new Set([
  'CURRENT_TIMESTAMP',
  'CURRENT_DATE',
  'CURRENT_TIME',
  'CURRENT_USER',
  'CURRENT_ROLE',
  'LOCALTIME',
  'LOCALTIMESTAMP',
  'UTC_DATE',
  'UTC_TIME',
  'UTC_TIMESTAMP',
  'NEXT', // NEXT VALUE FOR seq
  'PREVIOUS',
]);

interface Expression {
  start: number;
  stop: number;
  constant: boolean;
  /** It ended at a top-level ',': another assignment follows. */
  moreFollow: boolean;
}

/**
 * Parses the assignment list of a SET statement; `lx` is positioned just after SET. Returns null
 * when the text is not an assignment list (the server will reject it, so it changes nothing).
 * A GLOBAL/SESSION/LOCAL keyword applies to the assignments after it until the next such keyword,
 * as in MariaDB: `SET GLOBAL a = 1, b = 2` sets both globally.
 */
export function parseSetAssignments(lx: Lexer, opts: LexOptions): SetAssignment[] | null {
  const out: SetAssignment[] = [];
  let scope: 'session' | 'global' = 'session';
  for (;;) {
    let t = lx.next();
    if (lx.isWord('GLOBAL')) {
      scope = 'global';
      t = lx.next();
    } else if (lx.isWord('SESSION') || lx.isWord('LOCAL')) {
      scope = 'session';
      t = lx.next();
    }
    if (t === 'end') return null;
    const assignment = lx.isWord('NAMES') || lx.isWord('CHARSET') || lx.isWord('CHARACTER')
      ? parseCharset(lx, opts)
      : parseVariable(lx, scope, opts);
    if (assignment === null) return null;
    out.push(assignment.value);
    if (!assignment.moreFollow) return out;
  }
}

interface Parsed {
  value: SetAssignment;
  moreFollow: boolean;
}

/** NAMES cs [COLLATE c], CHARACTER SET cs, CHARSET cs: re-applied verbatim. */
function parseCharset(lx: Lexer, opts: LexOptions): Parsed | null {
  const start = lx.start;
  if (lx.isWord('CHARACTER')) {
    lx.next();
    if (!lx.isWord('SET')) return null;
  }
  const expr = readExpression(lx);
  if (expr === null) return null;
  const fragment = exactText(lx.buf, start, expr.stop, opts);
  const constant = expr.constant && fragment !== null;
  const value: SetAssignment = { key: 'names', fragment: fragment ?? lossyText(lx.buf, start, expr.stop), constant, scope: 'session' };
  return { value, moreFollow: expr.moreFollow };
}

function parseVariable(lx: Lexer, keywordScope: 'session' | 'global', opts: LexOptions): Parsed | null {
  const target = readTarget(lx, keywordScope);
  if (target === null || (!lx.isPunct(EQUALS) && !lx.isColonEquals())) return null;
  const expr = readExpression(lx);
  if (expr === null) return null;
  const value = exactText(lx.buf, expr.start, expr.stop, opts);
  const constant = expr.constant && value !== null && target.prefixIsExact;
  const fragment = `${target.prefix} = ${value ?? lossyText(lx.buf, expr.start, expr.stop)}`;
  return { value: { key: target.key, fragment, constant, scope: target.scope }, moreFollow: expr.moreFollow };
}

interface Target {
  key: string;
  scope: SetAssignment['scope'];
  /** The left-hand side for the fragment, with the scope spelled out. */
  prefix: string;
  prefixIsExact: boolean;
}

/** The variable being assigned; leaves `lx` on the token after it. */
function readTarget(lx: Lexer, keywordScope: 'session' | 'global'): Target | null {
  if (lx.type === 'uservar') {
    const exact = exactText(lx.buf, lx.start, lx.stop, {});
    const prefix = exact ?? lossyText(lx.buf, lx.start, lx.stop);
    const target: Target = { key: lx.userVarKey(), scope: 'user', prefix, prefixIsExact: exact !== null };
    lx.next();
    return target;
  }
  let scope = keywordScope;
  let name: string;
  if (lx.type === 'sysvar') {
    // @@global.x, @@session.x, @@local.x; a bare @@x is the session value whatever keyword came before.
    const qualified = lx.buf.toString('utf8', lx.start + 2, lx.stop);
    const dot = qualified.indexOf('.');
    const qualifier = dot === -1 ? '' : qualified.slice(0, dot).toLowerCase();
    const explicit = qualifier === 'global' || qualifier === 'session' || qualifier === 'local';
    scope = qualifier === 'global' ? 'global' : 'session';
    name = explicit ? qualified.slice(dot + 1) : qualified;
    lx.next();
  } else if (lx.type === 'word' || lx.type === 'ident') {
    name = readDottedName(lx);
  } else {
    return null;
  }
  const key = name.toLowerCase();
  return { key, scope, prefix: `@@${scope === 'global' ? 'GLOBAL' : 'SESSION'}.${key}`, prefixIsExact: true };
}

/** A system variable name, possibly structured (`hot_cache.key_buffer_size`); leaves lx after it. */
function readDottedName(lx: Lexer): string {
  let name = lx.name();
  lx.next();
  while (lx.isPunct(DOT)) {
    lx.next();
    name += '.' + lx.name();
    lx.next();
  }
  return name;
}

/** The value after '=' up to the next top-level ',' or ';' or the end. */
function readExpression(lx: Lexer): Expression | null {
  let depth = 0;
  let constant = true;
  let start = -1;
  let stop = -1;
  for (let t = lx.next(); ; t = lx.next()) {
    if (t === 'end' || (depth === 0 && (lx.isPunct(COMMA) || lx.isPunct(SEMICOLON)))) {
      if (start === -1) return null;
      return { start, stop, constant, moreFollow: lx.isPunct(COMMA) };
    }
    if (start === -1) start = lx.start;
    stop = lx.stop;
    if (lx.isPunct(LPAREN)) depth++;
    else if (lx.isPunct(RPAREN)) depth--;
    if (constant) constant = isConstantToken(lx, t);
  }
}

function isConstantToken(lx: Lexer, t: TokenType): boolean {
  switch (t) {
    case 'number':
    case 'string':
      return true;
    case 'word':
      return !VOLATILE_WORDS.has(lx.upper());
    case 'punct':
      return lx.isPunct(PLUS) || lx.isPunct(MINUS);
    default:
      return false;
  }
}

/** The bytes as text that executes identically, or null when there is none. */
function exactText(buf: Buffer, start: number, stop: number, opts: LexOptions): string | null {
  try {
    return toExecutableText(buf.subarray(start, stop), opts);
  } catch (err) {
    if (err instanceof SqlTextError) return null;
    throw err;
  }
}

function lossyText(buf: Buffer, start: number, stop: number): string {
  return buf.toString('utf8', start, stop);
}
