import { describe, expect, it } from 'vitest';
import { SqlTextError } from '../../src/sql/errors.js';
import { isValidUtf8, toExecutableText } from '../../src/sql/executable-text.js';

/** Builds a statement from text and raw byte arrays. */
function bytes(...parts: Array<string | number[]>): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
}

describe('isValidUtf8', () => {
  it('accepts UTF-8 and rejects stray bytes', () => {
    expect(isValidUtf8(Buffer.from('héllo 🙂'))).toBe(true);
    expect(isValidUtf8(Buffer.alloc(0))).toBe(true);
    expect(isValidUtf8(Buffer.from([0x61, 0xff]))).toBe(false);
    expect(isValidUtf8(Buffer.from([0xc3]))).toBe(false);
  });
});

describe('toExecutableText', () => {
  it('decodes valid UTF-8 as it is', () => {
    const text = "INSERT INTO t VALUES ('héllo 🙂', 'a\\'b') /* ü */";
    expect(toExecutableText(Buffer.from(text))).toBe(text);
  });

  const cases: Array<[string, Buffer, string]> = [
    ['a plain literal', bytes("INSERT INTO t VALUES ('a", [0xff], "b')"), "INSERT INTO t VALUES (X'61FF62')"],
    [
      'escapes resolved as MySQL does, \\% and \\_ kept',
      bytes("SELECT '", [0xff], "\\0\\b\\n\\r\\t\\Z\\\\\\'\\\"\\%\\_\\q'"),
      "SELECT X'FF00080A0D091A5C27225C255C5F71'",
    ],
    ['doubled quotes', bytes("SELECT '", [0xff], "''x', \"", [0xfe], '""")'), "SELECT X'FF2778', X'FE22')"],
    ['an attached introducer', bytes("SELECT _binary'", [0xff], "'"), "SELECT _binary X'FF'"],
    ['a spaced introducer', bytes("SELECT _binary '", [0xff], "'"), "SELECT _binary X'FF'"],
    ['adjacent literals MySQL concatenates', bytes("SELECT '", [0xff], "' 'a' /* c */ \"b\""), "SELECT X'FF6162'"],
    ['a valid neighbour run left alone', bytes("SELECT '", [0xc3, 0xa9], "' 'x', '", [0x80], "'"), "SELECT 'é' 'x', X'80'"],
    ['national literal', bytes("SELECT N'", [0xff], "'"), "SELECT X'FF'"],
    ['hex and bit literals untouched', bytes("SELECT X'ff', b'01', '", [0xff], "'"), "SELECT X'ff', b'01', X'FF'"],
    ['invalid bytes in a comment', bytes('SELECT 1 /* ', [0xff], ' */, 2 -- ', [0xfe], '\n'), 'SELECT 1 /* \ufffd */, 2 -- \ufffd\n'],
    ['inside an executable comment', bytes("/*!40101 SELECT '", [0xff], "' */"), "/*!40101 SELECT X'FF' */"],
  ];

  it.each(cases)('rewrites %s', (_name, sql, expected) => {
    const text = toExecutableText(sql);
    expect(text).toBe(expected);
    expect(isValidUtf8(Buffer.from(text))).toBe(true);
  });

  it('follows NO_BACKSLASH_ESCAPES', () => {
    const sql = bytes("SELECT '", [0xff], "\\', 'x'");
    expect(toExecutableText(sql, { noBackslashEscapes: true })).toBe("SELECT X'FF5C', 'x'");
  });

  it('throws SQL_NOT_UTF8 for invalid bytes outside literals', () => {
    for (const sql of [bytes('SELECT `a', [0xff], '`'), bytes('SELECT a', [0xff]), bytes('SELECT @', [0xff])]) {
      let caught: unknown;
      try {
        toExecutableText(sql);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(SqlTextError);
      expect(caught).toMatchObject({ code: 'SQL_NOT_UTF8' });
    }
  });
});
