import { describe, expect, it } from 'vitest';
import { classify, userVarsAssignedByRead, writeFlags, type Classified, type WriteKind } from '../../src/sql/classify.js';
import { splitStatements } from '../../src/sql/split.js';

const sql = (text: string): Buffer => Buffer.from(text, 'utf8');

function expectClass(text: string, expected: Partial<Classified>, opts = {}): void {
  const got = classify(sql(text), opts);
  expect(got, text).toMatchObject(expected);
  if (expected.kind !== 'write') expect(got.writeKind, text).toBeUndefined();
}

const READ = { kind: 'read', implicitCommit: false } as const;
const OTHER = { kind: 'other', implicitCommit: false } as const;
const DDL = { kind: 'write', writeKind: 'ddl', implicitCommit: true } as const;
const DDL_NO_COMMIT = { kind: 'write', writeKind: 'ddl', implicitCommit: false } as const;
const BEGIN = { kind: 'begin', implicitCommit: true } as const;
const COMPOUND = { kind: 'write', writeKind: 'other', implicitCommit: false } as const;
const write = (writeKind: WriteKind): Partial<Classified> => ({ kind: 'write', writeKind, implicitCommit: false });

describe('classify', () => {
  const cases: Array<[string, Partial<Classified>]> = [
    // reads, with the shapes MediaWiki and dump tools produce
    ['SELECT 1', READ],
    ['select * from page', READ],
    ['sElEcT 1', READ],
    ['  \n\t\r\n SELECT 1', READ],
    ['SELECT /* Foo::bar 127.0.0.1 */ page_id FROM page', READ],
    ['/* Foo::bar 127.0.0.1 */ SELECT 1', READ],
    ['-- note\nSELECT 1', READ],
    ['--\tnote\nSELECT 1', READ],
    ['# note\nSELECT 1', READ],
    ['/*!40101 SELECT 1 */', READ],
    ['SELECT /*! STRAIGHT_JOIN */ a FROM t', READ],
    ['(SELECT 1) UNION (SELECT 2)', READ],
    ['((SELECT 1))', READ],
    ['VALUES (1), (2)', READ],
    ['TABLE t', READ],
    ['SHOW TABLES', READ],
    ['DESCRIBE t', READ],
    ['DESC t', READ],
    ['EXPLAIN UPDATE t SET a = 1', READ],
    ['HELP contents', READ],
    ['DO SLEEP(0)', READ],
    ['HANDLER t READ FIRST', READ],
    ['CHECKSUM TABLE t', READ],
    ['CHECK TABLE t', { kind: 'read', implicitCommit: true }],
    ['SELECT * FROM t WHERE id = 1 FOR UPDATE', READ],
    ['SELECT * FROM t LOCK IN SHARE MODE', READ],
    ["SELECT 'DELETE FROM t'", READ],
    ['ANALYZE SELECT 1', READ],

    // writes
    ['INSERT INTO t VALUES (1)', write('insert')],
    ['InSeRt into t values (1)', write('insert')],
    ['insert ignore into t values (1)', write('insert')],
    ['INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = a + 1', write('insert')],
    ['/* Foo::bar */ INSERT INTO t VALUES (1)', write('insert')],
    ['INSERT /* Foo::bar 10.0.0.1 */ INTO t VALUES (1)', write('insert')],
    ['INSERT INTO t SELECT * FROM u', write('insert')],
    ['\n\n  \r\n\tUPDATE t SET a = 1', write('update')],
    ['/*M!100101 INSERT INTO t VALUES (1) */', write('insert')],
    ['REPLACE INTO t VALUES (1)', write('replace')],
    ['REPLACE t SET a = 1', write('replace')],
    ['UPDATE t SET a = 1', write('update')],
    ['UPDATE LOW_PRIORITY t SET a = 1', write('update')],
    ['update ignore t set a = 1', write('update')],
    ['DELETE LOW_PRIORITY QUICK FROM t WHERE id = 1', write('delete')],
    ['DELETE FROM t', write('delete')],
    ['ANALYZE UPDATE t SET a = 1', write('update')],
    ['ANALYZE FORMAT=JSON DELETE FROM t', write('delete')],
    ['CALL p(1)', write('other')],
    ['EXECUTE stmt USING @a', write('other')],

    // LOAD
    ["LOAD DATA INFILE '/tmp/x' INTO TABLE t", { ...write('load'), loadLocal: false }],
    ["LOAD DATA LOCAL INFILE 'x' INTO TABLE t", { ...write('load'), loadLocal: true }],
    ["load data low_priority local infile 'x' into table t", { ...write('load'), loadLocal: true }],
    ["LOAD XML LOCAL INFILE 'x' INTO TABLE t", { ...write('load'), loadLocal: true }],
    ["LOAD XML CONCURRENT INFILE 'x' INTO TABLE t", { ...write('load'), loadLocal: false }],
    ['LOAD INDEX INTO CACHE t', OTHER],

    // DDL and account management commit; temporary tables do not
    ['CREATE TABLE t (id INT)', DDL],
    ['CREATE OR REPLACE TABLE t (id INT)', DDL],
    ['CREATE DATABASE wiki', DDL],
    ['CREATE INDEX i ON t (a)', DDL],
    ['CREATE VIEW v AS SELECT 1', DDL],
    ['CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1', DDL],
    ['CREATE DEFINER=`root`@`localhost` PROCEDURE p() BEGIN SELECT 1; END', DDL],
    ['CREATE FUNCTION f() RETURNS INT RETURN 1', DDL],
    ['CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM t', DDL],
    ["CREATE USER 'u'@'%' IDENTIFIED BY 'x'", DDL],
    ['CREATE ROLE r', DDL],
    ['CREATE SEQUENCE s', DDL],
    ['CREATE TEMPORARY SEQUENCE s', DDL],
    ['/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER trg BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1 */', DDL],
    ['ALTER TABLE t ADD COLUMN b INT', DDL],
    ['DROP TABLE t', DDL],
    ['DROP DATABASE IF EXISTS wiki', DDL],
    ['RENAME TABLE a TO b', DDL],
    ['TRUNCATE TABLE t', DDL],
    ['truncate t', DDL],
    ["GRANT SELECT ON *.* TO 'u'@'%'", DDL],
    ["REVOKE ALL ON *.* FROM 'u'@'%'", DDL],
    ["SET PASSWORD FOR 'u'@'%' = PASSWORD('x')", DDL],
    ["SET PASSWORD = PASSWORD('x')", DDL],
    ['CREATE TEMPORARY TABLE tmp (id INT)', DDL_NO_COMMIT],
    ['create or replace temporary table tmp (id INT)', DDL_NO_COMMIT],
    ['DROP TEMPORARY TABLE IF EXISTS tmp', DDL_NO_COMMIT],
    ['DROP TEMPORARY SEQUENCE s', DDL_NO_COMMIT],
    ['DROP PREPARE stmt', OTHER],

    // compound statements run anything
    ['BEGIN NOT ATOMIC SELECT 1; END', COMPOUND],
    ['IF @x THEN INSERT INTO t VALUES (1); END IF', COMPOUND],
    ['FOR i IN 1..3 DO INSERT INTO t VALUES (i); END FOR', COMPOUND],
    ['WHILE @x < 3 DO SET @x = @x + 1; END WHILE', COMPOUND],

    // CTEs: the first statement keyword at depth 0 after the CTE list
    ['WITH c AS (SELECT 1) SELECT * FROM c', READ],
    ['WITH RECURSIVE c(n) AS (SELECT 1 UNION SELECT n + 1 FROM c WHERE n < 3) SELECT * FROM c', READ],
    ["WITH c AS (SELECT 'UPDATE') SELECT * FROM c", READ],
    ['WITH c AS (SELECT 1 AS x) UPDATE t, c SET t.a = c.x', write('update')],
    ['WITH a AS (SELECT 1), b AS (SELECT 2) DELETE FROM t WHERE id IN (SELECT * FROM a)', write('delete')],
    ['with c as (select 1) insert into t select * from c', write('insert')],

    // SET STATEMENT ... FOR: the inner statement
    ['SET STATEMENT max_statement_time = 5 FOR SELECT 1', READ],
    ["SET STATEMENT sql_mode = '' FOR INSERT INTO t VALUES (1)", write('insert')],
    ["SET STATEMENT a = 1, b = 'FOR' FOR UPDATE t SET x = 1", write('update')],
    ['SET STATEMENT max_statement_time = 5 FOR CREATE TABLE t (i INT)', DDL],

    // transactions
    ['BEGIN', BEGIN],
    ['begin work', BEGIN],
    ['START TRANSACTION', BEGIN],
    ['START TRANSACTION READ ONLY', BEGIN],
    ['start transaction read write', BEGIN],
    ['START TRANSACTION WITH CONSISTENT SNAPSHOT', BEGIN],
    ['/* Wikimedia\\Rdbms\\Database::begin */ BEGIN', BEGIN],
    ['COMMIT', { kind: 'commit', implicitCommit: false }],
    ['COMMIT WORK', { kind: 'commit' }],
    ['COMMIT AND NO CHAIN', { kind: 'commit' }],
    ['commit and chain no release', { kind: 'commit' }],
    ['ROLLBACK', { kind: 'rollback', implicitCommit: false }],
    ['ROLLBACK WORK', { kind: 'rollback' }],
    ['ROLLBACK AND CHAIN', { kind: 'rollback' }],
    ['ROLLBACK TO sp1', { kind: 'rollback_to', name: 'sp1' }],
    ['ROLLBACK WORK TO SAVEPOINT sp1', { kind: 'rollback_to', name: 'sp1' }],
    ['ROLLBACK TO SAVEPOINT `my sp`', { kind: 'rollback_to', name: 'my sp' }],
    ['rollback to `a``b`', { kind: 'rollback_to', name: 'a`b' }],
    ['SAVEPOINT sp1', { kind: 'savepoint', name: 'sp1', implicitCommit: false }],
    ['SAVEPOINT `wikimedia_rdbms_atomic1`', { kind: 'savepoint', name: 'wikimedia_rdbms_atomic1' }],
    ['RELEASE SAVEPOINT sp1', { kind: 'release_savepoint', name: 'sp1' }],
    ['RELEASE SAVEPOINT `x y`', { kind: 'release_savepoint', name: 'x y' }],
    ['LOCK TABLES t WRITE', { kind: 'other', implicitCommit: true }],
    ['LOCK TABLE t READ', { kind: 'other', implicitCommit: true }],
    ['UNLOCK TABLES', { kind: 'other', implicitCommit: true }],
    ["XA START 'x'", OTHER],
    ["XA COMMIT 'x'", OTHER],

    // USE
    ['USE wiki', { kind: 'use', name: 'wiki', implicitCommit: false }],
    ['USE `my db`', { kind: 'use', name: 'my db' }],
    ['/* x */ use Wiki', { kind: 'use', name: 'Wiki' }],

    // SET forms that are not assignments
    ['SET TRANSACTION ISOLATION LEVEL READ COMMITTED', OTHER],
    ['SET SESSION TRANSACTION READ ONLY', OTHER],
    ['SET GLOBAL TRANSACTION ISOLATION LEVEL SERIALIZABLE', OTHER],
    ['SET ROLE NONE', OTHER],
    ['SET DEFAULT ROLE NONE', { kind: 'other', implicitCommit: true }],
    ['SET autocommit = 0', { kind: 'set', implicitCommit: false }],

    // maintenance and the rest
    ['OPTIMIZE TABLE t', { kind: 'other', implicitCommit: true }],
    ['REPAIR TABLE t', { kind: 'other', implicitCommit: true }],
    ['ANALYZE TABLE t', { kind: 'other', implicitCommit: true }],
    ['FLUSH TABLES', { kind: 'other', implicitCommit: true }],
    ['RESET QUERY CACHE', { kind: 'other', implicitCommit: true }],
    ["PREPARE s FROM 'SELECT 1'", OTHER],
    ['DEALLOCATE PREPARE s', OTHER],
    ['KILL 5', OTHER],
    ['START SLAVE', OTHER],
    ['', OTHER],
    ['   \n ', OTHER],
    ['/* only a comment */', OTHER],
  ];

  it.each(cases)('%s', (text, expected) => expectClass(text, expected));

  it('reads keywords out of binary statements without decoding the literals', () => {
    const blob = Buffer.concat([sql("INSERT INTO t VALUES ('"), Buffer.from([0xff, 0x00, 0x3b, 0x27, 0x27, 0xfe]), sql("')")]);
    expect(classify(blob)).toEqual({ kind: 'write', writeKind: 'insert', implicitCommit: false });
  });

  it('follows NO_BACKSLASH_ESCAPES when scanning for the statement after a CTE', () => {
    const text = "WITH c AS (SELECT 'C:\\') UPDATE t SET a = 1";
    expectClass(text, write('update'), { noBackslashEscapes: true });
    // With backslash escapes the quote is escaped and everything after it is inside the string.
    expectClass(text, READ);
  });
});

describe('robustness', () => {
  it('never throws on arbitrary bytes (truncated, binary, unterminated quotes and comments)', () => {
    const alphabet = Buffer.from("SELECT INSERT SET @a:=1 `'\"\\/*!-- #\n;(),.?@@x FOR WITH BEGIN NOT CREATE PROCEDURE\xff\x00", 'latin1');
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 5000; i++) {
      const input = Buffer.from(Array.from({ length: random(60) }, () => alphabet[random(alphabet.length)]));
      for (const noBackslashEscapes of [false, true]) {
        const opts = { noBackslashEscapes };
        expect(() => classify(input, opts)).not.toThrow();
        expect(() => writeFlags(input, new Set(['@a']), opts)).not.toThrow();
        expect(() => userVarsAssignedByRead(input, opts)).not.toThrow();
        for (const piece of splitStatements(input, opts)) expect(input.includes(piece)).toBe(true);
      }
    }
  });
});
