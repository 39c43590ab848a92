import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { php } from '../harness/clients.js';
import { startProxy, sqlOf, type ProxyFixture } from './proxy-fixture.js';
import { JournalCursor } from './journal-cursor.js';

// PHP's mysqli (mysqlnd) through the proxy, the way a PHP application like MediaWiki talks.

let db: MariaDB;
let proxy: ProxyFixture;
let journal: JournalCursor;

beforeAll(async () => {
  db = await startMariaDB({ name: 'clients-php' });
  await db.query(`
    CREATE DATABASE php; CREATE DATABASE php2;
    CREATE TABLE php.seed (id INT PRIMARY KEY, s VARCHAR(20));
    INSERT INTO php.seed VALUES (1, 'a'), (2, 'b');
    CREATE TABLE php.t (id INT PRIMARY KEY, d DOUBLE, s VARCHAR(50), b LONGBLOB);
    CREATE TABLE php2.t2 (a INT)`);
  proxy = await startProxy(db.port);
  journal = new JournalCursor(proxy);
});

afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
});

const SCRIPT = `
mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
$out = [];
$m = new mysqli('127.0.0.1', 'app', 'apppass', 'php', (int)getenv('PORT'));
$out['select'] = $m->query('SELECT id, s FROM seed ORDER BY id')->fetch_all(MYSQLI_ASSOC);

$st = $m->prepare('INSERT INTO t (id, d, s, b) VALUES (?, ?, ?, ?)');
$id = 1; $d = 2.5; $s = "it's \\"php\\""; $blob = null;
$st->bind_param('idsb', $id, $d, $s, $blob);
foreach (str_split(hex2bin(getenv('BLOB_HEX')), 8192) as $chunk) $st->send_long_data(3, $chunk);
$st->execute();
$out['prepared_affected'] = $st->affected_rows;
$st->close();

$m->multi_query("INSERT INTO t (id) VALUES (2); SELECT COUNT(*) AS n FROM t; UPDATE t SET s = 'multi' WHERE id = 2");
$out['multi'] = [];
do {
  $r = $m->store_result();
  $out['multi'][] = $r ? $r->fetch_all(MYSQLI_ASSOC) : $m->affected_rows;
} while ($m->more_results() && $m->next_result());

$m->begin_transaction();
$m->query('INSERT INTO t (id) VALUES (3)');
$m->query("UPDATE t SET s = 'txn' WHERE id = 3");
$m->commit();

$m->query("SET @tag = 'before change_user'");
$m->query('INSERT INTO t (id, s) VALUES (4, @tag)');
$m->change_user('root', '', 'php2');
$out['after_change_user'] = $m->query('SELECT CURRENT_USER() AS u, DATABASE() AS d, @tag AS tag')->fetch_all(MYSQLI_ASSOC);
$m->query('INSERT INTO t2 VALUES (1)');
$out['ping'] = $m->ping();
$m->close();
echo json_encode($out);
`;

it('query, prepared INSERT with send_long_data, multi_query, a transaction, change_user and ping all work and journal exactly', async () => {
  const blob = randomBytes(40 * 1024);
  const r = await php({ code: SCRIPT, env: { PORT: String(proxy.port), BLOB_HEX: blob.toString('hex') } });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({
    // Text protocol: mysqli hands every value over as a string.
    select: [{ id: '1', s: 'a' }, { id: '2', s: 'b' }],
    prepared_affected: 1,
    multi: [1, [{ n: '2' }], 1],
    after_change_user: [{ u: 'root@127.0.0.1', d: 'php2', tag: null }],
    ping: true,
  });

  const stored = await db.query('SELECT id, d, s, b FROM php.t ORDER BY id');
  expect(stored).toEqual([
    { id: 1, d: 2.5, s: 'it\'s "php"', b: blob },
    { id: 2, d: null, s: 'multi', b: null },
    { id: 3, d: null, s: 'txn', b: null },
    { id: 4, d: null, s: 'before change_user', b: null },
  ]);
  expect(await db.query('SELECT a FROM php2.t2')).toEqual([{ a: 1 }]);
  // The blob really went as five COM_STMT_SEND_LONG_DATA packets (40 KiB in 8 KiB chunks).
  expect(await db.query("SHOW GLOBAL STATUS LIKE 'Com_stmt_send_long_data'")).toEqual([{ Variable_name: 'Com_stmt_send_long_data', Value: '5' }]);

  const e = await journal.fresh();
  expect(sqlOf(e)).toEqual([
    `INSERT INTO t (id, d, s, b) VALUES (1, 2.5E0, 'it\\'s "php"', X'${blob.toString('hex')}')`,
    'INSERT INTO t (id) VALUES (2)',
    "UPDATE t SET s = 'multi' WHERE id = 2",
    'INSERT INTO t (id) VALUES (3)',
    "UPDATE t SET s = 'txn' WHERE id = 3",
    'INSERT INTO t (id, s) VALUES (4, @tag)',
    'INSERT INTO t2 VALUES (1)',
  ]);
  expect(e.map((x) => x.db)).toEqual(['php', 'php', 'php', 'php', 'php', 'php', 'php2']);
  expect(e[3].txn).toBe(e[4].txn);
  expect(new Set(e.map((x) => x.txn)).size).toBe(6);
  // COM_CHANGE_USER resets the session: the user variable is gone from the replay context.
  expect(e[5].session['@tag']).toMatch(/^@tag\s*=\s*'before change_user'$/);
  expect(e[6].session['@tag']).toBeUndefined();
  expect(e[6].session.names).toBe(e[0].session.names);
  expect(e.every((x) => x.flags.length === 0)).toBe(true);
});
