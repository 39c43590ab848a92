import { describe, expect, it } from 'vitest';
import { userVarsAssignedByRead, writeFlags } from '../../src/sql/classify.js';

const fn = (name: string) => `nondeterministic function ${name}`;
const LIMIT = 'LIMIT without ORDER BY: which rows it takes depends on storage order';

function flags(text: string, tainted: string[] = []): string[] {
  return writeFlags(Buffer.from(text), new Set(tainted));
}

describe('writeFlags', () => {
  const cases: Array<[string, string[]]> = [
    ['INSERT INTO t VALUES (1, NOW(), CURRENT_TIMESTAMP, UNIX_TIMESTAMP(), CURDATE())', []],
    ['INSERT INTO t VALUES (RAND())', [fn('RAND()')]],
    ['insert into t values (rand ( ), Rand())', [fn('RAND()')]],
    ['INSERT INTO t VALUES (RAND /* seedless */ ())', [fn('RAND()')]],
    [
      'INSERT INTO t VALUES (UUID(), UUID_SHORT(), SYSDATE(), CONNECTION_ID())',
      [fn('UUID()'), fn('UUID_SHORT()'), fn('SYSDATE()'), fn('CONNECTION_ID()')],
    ],
    [
      'UPDATE t SET a = USER(), b = SESSION_USER(), c = SYSTEM_USER(), d = CURRENT_USER',
      [fn('USER()'), fn('SESSION_USER()'), fn('SYSTEM_USER()'), fn('CURRENT_USER')],
    ],
    ['UPDATE t SET a = CURRENT_USER()', [fn('CURRENT_USER')]],
    [
      "UPDATE t SET a = FOUND_ROWS(), b = ROW_COUNT(), c = GET_LOCK('x', 1), d = RELEASE_LOCK('x'), e = SLEEP(0)",
      [fn('FOUND_ROWS()'), fn('ROW_COUNT()'), fn('GET_LOCK()'), fn('RELEASE_LOCK()'), fn('SLEEP()')],
    ],
    ['INSERT INTO t VALUES (LAST_INSERT_ID())', [fn('LAST_INSERT_ID()')]],
    ['INSERT INTO t VALUES (LAST_INSERT_ID( ))', [fn('LAST_INSERT_ID()')]],
    ['UPDATE seq SET id = LAST_INSERT_ID(id + 1)', []],
    // names in strings, comments and identifiers are not calls
    ["INSERT INTO t VALUES ('RAND()') /* UUID() */ -- SLEEP(1)\n", []],
    ['INSERT INTO t (`rand`) VALUES (1)', []],
    ['UPDATE t SET rand_col = 1, user_name = 2', []],
    // a table named like a function, with a column list
    ['INSERT INTO user (user_id, user_name) VALUES (1, USER())', [fn('USER()')]],
    ['INSERT user (user_id) VALUES (1)', []],
    ['INSERT IGNORE INTO wiki.user (user_id) VALUES (1)', []],
    ['CREATE TABLE IF NOT EXISTS sleep (id INT)', []],
    // LIMIT without ORDER BY
    ['UPDATE t SET a = 1 LIMIT 10', [LIMIT]],
    ['UPDATE t SET a = 1 ORDER BY id LIMIT 10', []],
    ['DELETE FROM t WHERE a < 5 LIMIT 1', [LIMIT]],
    ['DELETE FROM t WHERE a < 5 ORDER BY id LIMIT 1', []],
    ['INSERT INTO t SELECT * FROM u LIMIT 5', [LIMIT]],
    ['INSERT INTO t SELECT * FROM u ORDER BY id LIMIT 5', []],
    ['INSERT INTO t SELECT * FROM (SELECT * FROM u ORDER BY id LIMIT 5) d', []],
    ['INSERT INTO t SELECT * FROM (SELECT * FROM u ORDER BY id) d LIMIT 5', [LIMIT]],
    ['REPLACE INTO t SELECT * FROM u LIMIT 5', [LIMIT]],
    ["INSERT INTO t VALUES ('LIMIT 5')", []],
    // LOAD, CALL, EXECUTE
    ["LOAD DATA INFILE '/tmp/x' INTO TABLE t", ['LOAD DATA without LOCAL reads a file on the server']],
    ["LOAD DATA LOCAL INFILE 'x' INTO TABLE t", []],
    ['CALL p(1)', ['stored procedure: effects not visible to the proxy']],
    ['SET STATEMENT max_statement_time = 1 FOR CALL p()', ['stored procedure: effects not visible to the proxy']],
    ['EXECUTE s', ['EXECUTE of a prepared statement: its text is not visible to the proxy']],
  ];

  it.each(cases)('%s', (text, expected) => {
    expect(flags(text)).toEqual(expected);
  });

  it('flags references to user variables that a read set', () => {
    const tainted = ['@x'];
    expect(flags('INSERT INTO t VALUES (@x)', tainted)).toEqual(['user variable @x was set by a read']);
    expect(flags('UPDATE t SET a = @X + 1 WHERE id = @y', tainted)).toEqual(['user variable @x was set by a read']);
    expect(flags("INSERT INTO t VALUES (@`x`, '@x')", tainted)).toEqual(['user variable @x was set by a read']);
    expect(flags('INSERT INTO t VALUES (@y, @xx)', tainted)).toEqual([]);
    expect(flags("GRANT SELECT ON *.* TO 'u'@'x'", tainted)).toEqual([]);
  });

  it('lists each reason once, in order of appearance', () => {
    expect(flags('INSERT INTO t SELECT RAND(), @x, RAND() FROM u LIMIT 2', ['@x'])).toEqual([
      fn('RAND()'),
      'user variable @x was set by a read',
      LIMIT,
    ]);
  });
});

describe('userVarsAssignedByRead', () => {
  const cases: Array<[string, string[]]> = [
    ['SELECT 1', []],
    ['SELECT @a := 1', ['@a']],
    ['SELECT @a = 1', []],
    ['SELECT @rn := @rn + 1 AS rn FROM t', ['@rn']],
    ['SELECT 1 FROM t WHERE (@x := 5) > 0', ['@x']],
    ['SELECT x, y INTO @a, @B FROM t', ['@a', '@b']],
    ['SELECT x FROM t WHERE id = 1 INTO @a', ['@a']],
    ['SELECT x INTO @`a b` FROM t', ['@a b']],
    ["SELECT x INTO OUTFILE '/tmp/x' FROM t", []],
    ["SELECT '@a := 1', @b /* @c := 2 */", []],
    ['DO @a := GET_LOCK(\'x\', 0)', ['@a']],
    ['SELECT @a := 1, @a := 2', ['@a']],
  ];

  it.each(cases)('%s', (text, expected) => {
    expect(userVarsAssignedByRead(Buffer.from(text))).toEqual(expected);
  });
});
