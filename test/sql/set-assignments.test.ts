import { describe, expect, it } from 'vitest';
import { classify, type SetAssignment } from '../../src/sql/classify.js';

function assignments(text: string | Buffer): SetAssignment[] {
  const got = classify(typeof text === 'string' ? Buffer.from(text) : text);
  expect(got.kind, String(text)).toBe('set');
  return got.assignments ?? [];
}

const session = (key: string, value: string, constant = true): SetAssignment => ({
  key,
  fragment: `@@SESSION.${key} = ${value}`,
  constant,
  scope: 'session',
});
const global = (key: string, value: string, constant = true): SetAssignment => ({
  key,
  fragment: `@@GLOBAL.${key} = ${value}`,
  constant,
  scope: 'global',
});
const user = (key: string, fragment: string, constant = true): SetAssignment => ({ key, fragment, constant, scope: 'user' });
const names = (fragment: string): SetAssignment => ({ key: 'names', fragment, constant: true, scope: 'session' });

describe('SET assignment parsing', () => {
  const cases: Array<[string, SetAssignment[]]> = [
    [
      "SET /* Wikimedia\\Rdbms\\DatabaseMysqlBase::open */ group_concat_max_len = 262144, sql_mode = ''",
      [session('group_concat_max_len', '262144'), session('sql_mode', "''")],
    ],
    ["SET sql_mode = 'STRICT_ALL_TABLES,ONLY_FULL_GROUP_BY'", [session('sql_mode', "'STRICT_ALL_TABLES,ONLY_FULL_GROUP_BY'")]],
    ['SET SQL_MODE=DEFAULT', [session('sql_mode', 'DEFAULT')]],
    ['SET SESSION wait_timeout = 600', [session('wait_timeout', '600')]],
    ['SET LOCAL wait_timeout = 600', [session('wait_timeout', '600')]],
    ['SET @@wait_timeout = 600', [session('wait_timeout', '600')]],
    ['SET @@session.sql_mode = DEFAULT', [session('sql_mode', 'DEFAULT')]],
    ['SET @@SESSION.Sql_Mode := \'\'', [session('sql_mode', "''")]],
    ['SET @@local.net_read_timeout = 45', [session('net_read_timeout', '45')]],
    ['SET autocommit = 1', [session('autocommit', '1')]],
    ['SET foreign_key_checks = OFF', [session('foreign_key_checks', 'OFF')]],
    ["SET time_zone = '+00:00'", [session('time_zone', "'+00:00'")]],
    ['SET timestamp = 1700000000.123456', [session('timestamp', '1700000000.123456')]],
    ['SET GLOBAL max_connections = 500', [global('max_connections', '500')]],
    ['SET @@global.max_connections = 500', [global('max_connections', '500')]],
    // A scope keyword carries over to the following assignments, as in MariaDB.
    ['SET GLOBAL a = 1, b = 2', [global('a', '1'), global('b', '2')]],
    ['SET GLOBAL a = 1, SESSION b = 2', [global('a', '1'), session('b', '2')]],
    ['SET GLOBAL a = 1, @@b = 2', [global('a', '1'), session('b', '2')]],
    ['SET GLOBAL hot_cache.key_buffer_size = 1024', [global('hot_cache.key_buffer_size', '1024')]],
    ['SET `sql_mode` = \'\'', [session('sql_mode', "''")]],
    // user variables
    ['SET @u = 5', [user('@u', '@u = 5')]],
    ['SET @U := 5', [user('@u', '@U = 5')]],
    ["SET @`u v` = 'x'", [user('@u v', "@`u v` = 'x'")]],
    ["SET @'q' = 1", [user('@q', "@'q' = 1")]],
    ['SET @a = -1.5', [user('@a', '@a = -1.5')]],
    ['SET @a = NULL', [user('@a', '@a = NULL')]],
    ["SET @a = _utf8mb4'x' COLLATE utf8mb4_bin", [user('@a', "@a = _utf8mb4'x' COLLATE utf8mb4_bin")]],
    ["SET @a = X'ff'", [user('@a', "@a = X'ff'")]],
    ["SET @a = 'x,y', @b = CONCAT('a', 'b,c')", [user('@a', "@a = 'x,y'"), user('@b', "@b = CONCAT('a', 'b,c')", false)]],
    // not constant
    ['SET @a = (SELECT 1)', [user('@a', '@a = (SELECT 1)', false)]],
    ['SET @a = @b', [user('@a', '@a = @b', false)]],
    ['SET @a = @@sql_mode', [user('@a', '@a = @@sql_mode', false)]],
    ["SET sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')", [session('sql_mode', "CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')", false)]],
    ['SET @a = NOW()', [user('@a', '@a = NOW()', false)]],
    ['SET @a = CURRENT_TIMESTAMP', [user('@a', '@a = CURRENT_TIMESTAMP', false)]],
    ['SET @a = 1 * 2', [user('@a', '@a = 1 * 2', false)]],
    // charset forms
    ['SET NAMES utf8mb4', [names('NAMES utf8mb4')]],
    ['SET NAMES utf8mb4 COLLATE utf8mb4_bin', [names('NAMES utf8mb4 COLLATE utf8mb4_bin')]],
    ["SET NAMES 'binary'", [names("NAMES 'binary'")]],
    ['SET NAMES DEFAULT', [names('NAMES DEFAULT')]],
    ['SET CHARACTER SET utf8mb4', [names('CHARACTER SET utf8mb4')]],
    ['SET CHARSET latin1', [names('CHARSET latin1')]],
    ['/*!40101 SET NAMES utf8mb4 */', [names('NAMES utf8mb4')]],
    ['/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE=\'NO_AUTO_VALUE_ON_ZERO\' */', [
      user('@old_sql_mode', '@OLD_SQL_MODE = @@SQL_MODE', false),
      session('sql_mode', "'NO_AUTO_VALUE_ON_ZERO'"),
    ]],
    ['SET NAMES utf8mb4, @x = 1;', [names('NAMES utf8mb4'), user('@x', '@x = 1')]],
  ];

  it.each(cases)('%s', (text, expected) => {
    expect(assignments(text)).toEqual(expected);
  });

  it('keeps a fragment with binary bytes executable by turning the literal into hex', () => {
    const text = Buffer.concat([Buffer.from("SET @b = _binary'"), Buffer.from([0xff, 0x00]), Buffer.from("'")]);
    expect(assignments(text)).toEqual([user('@b', "@b = _binary X'FF00'")]);
  });

  it('marks an assignment with non-UTF-8 bytes outside literals (a latin1 client) as not constant', () => {
    const text = Buffer.concat([Buffer.from('SET @caf'), Buffer.from([0xe9]), Buffer.from(" = 'x', @b = 2")]);
    expect(assignments(text)).toEqual([user('@caf\ufffd', "@caf\ufffd = 'x'", false), user('@b', '@b = 2')]);
  });

  it('is not a set statement when there is no assignment', () => {
    expect(classify(Buffer.from('SET')).kind).toBe('other');
    expect(classify(Buffer.from('SET x')).kind).toBe('other');
    expect(classify(Buffer.from('SET x =')).kind).toBe('other');
  });
});
