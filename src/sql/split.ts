import { Lexer, isSpaceByte, type LexOptions } from './lexer.js';

const SEMICOLON = 0x3b;

const STORED_PROGRAMS = new Set(['PROCEDURE', 'FUNCTION', 'TRIGGER', 'EVENT']);
// MariaDB runs these compound statements outside stored programs too.
const COMPOUND_STARTS = new Set(['IF', 'CASE', 'LOOP', 'REPEAT', 'WHILE', 'FOR']);

/**
 * Splits a multi-statement COM_QUERY at top-level ';' (outside strings, comments and identifiers),
 * dropping pieces that hold only whitespace and comments and trimming whitespace around each.
 * A compound statement (BEGIN NOT ATOMIC ..., IF ..., CREATE PROCEDURE ... BEGIN ...) has ';'
 * inside its body: from its start, the rest of the buffer is returned as one statement.
 */
export function splitStatements(sql: Buffer, opts: LexOptions = {}): Buffer[] {
  if (sql.indexOf(SEMICOLON) === -1) return [sql];
  const pieces: Buffer[] = [];
  const lx = new Lexer(sql, opts);
  let pieceStart = 0;
  let state: 'start' | 'statement' | 'create' | 'stored-program' = 'start';
  for (let t = lx.next(); t !== 'end'; t = lx.next()) {
    if (lx.isPunct(SEMICOLON)) {
      addPiece(pieces, sql.subarray(pieceStart, lx.start), opts);
      pieceStart = lx.stop;
      state = 'start';
    } else if (state === 'start') {
      if (startsCompound(lx)) break;
      state = lx.isWord('CREATE') ? 'create' : 'statement';
    } else if (state === 'create' && t === 'word' && STORED_PROGRAMS.has(lx.upper())) {
      state = 'stored-program';
    } else if (state === 'stored-program' && lx.isWord('BEGIN')) {
      break;
    }
  }
  addPiece(pieces, sql.subarray(pieceStart), opts);
  return pieces;
}

function startsCompound(lx: Lexer): boolean {
  if (lx.type !== 'word') return false;
  if (lx.isWord('BEGIN')) {
    const next = lx.fork();
    next.next();
    return next.isWord('NOT'); // BEGIN NOT ATOMIC; plain BEGIN starts a transaction
  }
  return COMPOUND_STARTS.has(lx.upper());
}

function addPiece(pieces: Buffer[], piece: Buffer, opts: LexOptions): void {
  let start = 0;
  let stop = piece.length;
  while (start < stop && isSpaceByte(piece[start])) start++;
  while (stop > start && isSpaceByte(piece[stop - 1])) stop--;
  const trimmed = piece.subarray(start, stop);
  if (new Lexer(trimmed, opts).next() !== 'end') pieces.push(trimmed);
}
