// 1.4 actions scripted as the SQL 1.4 sends, run on a real 1.4 database and translated into a
// real 1.5 one (one MariaDB server, two databases): the 1.5 rows each action leaves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { mediawiki14to15 } from '../../src/translate/mediawiki/pack.js';
import { runOracleUpgrade } from '../../src/translate/mediawiki/oracle-updater.js';
import { diffProjections, projectWiki15 } from '../../src/translate/mediawiki/projection.js';
import { TranslateError, type SqlRunner } from '../../src/translate/pack.js';
import { TwoWikis } from './two-wikis.js';
import { bytes, deletePage, insertCur, insertOld, insertRecentChange, patchRecentChanges, q, restoreHistory, updateCur, type Revision } from './wiki14-statements.js';

let server: MariaDB;
let w: TwoWikis;
const pack = mediawiki14to15;

beforeAll(async () => {
  server = await startMariaDB({ name: 'mw-pack' });
  w = await TwoWikis.create(server, pack, 'actions');
  await w.write("INSERT INTO site_stats (ss_row_id,ss_total_views,ss_total_edits,ss_good_articles) VALUES ('1','0','0','0')");
});

afterAll(async () => {
  await w?.close();
  await server?.stop();
});

const T1 = '20050101000000';
const T2 = '20050102000000';
const T3 = '20050103000000';
const first: Revision = { text: 'Hello [[Target]] caf\u00e9', ts: T1, comment: 'created' };
const second: Revision = { text: 'Second [[Target]]', ts: T2, user: 2, userText: 'Bob', comment: 'c2', minor: 1 };
const third: Revision = { text: 'Third [[Target]] \u{1F600}', ts: T3, comment: 'c3' };

interface RevisionRow {
  rev_id: number;
  rev_timestamp: Buffer;
  rev_comment: Buffer;
  rev_user: number;
  rev_user_text: Buffer;
  rev_minor_edit: number;
  rev_text_id: number;
  old_text: Buffer;
  old_flags: Buffer;
}

async function revisions(pageId: number): Promise<RevisionRow[]> {
  return w.rows<RevisionRow>(
    'SELECT r.*, x.old_text, x.old_flags FROM revision r JOIN text x ON x.old_id = r.rev_text_id WHERE rev_page = ? ORDER BY rev_timestamp, rev_id',
    [pageId],
  );
}

async function page(pageId: number): Promise<Record<string, unknown> | undefined> {
  return (await w.rows('SELECT * FROM page WHERE page_id = ?', [pageId]))[0];
}

describe('pages and revisions', () => {
  it('creation, two edits and an edit conflict leave three revisions, the newest one current', async () => {
    await w.write(
      insertCur(0, 'Main_Page', first),
      insertRecentChange({ ts: T1, ns: 0, title: 'Main_Page', type: 1, curId: 1 }),
      "INSERT INTO brokenlinks (bl_from,bl_to) VALUES ('1','Target')",
      "UPDATE LOW_PRIORITY site_stats SET ss_total_views=(ss_total_views),ss_total_edits=(ss_total_edits+1),ss_good_articles=(ss_good_articles+1) WHERE ss_row_id=1",
    );
    await w.write(
      updateCur(1, T1, second),
      insertOld(0, 'Main_Page', first),
      insertRecentChange({ ts: T2, ns: 0, title: 'Main_Page', type: 0, curId: 1, lastOld: 1 }),
      ...patchRecentChanges(0, 'Main_Page', T1, 1, 1, T2),
    );
    // A second editor who loaded the page at T1 loses: the guard matches no row, nothing is written.
    const conflict = await w.write(updateCur(1, T1, { text: 'lost', ts: T3 }));
    expect(conflict[0].affectedRows).toBe(0);
    // Autocommit: each statement its own transaction, as 1.4 without $wgDBtransactions.
    await w.write(updateCur(1, T2, third));
    await w.write(insertOld(0, 'Main_Page', second, 'utf-8,gzip'));
    await w.write(insertRecentChange({ ts: T3, ns: 0, title: 'Main_Page', type: 0, curId: 1, lastOld: 2 }), ...patchRecentChanges(0, 'Main_Page', T2, 2, 1, T3));

    const revs = await revisions(1);
    expect(revs.map((r) => [r.rev_timestamp.toString(), r.old_text.toString('utf8'), r.old_flags.toString(), r.rev_comment.toString(), r.rev_user_text.toString(), r.rev_minor_edit])).toEqual([
      [T1, first.text, 'utf-8', 'created', 'Admin', 0],
      [T2, second.text, 'utf-8,gzip', 'c2', 'Bob', 1],
      [T3, third.text, '', 'c3', 'Admin', 0],
    ]);
    expect(await page(1)).toMatchObject({
      page_namespace: 0,
      page_latest: revs[2].rev_id,
      page_len: Buffer.byteLength(third.text),
      page_is_new: 0,
      page_random: 0.5,
    });
    expect((await page(1))!.page_touched).toEqual(Buffer.from(T3));
    expect(await w.rows('SELECT * FROM metamorph_mw_unpushed')).toEqual([]);
    expect(await w.rows('SELECT old_id, rev_id, old_namespace, old_title FROM metamorph_mw_idmap ORDER BY old_id')).toEqual([
      { old_id: 1, rev_id: revs[0].rev_id, old_namespace: 0, old_title: Buffer.from('Main_Page') },
      { old_id: 2, rev_id: revs[1].rev_id, old_namespace: 0, old_title: Buffer.from('Main_Page') },
    ]);
    // Old ids become the revisions holding them; 0 (the change is the current revision) stays 0, as in an upgraded wiki.
    const rc = await w.rows<{ rc_id: number; rc_this_oldid: number; rc_last_oldid: number }>('SELECT rc_id, rc_this_oldid, rc_last_oldid FROM recentchanges ORDER BY rc_id');
    expect(rc).toEqual([
      { rc_id: 1, rc_this_oldid: revs[0].rev_id, rc_last_oldid: 0 },
      { rc_id: 2, rc_this_oldid: revs[1].rev_id, rc_last_oldid: revs[0].rev_id },
      { rc_id: 3, rc_this_oldid: 0, rc_last_oldid: revs[1].rev_id },
    ]);
    expect(await w.rows('SELECT ss_total_edits, ss_good_articles FROM site_stats')).toEqual([{ ss_total_edits: 1, ss_good_articles: 1 }]);
  });

  it('keeps bytes that are not UTF-8 exactly (1.4 wikis stored cp1252 in latin1 columns)', async () => {
    await w.write(bytes(insertCur(0, 'Caf\u00e9', { text: 'bytes \u00e9\u00ff\u0080', ts: T1 })));
    const [p] = await w.rows<{ page_id: number; page_title: Buffer; page_len: number }>("SELECT page_id, page_title, page_len FROM page WHERE page_title = X'436166e9'");
    expect(p.page_title).toEqual(Buffer.from([0x43, 0x61, 0x66, 0xe9]));
    expect(p.page_len).toBe(9);
    expect((await revisions(p.page_id))[0].old_text).toEqual(Buffer.from([0x62, 0x79, 0x74, 0x65, 0x73, 0x20, 0xe9, 0xff, 0x80]));
  });
});

describe('links', () => {
  it('a link stays in pagelinks while its target is created, moved and deleted', async () => {
    expect(await w.rows('SELECT pl_from, pl_namespace, pl_title FROM pagelinks ORDER BY pl_from')).toEqual([{ pl_from: 1, pl_namespace: 0, pl_title: Buffer.from('Target') }]);
    // Creating Target: 1.4 moves Main_Page's link from brokenlinks to links (LinksUpdate::fixBrokenLinks).
    await w.write(insertCur(0, 'Target', { text: 'target page', ts: T2 }));
    await w.write("INSERT INTO links (l_from,l_to) VALUES ('1','3')", "UPDATE cur SET cur_touched='20050102000001' WHERE cur_id IN ('1')", "DELETE FROM brokenlinks WHERE bl_to='Target'");
    expect(await w.rows('SELECT pl_from, pl_namespace, pl_title FROM pagelinks ORDER BY pl_from')).toEqual([{ pl_from: 1, pl_namespace: 0, pl_title: Buffer.from('Target') }]);
    // Moving Target to New_Target leaves a redirect (cur_id 4) at Target; links to the page follow the redirect.
    await w.write(
      `UPDATE cur SET cur_touched=${q(T3)},cur_namespace='0',cur_title='New_Target' WHERE cur_id='3'`,
      insertCur(0, 'Target', { text: '#REDIRECT [[New_Target]]\n', ts: T3, comment: '[[Target]] moved to [[New_Target]]', redirect: 1 }),
      "UPDATE old SET old_namespace='0',old_title='New_Target' WHERE old_namespace='0' AND old_title='Target'",
      insertRecentChange({ ts: T3, ns: 0, title: 'Target', type: 2, curId: 3, movedTo: [0, 'New_Target'] }),
      "UPDATE links SET l_to='4' WHERE l_to='3'",
      "INSERT INTO links (l_from,l_to) VALUES ('4','3')",
    );
    expect(await page(3)).toMatchObject({ page_title: Buffer.from('New_Target') });
    expect(await page(4)).toMatchObject({ page_title: Buffer.from('Target'), page_is_redirect: 1 });
    expect(await revisions(4)).toHaveLength(1);
    const links = await w.rows<{ pl_from: number; pl_title: Buffer }>('SELECT pl_from, pl_title FROM pagelinks ORDER BY pl_from');
    expect(links.map((l) => [l.pl_from, l.pl_title.toString()])).toEqual([
      [1, 'Target'],
      [4, 'New_Target'],
    ]);
    // Main_Page drops its link: gone from pagelinks once neither 1.4 table has it.
    await w.write("DELETE FROM links WHERE l_from='1'");
    expect((await w.rows('SELECT pl_from FROM pagelinks')).map((r) => r.pl_from)).toEqual([4]);
  });

  it('refuses a change the mirrored link table cannot follow', async () => {
    // Row counts must agree: a link the target never saw means the target diverged.
    await w.source.query("INSERT INTO links (l_from,l_to) VALUES ('99','98')");
    await expect(w.write("DELETE FROM links WHERE l_from='99'")).rejects.toThrow(TranslateError);
  });
});

describe('deletion and undeletion', () => {
  it('archives in the 1.5 form and restores the same revisions', async () => {
    const before = await revisions(1);
    await w.write(...deletePage(0, 'Main_Page'), "DELETE FROM links WHERE l_from='1'", "DELETE FROM brokenlinks WHERE bl_from='1'");
    expect(await page(1)).toBeUndefined();
    expect(await revisions(1)).toEqual([]);
    const archived = await w.rows<{ ar_rev_id: number; ar_text_id: number; ar_text: Buffer; ar_timestamp: Buffer }>('SELECT ar_rev_id, ar_text_id, ar_text, ar_timestamp FROM archive ORDER BY ar_timestamp');
    expect(archived.map((a) => [a.ar_rev_id, a.ar_text_id, a.ar_text.length, a.ar_timestamp.toString()])).toEqual(before.map((r) => [r.rev_id, r.rev_text_id, 0, r.rev_timestamp.toString()]));
    expect((await w.rows('SELECT COUNT(*) AS n FROM text WHERE old_id IN (?, ?, ?)', before.map((r) => r.rev_text_id)))[0]).toEqual({ n: 3 });

    // Undelete: the newest archived revision becomes cur (cur_id 5), the rest go back into old.
    await w.write(insertCur(0, 'Main_Page', third), ...restoreHistory(0, 'Main_Page', T3));
    const after = await revisions(5);
    expect(after.map((r) => [r.rev_timestamp.toString(), r.old_text.toString('utf8'), r.old_flags.toString()])).toEqual([
      [T1, first.text, 'utf-8'],
      [T2, second.text, 'utf-8,gzip'],
      [T3, third.text, ''],
    ]);
    // The archived text rows are reused; the revisions get new ids, as 1.4 gives restored old rows new old_ids.
    expect(after.slice(0, 2).map((r) => r.rev_text_id)).toEqual(before.slice(0, 2).map((r) => r.rev_text_id));
    expect(after[0].rev_id).toBeGreaterThan(Math.max(...before.map((r) => r.rev_id)));
    expect(await w.rows('SELECT * FROM archive')).toEqual([]);
  });
});

describe('users', () => {
  it('accounts pass through; rights become groups; watching writes subject and talk rows', async () => {
    await w.write(
      "INSERT INTO user (user_id,user_name,user_password,user_newpassword,user_email,user_real_name,user_options) VALUES (NULL,'Bob','pw','','bob@example.org','Bob B','skin=monobook')",
      "INSERT INTO user_rights (ur_user,ur_rights) VALUES ('1','')",
    );
    await w.write("UPDATE user SET user_touched='20050105000000',user_options='skin=classic' WHERE user_id='1'", "REPLACE INTO user_rights (ur_user,ur_rights) VALUES ('1','sysop,bureaucrat')");
    await w.write("REPLACE INTO watchlist (wl_user,wl_namespace,wl_title) VALUES ('1','0','New_Target'),('1','2','Bob')");
    expect(await w.rows('SELECT user_id, user_options, user_email_token FROM user')).toEqual([{ user_id: 1, user_options: Buffer.from('skin=classic'), user_email_token: null }]);
    expect((await w.rows<{ ug_group: Buffer }>('SELECT ug_group FROM user_groups ORDER BY ug_group')).map((r) => r.ug_group.toString())).toEqual(['bureaucrat', 'sysop']);
    const watched = await w.rows<{ wl_namespace: number; wl_title: Buffer; wl_notificationtimestamp: Buffer }>('SELECT * FROM watchlist ORDER BY wl_namespace');
    expect(watched.map((r) => [r.wl_namespace, r.wl_title.toString(), r.wl_notificationtimestamp.toString()])).toEqual([
      [0, 'New_Target', '0'],
      [1, 'New_Target', '0'],
      [2, 'Bob', '0'],
      [3, 'Bob', '0'],
    ]);
    await w.write("DELETE FROM watchlist WHERE wl_user='1' AND wl_namespace='0' AND wl_title='New_Target'");
    expect((await w.rows('SELECT wl_namespace FROM watchlist ORDER BY wl_namespace')).map((r) => r.wl_namespace)).toEqual([2, 3]);
  });
});

describe('races 1.4 leaves in its data (history is filed by title)', () => {
  const R1 = '20050110000000';
  const R2 = '20050110000100';

  it('an edit that read cur before a move pushes its old row under the old title: it belongs to the redirect left there', async () => {
    await w.write(insertCur(0, 'Racy', { text: 'racy v1', ts: R1 })); // cur_id 6
    // The move commits between the edit's read of cur and its writes (1.4 without transactions).
    await w.write(
      `UPDATE cur SET cur_touched=${q(R2)},cur_namespace='0',cur_title='Moved_Racy' WHERE cur_id='6'`,
      insertCur(0, 'Racy', { text: '#REDIRECT [[Moved Racy]]\n', ts: R2, redirect: 1 }), // cur_id 7
    );
    await w.write(updateCur(6, R1, { text: 'racy v2', ts: '20050110000200' }));
    await w.write(insertOld(0, 'Racy', { text: 'racy v1', ts: R1 }));
    const moved = await revisions(6);
    const redirect = await revisions(7);
    expect(moved.map((r) => r.old_text.toString())).toEqual(['racy v2']);
    expect(redirect.map((r) => r.old_text.toString())).toEqual(['racy v1', '#REDIRECT [[Moved Racy]]\n']);
  });

  it('an edit whose page was deleted before its INSERT old leaves history no page shows, until the page is restored', async () => {
    await w.write(insertCur(0, 'Doomed', { text: 'doomed v1', ts: R1 })); // cur_id 8
    await w.write(updateCur(8, R1, { text: 'doomed v2', ts: R2 }));
    await w.write(...deletePage(0, 'Doomed'));
    await w.write(insertOld(0, 'Doomed', { text: 'doomed v1', ts: R1 }));
    expect(await w.rows('SELECT COUNT(*) AS n FROM metamorph_mw_orphans')).toEqual([{ n: 1 }]);
    expect(await w.rows("SELECT COUNT(*) AS n FROM revision r JOIN text x ON x.old_id = r.rev_text_id WHERE x.old_text = 'doomed v1'")).toEqual([{ n: 0 }]);
    // Undelete re-creates the page (cur_id 9): the stray old row becomes part of its history again.
    await w.write(insertCur(0, 'Doomed', { text: 'doomed v2', ts: R2 }), ...restoreHistory(0, 'Doomed', R2));
    expect((await revisions(9)).map((r) => r.old_text.toString())).toEqual(['doomed v1', 'doomed v2']);
    expect(await w.rows('SELECT COUNT(*) AS n FROM metamorph_mw_orphans')).toEqual([{ n: 0 }]);
  });
});

describe('cur rewritten in place', () => {
  it('a rewrite that marks the page new keeps no history; a metadata fix changes the current revision', async () => {
    await w.write(insertCur(0, 'Rewritten', { text: 'first', ts: '20050120000000' }));
    const [{ id }] = await w.sourceRows<{ id: number }>("SELECT cur_id AS id FROM cur WHERE cur_title='Rewritten'");
    await w.write(`UPDATE cur SET cur_text='second',cur_timestamp='20050120000100',cur_is_new='1',cur_is_redirect='0' WHERE cur_id=${q(id)}`);
    await w.write(`UPDATE cur SET cur_comment='fixed summary',cur_user_text='Fixer' WHERE cur_id=${q(id)}`);
    const revs = await revisions(id);
    expect(revs.map((r) => [r.old_text.toString(), r.rev_comment.toString(), r.rev_user_text.toString()])).toEqual([['second', 'fixed summary', 'Fixer']]);
    expect(await w.rows("SELECT COUNT(*) AS n FROM text WHERE old_text = 'first'")).toEqual([{ n: 0 }]);
  });
});

it("leaves, after all of the above, the wiki the 1.5 updater makes of the 1.4 database", async () => {
  await runOracleUpgrade(w.target, w.sourceDb, 'actions_oracle');
  expect(diffProjections(await projectWiki15(w.target, w.targetDb), await projectWiki15(w.target, 'actions_oracle'), ['replayed', 'oracle'])).toEqual([]);
});

it('projects a page and a user the same on both sides (Pack.project)', async () => {
  const source: SqlRunner = {
    query: async <T>(sql: string, params?: unknown[]) => (await w.source.query(sql, params))[0] as T[],
    exec: async () => ({ affectedRows: 0, insertId: 0 }),
  };
  await w.target.exec(`USE ${w.targetDb}`);
  for (const item of [{ type: 'page', key: '0:Main_Page' }, { type: 'page-id', key: '9' }, { type: 'user', key: '1' }]) {
    const target = await pack.project!(item, 'target', w.target);
    expect(target, item.key).not.toBeNull();
    expect(target, item.key).toEqual(await pack.project!(item, 'source', source));
  }
});
