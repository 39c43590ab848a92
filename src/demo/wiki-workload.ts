import { randomBytes, randomInt } from 'node:crypto';
import mysql from 'mysql2/promise';

export interface WorkloadOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  clients: number;
  seconds: number;
  onProgress?: (done: WorkloadCounts) => void;
}

export interface WorkloadCounts { creates: number; edits: number; views: number; deletes: number; rollbacks: number; errors: number }

export const WIKI_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS page (
     page_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     page_title VARBINARY(255) NOT NULL UNIQUE,
     page_latest INT UNSIGNED NOT NULL DEFAULT 0,
     page_touched DATETIME NOT NULL,
     page_counter BIGINT UNSIGNED NOT NULL DEFAULT 0) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS revision (
     rev_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     rev_page INT UNSIGNED NOT NULL,
     rev_text MEDIUMBLOB NOT NULL,
     rev_comment VARCHAR(255) NOT NULL,
     rev_timestamp DATETIME(6) NOT NULL,
     rev_minor TINYINT NOT NULL DEFAULT 0,
     KEY (rev_page)) ENGINE=InnoDB`,
];

/**
 * A small wiki-like load: page creation and edits in transactions (text and prepared
 * statements, binary page text), page views that bump a counter, deletions, and transactions
 * the client rolls back. Enough to exercise everything the journal must get right.
 */
export async function runWikiWorkload(o: WorkloadOptions): Promise<WorkloadCounts> {
  const counts: WorkloadCounts = { creates: 0, edits: 0, views: 0, deletes: 0, rollbacks: 0, errors: 0 };
  const setup = await mysql.createConnection({ host: o.host, port: o.port, user: o.user, password: o.password });
  await setup.query(`CREATE DATABASE IF NOT EXISTS \`${o.database}\``);
  await setup.query(`USE \`${o.database}\``);
  for (const ddl of WIKI_SCHEMA) await setup.query(ddl);
  await setup.end();
  const deadline = Date.now() + o.seconds * 1000;
  const progress = o.onProgress ? setInterval(() => o.onProgress!(counts), 1000) : null;
  try {
    await Promise.all(Array.from({ length: o.clients }, (_, i) => client(o, i, deadline, counts)));
  } finally {
    if (progress) clearInterval(progress);
  }
  return counts;
}

async function client(o: WorkloadOptions, n: number, deadline: number, counts: WorkloadCounts): Promise<void> {
  const c = await mysql.createConnection({ host: o.host, port: o.port, user: o.user, password: o.password, database: o.database });
  await c.query("SET /* Wiki::open */ sql_mode = '', group_concat_max_len = 262144");
  try {
    while (Date.now() < deadline) {
      const r = randomInt(100);
      try {
        if (r < 25) await createPage(c, n, counts);
        else if (r < 60) await editPage(c, counts);
        else if (r < 90) await viewPage(c, counts);
        else if (r < 95) await deletePage(c, counts);
        else await abandonedEdit(c, counts);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'ER_LOCK_DEADLOCK' || code === 'ER_DUP_ENTRY') {
          counts.errors++;
          await c.query('ROLLBACK');
        } else throw e;
      }
    }
  } finally {
    await c.end();
  }
}

function pageText(): Buffer {
  // Wiki text is mostly text, with bytes that are not UTF-8 now and then (old latin1 wikis).
  return Buffer.concat([Buffer.from(`'''Page''' [[Link ${randomInt(1000)}]] `), randomBytes(randomInt(10, 200))]);
}

async function randomPageId(c: mysql.Connection): Promise<number | null> {
  const [rows] = await c.query('SELECT /* Wiki::pick */ page_id FROM page ORDER BY RAND() LIMIT 1');
  const r = rows as { page_id: number }[];
  return r.length ? r[0].page_id : null;
}

async function createPage(c: mysql.Connection, n: number, counts: WorkloadCounts): Promise<void> {
  const title = `Page_${n}_${Date.now()}_${randomInt(1e9)}`;
  await c.query('BEGIN');
  const [res] = await c.execute('INSERT /* Wiki::create */ INTO page (page_title, page_touched) VALUES (?, NOW())', [title]);
  const pageId = (res as mysql.ResultSetHeader).insertId;
  const [rev] = await c.execute('INSERT INTO revision (rev_page, rev_text, rev_comment, rev_timestamp) VALUES (?, ?, ?, NOW(6))',
    [pageId, pageText(), `created by client ${n}`]);
  await c.query('UPDATE /* Wiki::create */ page SET page_latest = ? WHERE page_id = ?', [(rev as mysql.ResultSetHeader).insertId, pageId]);
  await c.query('COMMIT');
  counts.creates++;
}

async function editPage(c: mysql.Connection, counts: WorkloadCounts): Promise<void> {
  const id = await randomPageId(c);
  if (id === null) return;
  await c.query('START TRANSACTION');
  const [rev] = await c.query('INSERT /* Wiki::edit */ INTO revision (rev_page, rev_text, rev_comment, rev_timestamp, rev_minor) VALUES (?, ?, ?, NOW(6), ?)',
    [id, pageText(), "edit with 'quotes' and \\ backslash", randomInt(2)]);
  await c.execute('UPDATE page SET page_latest = ?, page_touched = NOW() WHERE page_id = ?', [(rev as mysql.ResultSetHeader).insertId, id]);
  await c.query('COMMIT');
  counts.edits++;
}

async function viewPage(c: mysql.Connection, counts: WorkloadCounts): Promise<void> {
  const id = await randomPageId(c);
  if (id === null) return;
  await c.execute('SELECT p.page_title, r.rev_text FROM page p JOIN revision r ON r.rev_id = p.page_latest WHERE p.page_id = ?', [id]);
  await c.query('UPDATE /* Wiki::hit */ page SET page_counter = page_counter + 1 WHERE page_id = ' + id);
  counts.views++;
}

async function deletePage(c: mysql.Connection, counts: WorkloadCounts): Promise<void> {
  const id = await randomPageId(c);
  if (id === null) return;
  await c.query('BEGIN');
  await c.execute('DELETE FROM revision WHERE rev_page = ?', [id]);
  await c.execute('DELETE FROM page WHERE page_id = ?', [id]);
  await c.query('COMMIT');
  counts.deletes++;
}

async function abandonedEdit(c: mysql.Connection, counts: WorkloadCounts): Promise<void> {
  await c.query('BEGIN');
  await c.query("INSERT INTO revision (rev_page, rev_text, rev_comment, rev_timestamp) VALUES (0, 'never', 'rolled back', NOW())");
  await c.query('SAVEPOINT sp1');
  await c.query("UPDATE page SET page_counter = 0 WHERE page_id < 0");
  await c.query('ROLLBACK TO SAVEPOINT sp1');
  await c.query('ROLLBACK');
  counts.rollbacks++;
}
