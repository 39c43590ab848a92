/**
 * MediaWiki 1.4's tables (maintenance/tables.sql of the cur/old era), one CREATE TABLE per
 * entry, written for MariaDB 10.11. Column sets, keys and defaults follow 1.4; the types are
 * adapted so that the stored bytes and the comparison rules stay what 1.4 saw on MySQL 4.0:
 *
 * - Every table is `DEFAULT CHARSET=binary`. 1.4 stored UTF-8 (or cp1252) bytes in latin1
 *   columns and never let the server convert them; a binary charset keeps exactly the bytes of
 *   each string literal, whatever the client's connection charset, and compares them bytewise.
 * - `char(n)` and `varchar(n) [binary]` become `varbinary(n)`: a binary CHAR pads with NUL bytes,
 *   which MySQL 4.0's CHAR (space padded, stripped on read) never did; text types become the
 *   matching blob types (what MariaDB does itself under a binary charset, spelled out).
 * - InnoDB everywhere (1.4 ran with $wgDBtransactions on InnoDB), except `searchindex` (MyISAM,
 *   latin1: FULLTEXT needs a text charset; its content is derived) and `hitcounter` (MEMORY, as
 *   1.4's `TYPE=HEAP`).
 * - `categorylinks.cl_timestamp` spells out the automatic initialisation and update that the
 *   first TIMESTAMP column had in MySQL 4.0 (MariaDB 10.11 has explicit_defaults_for_timestamp).
 */

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=binary';

export const SCHEMA_1_4: string[] = [
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
    PRIMARY KEY user_id (user_id),
    INDEX user_name (user_name(10))
  ) ${TABLE}`,

  `CREATE TABLE user_rights (
    ur_user int(5) unsigned NOT NULL,
    ur_rights tinyblob NOT NULL default '',
    UNIQUE KEY ur_user (ur_user)
  ) ${TABLE}`,

  `CREATE TABLE user_newtalk (
    user_id int(5) NOT NULL default '0',
    user_ip varbinary(40) NOT NULL default '',
    INDEX user_id (user_id),
    INDEX user_ip (user_ip)
  ) ${TABLE}`,

  `CREATE TABLE cur (
    cur_id int(8) unsigned NOT NULL auto_increment,
    cur_namespace tinyint(2) unsigned NOT NULL default '0',
    cur_title varbinary(255) NOT NULL default '',
    cur_text mediumblob NOT NULL default '',
    cur_comment tinyblob NOT NULL default '',
    cur_user int(5) unsigned NOT NULL default '0',
    cur_user_text varbinary(255) NOT NULL default '',
    cur_timestamp varbinary(14) NOT NULL default '',
    cur_restrictions tinyblob NOT NULL default '',
    cur_counter bigint(20) unsigned NOT NULL default '0',
    cur_is_redirect tinyint(1) unsigned NOT NULL default '0',
    cur_minor_edit tinyint(1) unsigned NOT NULL default '0',
    cur_is_new tinyint(1) unsigned NOT NULL default '0',
    cur_random real unsigned NOT NULL,
    cur_touched varbinary(14) NOT NULL default '',
    inverse_timestamp varbinary(14) NOT NULL default '',
    PRIMARY KEY cur_id (cur_id),
    UNIQUE INDEX name_title (cur_namespace,cur_title),
    INDEX cur_title (cur_title(20)),
    INDEX cur_timestamp (cur_timestamp),
    INDEX (cur_random),
    INDEX name_title_timestamp (cur_namespace,cur_title,inverse_timestamp),
    INDEX user_timestamp (cur_user,inverse_timestamp),
    INDEX usertext_timestamp (cur_user_text,inverse_timestamp),
    INDEX namespace_redirect_timestamp (cur_namespace,cur_is_redirect,cur_timestamp)
  ) ${TABLE}`,

  `CREATE TABLE old (
    old_id int(8) unsigned NOT NULL auto_increment,
    old_namespace tinyint(2) unsigned NOT NULL default '0',
    old_title varbinary(255) NOT NULL default '',
    old_text mediumblob NOT NULL default '',
    old_comment tinyblob NOT NULL default '',
    old_user int(5) unsigned NOT NULL default '0',
    old_user_text varbinary(255) NOT NULL,
    old_timestamp varbinary(14) NOT NULL default '',
    old_minor_edit tinyint(1) NOT NULL default '0',
    old_flags tinyblob NOT NULL default '',
    inverse_timestamp varbinary(14) NOT NULL default '',
    PRIMARY KEY old_id (old_id),
    INDEX old_timestamp (old_timestamp),
    INDEX name_title_timestamp (old_namespace,old_title,inverse_timestamp),
    INDEX user_timestamp (old_user,inverse_timestamp),
    INDEX usertext_timestamp (old_user_text,inverse_timestamp)
  ) ${TABLE}`,

  `CREATE TABLE archive (
    ar_namespace tinyint(2) unsigned NOT NULL default '0',
    ar_title varbinary(255) NOT NULL default '',
    ar_text mediumblob NOT NULL default '',
    ar_comment tinyblob NOT NULL default '',
    ar_user int(5) unsigned NOT NULL default '0',
    ar_user_text varbinary(255) NOT NULL,
    ar_timestamp varbinary(14) NOT NULL default '',
    ar_minor_edit tinyint(1) NOT NULL default '0',
    ar_flags tinyblob NOT NULL default '',
    KEY name_title_timestamp (ar_namespace,ar_title,ar_timestamp)
  ) ${TABLE}`,

  `CREATE TABLE links (
    l_from int(8) unsigned NOT NULL default '0',
    l_to int(8) unsigned NOT NULL default '0',
    UNIQUE KEY l_from (l_from,l_to),
    KEY (l_to)
  ) ${TABLE}`,

  `CREATE TABLE brokenlinks (
    bl_from int(8) unsigned NOT NULL default '0',
    bl_to varbinary(255) NOT NULL default '',
    UNIQUE KEY bl_from (bl_from,bl_to),
    KEY (bl_to)
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
    cl_sortkey varbinary(255) NOT NULL default '',
    cl_timestamp timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    UNIQUE KEY cl_from (cl_from,cl_to),
    KEY cl_sortkey (cl_to,cl_sortkey(128)),
    KEY cl_timestamp (cl_to,cl_timestamp)
  ) ${TABLE}`,

  `CREATE TABLE linkscc (
    lcc_pageid INT UNSIGNED NOT NULL UNIQUE KEY,
    lcc_cacheobj MEDIUMBLOB NOT NULL
  ) ${TABLE}`,

  `CREATE TABLE site_stats (
    ss_row_id int(8) unsigned NOT NULL,
    ss_total_views bigint(20) unsigned default '0',
    ss_total_edits bigint(20) unsigned default '0',
    ss_good_articles bigint(20) unsigned default '0',
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
    rc_namespace tinyint(3) NOT NULL default '0',
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
    wl_namespace tinyint(2) unsigned NOT NULL default '0',
    wl_title varbinary(255) NOT NULL default '',
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
    qc_namespace tinyint(2) unsigned NOT NULL default '0',
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

  `CREATE TABLE blobs (
    blob_index varbinary(255) NOT NULL default '',
    blob_data longblob NOT NULL default '',
    UNIQUE key blob_index (blob_index)
  ) ${TABLE}`,

  `CREATE TABLE validate (
    val_user int(11) NOT NULL default '0',
    val_title varbinary(255) NOT NULL default '',
    val_timestamp varbinary(14) NOT NULL default '',
    val_type int(10) unsigned NOT NULL default '0',
    val_value int(11) default '0',
    val_comment varbinary(255) NOT NULL default '',
    KEY val_user (val_user,val_title,val_timestamp)
  ) ${TABLE}`,

  `CREATE TABLE logging (
    log_type varbinary(10) NOT NULL default '',
    log_action varbinary(10) NOT NULL default '',
    log_timestamp varbinary(14) NOT NULL default '19700101000000',
    log_user int unsigned NOT NULL default 0,
    log_namespace tinyint unsigned NOT NULL default 0,
    log_title varbinary(255) NOT NULL default '',
    log_comment varbinary(255) NOT NULL default '',
    log_params blob NOT NULL default '',
    KEY type_time (log_type, log_timestamp),
    KEY user_time (log_user, log_timestamp),
    KEY page_time (log_namespace, log_title, log_timestamp)
  ) ${TABLE}`,
];
