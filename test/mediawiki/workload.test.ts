import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql, { type Connection } from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { MARIADB_ARGS_14, runWorkload14, type Counts } from '../../src/translate/mediawiki/workload-1.4.js';
import { diffProjections, projectWiki14 } from '../../src/translate/mediawiki/projection.js';
import { createWiki14, rootRunner, wikiConnector } from './wiki-fixture.js';

// The 1.4 workload straight against MariaDB (no proxy): every kind of user action happens, the
// database ends in states only 1.4 produces, one client with one seed repeats itself exactly,
// and the statements carry 1.4's own spelling.

let server: MariaDB;
let conn: Connection;
let runner: ReturnType<typeof rootRunner>;

async function rows<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  const [r] = await conn.query(sql);
  return r as T[];
}

async function count(sql: string): Promise<number> {
  const [r] = await rows<{ n: number }>(sql);
  return Number(r.n);
}

async function wiki(db: string, opts: { clients: number; actions: number; seed: number; hitcounterUpdateFreq?: number; compressRevisions?: boolean }): Promise<Counts> {
  await createWiki14(server, db);
  return runWorkload14({ conn: wikiConnector(server, db), ...opts });
}

/** States 1.4 keeps whatever the interleaving. */
async function expectInvariants(db: string): Promise<void> {
  // WatchedItem stores the subject namespace only.
  expect(await count(`SELECT COUNT(*) AS n FROM ${db}.watchlist WHERE wl_namespace & 1`)).toBe(0);
  // A belated edit conflict pushes nothing into old: a title's revision timestamps never repeat.
  // Except after an undelete: two concurrent undeletes of a title that exists copy its archive
  // into old twice (Special:Undelete takes no lock there), a state 1.4 itself reaches.
  const repeated = await rows(`SELECT ns, title FROM (SELECT old_namespace AS ns, old_title AS title, old_timestamp AS ts FROM ${db}.old UNION ALL SELECT cur_namespace, cur_title, cur_timestamp FROM ${db}.cur) r
    WHERE NOT EXISTS (SELECT 1 FROM ${db}.logging l WHERE l.log_type = 'delete' AND l.log_action = 'restore' AND l.log_namespace = r.ns AND l.log_title = r.title)
    GROUP BY ns, title, ts HAVING COUNT(*) > 1`);
  expect(repeated).toEqual([]);
  const inverse = await rows<{ ts: Buffer; inv: Buffer }>(`SELECT old_timestamp AS ts, inverse_timestamp AS inv FROM ${db}.old UNION ALL SELECT cur_timestamp, inverse_timestamp FROM ${db}.cur`);
  for (const r of inverse) expect(r.inv.toString()).toBe(r.ts.toString().replace(/\d/g, (d) => String(9 - Number(d))));
  expect(await count(`SELECT COUNT(*) AS n FROM ${db}.user u LEFT JOIN ${db}.user_rights r ON r.ur_user = u.user_id WHERE r.ur_user IS NULL`)).toBe(0);
}

const EVERY_KIND: Array<keyof Counts> = [
  'creates', 'edits', 'minorEdits', 'unchangedSaves', 'conflicts', 'staleEditForms', 'rollbacks', 'moves', 'talkPageMoves',
  'deletes', 'undeletes', 'protects', 'unprotects', 'patrols', 'views', 'watches', 'unwatches', 'registrations', 'logins',
  'preferenceChanges', 'passwordChanges', 'emailChanges', 'newPasswordMails', 'rightsChanges', 'newtalkNotices', 'newtalkCleared',
];

beforeAll(async () => {
  server = await startMariaDB({ name: 'mw-workload', args: MARIADB_ARGS_14 });
  conn = await mysql.createConnection({ host: server.host, port: server.port, user: 'root' });
  runner = rootRunner(server);
});

afterAll(async () => {
  await runner?.end();
  await conn?.end();
  await server?.stop();
});

it('one client produces every kind of action, and the log and tables account for each', async () => {
  const c = await wiki('every', { clients: 1, actions: 300, seed: 14 });
  const missing = EVERY_KIND.filter((k) => !(c[k] as number > 0));
  expect(missing).toEqual([]);
  expect(c.requests).toBe(300);
  // The one statement 1.4 gets wrong on its own: Database::replace's array_flip column list.
  expect(Object.keys(c.failuresByCode)).toEqual(['ER_WRONG_VALUE_COUNT_ON_ROW']);
  const logged = await rows<{ k: string; n: number }>("SELECT CONCAT(log_type, '/', log_action) AS k, COUNT(*) AS n FROM every.logging GROUP BY k ORDER BY k");
  expect(Object.fromEntries(logged.map((r) => [r.k, Number(r.n)]))).toEqual({
    'delete/delete': c.deletes, 'delete/restore': c.undeletes, 'protect/protect': c.protects,
    'protect/unprotect': c.unprotects, 'rights/rights': c.rightsChanges,
  });
  expect(await count('SELECT COUNT(*) AS n FROM every.user')).toBe(c.registrations + 1);
  expect(await count('SELECT COUNT(*) AS n FROM every.recentchanges WHERE rc_type = 2')).toBeGreaterThan(0);
  expect(await count("SELECT COUNT(*) AS n FROM every.cur WHERE cur_is_redirect = 1 AND cur_comment LIKE '%moved to%'")).toBeGreaterThan(0);
  expect(await count('SELECT COUNT(*) AS n FROM every.archive')).toBeGreaterThan(0);
  expect(await count("SELECT COUNT(*) AS n FROM every.user_rights WHERE ur_rights LIKE '%sysop%' AND ur_user <> 1")).toBeGreaterThan(0);
  for (const t of ['links', 'brokenlinks', 'imagelinks', 'categorylinks', 'user_newtalk', 'searchindex']) {
    expect(await count(`SELECT COUNT(*) AS n FROM every.${t}`), t).toBeGreaterThan(0);
  }
  const [stats] = await rows<{ views: number; edits: number }>('SELECT ss_total_views AS views, ss_total_edits AS edits FROM every.site_stats');
  expect(Number(stats.views)).toBe(c.views);
  expect(Number(stats.edits)).toBeGreaterThanOrEqual(c.creates + c.edits);
  await expectInvariants('every');
});

it('concurrent clients conflict, race and still leave only states 1.4 can have', async () => {
  const c = await wiki('busy', { clients: 6, actions: 400, seed: 3 });
  for (const k of ['creates', 'edits', 'conflicts', 'moves', 'deletes', 'undeletes', 'watches', 'registrations', 'rightsChanges', 'views'] as const) {
    expect(c[k], k).toBeGreaterThan(0);
  }
  const expected = new Set(['ER_WRONG_VALUE_COUNT_ON_ROW', 'ER_DUP_ENTRY', 'ER_LOCK_DEADLOCK']);
  expect(Object.keys(c.failuresByCode).filter((code) => !expected.has(code))).toEqual([]);
  expect(c.failedStatements).toBeLessThan(c.writeStatements / 50);
  await expectInvariants('busy');
});

it('one client and one seed repeat the same wiki; another seed does not; statements are spelled as 1.4 spelled them', async () => {
  const logFile = join(server.dir, 'general.log');
  await conn.query(`SET GLOBAL general_log_file = '${logFile}'`);
  await conn.query('SET GLOBAL general_log = 1');
  await wiki('same1', { clients: 1, actions: 120, seed: 5 });
  await conn.query('SET GLOBAL general_log = 0');
  await wiki('same2', { clients: 1, actions: 120, seed: 5 });
  await wiki('other', { clients: 1, actions: 120, seed: 6 });

  const [a, b, other] = [await projectWiki14(runner, 'same1'), await projectWiki14(runner, 'same2'), await projectWiki14(runner, 'other')];
  expect(diffProjections(a, b)).toEqual([]);
  expect(diffProjections(a, other).length).toBeGreaterThan(10);
  const curRows = (db: string) => rows(`SELECT cur_id, cur_namespace, HEX(cur_title) t, MD5(cur_text) m, cur_timestamp, cur_random FROM ${db}.cur ORDER BY cur_id`);
  expect(await curRows('same2')).toEqual(await curRows('same1'));

  const statements = generalLogQueries(readFileSync(logFile));
  expectSpelling(statements);
});

/** The Query entries of a MariaDB general log, multi-line statements joined, bytes kept (latin1). */
function generalLogQueries(log: Buffer): string[] {
  const out: string[] = [];
  let current: string[] | null = null;
  for (const line of log.toString('latin1').split('\n')) {
    const m = /^(?:\d{6} [\d ]\d:\d\d:\d\d)?\t+\s*\d+ ([A-Za-z][A-Za-z ]*)\t(.*)$/.exec(line);
    if (m) {
      current = m[1] === 'Query' ? [m[2]] : null;
      if (current) out.push('');
    } else if (current) {
      current.push(line);
    }
    if (current) out[out.length - 1] = current.join('\n');
  }
  return out;
}

function latin1(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

function expectSpelling(statements: string[]): void {
  const has = (s: string) => expect(statements, s).toContain(latin1(s));
  has("/* User::addToDatabase */ INSERT  INTO user_rights (ur_user,ur_rights) VALUES ('1','')");
  has("/* -2 */ UPDATE user_rights SET ur_rights = 'sysop,bureaucrat,developer' WHERE (ur_user=1)");
  has("/* RecentChange::save */ INSERT  INTO recentchanges (rc_timestamp,rc_cur_time,rc_namespace,rc_title,rc_type,rc_minor,rc_cur_id,rc_user,rc_user_text,rc_comment,rc_this_oldid,rc_last_oldid,rc_bot,rc_moved_to_ns,rc_moved_to_title,rc_ip,rc_patrolled,rc_new) VALUES ('20050301000001','20050301000001','0','Main_Page','1','0','1','1','WikiSysop','','0','0','0','0','','127.0.0.1','0','1')");
  has('/* SiteStatsUpdate::doUpdate */ UPDATE LOW_PRIORITY site_stats SET ss_total_views=(ss_total_views),ss_total_edits=(ss_total_edits+1),ss_good_articles=(ss_good_articles+1) WHERE ss_row_id=1');
  const mainPage = statements.find((s) => s.startsWith('/* Article::insertNewArticle */ INSERT  INTO cur '));
  expect(mainPage).toMatch(/^\/\* Article::insertNewArticle \*\/ INSERT {2}INTO cur \(cur_id,cur_namespace,cur_title,cur_text,cur_comment,cur_user,cur_timestamp,cur_minor_edit,cur_counter,cur_restrictions,cur_user_text,cur_is_redirect,cur_is_new,cur_random,cur_touched,inverse_timestamp\) VALUES \(NULL,'0','Main_Page','\\'\\'\\'MediaWiki has been successfully installed\.\\'\\'\\'\n\nConsult the \[\[Help:Contents\|User\\'s Guide\]\]\.\n','','1','20050301000001','0','0','','WikiSysop','0','1','0\.\d{12}','20050301000001','79949698999998'\)$/);

  const writes = statements.filter((s) => /^(\/\*[^*]*\*\/ )?(INSERT|UPDATE|DELETE|REPLACE)\b/.test(s) && !s.startsWith('INSERT INTO site_stats'));
  expect(writes.length).toBeGreaterThan(500);
  const raw = /^(UPDATE cur SET cur_counter = cur_counter \+ 1 WHERE cur_id = \d+|DELETE FROM recentchanges WHERE rc_timestamp < '\d{14}')$/;
  expect(writes.filter((s) => !s.startsWith('/* ') && !raw.test(s))).toEqual([]);
  const inserts = writes.map((s) => s.replace(/^\/\*[^*]*\*\/ /, '')).filter((s) => s.startsWith('INSERT'));
  const shapes = /^INSERT( {2}| IGNORE )INTO \w+ \(|^INSERT INTO (archive|old) \([a-z_,]+\) SELECT /;
  expect(inserts.filter((s) => !shapes.test(s))).toEqual([]);
  expect(statements.filter((s) => /LAST_INSERT_ID/i.test(s))).toEqual([]);
  expect(writes.some((s) => s.startsWith('/* Article::updateArticle */ UPDATE cur SET cur_text=') && / WHERE cur_id='\d+' AND cur_timestamp='\d{14}'$/.test(s))).toBe(true);
}

it('batched hit counters and compressed history: hitcounter flushes, gzip rows in old, texts read back', async () => {
  const c = await wiki('gz', { clients: 2, actions: 300, seed: 8, hitcounterUpdateFreq: 5, compressRevisions: true });
  expect(c.hitcounterFlushes).toBeGreaterThan(0);
  expect(await count("SELECT COUNT(*) AS n FROM gz.old WHERE old_flags = 'utf-8,gzip'")).toBeGreaterThan(0);
  const p = await projectWiki14(runner, 'gz');
  const texts = Object.values(p.pages).flatMap((page) => page.revisions.map((r) => r.text));
  expect(texts.filter((t) => t.startsWith('unreadable:'))).toEqual([]);
  expect(texts.filter((t) => t.includes("'''")).length).toBeGreaterThan(texts.length / 2);
  const counted = Object.values(p.pages).reduce((s, page) => s + page.counter, 0);
  expect(counted).toBeGreaterThan(0);
  expect(counted).toBeLessThanOrEqual(c.views);
});

it('refuses a connection that would convert the statements\' bytes', async () => {
  await createWiki14(server, 'charset');
  const utf8 = () => mysql.createConnection({ host: server.host, port: server.port, user: 'root', database: 'charset' });
  await expect(runWorkload14({ conn: utf8, clients: 1, actions: 1 })).rejects.toMatchObject({ code: 'WORKLOAD_CONNECTION_CHARSET' });
});
