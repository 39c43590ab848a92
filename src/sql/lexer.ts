// A byte-level MySQL/MariaDB tokenizer with just enough lexical knowledge to find keywords, strings,
// variables and placeholders without a full parse. It works on the raw statement bytes because
// string literals may hold arbitrary binary data, and it never decodes more than the caller asks for.

export interface LexOptions {
  /** The session runs with sql_mode NO_BACKSLASH_ESCAPES: a backslash in a string is an ordinary byte. */
  noBackslashEscapes?: boolean;
}

export type TokenType =
  | 'end'
  | 'word' // keyword or unquoted identifier
  | 'number'
  | 'string' // '...', "...", and X'..', B'..', N'..' (the token includes the one-letter prefix)
  | 'ident' // `backticked`
  | 'uservar' // @name, @'name', @`name`
  | 'sysvar' // @@name, @@session.name
  | 'param' // ? placeholder
  | 'punct'; // one byte, or ':='

export const QUOTE = 0x27;
export const DQUOTE = 0x22;
const BACKTICK = 0x60;
const BACKSLASH = 0x5c;
const SLASH = 0x2f;
const STAR = 0x2a;
const BANG = 0x21;
const HASH = 0x23;
const DASH = 0x2d;
const DOT = 0x2e;
const AT = 0x40;
const COLON = 0x3a;
const EQUALS = 0x3d;
const QMARK = 0x3f;
const NEWLINE = 0x0a;
const UPPER_M = 0x4d;

const SPACE = 1;
const WORD = 2;
const DIGIT = 4;
const CLASS = new Uint8Array(256);
for (const c of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]) CLASS[c] = SPACE;
for (let c = 0x30; c <= 0x39; c++) CLASS[c] = WORD | DIGIT;
for (let c = 0x41; c <= 0x5a; c++) CLASS[c] = WORD;
for (let c = 0x61; c <= 0x7a; c++) CLASS[c] = WORD;
CLASS[0x5f] = WORD; // _
CLASS[0x24] = WORD; // $
// Bytes of multi-byte UTF-8 characters belong to identifiers.
for (let c = 0x80; c <= 0xff; c++) CLASS[c] = WORD;

const COMMENT_END = Buffer.from('*/');

export function isSpaceByte(b: number): boolean {
  return (CLASS[b] & SPACE) !== 0;
}

export function isWordByte(b: number): boolean {
  return (CLASS[b] & WORD) !== 0;
}

/** A one-letter string prefix: X'hex', B'bits', N'national'. */
function isStringPrefix(b: number): boolean {
  const u = b & 0xdf;
  return u === 0x58 || u === 0x42 || u === 0x4e;
}

function upperAscii(b: number): number {
  return b >= 0x61 && b <= 0x7a ? b - 0x20 : b;
}

/** Index just past the closing quote of the quoted token opening at `pos` (or the end of `buf`). */
function skipQuoted(buf: Buffer, pos: number, quote: number, backslashEscapes: boolean): number {
  const end = buf.length;
  let i = pos + 1;
  while (i < end) {
    const c = buf[i];
    if (c === quote) {
      if (buf[i + 1] !== quote) return i + 1;
      i += 2;
    } else if (c === BACKSLASH && backslashEscapes) {
      i += 2;
    } else {
      i++;
    }
  }
  return end;
}

// Escapes MySQL resolves inside string literals; \% and \_ keep their backslash (LIKE patterns).
const ESCAPES = new Int16Array(256).fill(-1);
ESCAPES[0x30] = 0x00; // \0
ESCAPES[0x62] = 0x08; // \b
ESCAPES[0x6e] = 0x0a; // \n
ESCAPES[0x72] = 0x0d; // \r
ESCAPES[0x74] = 0x09; // \t
ESCAPES[0x5a] = 0x1a; // \Z

/**
 * The bytes a quoted literal or identifier stands for: `start` is the opening quote, `stop` is just
 * past the closing one. Doubled quotes collapse; backslash escapes apply to '..' and ".." only.
 */
export function unquote(buf: Buffer, start: number, stop: number, backslashEscapes: boolean): Buffer {
  const quote = buf[start];
  const last = buf[stop - 1] === quote && stop - 1 > start ? stop - 1 : stop;
  const escapes = backslashEscapes && quote !== BACKTICK;
  const out = Buffer.allocUnsafe(last - start - 1);
  let n = 0;
  for (let i = start + 1; i < last; i++) {
    const c = buf[i];
    if (c === quote && buf[i + 1] === quote) {
      out[n++] = c;
      i++;
    } else if (c === BACKSLASH && escapes && i + 1 < last) {
      const e = buf[++i];
      if (e === 0x25 || e === 0x5f) out[n++] = BACKSLASH;
      out[n++] = ESCAPES[e] >= 0 ? ESCAPES[e] : e;
    } else {
      out[n++] = c;
    }
  }
  return out.subarray(0, n);
}

/**
 * Reads tokens one at a time. After next(), `type`, `start` and `stop` describe the token;
 * whitespace, comments and the markers of executable comments are skipped, and the content of
 * executable comments (/*! ... *\/, /*M!100101 ... *\/) is read as SQL.
 */
export class Lexer {
  type: TokenType = 'end';
  start = 0;
  stop = 0;
  private pos: number;
  private inExecutableComment = false;
  private readonly backslashEscapes: boolean;

  constructor(
    readonly buf: Buffer,
    opts: LexOptions = {},
    from = 0,
  ) {
    this.pos = from;
    this.backslashEscapes = opts.noBackslashEscapes !== true;
  }

  next(): TokenType {
    const buf = this.buf;
    let i = this.skipSpace(this.pos);
    this.start = i;
    let type: TokenType;
    if (i >= buf.length) {
      type = 'end';
    } else {
      const c = buf[i];
      const cls = CLASS[c];
      if (c === QUOTE || c === DQUOTE) {
        i = skipQuoted(buf, i, c, this.backslashEscapes);
        type = 'string';
      } else if (c === BACKTICK) {
        i = skipQuoted(buf, i, c, false);
        type = 'ident';
      } else if (cls & DIGIT || (c === DOT && CLASS[buf[i + 1]] & DIGIT)) {
        i = this.skipNumber(i + 1);
        type = 'number';
      } else if (cls & WORD) {
        const s = i;
        i = this.skipWord(i + 1);
        if (i === s + 1 && buf[i] === QUOTE && isStringPrefix(c)) {
          i = skipQuoted(buf, i, QUOTE, this.backslashEscapes);
          type = 'string';
        } else {
          type = 'word';
        }
      } else if (c === AT) {
        return this.readVariable(i);
      } else if (c === QMARK) {
        i++;
        type = 'param';
      } else if (c === COLON && buf[i + 1] === EQUALS) {
        i += 2;
        type = 'punct';
      } else {
        i++;
        type = 'punct';
      }
    }
    this.stop = this.pos = i;
    return (this.type = type);
  }

  /** An independent lexer at the same position (e.g. to look ahead and then parse from here). */
  fork(): Lexer {
    const copy = new Lexer(this.buf, { noBackslashEscapes: !this.backslashEscapes }, this.pos);
    copy.inExecutableComment = this.inExecutableComment;
    return copy;
  }

  /** The current token is the unquoted word `keyword` (given in upper case). */
  isWord(keyword: string): boolean {
    if (this.type !== 'word' || this.stop - this.start !== keyword.length) return false;
    for (let i = 0; i < keyword.length; i++) {
      if (upperAscii(this.buf[this.start + i]) !== keyword.charCodeAt(i)) return false;
    }
    return true;
  }

  /** The current token is the punctuation byte `byte`. */
  isPunct(byte: number): boolean {
    return this.type === 'punct' && this.stop === this.start + 1 && this.buf[this.start] === byte;
  }

  isColonEquals(): boolean {
    return this.type === 'punct' && this.stop === this.start + 2;
  }

  /** The current token, upper-cased (for words; decoded as latin1 so any byte maps to one char). */
  upper(): string {
    return this.buf.toString('latin1', this.start, this.stop).toUpperCase();
  }

  /** The current word or identifier as a name: backticks removed, UTF-8 decoded. */
  name(): string {
    if (this.type === 'ident') return unquote(this.buf, this.start, this.stop, false).toString('utf8');
    return this.buf.toString('utf8', this.start, this.stop);
  }

  /** A user variable token as a lower-case key '@name' (user variables are case-insensitive). */
  userVarKey(): string {
    const q = this.buf[this.start + 1];
    const name =
      q === QUOTE || q === DQUOTE || q === BACKTICK
        ? unquote(this.buf, this.start + 1, this.stop, this.backslashEscapes).toString('utf8')
        : this.buf.toString('utf8', this.start + 1, this.stop);
    return '@' + name.toLowerCase();
  }

  /** Index of the first byte at or after `pos` that is not whitespace or comment. */
  skipSpace(pos: number): number {
    const buf = this.buf;
    const end = buf.length;
    while (pos < end) {
      const c = buf[pos];
      if (CLASS[c] & SPACE) {
        pos++;
      } else if (c === SLASH && buf[pos + 1] === STAR) {
        pos = this.skipComment(pos);
      } else if (c === STAR && buf[pos + 1] === SLASH && this.inExecutableComment) {
        this.inExecutableComment = false;
        pos += 2;
      } else if (c === HASH || (c === DASH && buf[pos + 1] === DASH && (pos + 2 === end || buf[pos + 2] <= 0x20))) {
        const eol = buf.indexOf(NEWLINE, pos);
        pos = eol === -1 ? end : eol + 1;
      } else {
        break;
      }
    }
    return pos;
  }

  /** `pos` is at '/*': skip a plain comment, or only the opening marker of an executable one. */
  private skipComment(pos: number): number {
    const buf = this.buf;
    let version = -1;
    if (buf[pos + 2] === BANG) version = pos + 3;
    else if (buf[pos + 2] === UPPER_M && buf[pos + 3] === BANG) version = pos + 4;
    if (version !== -1) {
      this.inExecutableComment = true;
      let i = version;
      while (i < version + 6 && CLASS[buf[i]] & DIGIT) i++;
      return i;
    }
    const close = buf.indexOf(COMMENT_END, pos + 2);
    return close === -1 ? buf.length : close + 2;
  }

  private skipWord(i: number): number {
    const buf = this.buf;
    while (i < buf.length && CLASS[buf[i]] & WORD) i++;
    return i;
  }

  private skipNumber(i: number): number {
    const buf = this.buf;
    while (i < buf.length && (CLASS[buf[i]] & WORD || buf[i] === DOT)) i++;
    return i;
  }

  private readVariable(at: number): TokenType {
    const buf = this.buf;
    let i = at + 1;
    let type: TokenType = 'punct';
    const c = buf[i];
    const prev = buf[at - 1];
    if (c === AT) {
      i++;
      while (i < buf.length && (CLASS[buf[i]] & WORD || buf[i] === DOT)) i++;
      type = 'sysvar';
    } else if (prev === QUOTE || prev === DQUOTE || prev === BACKTICK) {
      // 'user'@'host' in GRANT, CREATE USER, DEFINER=: not a variable.
    } else if (c === QUOTE || c === DQUOTE || c === BACKTICK) {
      i = skipQuoted(buf, i, c, this.backslashEscapes && c !== BACKTICK);
      type = 'uservar';
    } else if (CLASS[c] & WORD || c === DOT) {
      while (i < buf.length && (CLASS[buf[i]] & WORD || buf[i] === DOT)) i++;
      type = 'uservar';
    }
    this.stop = this.pos = i;
    return (this.type = type);
  }
}
