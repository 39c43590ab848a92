import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql, { type Connection } from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { SCHEMA_1_4 } from '../../src/translate/mediawiki/schema-1.4.js';
import { SCHEMA_1_5 } from '../../src/translate/mediawiki/schema-1.5.js';
import { createWiki14 } from './wiki-fixture.js';

// Both schemas load into an empty MariaDB 10.11 database and store bytes exactly.

let server: MariaDB;
let conn: Connection;

const TABLES_1_4 = [
  'archive', 'blobs', 'brokenlinks', 'categorylinks', 'cur', 'hitcounter', 'image', 'imagelinks', 'interwiki',
  'ipblocks', 'links', 'linkscc', 'logging', 'math', 'objectcache', 'old', 'oldimage', 'querycache', 'recentchanges',
  'searchindex', 'site_stats', 'user', 'user_newtalk', 'user_rights', 'validate', 'watchlist',
];
const TABLES_1_5 = [
  'archive', 'categorylinks', 'hitcounter', 'image', 'imagelinks', 'interwiki', 'ipblocks', 'logging', 'math',
  'objectcache', 'oldimage', 'page', 'pagelinks', 'querycache', 'recentchanges', 'revision', 'searchindex',
  'site_stats', 'text', 'user', 'user_groups', 'user_newtalk', 'validate', 'watchlist',
];

async function load(db: string, schema: string[]): Promise<void> {
  await conn.query(`CREATE DATABASE ${db}`);
  await conn.query(`USE ${db}`);
  for (const ddl of schema) await conn.query(ddl);
}

async function tables(db: string): Promise<Array<{ name: string; engine: string; collation: string }>> {
  const [rows] = await conn.query(
    'SELECT TABLE_NAME AS name, ENGINE AS engine, TABLE_COLLATION AS collation FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME',
    [db],
  );
  return rows as Array<{ name: string; engine: string; collation: string }>;
}

beforeAll(async () => {
  server = await startMariaDB({ name: 'mw-schema' });
  conn = await mysql.createConnection({ host: server.host, port: server.port, user: 'root' });
});

afterAll(async () => {
  await conn?.end();
  await server?.stop();
});

it('1.4: every table of tables.sql loads; InnoDB with a binary charset, searchindex MyISAM, hitcounter MEMORY', async () => {
  await load('s14', SCHEMA_1_4);
  const t = await tables('s14');
  expect(t.map((x) => x.name)).toEqual(TABLES_1_4);
  expect(t.find((x) => x.name === 'searchindex')).toMatchObject({ engine: 'MyISAM', collation: 'latin1_swedish_ci' });
  expect(t.find((x) => x.name === 'hitcounter')).toMatchObject({ engine: 'MEMORY' });
  const rest = t.filter((x) => !['searchindex', 'hitcounter'].includes(x.name));
  expect(rest.every((x) => x.engine === 'InnoDB' && x.collation === 'binary')).toBe(true);
});

it('1.5: every table of tables.sql loads, with the unique user_name and the page/revision/text split', async () => {
  await load('s15', SCHEMA_1_5);
  expect((await tables('s15')).map((x) => x.name)).toEqual(TABLES_1_5);
  const [idx] = await conn.query("SELECT NON_UNIQUE AS nu FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 's15' AND TABLE_NAME = 'user' AND INDEX_NAME = 'user_name'");
  expect(idx).toEqual([{ nu: 0 }]);
  await conn.query("INSERT INTO user (user_name) VALUES ('A')");
  await expect(conn.query("INSERT INTO user (user_name) VALUES ('A')")).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' });
});

it('stores titles and texts byte for byte, never pads CHAR values, and stamps categorylinks rows', async () => {
  await conn.query('USE s14');
  const title = Buffer.from('Caf\xe9_\xff\x80_Z\xc3\xbcrich', 'latin1');
  const text = Buffer.concat([Buffer.from("quote ' backslash \\ nul "), Buffer.from([0, 0x1a, 0xe9, 0x0d, 0x0a])]);
  await conn.query('INSERT INTO cur (cur_namespace, cur_title, cur_text, cur_random) VALUES (0, ?, ?, 0.5)', [title, text]);
  const [rows] = await conn.query('SELECT cur_title, cur_text, cur_touched, LENGTH(cur_touched) AS len FROM cur');
  const [row] = rows as Array<{ cur_title: Buffer; cur_text: Buffer; cur_touched: Buffer; len: number }>;
  expect(row.cur_title.equals(title)).toBe(true);
  expect(row.cur_text.equals(text)).toBe(true);
  expect(row.len).toBe(0);
  await conn.query("INSERT INTO categorylinks (cl_from, cl_to, cl_sortkey) VALUES (1, 'Cat', 'Key')");
  const [cl] = await conn.query('SELECT cl_timestamp > 0 AS stamped FROM categorylinks');
  expect(cl).toEqual([{ stamped: 1 }]);
});

it('loadSchema14 creates the database with the installer\'s site_stats row', async () => {
  await createWiki14(server, 'w14');
  const [rows] = await conn.query('SELECT ss_row_id, ss_total_views, ss_total_edits, ss_good_articles FROM w14.site_stats');
  expect(rows).toEqual([{ ss_row_id: 1, ss_total_views: 0, ss_total_edits: 0, ss_good_articles: 0 }]);
  expect((await tables('w14')).map((x) => x.name)).toEqual(TABLES_1_4);
});
