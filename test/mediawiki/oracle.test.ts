import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql, { type Connection } from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { MARIADB_ARGS_14, runWorkload14 } from '../../src/translate/mediawiki/workload-1.4.js';
import { generateWiki14 } from '../../src/translate/mediawiki/generate-wiki-1.4.js';
import { runOracleUpgrade, type OracleUpgradeResult } from '../../src/translate/mediawiki/oracle-updater.js';
import {
  diffProjections, projectArchive14, projectArchive15, projectPage14, projectPage15, projectUser14, projectUser15,
  projectWiki14, projectWiki15, type WikiProjection,
} from '../../src/translate/mediawiki/projection.js';
import { createWiki14, rootRunner, wikiConnector } from './wiki-fixture.js';

// The 1.5 updater's conversion of a busy 1.4 wiki projects to exactly what the 1.4 wiki
// projects to, and the projection notices a single tampered field on either side.

let server: MariaDB;
let conn: Connection;
let runner: ReturnType<typeof rootRunner>;
let upgrade: OracleUpgradeResult;
let before: WikiProjection;
let after: WikiProjection;

async function rows<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  const [r] = await conn.query(sql);
  return r as T[];
}

async function count(sql: string): Promise<number> {
  const [r] = await rows<{ n: number }>(sql);
  return Number(r.n);
}

beforeAll(async () => {
  server = await startMariaDB({ name: 'mw-oracle', args: MARIADB_ARGS_14 });
  conn = await mysql.createConnection({ host: server.host, port: server.port, user: 'root' });
  runner = rootRunner(server);
  await createWiki14(server, 'wiki14');
  // Generated archived pages make sure the comparison covers archive whatever the random
  // workload's deletes and undeletes leave behind; the workload continues after them.
  const seed = await wikiConnector(server, 'wiki14')();
  await generateWiki14(seed, { pages: 60, revisionsPerPage: 2, users: 10, archivedPages: 30, seed: 3 });
  await seed.end();
  await runWorkload14({ conn: wikiConnector(server, 'wiki14'), clients: 4, actions: 500, seed: 21, hitcounterUpdateFreq: 10, compressRevisions: true });
  upgrade = await runOracleUpgrade(runner, 'wiki14', 'wiki15');
  before = await projectWiki14(runner, 'wiki14');
  after = await projectWiki15(runner, 'wiki15');
});

afterAll(async () => {
  await runner?.end();
  await conn?.end();
  await server?.stop();
});

it('the converted wiki projects to exactly what the 1.4 wiki projects to, and that is a lot of wiki', async () => {
  expect(diffProjections(before, after, ['1.4', '1.5'])).toEqual([]);
  const pages = Object.values(before.pages);
  expect(pages.length).toBeGreaterThan(40);
  expect(pages.reduce((s, p) => s + p.revisions.length, 0)).toBeGreaterThan(2 * pages.length);
  expect(pages.filter((p) => p.latest === null || !p.revisions.includes(p.latest))).toEqual([]);
  const links = pages.flatMap((p) => p.links);
  expect(links.some((l) => l.startsWith('0:')), 'main namespace links').toBe(true);
  expect(links.some((l) => /^(1|4|10|12):/.test(l)), 'links into other namespaces').toBe(true);
  expect(pages.some((p) => p.imageLinks.length > 0) && pages.some((p) => p.categories.length > 0), 'image and category links').toBe(true);
  expect(Object.keys(before.archive).length).toBeGreaterThan(0);
  const users = Object.values(before.users);
  expect(users.some((u) => u.groups.includes('sysop') && !u.groups.includes('developer')), 'sysops').toBe(true);
  expect(users.some((u) => u.watching.length > 0), 'watchers').toBe(true);
  expect(users.some((u) => u.newtalk) || before.anonNewtalk.length > 0, 'new talk').toBe(true);
  expect(before.recentChanges.some((r) => r.lastRevision !== '' && r.lastRevision !== 'missing'), 'edits in recent changes').toBe(true);
  expect(before.logging.length).toBeGreaterThan(10);
});

it('the copy was converted the 1.5 updater\'s way, leaving the 1.4 database as it was', async () => {
  expect(upgrade.copiedTables).toContain('cur');
  const tables = (await rows<{ t: string }>("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'wiki15'")).map((r) => r.t);
  expect(tables).toEqual(expect.arrayContaining(['page', 'revision', 'text', 'pagelinks', 'user_groups', 'cur', 'links', 'brokenlinks', 'user_rights']));
  expect(tables).not.toContain('old');
  expect(await count("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'wiki14' AND TABLE_NAME = 'page'")).toBe(0);
  // page_id = cur_id; history keeps rev_id = old_id; current revisions are new old_ids above maxold.
  expect(await rows('SELECT cur_id FROM wiki14.cur ORDER BY cur_id')).toEqual(await rows('SELECT page_id AS cur_id FROM wiki15.page ORDER BY page_id'));
  expect(await count('SELECT COUNT(*) AS n FROM wiki14.old o JOIN wiki14.cur c ON c.cur_namespace = o.old_namespace AND c.cur_title = o.old_title LEFT JOIN wiki15.revision r ON r.rev_id = o.old_id AND r.rev_timestamp = o.old_timestamp WHERE r.rev_id IS NULL')).toBe(0);
  expect(await count(`SELECT COUNT(*) AS n FROM wiki15.page WHERE page_latest <= ${upgrade.maxOld}`)).toBe(0);
  expect(await count('SELECT COUNT(*) AS n FROM wiki15.revision WHERE rev_text_id <> rev_id')).toBe(0);
  expect(await count('SELECT COUNT(*) AS n FROM wiki15.page p JOIN wiki15.text t ON t.old_id = p.page_latest WHERE p.page_len <> LENGTH(t.old_text)')).toBe(0);
  // The updater's leftovers and defaults.
  expect(await count("SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'wiki15' AND TABLE_NAME = 'text' AND COLUMN_NAME = 'inverse_timestamp'")).toBe(1);
  expect(await rows('SELECT ss_total_pages, ss_users, ss_admins FROM wiki15.site_stats')).toEqual([{ ss_total_pages: -1, ss_users: -1, ss_admins: -1 }]);
  expect(await count('SELECT COUNT(*) AS n FROM wiki15.archive WHERE ar_rev_id IS NOT NULL OR ar_text_id IS NOT NULL')).toBe(0);
  expect(await count('SELECT COUNT(*) AS n FROM wiki15.watchlist WHERE wl_namespace & 1')).toBe(await count('SELECT COUNT(*) AS n FROM wiki15.watchlist WHERE NOT (wl_namespace & 1)'));
  expect(await count("SELECT COUNT(*) AS n FROM wiki15.pagelinks WHERE pl_namespace = 0 AND pl_title LIKE 'Talk:%'")).toBe(0);
  expect(await rows("SELECT NON_UNIQUE AS nu FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'wiki15' AND TABLE_NAME = 'user' AND INDEX_NAME = 'user_name' GROUP BY NON_UNIQUE")).toEqual([{ nu: 0 }]);
  const types = await rows<{ t: string }>("SELECT DISTINCT COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'wiki15' AND COLUMN_NAME IN ('ar_namespace','rc_namespace','wl_namespace','qc_namespace','log_namespace','page_namespace')");
  expect(types.map((r) => r.t)).toEqual(['int(11)']);
});

it('per-item projections are the entries of the whole-wiki projection', async () => {
  const keys = Object.keys(before.pages).sort();
  for (const key of [keys[0], keys[Math.floor(keys.length / 2)], keys[keys.length - 1]]) {
    const colon = key.indexOf(':');
    const [ns, title] = [Number(key.slice(0, colon)), key.slice(colon + 1)];
    expect(await projectPage14(runner, ns, title, 'wiki14')).toEqual(before.pages[key]);
    expect(await projectPage15(runner, ns, title, 'wiki15')).toEqual(after.pages[key]);
  }
  expect(await projectPage15(runner, 0, 'No_such_page', 'wiki15')).toBeNull();
  const archived = Object.keys(before.archive)[0];
  const colon = archived.indexOf(':');
  const [ans, atitle] = [Number(archived.slice(0, colon)), archived.slice(colon + 1)];
  expect(await projectArchive14(runner, ans, atitle, 'wiki14')).toEqual(before.archive[archived]);
  expect(await projectArchive15(runner, ans, atitle, 'wiki15')).toEqual(after.archive[archived]);
  const name = Object.keys(before.users).find((n) => before.users[n].watching.length > 0)!;
  expect(await projectUser14(runner, name, 'wiki14')).toEqual(before.users[name]);
  expect(await projectUser15(runner, name, 'wiki15')).toEqual(after.users[name]);
});

/** Applies `tamper`, diffs the projections afresh, then applies `restore`. */
async function differencesAfter(tamper: string, restore: string): Promise<string[]> {
  await conn.query(tamper);
  try {
    return diffProjections(await projectWiki14(runner, 'wiki14'), await projectWiki15(runner, 'wiki15'), ['1.4', '1.5']);
  } finally {
    await conn.query(restore);
  }
}

/** A byte string literal for SQL. */
function bin(b: Buffer): string {
  return `UNHEX('${b.toString('hex')}')`;
}

/** A field's path as diffProjections writes it. */
function fieldPath(...keys: string[]): string {
  return keys.map((k, i) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${i ? '.' : ''}${k}` : `[${JSON.stringify(k)}]`)).join('');
}

function pagePath(key: string): string {
  return fieldPath('pages', key);
}

it('a tampered revision comment or current text on the 1.5 side is reported as exactly that field', async () => {
  const [rev] = await rows<{ id: number; page: number; ns: number; title: Buffer; comment: Buffer }>(
    'SELECT r.rev_id AS id, r.rev_page AS page, p.page_namespace AS ns, p.page_title AS title, r.rev_comment AS comment FROM wiki15.revision r JOIN wiki15.page p ON p.page_id = r.rev_page WHERE r.rev_id <> p.page_latest ORDER BY r.rev_id LIMIT 1',
  );
  const key = `${rev.ns}:${rev.title.toString()}`;
  const index = before.pages[key].revisions.findIndex((r) => r.comment === rev.comment.toString());
  const diff = await differencesAfter(
    `UPDATE wiki15.revision SET rev_comment = 'tampered' WHERE rev_id = ${rev.id}`,
    `UPDATE wiki15.revision SET rev_comment = ${bin(rev.comment)} WHERE rev_id = ${rev.id}`,
  );
  expect(diff).toEqual([`${pagePath(key)}.revisions[${index}].comment: 1.4=${JSON.stringify(rev.comment.toString())} 1.5="tampered"`]);

  const [page] = await rows<{ latest: number; ns: number; title: Buffer; text: Buffer; flags: Buffer }>(
    "SELECT p.page_latest AS latest, p.page_namespace AS ns, p.page_title AS title, t.old_text AS text, t.old_flags AS flags FROM wiki15.page p JOIN wiki15.text t ON t.old_id = p.page_latest WHERE t.old_flags = '' ORDER BY p.page_id LIMIT 1",
  );
  const pkey = `${page.ns}:${page.title.toString()}`;
  const latestIndex = before.pages[pkey].revisions.indexOf(before.pages[pkey].latest!);
  const textDiff = await differencesAfter(
    `UPDATE wiki15.text SET old_text = CONCAT(old_text, 'x') WHERE old_id = ${page.latest}`,
    `UPDATE wiki15.text SET old_text = ${bin(page.text)} WHERE old_id = ${page.latest}`,
  );
  expect(textDiff.map((l) => l.replace(/: 1\.4=.*$/, ''))).toEqual([`${pagePath(pkey)}.latest.text`, `${pagePath(pkey)}.revisions[${latestIndex}].text`]);
});

it('a lost link, group or talk-page watch row on the 1.5 side, or a changed counter on the 1.4 side, is reported', async () => {
  const [pl] = await rows<{ from_: number; ns: number; title: Buffer; pns: number; ptitle: Buffer }>(
    'SELECT l.pl_from AS from_, l.pl_namespace AS ns, l.pl_title AS title, p.page_namespace AS pns, p.page_title AS ptitle FROM wiki15.pagelinks l JOIN wiki15.page p ON p.page_id = l.pl_from ORDER BY l.pl_from, l.pl_namespace, l.pl_title LIMIT 1',
  );
  const pkey = `${pl.pns}:${pl.ptitle.toString()}`;
  const target = `${pl.ns}:${pl.title.toString()}`;
  const n = before.pages[pkey].links.length;
  expect(await differencesAfter(
    `DELETE FROM wiki15.pagelinks WHERE pl_from = ${pl.from_} AND pl_namespace = ${pl.ns} AND pl_title = ${bin(pl.title)}`,
    `INSERT INTO wiki15.pagelinks (pl_from, pl_namespace, pl_title) VALUES (${pl.from_}, ${pl.ns}, ${bin(pl.title)})`,
  )).toEqual([`${pagePath(pkey)}.links: ${n} entries in 1.4, ${n - 1} in 1.5`, `${pagePath(pkey)}.links: only in 1.4: ${JSON.stringify(target)}`]);

  const [ug] = await rows<{ user: number; grp: string; name: Buffer }>("SELECT g.ug_user AS user, CAST(g.ug_group AS CHAR) AS grp, u.user_name AS name FROM wiki15.user_groups g JOIN wiki15.user u ON u.user_id = g.ug_user WHERE g.ug_group = 'sysop' ORDER BY g.ug_user LIMIT 1");
  const upath = fieldPath('users', ug.name.toString(), 'groups');
  const groups = before.users[ug.name.toString()].groups;
  expect(await differencesAfter(
    `DELETE FROM wiki15.user_groups WHERE ug_user = ${ug.user} AND ug_group = 'sysop'`,
    `INSERT INTO wiki15.user_groups (ug_user, ug_group) VALUES (${ug.user}, 'sysop')`,
  )).toEqual([`${upath}: ${groups.length} entries in 1.4, ${groups.length - 1} in 1.5`, `${upath}: only in 1.4: "sysop"`]);

  const [wl] = await rows<{ user: number; ns: number; title: Buffer; name: Buffer; ts: Buffer | null }>(
    'SELECT w.wl_user AS user, w.wl_namespace AS ns, w.wl_title AS title, u.user_name AS name, w.wl_notificationtimestamp AS ts FROM wiki15.watchlist w JOIN wiki15.user u ON u.user_id = w.wl_user WHERE w.wl_namespace & 1 ORDER BY w.wl_user, w.wl_namespace, w.wl_title LIMIT 1',
  );
  const subject = `${wl.ns & ~1}:${wl.title.toString()}`;
  expect(await differencesAfter(
    `DELETE FROM wiki15.watchlist WHERE wl_user = ${wl.user} AND wl_namespace = ${wl.ns} AND wl_title = ${bin(wl.title)}`,
    `INSERT INTO wiki15.watchlist (wl_user, wl_namespace, wl_title) VALUES (${wl.user}, ${wl.ns}, ${bin(wl.title)})`,
  )).toEqual([
    `${fieldPath('users', wl.name.toString(), 'watchingWithoutTalkRow')}: 0 entries in 1.4, 1 in 1.5`,
    `${fieldPath('users', wl.name.toString(), 'watchingWithoutTalkRow')}: only in 1.5: ${JSON.stringify(subject)}`,
  ]);

  const [cur] = await rows<{ id: number; ns: number; title: Buffer; counter: number }>('SELECT cur_id AS id, cur_namespace AS ns, cur_title AS title, cur_counter AS counter FROM wiki14.cur ORDER BY cur_id LIMIT 1');
  const ckey = `${cur.ns}:${cur.title.toString()}`;
  const counter = before.pages[ckey].counter;
  expect(await differencesAfter(
    `UPDATE wiki14.cur SET cur_counter = cur_counter + 7 WHERE cur_id = ${cur.id}`,
    `UPDATE wiki14.cur SET cur_counter = ${cur.counter} WHERE cur_id = ${cur.id}`,
  )).toEqual([`${pagePath(ckey)}.counter: 1.4=${counter + 7} 1.5=${counter}`]);

  expect(diffProjections(await projectWiki14(runner, 'wiki14'), await projectWiki15(runner, 'wiki15'))).toEqual([]);
});
