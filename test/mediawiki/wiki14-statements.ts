// The SQL MediaWiki 1.4 sends for single actions (shared/reference/mediawiki-1.4-to-1.5.md
// section 3), as the Database class writes it: every value quoted, NULL for generated ids.

export function q(v: string | number | Buffer): string {
  if (Buffer.isBuffer(v)) return `'${v.toString('latin1').replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A statement whose literals hold raw bytes (cp1252, binary): the bytes, not their UTF-8 encoding. */
export function bytes(sql: string): Buffer {
  return Buffer.from(sql, 'latin1');
}

export function inverted(ts: string): string {
  return ts.replace(/\d/g, (d) => String(9 - Number(d)));
}

export interface Revision {
  text: string;
  ts: string;
  user?: number;
  userText?: string;
  comment?: string;
  minor?: 0 | 1;
  redirect?: 0 | 1;
}

const who = (r: Revision) => ({ user: r.user ?? 1, userText: r.userText ?? 'Admin', comment: r.comment ?? '', minor: r.minor ?? 0, redirect: r.redirect ?? 0 });

export function insertCur(ns: number, title: string, r: Revision, random = 0.5): string {
  const w = who(r);
  return (
    'INSERT INTO cur (cur_id,cur_namespace,cur_title,cur_text,cur_comment,cur_user,cur_timestamp,cur_minor_edit,cur_counter,cur_restrictions,cur_user_text,cur_is_redirect,cur_is_new,cur_random,cur_touched,inverse_timestamp) VALUES ' +
    `(NULL,${q(ns)},${q(title)},${q(r.text)},${q(w.comment)},${q(w.user)},${q(r.ts)},${q(w.minor)},'0','',${q(w.userText)},${q(w.redirect)},'1',${q(random)},${q(r.ts)},${q(inverted(r.ts))})`
  );
}

/** Article::updateArticle's guarded overwrite of the current revision. */
export function updateCur(id: number, previousTs: string, r: Revision): string {
  const w = who(r);
  return (
    `UPDATE cur SET cur_text = ${q(r.text)},cur_comment = ${q(w.comment)},cur_minor_edit = ${q(w.minor)},cur_user = ${q(w.user)},cur_timestamp = ${q(r.ts)},` +
    `cur_user_text = ${q(w.userText)},cur_is_redirect = ${q(w.redirect)},cur_is_new = '0',cur_touched = ${q(r.ts)},inverse_timestamp = ${q(inverted(r.ts))} ` +
    `WHERE cur_id = ${q(id)} AND cur_timestamp = ${q(previousTs)}`
  );
}

/** The push of the replaced revision into old. */
export function insertOld(ns: number, title: string, r: Revision, flags = 'utf-8'): string {
  const w = who(r);
  return (
    'INSERT INTO old (old_id,old_namespace,old_title,old_text,old_comment,old_user,old_user_text,old_timestamp,old_minor_edit,inverse_timestamp,old_flags) VALUES ' +
    `(NULL,${q(ns)},${q(title)},${q(r.text)},${q(w.comment)},${q(w.user)},${q(w.userText)},${q(r.ts)},${q(w.minor)},${q(inverted(r.ts))},${q(flags)})`
  );
}

export interface Change {
  ts: string;
  ns: number;
  title: string;
  type: 0 | 1 | 2 | 3;
  curId: number;
  thisOld?: number;
  lastOld?: number;
  movedTo?: [number, string];
  comment?: string;
}

export function insertRecentChange(c: Change): string {
  return (
    'INSERT INTO recentchanges (rc_timestamp,rc_cur_time,rc_namespace,rc_title,rc_type,rc_minor,rc_cur_id,rc_user,rc_user_text,rc_comment,rc_this_oldid,rc_last_oldid,rc_bot,rc_moved_to_ns,rc_moved_to_title,rc_ip,rc_patrolled,rc_new) VALUES ' +
    `(${q(c.ts)},${q(c.ts)},${q(c.ns)},${q(c.title)},${q(c.type)},'0',${q(c.curId)},'1','Admin',${q(c.comment ?? '')},${q(c.thisOld ?? 0)},${q(c.lastOld ?? 0)},'0',` +
    `${q(c.movedTo?.[0] ?? 0)},${q(c.movedTo?.[1] ?? '')},'127.0.0.1',${c.type >= 2 ? "'1'" : "'0'"},${c.type === 1 ? "'1'" : "'0'"})`
  );
}

/** RecentChange::notifyEdit's back-patch of the previous change, and the cur_time bump. */
export function patchRecentChanges(ns: number, title: string, previousTs: string, oldId: number, curId: number, now: string): string[] {
  return [
    `UPDATE recentchanges SET rc_this_oldid=${q(oldId)} WHERE rc_namespace=${q(ns)} AND rc_title=${q(title)} AND rc_timestamp=${q(previousTs)}`,
    `UPDATE recentchanges SET rc_cur_time=${q(now)} WHERE rc_cur_id=${q(curId)}`,
  ];
}

/** Article::doDeleteArticle's archive-and-delete of a page. */
export function deletePage(ns: number, title: string): string[] {
  const where = (p: string) => `${p}_namespace=${q(ns)} AND ${p}_title=${q(title)}`;
  return [
    `INSERT INTO archive (ar_namespace,ar_title,ar_text,ar_comment,ar_user,ar_user_text,ar_timestamp,ar_minor_edit,ar_flags) SELECT cur_namespace,cur_title,cur_text,cur_comment,cur_user,cur_user_text,cur_timestamp,cur_minor_edit,0 FROM cur WHERE ${where('cur')}`,
    `INSERT INTO archive (ar_namespace,ar_title,ar_text,ar_comment,ar_user,ar_user_text,ar_timestamp,ar_minor_edit,ar_flags) SELECT old_namespace,old_title,old_text,old_comment,old_user,old_user_text,old_timestamp,old_minor_edit,old_flags FROM old WHERE ${where('old')}`,
    `DELETE FROM cur WHERE ${where('cur')}`,
    `DELETE FROM old WHERE ${where('old')}`,
    `DELETE FROM recentchanges WHERE ${where('rc')}`,
  ];
}

/** PageArchive::undelete's restore of the history older than the revision that became cur. */
export function restoreHistory(ns: number, title: string, newestTs: string): string[] {
  return [
    'INSERT INTO old (old_namespace,old_title,old_text,old_comment,old_user,old_user_text,old_timestamp,inverse_timestamp,old_minor_edit,old_flags) ' +
      'SELECT ar_namespace,ar_title,ar_text,ar_comment,ar_user,ar_user_text,ar_timestamp,99999999999999-ar_timestamp,ar_minor_edit,ar_flags FROM archive ' +
      `WHERE ar_namespace=${q(ns)} AND ar_title=${q(title)} AND ar_timestamp<${q(newestTs)}`,
    `DELETE FROM archive WHERE ar_namespace=${q(ns)} AND ar_title=${q(title)}`,
  ];
}
