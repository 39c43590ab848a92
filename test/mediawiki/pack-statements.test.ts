// One 1.4 statement in, the 1.5 statements the pack runs out (recorded by a fake runner): the
// text-level translation of each shape. Behaviour against a real 1.5 database is in
// pack-target.test.ts and pack-e2e.test.ts.
import { describe, expect, it } from 'vitest';
import { TranslateError } from '../../src/translate/pack.js';
import { createMediawikiPack, mediawiki14to15 } from '../../src/translate/mediawiki/pack.js';
import { RecordingRunner, entry } from './recording-runner.js';

async function translate(sql: string, over: Parameters<typeof entry>[1] = {}, runner = new RecordingRunner()): Promise<RecordingRunner> {
  await mediawiki14to15.apply(entry(sql, over), { target: runner, targetDb: 'wiki15' });
  return runner;
}

describe('cur', () => {
  it('page creation writes text, revision and page with page_id = cur_id', async () => {
    const r = await translate(
      "INSERT INTO cur (cur_id,cur_namespace,cur_title,cur_text,cur_comment,cur_user,cur_timestamp,cur_minor_edit,cur_counter,cur_restrictions,cur_user_text,cur_is_redirect,cur_is_new,cur_random,cur_touched,inverse_timestamp) " +
        "VALUES (NULL,'0','Main_Page','Hello [[World]]','first','1','20050101120000','0','0','','Admin','0','1','0.25','20050101120000','79949898879999')",
      { insertId: '7' },
    );
    expect(r.calls.slice(0, 4)).toEqual([
      { sql: 'INSERT INTO `wiki15`.`text` (old_text, old_flags) VALUES (?, ?)', params: ['Hello [[World]]', ''] },
      {
        sql: 'INSERT INTO `wiki15`.`revision` (rev_page, rev_text_id, rev_comment, rev_user, rev_user_text, rev_timestamp, rev_minor_edit, rev_deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        params: [7, 100, 'first', '1', 'Admin', '20050101120000', '0', 0],
      },
      {
        sql: 'INSERT INTO `wiki15`.`page` (page_id, page_namespace, page_title, page_counter, page_restrictions, page_is_redirect, page_is_new, page_random, page_touched, page_latest, page_len) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        params: [7, '0', 'Main_Page', '0', '', '0', '1', '0.25', '20050101120000', 101, 15],
      },
      // Old rows already filed under the title (left by a move) become the new page's history.
      { sql: 'SELECT page_id, page_latest FROM `wiki15`.`page` WHERE page_namespace = ? AND page_title = ? FOR UPDATE', params: [0, 'Main_Page'] },
    ]);
  });

  it('an edit conflict (the guarded UPDATE matched nothing) writes nothing', async () => {
    const r = await translate("UPDATE cur SET cur_text='x',cur_timestamp='20050102000000' WHERE cur_id='7' AND cur_timestamp='20050101120000'", { affectedRows: 0 });
    expect(r.calls).toEqual([]);
  });

  it('an edit adds a revision, moves page_latest under 1.5s guard and leaves the replaced revision waiting for its INSERT old', async () => {
    const runner = new RecordingRunner([[/SELECT page_id, page_latest FROM `wiki15`.`page` WHERE page_id = \?/, [{ page_id: 7, page_latest: 55 }]]]);
    await translate(
      "UPDATE cur SET cur_text='new text',cur_comment='c2',cur_minor_edit='1',cur_user='2',cur_timestamp='20050102000000',cur_user_text='Bob',cur_is_redirect='0',cur_is_new='0',cur_touched='20050102000000',inverse_timestamp='79949897999999' WHERE cur_id='7' AND cur_timestamp='20050101120000'",
      {},
      runner,
    );
    expect(runner.statements).toEqual([
      'SELECT page_id, page_latest FROM `wiki15`.`page` WHERE page_id = ? FOR UPDATE',
      'INSERT INTO `wiki15`.`text` (old_text, old_flags) VALUES (?, ?)',
      'INSERT INTO `wiki15`.`revision` (rev_page, rev_text_id, rev_comment, rev_user, rev_user_text, rev_timestamp, rev_minor_edit, rev_deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      'UPDATE `wiki15`.`page` SET page_latest = ?, page_len = ?, page_is_redirect = ?, page_is_new = ?, page_touched = ? WHERE page_id = ? AND page_latest = ?',
      'SELECT 1 AS bound FROM `wiki15`.`metamorph_mw_idmap` WHERE rev_id = ? LIMIT 1',
      'INSERT INTO `wiki15`.`metamorph_mw_unpushed` (rev_id, page_id) VALUES (?, ?)',
    ]);
    expect(runner.calls[3].params).toEqual([101, 8, '0', '0', '20050102000000', 7, 55]);
    expect(runner.calls[5].params).toEqual([55, 7]);
  });

  it('touches and hit counts update page, renamed', async () => {
    const touch = await translate("UPDATE cur SET cur_touched='20050103000000' WHERE cur_id IN ('1','2','3')", { affectedRows: 3 });
    expect(touch.calls).toEqual([{ sql: 'UPDATE `wiki15`.`page` SET page_touched = ? WHERE (page_id IN (?, ?, ?))', params: ['20050103000000', '1', '2', '3'] }]);
    const hit = await translate("UPDATE cur SET cur_counter = cur_counter + 1 WHERE cur_id = '7'");
    expect(hit.calls).toEqual([{ sql: 'UPDATE `wiki15`.`page` SET page_counter = (page_counter + 1) WHERE (page_id = ?)', params: ['7'] }]);
    const talk = await translate("UPDATE cur SET cur_touched='20050103000000' WHERE cur_namespace='1' AND cur_title='Main_Page'");
    expect(talk.statements).toEqual(['UPDATE `wiki15`.`page` SET page_touched = ? WHERE ((page_namespace = ?) AND (page_title = ?))']);
  });

  it('a rename refiles the history of both titles', async () => {
    const runner = new RecordingRunner([
      [/^SELECT page_id FROM/, [{ page_id: 7 }]],
      [/^SELECT page_namespace AS ns, page_title AS title/, [{ ns: 0, title: 'Old_Name' }]],
    ]);
    await translate("UPDATE cur SET cur_touched='20050103000000',cur_namespace='0',cur_title='New_Name' WHERE cur_id='7'", {}, runner);
    expect(runner.statements.slice(0, 3)).toEqual([
      'SELECT page_id FROM `wiki15`.`page` WHERE (page_id = ?) FOR UPDATE',
      'SELECT page_namespace AS ns, page_title AS title FROM `wiki15`.`page` WHERE page_id IN (?)',
      'UPDATE `wiki15`.`page` SET page_touched = ?, page_namespace = ?, page_title = ? WHERE page_id IN (?)',
    ]);
    // Neither title has a page in this fake target: the history of both moves out of `revision`.
    expect(runner.statements.filter((q) => q.startsWith('INSERT INTO `wiki15`.`metamorph_mw_orphans`'))).toHaveLength(2);
  });

  it('deletion removes the page and its current revision; its history waits for the DELETE FROM old', async () => {
    const runner = new RecordingRunner([
      [/^SELECT page_id FROM/, [{ page_id: 7 }]],
      [/^SELECT page_namespace AS ns, page_title AS title/, [{ ns: 0, title: 'Main_Page' }]],
      [/^SELECT r.rev_id FROM/, [{ rev_id: 101 }]],
    ]);
    await translate("DELETE FROM cur WHERE cur_namespace='0' AND cur_title='Main_Page'", {}, runner);
    expect(runner.statements.slice(0, 6)).toEqual([
      'SELECT page_id FROM `wiki15`.`page` WHERE ((page_namespace = ?) AND (page_title = ?)) FOR UPDATE',
      'SELECT page_namespace AS ns, page_title AS title FROM `wiki15`.`page` WHERE page_id IN (?)',
      'SELECT r.rev_id FROM `wiki15`.`revision` r LEFT JOIN `wiki15`.`metamorph_mw_idmap` m ON m.rev_id = r.rev_id WHERE r.rev_page IN (?) AND m.rev_id IS NULL FOR UPDATE',
      'DELETE FROM `wiki15`.`revision` WHERE rev_id IN (?)',
      'DELETE FROM `wiki15`.`page` WHERE page_id IN (?)',
      'DELETE FROM `wiki15`.`metamorph_mw_unpushed` WHERE page_id IN (?)',
    ]);
  });

  it('refuses a cur column 1.4 does not have', async () => {
    await expect(translate("UPDATE cur SET cur_bogus='1' WHERE cur_id='1'")).rejects.toThrow(/cur has no column cur_bogus/);
  });
});

describe('old and archive', () => {
  it("a move's rename of old rows by title renames the filing of their revisions", async () => {
    const runner = new RecordingRunner([], [[/^UPDATE `wiki15`.`metamorph_mw_idmap` SET old_namespace/, 4]]);
    await translate("UPDATE old SET old_namespace='0',old_title='New_Name' WHERE old_namespace='0' AND old_title='Old_Name'", { affectedRows: 4 }, runner);
    expect(runner.calls[0]).toEqual({
      sql: 'UPDATE `wiki15`.`metamorph_mw_idmap` SET old_namespace = ?, old_title = ? WHERE old_namespace = ? AND old_title = ?',
      params: [0, 'New_Name', 0, 'Old_Name'],
    });
    await expect(translate("UPDATE old SET old_title='X' WHERE old_namespace='0' AND old_title='Y'", { affectedRows: 2 })).rejects.toThrow(/renamed 2 old row\(s\) on the source but 1 mapped revision/);
  });

  it('the INSERT old of an edit binds the new old_id to the unpushed revision and stores the old row text', async () => {
    const runner = new RecordingRunner([
      [/FROM `wiki15`.`page` WHERE page_namespace/, [{ page_id: 7, page_latest: 101 }]],
      [/FROM `wiki15`.`metamorph_mw_unpushed` u JOIN/, [{ rev_id: 55 }]],
    ]);
    await translate(
      "INSERT INTO old (old_id,old_namespace,old_title,old_text,old_comment,old_user,old_user_text,old_timestamp,old_minor_edit,inverse_timestamp,old_flags) VALUES (NULL,'0','Main_Page','Hello','first','1','Admin','20050101120000','0','79949898879999','utf-8')",
      { insertId: '12' },
      runner,
    );
    expect(runner.statements.slice(1)).toEqual([
      'SELECT u.rev_id FROM `wiki15`.`metamorph_mw_unpushed` u JOIN `wiki15`.`revision` r ON r.rev_id = u.rev_id WHERE r.rev_timestamp = ? ORDER BY u.page_id = ? DESC, u.rev_id LIMIT 1 FOR UPDATE',
      'DELETE FROM `wiki15`.`metamorph_mw_unpushed` WHERE rev_id = ?',
      'UPDATE `wiki15`.`revision` r JOIN `wiki15`.`text` x ON x.old_id = r.rev_text_id SET x.old_text = ?, x.old_flags = ?, r.rev_page = ?, r.rev_comment = ?, r.rev_user = ?, r.rev_user_text = ?, r.rev_timestamp = ?, r.rev_minor_edit = ? WHERE r.rev_id = ?',
      'INSERT INTO `wiki15`.`metamorph_mw_idmap` (old_id, rev_id, old_namespace, old_title) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE rev_id = VALUES(rev_id), old_namespace = VALUES(old_namespace), old_title = VALUES(old_title)',
    ]);
    expect(runner.calls.at(-1)!.params).toEqual([12, 55, 0, 'Main_Page']);
  });

  it('deletion archives in the 1.5 form: revision ids and text ids, no text', async () => {
    const r = await translate(
      "INSERT INTO archive (ar_namespace,ar_title,ar_text,ar_comment,ar_user,ar_user_text,ar_timestamp,ar_minor_edit,ar_flags) SELECT cur_namespace,cur_title,cur_text,cur_comment,cur_user,cur_user_text,cur_timestamp,cur_minor_edit,0 FROM cur WHERE cur_namespace='0' AND cur_title='Main_Page'",
    );
    expect(r.statements).toEqual([
      "INSERT INTO `wiki15`.`archive` (ar_namespace, ar_title, ar_text, ar_comment, ar_user, ar_user_text, ar_timestamp, ar_minor_edit, ar_flags, ar_rev_id, ar_text_id) SELECT p.page_namespace, p.page_title, '', r.rev_comment, r.rev_user, r.rev_user_text, r.rev_timestamp, r.rev_minor_edit, '', r.rev_id, r.rev_text_id FROM `wiki15`.`page` p JOIN `wiki15`.`revision` r ON r.rev_id = p.page_latest WHERE ((p.page_namespace = ?) AND (p.page_title = ?))",
    ]);
    const runner = new RecordingRunner([], [[/INSERT INTO `wiki15`.`archive`/, 2]]);
    await expect(
      translate(
        "INSERT INTO archive (ar_namespace,ar_title,ar_text,ar_comment,ar_user,ar_user_text,ar_timestamp,ar_minor_edit,ar_flags) SELECT old_namespace,old_title,old_text,old_comment,old_user,old_user_text,old_timestamp,old_minor_edit,old_flags FROM old WHERE old_namespace='0' AND old_title='Main_Page'",
        { affectedRows: 3 },
        runner,
      ),
    ).rejects.toThrow(/archived 3 revision\(s\) from old on the source but 2 on the target/);
  });
});

describe('tables whose rows change shape', () => {
  it('watching writes the subject and the talk row; unwatching deletes both', async () => {
    const watch = await translate("REPLACE INTO watchlist (wl_user,wl_namespace,wl_title) VALUES ('3','2','Bob')");
    expect(watch.calls).toEqual([
      {
        sql: "INSERT IGNORE INTO `wiki15`.`watchlist` (wl_user, wl_namespace, wl_title, wl_notificationtimestamp) VALUES (?, ?, ?, '0'), (?, ?, ?, '0')",
        params: [3, 2, 'Bob', 3, 3, 'Bob'],
      },
    ]);
    const unwatch = await translate("DELETE FROM watchlist WHERE wl_user='3' AND wl_namespace='2' AND wl_title='Bob'");
    expect(unwatch.calls).toEqual([
      { sql: 'DELETE FROM `wiki15`.`watchlist` WHERE (((`wl_user` = ?) AND (`wl_namespace` IN (2, 3))) AND (`wl_title` = ?))', params: ['3', 'Bob'] },
    ]);
  });

  it('a rights list becomes user_groups rows', async () => {
    const r = await translate("REPLACE INTO user_rights (ur_user,ur_rights) VALUES ('4','sysop, bureaucrat,sysop')");
    expect(r.calls).toEqual([
      { sql: 'DELETE FROM `wiki15`.`user_groups` WHERE ug_user = ?', params: [4] },
      { sql: 'INSERT IGNORE INTO `wiki15`.`user_groups` (ug_user, ug_group) VALUES (?, ?), (?, ?)', params: [4, 'sysop', 4, 'bureaucrat'] },
    ]);
    const update = await translate("UPDATE user_rights SET ur_rights='' WHERE ur_user='4'");
    expect(update.calls).toEqual([{ sql: 'DELETE FROM `wiki15`.`user_groups` WHERE ug_user = ?', params: [4] }]);
  });

  it('a broken link is mirrored and becomes a pagelinks row in its namespace', async () => {
    const r = await translate("INSERT IGNORE INTO brokenlinks (bl_from,bl_to) VALUES ('7','User_talk:Bob'),('7','Nowhere')", { affectedRows: 2 });
    expect(r.calls).toEqual([
      {
        sql: 'INSERT IGNORE INTO `wiki15`.`metamorph_mw_brokenlinks` (bl_from, bl_to, pl_namespace, pl_title) VALUES (?, ?, ?, ?), (?, ?, ?, ?)',
        params: [7, 'User_talk:Bob', 3, 'Bob', 7, 'Nowhere', 0, 'Nowhere'],
      },
      { sql: 'INSERT IGNORE INTO `wiki15`.`pagelinks` (pl_from, pl_namespace, pl_title) VALUES (?, ?, ?), (?, ?, ?)', params: [7, 3, 'Bob', 7, 0, 'Nowhere'] },
    ]);
  });

  it('broken link titles are split as the 1.5 updater splits them, with the wiki\'s namespace names', async () => {
    const params = async (pack = mediawiki14to15, to = 'Wikipedia:About') => {
      const runner = new RecordingRunner();
      await pack.apply(entry(`INSERT INTO brokenlinks (bl_from,bl_to) VALUES ('7','${to}')`), { target: runner, targetDb: null });
      return runner.calls[1].params;
    };
    expect(await params()).toEqual([7, 4, 'About']);
    expect(await params(mediawiki14to15, 'Talk:Talk:Twice')).toEqual([7, 1, 'Twice']); // TRIM(LEADING 'Talk:' ...)
    expect(await params(mediawiki14to15, 'Nowhere:Land')).toEqual([7, 0, 'Nowhere:Land']);
    expect(await params(createMediawikiPack({ metaNamespace: 'Project' }), 'Project_talk:About')).toEqual([7, 5, 'About']);
  });

  it('keeps the wiki\'s table prefix and writes its own tables without it', async () => {
    const runner = new RecordingRunner();
    const prefixed = createMediawikiPack({ tablePrefix: 'mw_' });
    await prefixed.apply(entry("REPLACE INTO mw_watchlist (wl_user,wl_namespace,wl_title) VALUES ('3','0','X')"), { target: runner, targetDb: 'wiki15' });
    await prefixed.apply(entry("INSERT INTO mw_links (l_from,l_to) VALUES ('1','2')"), { target: runner, targetDb: 'wiki15' });
    expect(runner.statements[0]).toMatch(/^INSERT IGNORE INTO `wiki15`.`mw_watchlist`/);
    expect(runner.statements[1]).toMatch(/^INSERT INTO `wiki15`.`metamorph_mw_links` .* LEFT JOIN `wiki15`.`mw_page` p/);
    await expect(prefixed.apply(entry("INSERT INTO user (user_name) VALUES ('x')"), { target: runner, targetDb: 'wiki15' })).rejects.toThrow(/does not carry the wiki's table prefix "mw_"/);
  });

  it('recentchanges: old ids become the revisions holding them, 0 stays 0, rc_id is kept', async () => {
    const runner = new RecordingRunner([[/FROM `wiki15`.`metamorph_mw_idmap` WHERE old_id IN/, [{ old_id: 12, rev_id: 55 }]]]);
    await translate(
      "INSERT INTO recentchanges (rc_timestamp,rc_cur_time,rc_user,rc_user_text,rc_namespace,rc_title,rc_comment,rc_minor,rc_bot,rc_new,rc_cur_id,rc_this_oldid,rc_last_oldid,rc_type,rc_moved_to_ns,rc_moved_to_title,rc_ip,rc_patrolled) " +
        "VALUES ('20050102000000','20050102000000','2','Bob','0','Main_Page','c2','1','0','0','7','0','12','0','0','','','0')",
      { insertId: '40' },
      runner,
    );
    const insert = runner.calls.at(-1)!;
    expect(insert.sql).toContain('`rc_this_oldid`, `rc_last_oldid`, `rc_type`, `rc_moved_to_ns`, `rc_moved_to_title`, `rc_ip`, `rc_patrolled`, `rc_id`) VALUES');
    expect(insert.sql).toMatch(/, \?, 0, 55, \?, \?, \?, \?, \?, 40\)$/);
    const patch = await translate("UPDATE recentchanges SET rc_this_oldid='12' WHERE rc_namespace='0' AND rc_title='Main_Page' AND rc_timestamp='20050101120000'", {}, runner);
    expect(patch.calls.at(-1)!.sql).toBe('UPDATE `wiki15`.`recentchanges` SET `rc_this_oldid` = 55 WHERE (((`rc_namespace` = ?) AND (`rc_title` = ?)) AND (`rc_timestamp` = ?))');
    await expect(translate("UPDATE recentchanges SET rc_this_oldid='13' WHERE rc_id='1'")).rejects.toThrow(/names old_id 13, which has no revision on the target/);
  });
});

describe('tables that did not change', () => {
  it('pass through, with the ids the source generated and without scheduling modifiers', async () => {
    const stats = await translate('UPDATE LOW_PRIORITY site_stats SET ss_total_views=(ss_total_views+1),ss_total_edits=(ss_total_edits) WHERE ss_row_id=1');
    expect(stats.calls).toEqual([
      { sql: 'UPDATE `wiki15`.`site_stats` SET `ss_total_views` = (`ss_total_views` + 1), `ss_total_edits` = `ss_total_edits` WHERE (`ss_row_id` = 1)', params: [] },
    ]);
    const user = await translate("INSERT INTO user (user_id,user_name,user_password) VALUES (NULL,'Bob','x')", { insertId: '9' });
    expect(user.calls).toEqual([{ sql: 'INSERT INTO `wiki15`.`user` (`user_id`, `user_name`, `user_password`) VALUES (9, ?, ?)', params: ['Bob', 'x'] }]);
    const image = await translate("INSERT INTO image (img_name,img_size) VALUES ('A.png','10')");
    expect(image.calls[0]).toEqual({ sql: 'INSERT INTO `wiki15`.`image` (`img_name`, `img_size`, `img_metadata`) VALUES (?, ?, ?)', params: ['A.png', '10', ''] });
    const links = await translate("INSERT IGNORE INTO categorylinks (cl_from,cl_to,cl_sortkey) VALUES ('7','Cats','Main Page'),('7','Dogs','Main Page')", { affectedRows: 2 });
    expect(links.statements).toEqual(['INSERT IGNORE INTO `wiki15`.`categorylinks` (`cl_from`, `cl_to`, `cl_sortkey`) VALUES (?, ?, ?), (?, ?, ?)']);
  });

  it('the dropped link cache needs nothing', async () => {
    expect((await translate("DELETE FROM linkscc WHERE lcc_pageid='7'")).calls).toEqual([]);
  });
});

describe('what cannot be translated', () => {
  it('throws a TranslateError naming the statement and the items it touches', async () => {
    const err = await translate("INSERT INTO validate (val_user,val_title,val_timestamp) VALUES ('1','Main_Page','2005')").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TranslateError);
    expect((err as TranslateError).message).toMatch(/validate is not a MediaWiki 1.4 table this pack knows.*statement: INSERT INTO validate/);
    expect((err as TranslateError).items).toEqual([{ type: 'table', key: 'validate' }]);

    const other = await translate("UPDATE cur SET cur_text='x' WHERE cur_random > '0.5'").catch((e: unknown) => e);
    expect(other).toBeInstanceOf(TranslateError);
    expect((other as TranslateError).items).toEqual([{ type: 'table', key: 'cur' }]);

    for (const ddl of ['DROP TABLE cur', 'ALTER TABLE cur ADD x INT', 'CREATE TEMPORARY TABLE t SELECT cur_id FROM cur']) {
      await expect(translate(ddl, { kind: 'ddl', affectedRows: 0 }), ddl).rejects.toThrow(TranslateError);
    }
  });

  it("runs the hit counter flush's temporary table under a name of its source connection", async () => {
    const create = await translate('CREATE TEMPORARY TABLE acchits ENGINE=HEAP SELECT hc_id,COUNT(*) AS hc_n FROM hitcounter GROUP BY hc_id', { kind: 'ddl', affectedRows: 0, conn: 3 });
    expect(create.statements).toEqual(['CREATE TEMPORARY TABLE `wiki15`.`acchits_metamorph_conn3` ENGINE=HEAP SELECT hc_id,COUNT(*) AS hc_n FROM hitcounter GROUP BY hc_id']);
    const update = await translate('UPDATE cur,acchits SET cur_counter=cur_counter + hc_n WHERE cur_id = hc_id', { affectedRows: 2, conn: 3 });
    expect(update.statements).toEqual(['UPDATE `wiki15`.`page`, `wiki15`.`acchits_metamorph_conn3` SET page_counter = (page_counter + `hc_n`) WHERE (page_id = `hc_id`)']);
    const drop = await translate('DROP TABLE acchits', { kind: 'ddl', affectedRows: 0, conn: 3 });
    expect(drop.statements).toEqual(['DROP TEMPORARY TABLE IF EXISTS `wiki15`.`acchits_metamorph_conn3`']);
  });

  it('itemsOf names pages by namespace:title, by id, and users', () => {
    const items = (sql: string) => mediawiki14to15.itemsOf!(entry(sql));
    expect(items("DELETE FROM cur WHERE cur_namespace='0' AND cur_title='Main_Page'")).toEqual([{ type: 'page', key: '0:Main_Page' }]);
    expect(items("INSERT INTO links (l_from,l_to) VALUES ('7','8')")).toEqual([
      { type: 'page-id', key: '7' },
      { type: 'page-id', key: '8' },
    ]);
    expect(items("REPLACE INTO user_rights (ur_user,ur_rights) VALUES ('4','sysop')")).toEqual([{ type: 'user', key: '4' }]);
  });
});
