import { describe, expect, it } from 'vitest';
import { splitStatements } from '../../src/sql/split.js';

function split(text: string | Buffer, opts = {}): string[] {
  return splitStatements(typeof text === 'string' ? Buffer.from(text) : text, opts).map((b) => b.toString('latin1'));
}

describe('splitStatements', () => {
  it('returns the very buffer when it has no semicolon', () => {
    const sql = Buffer.from('  SELECT 1  ');
    const pieces = splitStatements(sql);
    expect(pieces).toHaveLength(1);
    expect(pieces[0]).toBe(sql);
  });

  const cases: Array<[string, string[]]> = [
    ['SELECT 1; SELECT 2', ['SELECT 1', 'SELECT 2']],
    ['SELECT 1;', ['SELECT 1']],
    ["SELECT 'a;b'; SELECT \"c;d\"", ["SELECT 'a;b'", 'SELECT "c;d"']],
    ["SELECT 'it\\'s;'; SELECT 2", ["SELECT 'it\\'s;'", 'SELECT 2']],
    ["SELECT 'a'';b'; SELECT 2", ["SELECT 'a'';b'", 'SELECT 2']],
    ['SELECT `a;b`, `c``;d`; SELECT 2', ['SELECT `a;b`, `c``;d`', 'SELECT 2']],
    ['SELECT 1 /* ; */; SELECT 2 -- ;\n; SELECT 3 # ;\n', ['SELECT 1 /* ; */', 'SELECT 2 -- ;', 'SELECT 3 # ;']],
    // '--' starts a comment only when followed by whitespace or a control character
    ['SELECT 1 --;\n; SELECT 2', ['SELECT 1 --', 'SELECT 2']],
    [' ; ;SELECT 1;; /* c */ ; -- x\n', ['SELECT 1']],
    ['/* Foo::bar */ SELECT 1;\n/* Foo::baz */ UPDATE t SET a = 1', ['/* Foo::bar */ SELECT 1', '/* Foo::baz */ UPDATE t SET a = 1']],
    ['/*!40101 SET NAMES utf8 */;\n/*!40103 SET TIME_ZONE=\'+00:00\' */;', ["/*!40101 SET NAMES utf8 */", "/*!40103 SET TIME_ZONE='+00:00' */"]],
    ['BEGIN; INSERT INTO t VALUES (1); COMMIT', ['BEGIN', 'INSERT INTO t VALUES (1)', 'COMMIT']],
    // compound statements keep their bodies
    ['BEGIN NOT ATOMIC DECLARE x INT; SET x = 1; END', ['BEGIN NOT ATOMIC DECLARE x INT; SET x = 1; END']],
    ['SELECT 1; begin not atomic SELECT 2; END', ['SELECT 1', 'begin not atomic SELECT 2; END']],
    ['IF @x THEN SELECT 1; END IF', ['IF @x THEN SELECT 1; END IF']],
    ['CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END', ['CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END']],
    ['CREATE PROCEDURE p() SELECT 1; CALL p()', ['CREATE PROCEDURE p() SELECT 1', 'CALL p()']],
    ['CREATE TABLE t (begin INT); SELECT 1', ['CREATE TABLE t (begin INT)', 'SELECT 1']],
    [
      '/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER trg BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; SET NEW.b = 2; END */',
      ['/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER trg BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; SET NEW.b = 2; END */'],
    ],
  ];

  it.each(cases)('%s', (text, expected) => {
    expect(split(text)).toEqual(expected);
  });

  it('follows NO_BACKSLASH_ESCAPES', () => {
    const text = "SELECT 'C:\\'; SELECT 2";
    expect(split(text, { noBackslashEscapes: true })).toEqual(["SELECT 'C:\\'", 'SELECT 2']);
    // With escapes, \' does not close the string, so the rest is one (unterminated) statement.
    expect(split(text)).toEqual([text]);
  });

  it('keeps binary literal bytes intact', () => {
    const blob = Buffer.from([0xff, 0x3b, 0x00, 0x5c, 0x27, 0x3b, 0x80]); // \xff ; \0 \' ; \x80
    const insert = Buffer.concat([Buffer.from("INSERT INTO t VALUES ('"), blob, Buffer.from("')")]);
    const pieces = splitStatements(Buffer.concat([insert, Buffer.from('; SELECT 1')]));
    expect(pieces).toHaveLength(2);
    expect(pieces[0].equals(insert)).toBe(true);
    expect(pieces[1].toString()).toBe('SELECT 1');
  });
});
