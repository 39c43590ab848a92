import { describe, expect, it } from 'vitest';
import { SqlTextError } from '../../src/sql/errors.js';
import { inlineParams } from '../../src/sql/inline-params.js';

const b = (text: string): Buffer => Buffer.from(text);

function inline(text: string, literals: string[], opts = {}): string {
  return inlineParams(b(text), literals.map(b), opts).toString();
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('inlineParams', () => {
  it('replaces placeholders in order', () => {
    expect(inline('SELECT ?, ? FROM t WHERE id = ?', ['1', "'a'", 'NULL'])).toBe("SELECT 1, 'a' FROM t WHERE id = NULL");
  });

  it('leaves ? inside strings, identifiers and comments alone', () => {
    expect(inline("SELECT ?, '?', \"?\", `?`, /* ? */ ? -- ?\n# ?\n", ['1', '2'])).toBe(
      "SELECT 1, '?', \"?\", `?`, /* ? */ 2 -- ?\n# ?\n",
    );
  });

  it('keeps a literal from gluing onto an adjacent word', () => {
    expect(inline('SELECT * FROM t LIMIT?', ['5'])).toBe('SELECT * FROM t LIMIT 5');
    expect(inline('SELECT ?AS x', ['5'])).toBe('SELECT 5 AS x');
    expect(inline('SELECT a+?', ['5'])).toBe('SELECT a+5');
  });

  it('copies literal bytes exactly, binary included', () => {
    const literal = Buffer.from([0x58, 0x27, 0xff, 0x00, 0x27]);
    const out = inlineParams(b('INSERT INTO t VALUES (?)'), [literal]);
    expect(out.equals(Buffer.concat([b('INSERT INTO t VALUES ('), literal, b(')')]))).toBe(true);
  });

  it('returns the statement unchanged when it has no placeholders', () => {
    expect(inline('SELECT 1', [])).toBe('SELECT 1');
  });

  it('throws SQL_PARAM_COUNT when the counts differ', () => {
    for (const literals of [[], ['1', '2']]) {
      const err = errorOf(() => inline('SELECT ?', literals));
      expect(err).toBeInstanceOf(SqlTextError);
      expect(err).toMatchObject({ code: 'SQL_PARAM_COUNT', message: expect.stringContaining('1 ? placeholders') });
    }
  });

  it('follows NO_BACKSLASH_ESCAPES when finding string ends', () => {
    const text = "SELECT 'C:\\', ?";
    expect(inline(text, ['1'], { noBackslashEscapes: true })).toBe("SELECT 'C:\\', 1");
    expect(errorOf(() => inline(text, ['1']))).toMatchObject({ code: 'SQL_PARAM_COUNT' });
  });
});
