import type { LexOptions } from '../../sql/lexer.js';
import { TranslateError } from '../pack.js';
import { normaliseStatement, type Literal } from './sql-normalise.js';
import { compileWrite, type WriteModel } from './write-model.js';

export interface ParsedWrite {
  model: WriteModel;
  literals: Literal[];
  ignore: boolean;
}

// Enough for every shape a MediaWiki install writes (including IN lists and multi-row VALUES of
// many lengths); beyond it the oldest shapes are parsed again when they come back.
const MAX_SHAPES = 20_000;
const shapes = new Map<string, WriteModel | string>();

/** The statement's model and literals; the parse is cached per shape. Throws TranslateError. */
export function parseWrite(sql: Buffer, opts: LexOptions = {}): ParsedWrite {
  const n = normaliseStatement(sql, opts);
  let compiled = shapes.get(n.shape);
  if (compiled === undefined) {
    compiled = compileOrReason(n.shape);
    if (shapes.size >= MAX_SHAPES) shapes.delete(shapes.keys().next().value!);
    shapes.set(n.shape, compiled);
  }
  if (typeof compiled === 'string') throw new TranslateError(compiled);
  return { model: compiled, literals: n.literals, ignore: n.ignore };
}

function compileOrReason(shape: string): WriteModel | string {
  try {
    return compileWrite(shape);
  } catch (err) {
    if (err instanceof TranslateError) return err.message;
    throw err;
  }
}

/** The session ran with NO_BACKSLASH_ESCAPES (from the journal entry's recorded sql_mode). */
export function lexOptionsOf(session: Record<string, string>): LexOptions {
  const mode = session.sql_mode;
  return mode !== undefined && /NO_BACKSLASH_ESCAPES/i.test(mode) ? { noBackslashEscapes: true } : {};
}
