import type { SqlRunner } from '../pack.js';
import { WIKI_NAMESPACES } from './workload-1.4.js';

/**
 * The independent oracle for the 1.4 -> 1.5 translation: MediaWiki 1.5's own updater
 * (maintenance/updaters.inc, do_all_updates at the 1.5 beta), rewritten as SQL here and run on
 * a copy of a 1.4 database. It shares no code with the translation pack.
 *
 * Steps, in do_all_updates' order: the missing fields ($wgNewFields whose table exists),
 * wl_notificationtimestamp, do_schema_restructuring (cur/old -> page/revision/text), do_text_id,
 * do_namespace_size, do_pagelinks_update, do_user_unique_update, do_user_groups_update.
 * Deliberate differences from the 1.5 beta updater:
 * - watchlist talk rows are added (`INSERT IGNORE ... SELECT wl_namespace | 1`), as later 1.5.x
 *   updaters do: 1.5's WatchedItem reads a talk page's own row;
 * - do_copy_newtalk_to_watchlist is not run (later updaters comment it out; 1.5 still reads
 *   user_newtalk, and the copy would add watchlist rows nobody asked for);
 * - initialiseMessages is not run (it adds 1.5's interface messages as pages, not 1.4 data);
 * - LOCK TABLES around the restructuring is left out: nobody else writes to the copy;
 * - pagelinks gets brokenlinks with INSERT IGNORE, and the namespace fix-up UPDATE IGNORE plus a
 *   DELETE of what stays behind: 1.4 races can leave a links and a brokenlinks row for the same
 *   target, on which the updater's plain INSERT/UPDATE stops with a duplicate key;
 * - duplicate user names (do_user_unique_update's UserDupes merge) are refused, not merged.
 * Column types follow schema-1.5.ts (binary charset, varbinary for CHAR BINARY).
 */

export interface OracleUpgradeResult {
  /** max(old_id) before cur was copied into old: current revisions got ids above it. */
  maxOld: number;
  copiedTables: string[];
}

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=binary';

class Target {
  constructor(
    readonly db: SqlRunner,
    readonly name: string,
  ) {}

  t(table: string): string {
    return `\`${this.name}\`.\`${table}\``;
  }

  async exec(sql: string): Promise<void> {
    await this.db.exec(sql);
  }

  async rows<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    return this.db.query<T>(sql);
  }

  async hasColumn(table: string, column: string): Promise<boolean> {
    const rows = await this.rows(`SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '${this.name}' AND TABLE_NAME = '${table}' AND COLUMN_NAME = '${column}'`);
    return rows.length > 0;
  }

  async hasTable(table: string): Promise<boolean> {
    const rows = await this.rows(`SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${this.name}' AND TABLE_NAME = '${table}'`);
    return rows.length > 0;
  }

  async columnType(table: string, column: string): Promise<string> {
    const [row] = await this.rows<{ type: unknown }>(`SELECT COLUMN_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '${this.name}' AND TABLE_NAME = '${table}' AND COLUMN_NAME = '${column}'`);
    return text(row?.type);
  }
}

function text(v: unknown): string {
  return v === null || v === undefined ? '' : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

function oracleError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9_$]+$/.test(name)) {
    throw oracleError('ORACLE_BAD_DATABASE_NAME', `database name ${JSON.stringify(name)} is not a plain identifier: use letters, digits, _ and $`);
  }
}

/**
 * Copies `sourceDb` (a MediaWiki 1.4 database) into the new database `targetDb` on the same
 * server and upgrades the copy to 1.5 the way 1.5's updater did. The source is only read.
 */
export async function runOracleUpgrade(db: SqlRunner, sourceDb: string, targetDb: string): Promise<OracleUpgradeResult> {
  checkName(sourceDb);
  checkName(targetDb);
  const x = new Target(db, targetDb);
  const copiedTables = await copyDatabase(db, sourceDb, targetDb);
  if (await x.hasTable('page')) {
    throw oracleError('ORACLE_NOT_1_4', `${sourceDb} already has a page table: it is not a MediaWiki 1.4 database`);
  }
  await addMissingFields(x);
  await watchlistUpdate(x);
  const maxOld = await schemaRestructuring(x);
  await textId(x);
  await namespaceSize(x);
  await pagelinksUpdate(x);
  await userUniqueUpdate(x);
  await userGroupsUpdate(x);
  return { maxOld, copiedTables };
}

/** CREATE TABLE ... LIKE and INSERT ... SELECT per table; auto-increment counters carried over. */
async function copyDatabase(db: SqlRunner, source: string, target: string): Promise<string[]> {
  const tables = await db.query<{ name: unknown; ai: unknown }>(
    `SELECT TABLE_NAME AS name, AUTO_INCREMENT AS ai FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${source}' AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`,
  );
  if (!tables.length) throw oracleError('ORACLE_NO_SOURCE', `database ${source} has no tables to upgrade`);
  await db.exec(`CREATE DATABASE \`${target}\``);
  const names: string[] = [];
  for (const { name, ai } of tables) {
    const table = text(name);
    await db.exec(`CREATE TABLE \`${target}\`.\`${table}\` LIKE \`${source}\`.\`${table}\``);
    await db.exec(`INSERT INTO \`${target}\`.\`${table}\` SELECT * FROM \`${source}\`.\`${table}\``);
    if (ai !== null && ai !== undefined) await db.exec(`ALTER TABLE \`${target}\`.\`${table}\` AUTO_INCREMENT = ${Number(ai)}`);
    names.push(table);
  }
  return names;
}

/** $wgNewFields entries whose table exists and lacks the field (add_field), with the patches' DDL. */
const NEW_FIELDS: ReadonlyArray<readonly [string, string, string]> = [
  ['user', 'user_email_token', 'ADD COLUMN user_email_authenticated varbinary(14), ADD COLUMN user_email_token varbinary(32), ADD COLUMN user_email_token_expires varbinary(14), ADD INDEX (user_email_token)'],
  ['logging', 'log_params', "ADD log_params blob NOT NULL default ''"],
  ['archive', 'ar_rev_id', 'ADD ar_rev_id int(8) unsigned'],
  ['archive', 'ar_text_id', 'ADD ar_text_id int(8) unsigned'],
  ['image', 'img_width', 'ADD img_width int(5) NOT NULL default 0, ADD img_height int(5) NOT NULL default 0'],
  ['image', 'img_metadata', 'ADD img_metadata mediumblob NOT NULL, ADD img_bits int(3) NOT NULL default 0'],
  ['image', 'img_media_type', "ADD img_media_type ENUM('UNKNOWN', 'BITMAP', 'DRAWING', 'AUDIO', 'VIDEO', 'MULTIMEDIA', 'OFFICE', 'TEXT', 'EXECUTABLE', 'ARCHIVE') default NULL, ADD img_major_mime ENUM('unknown', 'application', 'audio', 'image', 'text', 'video', 'message', 'model', 'multipart') NOT NULL default 'unknown', ADD img_minor_mime varbinary(32) NOT NULL default 'unknown'"],
  ['oldimage', 'oi_width', 'ADD oi_width int(5) NOT NULL default 0, ADD oi_height int(5) NOT NULL default 0, ADD oi_bits int(3) NOT NULL default 0'],
  ['validate', 'val_ip', "ADD val_ip varbinary(20) NOT NULL default ''"],
  ['site_stats', 'ss_total_pages', 'ADD ss_total_pages bigint(20) default -1, ADD ss_users bigint(20) default -1, ADD ss_admins int(10) default -1'],
];

async function addMissingFields(x: Target): Promise<void> {
  for (const [table, field, ddl] of NEW_FIELDS) {
    if ((await x.hasTable(table)) && !(await x.hasColumn(table, field))) await x.exec(`ALTER TABLE ${x.t(table)} ${ddl}`);
  }
}

/** do_watchlist_update (patch-email-notification), and the talk rows of later updaters. */
async function watchlistUpdate(x: Target): Promise<void> {
  const wl = x.t('watchlist');
  if (!(await x.hasColumn('watchlist', 'wl_notificationtimestamp'))) {
    await x.exec(`ALTER TABLE ${wl} ADD (wl_notificationtimestamp varbinary(14))`);
  }
  const [{ talk, subject }] = await x.rows<{ talk: unknown; subject: unknown }>(
    `SELECT SUM(wl_namespace & 1) AS talk, SUM(NOT (wl_namespace & 1)) AS subject FROM ${wl}`,
  );
  if (Number(talk ?? 0) === Number(subject ?? 0)) return;
  await x.exec(`INSERT IGNORE INTO ${wl} (wl_user,wl_namespace,wl_title,wl_notificationtimestamp) SELECT wl_user,wl_namespace | 1,wl_title,wl_notificationtimestamp FROM ${wl} WHERE NOT (wl_namespace & 1)`);
}

/** do_schema_restructuring: returns $maxold. */
async function schemaRestructuring(x: Target): Promise<number> {
  await dedupeCur(x);
  await x.exec(`CREATE TABLE ${x.t('page')} (
    page_id int(8) unsigned NOT NULL auto_increment,
    page_namespace int NOT NULL,
    page_title varbinary(255) NOT NULL,
    page_restrictions tinyblob NOT NULL default '',
    page_counter bigint(20) unsigned NOT NULL default '0',
    page_is_redirect tinyint(1) unsigned NOT NULL default '0',
    page_is_new tinyint(1) unsigned NOT NULL default '0',
    page_random real unsigned NOT NULL,
    page_touched varbinary(14) NOT NULL default '',
    page_latest int(8) unsigned NOT NULL,
    page_len int(8) unsigned NOT NULL,
    PRIMARY KEY page_id (page_id),
    UNIQUE INDEX name_title (page_namespace,page_title),
    INDEX (page_random),
    INDEX (page_len)
  ) ${TABLE}`);
  await x.exec(`CREATE TABLE ${x.t('revision')} (
    rev_id int(8) unsigned NOT NULL auto_increment,
    rev_page int(8) unsigned NOT NULL,
    rev_comment tinyblob NOT NULL default '',
    rev_user int(5) unsigned NOT NULL default '0',
    rev_user_text varbinary(255) NOT NULL default '',
    rev_timestamp varbinary(14) NOT NULL default '',
    rev_minor_edit tinyint(1) unsigned NOT NULL default '0',
    rev_deleted tinyint(1) unsigned NOT NULL default '0',
    PRIMARY KEY rev_page_id (rev_page, rev_id),
    UNIQUE INDEX rev_id (rev_id),
    INDEX rev_timestamp (rev_timestamp),
    INDEX page_timestamp (rev_page,rev_timestamp),
    INDEX user_timestamp (rev_user,rev_timestamp),
    INDEX usertext_timestamp (rev_user_text,rev_timestamp)
  ) ${TABLE}`);
  const [{ m }] = await x.rows<{ m: unknown }>(`SELECT MAX(old_id) AS m FROM ${x.t('old')}`);
  const maxOld = Math.trunc(Number(m ?? 0));
  await moveCurIntoOld(x, maxOld);
  await x.exec(`ALTER TABLE ${x.t('old')} RENAME TO ${x.t('text')}`);
  return maxOld;
}

/** Keeps the newest cur row of each duplicated title, as the updater's loop does. */
async function dedupeCur(x: Target): Promise<void> {
  const rows = await x.rows<{ id: unknown; ns: unknown; title: unknown }>(
    `SELECT c.cur_id AS id, c.cur_namespace AS ns, HEX(c.cur_title) AS title FROM ${x.t('cur')} c JOIN (SELECT cur_namespace, cur_title FROM ${x.t('cur')} GROUP BY cur_namespace, cur_title HAVING COUNT(*) > 1) d ON d.cur_namespace = c.cur_namespace AND d.cur_title = c.cur_title ORDER BY c.cur_namespace, c.cur_title, c.cur_timestamp DESC`,
  );
  const doomed: number[] = [];
  rows.forEach((r, i) => {
    const prev = rows[i - 1];
    if (prev && text(prev.ns) === text(r.ns) && text(prev.title) === text(r.title)) doomed.push(Number(r.id));
  });
  if (doomed.length) await x.exec(`DELETE FROM ${x.t('cur')} WHERE cur_id IN ( ${doomed.join(',')})`);
}

async function moveCurIntoOld(x: Target, maxOld: number): Promise<void> {
  const [cur, old, revision, page] = ['cur', 'old', 'revision', 'page'].map((t) => x.t(t));
  await x.exec(`INSERT INTO ${old} (old_namespace, old_title, old_text, old_comment, old_user, old_user_text, old_timestamp, old_minor_edit, old_flags)
    SELECT cur_namespace, cur_title, cur_text, cur_comment, cur_user, cur_user_text, cur_timestamp, cur_minor_edit, '' FROM ${cur}`);
  await x.exec(`INSERT INTO ${revision} (rev_id, rev_page, rev_comment, rev_user, rev_user_text, rev_timestamp, rev_minor_edit)
    SELECT old_id, cur_id, old_comment, old_user, old_user_text, old_timestamp, old_minor_edit
    FROM ${old},${cur} WHERE old_namespace=cur_namespace AND old_title=cur_title`);
  await x.exec(`INSERT INTO ${page} (page_id, page_namespace, page_title, page_restrictions, page_counter, page_is_redirect, page_is_new, page_random, page_touched, page_latest, page_len)
    SELECT cur_id, cur_namespace, cur_title, cur_restrictions, cur_counter, cur_is_redirect, cur_is_new, cur_random, cur_touched, rev_id, LENGTH(cur_text)
    FROM ${cur},${revision} WHERE cur_id=rev_page AND rev_timestamp=cur_timestamp AND rev_id > ${maxOld}`);
}

/** do_text_id: patch-rev_text_id.sql */
async function textId(x: Target): Promise<void> {
  if (await x.hasColumn('revision', 'rev_text_id')) return;
  await x.exec(`ALTER TABLE ${x.t('revision')} ADD rev_text_id int(8) unsigned NOT NULL`);
  await x.exec(`UPDATE ${x.t('revision')} SET rev_text_id=rev_id`);
}

/** do_namespace_size: tinyint namespaces become int. */
async function namespaceSize(x: Target): Promise<void> {
  const tables: Array<[string, string]> = [['page', 'page'], ['archive', 'ar'], ['recentchanges', 'rc'], ['watchlist', 'wl'], ['querycache', 'qc'], ['logging', 'log']];
  for (const [table, prefix] of tables) {
    const field = `${prefix}_namespace`;
    if (!(await x.columnType(table, field)).startsWith('int')) await x.exec(`ALTER TABLE ${x.t(table)} MODIFY ${field} int NOT NULL`);
  }
}

/** do_pagelinks_update: patch-pagelinks.sql, then do_pagelinks_namespace for every namespace but 0. */
async function pagelinksUpdate(x: Target): Promise<void> {
  const pl = x.t('pagelinks');
  await x.exec(`CREATE TABLE ${pl} (
    pl_from int(8) unsigned NOT NULL default '0',
    pl_namespace int NOT NULL default '0',
    pl_title varbinary(255) NOT NULL default '',
    UNIQUE KEY pl_from (pl_from,pl_namespace,pl_title),
    KEY (pl_namespace,pl_title)
  ) ${TABLE}`);
  await x.exec(`INSERT INTO ${pl} (pl_from,pl_namespace,pl_title) SELECT l_from,page_namespace,page_title FROM ${x.t('links')}, ${x.t('page')} WHERE l_to=page_id`);
  await x.exec(`INSERT IGNORE INTO ${pl} (pl_from,pl_namespace,pl_title) SELECT bl_from, 0, bl_to FROM ${x.t('brokenlinks')}`);
  for (const [ns, name] of WIKI_NAMESPACES) {
    const prefix = `${name}:`.replace(/[\\']/g, '\\$&');
    const like = prefix.replace(/_/g, '\\_');
    const where = `pl_namespace=0 AND pl_title LIKE '${like}%'`;
    await x.exec(`UPDATE IGNORE ${pl} SET pl_namespace=${ns}, pl_title=TRIM(LEADING '${prefix}' FROM pl_title) WHERE ${where}`);
    await x.exec(`DELETE FROM ${pl} WHERE ${where}`);
  }
}

/** do_user_unique_update: patch-user_nameindex.sql once no name is taken twice. */
async function userUniqueUpdate(x: Target): Promise<void> {
  const dupes = await x.rows<{ name: unknown }>(`SELECT HEX(user_name) AS name FROM ${x.t('user')} GROUP BY user_name HAVING COUNT(*) > 1`);
  if (dupes.length) {
    const names = dupes.map((d) => Buffer.from(text(d.name), 'hex').toString('utf8'));
    throw oracleError('ORACLE_USER_DUPLICATES', `user names taken more than once (${names.join(', ')}): the 1.5 updater merges them with UserDupes, which this oracle does not do; remove the duplicates first`);
  }
  await x.exec(`ALTER TABLE ${x.t('user')} DROP INDEX user_name, ADD UNIQUE INDEX user_name (user_name)`);
}

/** do_user_groups_update: one user_groups row per distinct trimmed entry of ur_rights. */
async function userGroupsUpdate(x: Target): Promise<void> {
  await x.exec(`CREATE TABLE ${x.t('user_groups')} (
    ug_user int(5) unsigned NOT NULL default '0',
    ug_group varbinary(16) NOT NULL default '',
    PRIMARY KEY (ug_user,ug_group),
    KEY (ug_group)
  ) ${TABLE}`);
  const rows = await x.rows<{ user: unknown; rights: unknown }>(`SELECT ur_user AS user, HEX(ur_rights) AS rights FROM ${x.t('user_rights')} WHERE ur_rights != ''`);
  for (const r of rows) {
    const rights = Buffer.from(text(r.rights), 'hex').toString('latin1');
    for (const group of new Set(rights.split(',').map(phpTrim))) {
      await x.exec(`INSERT INTO ${x.t('user_groups')} (ug_user,ug_group) VALUES ('${Number(r.user)}',UNHEX('${Buffer.from(group, 'latin1').toString('hex')}'))`);
    }
  }
}

/** PHP trim(): space, tab, newline, carriage return, NUL, vertical tab. */
function phpTrim(s: string): string {
  return s.replace(/^[ \t\n\r\0\x0B]+|[ \t\n\r\0\x0B]+$/g, '');
}
