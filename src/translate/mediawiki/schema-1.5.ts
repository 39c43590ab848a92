/**
 * MediaWiki 1.5's tables (maintenance/tables.sql of the 1.5 beta: page/revision/text,
 * pagelinks, user_groups), one CREATE TABLE per entry, for MariaDB 10.11. The same type
 * adaptations as schema-1.4.ts (binary charset, varbinary for CHAR, spelled-out TIMESTAMP
 * default, ENGINE= instead of TYPE=), so that bytes written by 1.4 and translated into these
 * tables compare equal to what the 1.5 updater makes of them.
 *
 * Not here: the 1.5.0 release's `trackbacks`, `transcache` and `interwiki.iw_trans` (the 1.5 beta
 * schema and updater do not have them either).
 */

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=binary';

export const SCHEMA_1_5: string[] = [
  `CREATE TABLE user (
    user_id int(5) unsigned NOT NULL auto_increment,
    user_name varbinary(255) NOT NULL default '',
    user_real_name varbinary(255) NOT NULL default '',
    user_password tinyblob NOT NULL default '',
    user_newpassword tinyblob NOT NULL default '',
    user_email tinyblob NOT NULL default '',
    user_options blob NOT NULL default '',
    user_touched varbinary(14) NOT NULL default '',
    user_token varbinary(32) NOT NULL default '',
    user_email_authenticated varbinary(14),
    user_email_token varbinary(32),
    user_email_token_expires varbinary(14),
    PRIMARY KEY user_id (user_id),
    UNIQUE INDEX user_name (user_name),
    INDEX (user_email_token)
  ) ${TABLE}`,

  `CREATE TABLE user_groups (
    ug_user int(5) unsigned NOT NULL default '0',
    ug_group varbinary(16) NOT NULL default '',
    PRIMARY KEY (ug_user,ug_group),
    KEY (ug_group)
  ) ${TABLE}`,

  `CREATE TABLE user_newtalk (
    user_id int(5) NOT NULL default '0',
    user_ip varbinary(40) NOT NULL default '',
    INDEX user_id (user_id),
    INDEX user_ip (user_ip)
  ) ${TABLE}`,

  `CREATE TABLE page (
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
  ) ${TABLE}`,

  `CREATE TABLE revision (
    rev_id int(8) unsigned NOT NULL auto_increment,
    rev_page int(8) unsigned NOT NULL,
    rev_text_id int(8) unsigned NOT NULL,
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
  ) ${TABLE}`,

  `CREATE TABLE text (
    old_id int(8) unsigned NOT NULL auto_increment,
    old_text mediumblob NOT NULL default '',
    old_flags tinyblob NOT NULL default '',
    PRIMARY KEY old_id (old_id)
  ) ${TABLE}`,

  `CREATE TABLE archive (
    ar_namespace int NOT NULL default '0',
    ar_title varbinary(255) NOT NULL default '',
    ar_text mediumblob NOT NULL default '',
    ar_comment tinyblob NOT NULL default '',
    ar_user int(5) unsigned NOT NULL default '0',
    ar_user_text varbinary(255) NOT NULL,
    ar_timestamp varbinary(14) NOT NULL default '',
    ar_minor_edit tinyint(1) NOT NULL default '0',
    ar_flags tinyblob NOT NULL default '',
    ar_rev_id int(8) unsigned,
    ar_text_id int(8) unsigned,
    KEY name_title_timestamp (ar_namespace,ar_title,ar_timestamp)
  ) ${TABLE}`,

  `CREATE TABLE pagelinks (
    pl_from int(8) unsigned NOT NULL default '0',
    pl_namespace int NOT NULL default '0',
    pl_title varbinary(255) NOT NULL default '',
    UNIQUE KEY pl_from (pl_from,pl_namespace,pl_title),
    KEY (pl_namespace,pl_title)
  ) ${TABLE}`,

  `CREATE TABLE imagelinks (
    il_from int(8) unsigned NOT NULL default '0',
    il_to varbinary(255) NOT NULL default '',
    UNIQUE KEY il_from (il_from,il_to),
    KEY (il_to)
  ) ${TABLE}`,

  `CREATE TABLE categorylinks (
    cl_from int(8) unsigned NOT NULL default '0',
    cl_to varbinary(255) NOT NULL default '',
    cl_sortkey varbinary(86) NOT NULL default '',
    cl_timestamp timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    UNIQUE KEY cl_from (cl_from,cl_to),
    KEY cl_sortkey (cl_to,cl_sortkey),
    KEY cl_timestamp (cl_to,cl_timestamp)
  ) ${TABLE}`,

  `CREATE TABLE site_stats (
    ss_row_id int(8) unsigned NOT NULL,
    ss_total_views bigint(20) unsigned default '0',
    ss_total_edits bigint(20) unsigned default '0',
    ss_good_articles bigint(20) unsigned default '0',
    ss_total_pages bigint(20) default -1,
    ss_users bigint(20) default -1,
    ss_admins int(10) default -1,
    UNIQUE KEY ss_row_id (ss_row_id)
  ) ${TABLE}`,

  `CREATE TABLE hitcounter (
    hc_id INTEGER UNSIGNED NOT NULL
  ) ENGINE=MEMORY MAX_ROWS=25000`,

  `CREATE TABLE ipblocks (
    ipb_id int(8) NOT NULL auto_increment,
    ipb_address varbinary(40) NOT NULL default '',
    ipb_user int(8) unsigned NOT NULL default '0',
    ipb_by int(8) unsigned NOT NULL default '0',
    ipb_reason tinyblob NOT NULL default '',
    ipb_timestamp varbinary(14) NOT NULL default '',
    ipb_auto tinyint(1) NOT NULL default '0',
    ipb_expiry varbinary(14) NOT NULL default '',
    PRIMARY KEY ipb_id (ipb_id),
    INDEX ipb_address (ipb_address),
    INDEX ipb_user (ipb_user)
  ) ${TABLE}`,

  `CREATE TABLE image (
    img_name varbinary(255) NOT NULL default '',
    img_size int(8) unsigned NOT NULL default '0',
    img_width int(5) NOT NULL default '0',
    img_height int(5) NOT NULL default '0',
    img_metadata mediumblob NOT NULL,
    img_bits int(3) NOT NULL default '0',
    img_media_type ENUM('UNKNOWN', 'BITMAP', 'DRAWING', 'AUDIO', 'VIDEO', 'MULTIMEDIA', 'OFFICE', 'TEXT', 'EXECUTABLE', 'ARCHIVE') default NULL,
    img_major_mime ENUM('unknown', 'application', 'audio', 'image', 'text', 'video', 'message', 'model', 'multipart') NOT NULL default 'unknown',
    img_minor_mime varbinary(32) NOT NULL default 'unknown',
    img_description tinyblob NOT NULL default '',
    img_user int(5) unsigned NOT NULL default '0',
    img_user_text varbinary(255) NOT NULL default '',
    img_timestamp varbinary(14) NOT NULL default '',
    PRIMARY KEY img_name (img_name),
    INDEX img_size (img_size),
    INDEX img_timestamp (img_timestamp)
  ) ${TABLE}`,

  `CREATE TABLE oldimage (
    oi_name varbinary(255) NOT NULL default '',
    oi_archive_name varbinary(255) NOT NULL default '',
    oi_size int(8) unsigned NOT NULL default 0,
    oi_width int(5) NOT NULL default 0,
    oi_height int(5) NOT NULL default 0,
    oi_bits int(3) NOT NULL default 0,
    oi_description tinyblob NOT NULL default '',
    oi_user int(5) unsigned NOT NULL default '0',
    oi_user_text varbinary(255) NOT NULL default '',
    oi_timestamp varbinary(14) NOT NULL default '',
    INDEX oi_name (oi_name(10))
  ) ${TABLE}`,

  `CREATE TABLE recentchanges (
    rc_id int(8) NOT NULL auto_increment,
    rc_timestamp varbinary(14) NOT NULL default '',
    rc_cur_time varbinary(14) NOT NULL default '',
    rc_user int(10) unsigned NOT NULL default '0',
    rc_user_text varbinary(255) NOT NULL default '',
    rc_namespace int NOT NULL default '0',
    rc_title varbinary(255) NOT NULL default '',
    rc_comment varbinary(255) NOT NULL default '',
    rc_minor tinyint(3) unsigned NOT NULL default '0',
    rc_bot tinyint(3) unsigned NOT NULL default '0',
    rc_new tinyint(3) unsigned NOT NULL default '0',
    rc_cur_id int(10) unsigned NOT NULL default '0',
    rc_this_oldid int(10) unsigned NOT NULL default '0',
    rc_last_oldid int(10) unsigned NOT NULL default '0',
    rc_type tinyint(3) unsigned NOT NULL default '0',
    rc_moved_to_ns tinyint(3) unsigned NOT NULL default '0',
    rc_moved_to_title varbinary(255) NOT NULL default '',
    rc_patrolled tinyint(3) unsigned NOT NULL default '0',
    rc_ip varbinary(15) NOT NULL default '',
    PRIMARY KEY rc_id (rc_id),
    INDEX rc_timestamp (rc_timestamp),
    INDEX rc_namespace_title (rc_namespace, rc_title),
    INDEX rc_cur_id (rc_cur_id),
    INDEX new_name_timestamp (rc_new,rc_namespace,rc_timestamp),
    INDEX rc_ip (rc_ip)
  ) ${TABLE}`,

  `CREATE TABLE watchlist (
    wl_user int(5) unsigned NOT NULL,
    wl_namespace int NOT NULL default '0',
    wl_title varbinary(255) NOT NULL default '',
    wl_notificationtimestamp varbinary(14) NOT NULL default '0',
    UNIQUE KEY (wl_user, wl_namespace, wl_title),
    KEY namespace_title (wl_namespace,wl_title)
  ) ${TABLE}`,

  `CREATE TABLE math (
    math_inputhash varbinary(16) NOT NULL,
    math_outputhash varbinary(16) NOT NULL,
    math_html_conservativeness tinyint(1) NOT NULL,
    math_html blob,
    math_mathml blob,
    UNIQUE KEY math_inputhash (math_inputhash)
  ) ${TABLE}`,

  `CREATE TABLE searchindex (
    si_page int(8) unsigned NOT NULL,
    si_title varchar(255) NOT NULL default '',
    si_text mediumtext NOT NULL default '',
    UNIQUE KEY (si_page),
    FULLTEXT si_title (si_title),
    FULLTEXT si_text (si_text)
  ) ENGINE=MyISAM DEFAULT CHARSET=latin1`,

  `CREATE TABLE interwiki (
    iw_prefix varbinary(32) NOT NULL,
    iw_url varbinary(127) NOT NULL,
    iw_local BOOL NOT NULL,
    UNIQUE KEY iw_prefix (iw_prefix)
  ) ${TABLE}`,

  `CREATE TABLE querycache (
    qc_type varbinary(32) NOT NULL,
    qc_value int(5) unsigned NOT NULL default '0',
    qc_namespace int NOT NULL default '0',
    qc_title varbinary(255) NOT NULL default '',
    KEY (qc_type,qc_value)
  ) ${TABLE}`,

  `CREATE TABLE objectcache (
    keyname varbinary(255) not null default '',
    value mediumblob,
    exptime datetime,
    unique key (keyname),
    key (exptime)
  ) ${TABLE}`,

  `CREATE TABLE validate (
    val_user int(11) NOT NULL default '0',
    val_page int(11) unsigned NOT NULL default '0',
    val_revision int(11) unsigned NOT NULL default '0',
    val_type int(11) unsigned NOT NULL default '0',
    val_value int(11) default '0',
    val_comment varbinary(255) NOT NULL default '',
    val_ip varbinary(20) NOT NULL default '',
    KEY val_user (val_user,val_revision)
  ) ${TABLE}`,

  `CREATE TABLE logging (
    log_type varbinary(10) NOT NULL default '',
    log_action varbinary(10) NOT NULL default '',
    log_timestamp varbinary(14) NOT NULL default '19700101000000',
    log_user int unsigned NOT NULL default 0,
    log_namespace int NOT NULL default 0,
    log_title varbinary(255) NOT NULL default '',
    log_comment varbinary(255) NOT NULL default '',
    log_params blob NOT NULL default '',
    KEY type_time (log_type, log_timestamp),
    KEY user_time (log_user, log_timestamp),
    KEY page_time (log_namespace, log_title, log_timestamp)
  ) ${TABLE}`,
];
