import { afterAll, beforeAll, expect, it } from 'vitest';
import { deflateRawSync } from 'node:zlib';
import mysql, { type Connection, type ResultSetHeader } from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { mariadbCli } from '../harness/clients.js';
import { formatEntry } from '../../src/journal/dump.js';
import type { JournalEntry } from '../../src/journal/record.js';
import { checksumTables, compareChecksums } from '../../src/verify/checksum-tables.js';
import { startProxy, sqlOf, type ProxyFixture } from './proxy-fixture.js';
import { JournalCursor } from './journal-cursor.js';

// The statements MediaWiki's Rdbms layer sends, through the proxy; then the journal dump replayed
// on a second server must store the very same bytes, binary text blobs included.

let source: MariaDB;
let target: MariaDB;
let proxy: ProxyFixture;
let journal: JournalCursor;
const all: JournalEntry[] = [];

const SCHEMA = [
  'CREATE DATABASE wiki',
  'CREATE TABLE wiki.page (page_id INT UNSIGNED PRIMARY KEY, page_namespace INT NOT NULL, page_title VARBINARY(255) NOT NULL, page_latest INT UNSIGNED NOT NULL, UNIQUE KEY (page_namespace, page_title))',
  'CREATE TABLE wiki.text (old_id INT UNSIGNED PRIMARY KEY, old_text MEDIUMBLOB NOT NULL, old_flags TINYBLOB NOT NULL)',
  'CREATE TABLE wiki.objectcache (keyname VARBINARY(255) PRIMARY KEY, value MEDIUMBLOB, exptime BINARY(14) NOT NULL)',
  'CREATE TABLE wiki.site_stats (ss_row_id INT UNSIGNED PRIMARY KEY, ss_total_edits BIGINT UNSIGNED NOT NULL)',
];

async function fresh(): Promise<JournalEntry[]> {
  const e = await journal.fresh();
  all.push(...e);
  return e;
}

/** mysqli::real_escape_string: the escaping MediaWiki's addQuotes relies on. */
function escapeBytes(b: Buffer): Buffer {
  const escapes: Record<number, string> = { 0x00: '\\0', 0x0a: '\\n', 0x0d: '\\r', 0x1a: '\\Z', 0x22: '\\"', 0x27: "\\'", 0x5c: '\\\\' };
  return Buffer.concat([...b].map((byte) => (escapes[byte] ? Buffer.from(escapes[byte]) : Buffer.from([byte]))));
}

/** Runs the dump's executable text of every entry on `conn`, with the recorded database and session. */
async function replay(conn: Connection, entries: JournalEntry[]): Promise<void> {
  for (const e of entries) {
    const d = formatEntry(e);
    if (d.db !== null) await conn.query(`USE \`${d.db}\``);
    for (const fragment of Object.values(d.session)) await conn.query(`SET ${fragment}`);
    await conn.query(d.sql);
  }
}

beforeAll(async () => {
  [source, target] = await Promise.all([startMariaDB({ name: 'wiki-src' }), startMariaDB({ name: 'wiki-dst' })]);
  proxy = await startProxy(source.port);
  journal = new JournalCursor(proxy);
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([source?.stop(), target?.stop()]);
});

it('Rdbms-style text queries: session SET, GET_LOCK, savepoints, INSERT IGNORE, REPLACE, upserts', async () => {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'app', password: 'apppass' });
  for (const ddl of SCHEMA) await c.query(ddl);
  await c.query('USE wiki');
  await c.query("SET /* Wikimedia\\Rdbms\\DatabaseMysqlBase::open */ group_concat_max_len = 262144, sql_mode = ''");
  const [lock] = await c.query("SELECT /* Wikimedia\\Rdbms\\Database::lock */ GET_LOCK('wiki:page:1', 0) AS lockstatus");
  expect(lock).toEqual([{ lockstatus: 1 }]);
  const affected = async (sql: string) => ((await c.query<ResultSetHeader>(sql))[0]).affectedRows;

  await c.query('BEGIN /* Wikimedia\\Rdbms\\Database::begin */');
  await c.query('SAVEPOINT wikimedia_rdbms_atomic1');
  expect(await affected("INSERT IGNORE INTO page (page_id, page_namespace, page_title, page_latest) VALUES (1, 0, 'Main_Page', 1)")).toBe(1);
  expect(await affected("INSERT IGNORE INTO page (page_id, page_namespace, page_title, page_latest) VALUES (1, 0, 'Main_Page', 1)")).toBe(0);
  await c.query('RELEASE SAVEPOINT wikimedia_rdbms_atomic1');
  await c.query('SAVEPOINT wikimedia_rdbms_atomic2');
  await c.query("INSERT INTO page (page_id, page_namespace, page_title, page_latest) VALUES (2, 0, 'Rolled_back', 1)");
  await c.query('ROLLBACK TO SAVEPOINT wikimedia_rdbms_atomic2');
  await c.query('COMMIT /* Wikimedia\\Rdbms\\Database::commit */');

  expect(await affected("REPLACE INTO objectcache (keyname, value, exptime) VALUES ('wiki:k', 'v1', '20300101000000')")).toBe(1);
  expect(await affected("REPLACE INTO objectcache (keyname, value, exptime) VALUES ('wiki:k', 'v2', '20300101000000')")).toBe(2);
  const upsert = 'INSERT INTO site_stats (ss_row_id, ss_total_edits) VALUES (1, 1) ON DUPLICATE KEY UPDATE ss_total_edits = ss_total_edits + 1';
  expect(await affected(upsert)).toBe(1);
  expect(await affected(upsert)).toBe(2);
  const [released] = await c.query("SELECT RELEASE_LOCK('wiki:page:1') AS released");
  expect(released).toEqual([{ released: 1 }]);
  await c.end();

  const e = await fresh();
  expect(sqlOf(e)).toEqual([
    ...SCHEMA,
    "INSERT IGNORE INTO page (page_id, page_namespace, page_title, page_latest) VALUES (1, 0, 'Main_Page', 1)",
    "INSERT IGNORE INTO page (page_id, page_namespace, page_title, page_latest) VALUES (1, 0, 'Main_Page', 1)",
    "REPLACE INTO objectcache (keyname, value, exptime) VALUES ('wiki:k', 'v1', '20300101000000')",
    "REPLACE INTO objectcache (keyname, value, exptime) VALUES ('wiki:k', 'v2', '20300101000000')",
    upsert,
    upsert,
  ]);
  expect(e.slice(SCHEMA.length).map((x) => x.affectedRows)).toEqual([1, 0, 1, 2, 1, 2]);
  const [ignored1, ignored2] = e.slice(SCHEMA.length, SCHEMA.length + 2);
  expect(ignored1.txn).toBe(ignored2.txn);
  expect([ignored1.last, ignored2.last]).toEqual([false, true]);
  for (const x of e.slice(SCHEMA.length)) {
    expect(x.db).toBe('wiki');
    expect(x.session).toMatchObject({ group_concat_max_len: expect.stringMatching(/262144/), sql_mode: expect.stringMatching(/''/) });
  }
});

it('binary bytes inside string literals (mariadb CLI --binary-mode) are journaled as sent and replay to identical bytes', async () => {
  const gzipped = deflateRawSync(Buffer.from('== Über ==\n'.repeat(50) + '\u0000\'"\\\r\n\u001a'));
  const title = Buffer.from('Caf\xe9_\xff\xfe_\x80', 'latin1'); // Latin-1 bytes: not UTF-8
  const statements = [
    Buffer.concat([Buffer.from("INSERT INTO text (old_id, old_text, old_flags) VALUES (1, '"), escapeBytes(gzipped), Buffer.from("', 'utf-8,gzip')")]),
    Buffer.concat([Buffer.from("INSERT INTO page (page_id, page_namespace, page_title, page_latest) VALUES (3, 0, '"), escapeBytes(title), Buffer.from("', 1)")]),
  ];
  const r = await mariadbCli({
    host: '127.0.0.1', port: proxy.port, user: 'app', password: 'apppass', database: 'wiki',
    args: ['--binary-mode', '--default-character-set=binary'],
    sql: Buffer.concat(statements.flatMap((s) => [s, Buffer.from(';\n')])),
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);

  const e = await fresh();
  expect(e).toHaveLength(2);
  expect(e[0].sql.equals(statements[0])).toBe(true);
  expect(e[1].sql.equals(statements[1])).toBe(true);
  expect(e[0].session.names).toMatch(/^NAMES binary/);
  // Not UTF-8: the dump carries the exact bytes and an executable text with hex literals.
  for (const x of e) {
    const d = formatEntry(x);
    expect(Buffer.from(d.sqlBase64 ?? '', 'base64').equals(x.sql)).toBe(true);
    expect(d.sql).toMatch(/VALUES \(\d, (0, )?X'[0-9A-F]+', /);
  }
  const stored = await source.query('SELECT old_text FROM wiki.text WHERE old_id = 1');
  expect(stored[0].old_text.equals(gzipped)).toBe(true);

  const conn = await mysql.createConnection({ host: '127.0.0.1', port: target.port, user: 'root' });
  try {
    await replay(conn, all);
  } finally {
    await conn.end();
  }
  const [src, dst] = await Promise.all([source, target].map((s) => mysql.createConnection({ host: '127.0.0.1', port: s.port, user: 'root' })));
  try {
    const [replayed] = await dst.query('SELECT old_text FROM wiki.text WHERE old_id = 1') as [{ old_text: Buffer }[], unknown];
    expect(replayed[0].old_text.equals(gzipped)).toBe(true);
    const [page] = await dst.query('SELECT page_title FROM wiki.page WHERE page_id = 3') as [{ page_title: Buffer }[], unknown];
    expect(page[0].page_title.equals(title)).toBe(true);
    const [a, b] = [await checksumTables(src, 'wiki'), await checksumTables(dst, 'wiki')];
    expect(a.map((t) => [t.table, t.rows])).toEqual([['objectcache', 1], ['page', 2], ['site_stats', 1], ['text', 1]]);
    expect(compareChecksums(a, b)).toEqual([]);
  } finally {
    await Promise.all([src.end(), dst.end()]);
  }
});
