import { inflateRawSync } from 'node:zlib';
import type { SqlRunner } from '../pack.js';
import { WIKI_NAMESPACES } from './workload-1.4.js';

/**
 * Logical, id-free snapshots of a MediaWiki 1.4 database (cur/old/links/...) and of a 1.5 one
 * (page/revision/text/pagelinks/...), built so that a faithful conversion projects to the very
 * same value. Where the two versions keep a fact differently the projection maps both to one form:
 *
 * - pages are keyed `namespace:title`; a page's revisions are cur + the old rows with its title
 *   (1.4) or the revision rows with its page id (1.5), sorted by timestamp, then content; the text
 *   is decoded from its flags (gzip); the current revision is cur (1.4) or page_latest (1.5);
 * - `len` is LENGTH(cur_text) (1.4) and page_len (1.5); `counter` adds pending hitcounter rows;
 * - links are target `namespace:title`s: `links` (through cur) plus `brokenlinks` read the way the
 *   1.5 updater reads them (a known namespace prefix, TRIM(LEADING) semantics), against pagelinks;
 * - groups are user_rights' comma list (trimmed, unique, as the updater splits it) against user_groups;
 * - the watchlist is a set of subject pages: 1.4 stores `ns & ~1` only, 1.5 a subject row and a
 *   talk row; `watchingWithoutTalkRow` lists 1.5 entries missing one of the two (empty for 1.4);
 * - archived revisions are keyed by title; 1.5 rows with ar_text_id read their text from `text`;
 * - recent changes resolve rc_cur_id to the page's current title and rc_this_oldid/rc_last_oldid
 *   to the referenced revision's timestamp ('' for 0), so renumbered ids compare equal.
 *
 * Left out: fields one side does not have (1.5's e-mail confirmation columns, ss_total_pages,
 * ss_users, ss_admins, wl_notificationtimestamp, rev_deleted), categorylinks.cl_timestamp (time of
 * insertion), searchindex (derived), and tables neither the workload nor the updater fill
 * (image, oldimage, ipblocks, interwiki, querycache, objectcache, math, validate).
 */

export interface RevisionProjection {
  timestamp: string;
  /** The user's name through the user id ('' for anonymous, `#id` for an unknown id). */
  user: string;
  userText: string;
  comment: string;
  minor: number;
  text: string;
}

export interface PageProjection {
  latest: RevisionProjection | null;
  len: number;
  isRedirect: number;
  isNew: number;
  restrictions: string;
  counter: number;
  random: number;
  touched: string;
  revisions: RevisionProjection[];
  links: string[];
  imageLinks: string[];
  /** `category|sortkey` */
  categories: string[];
}

export interface UserProjection {
  realName: string;
  password: string;
  newPassword: string;
  email: string;
  options: string;
  touched: string;
  token: string;
  groups: string[];
  watching: string[];
  watchingWithoutTalkRow: string[];
  newtalk: boolean;
}

export interface RecentChangeProjection {
  timestamp: string;
  curTime: string;
  user: string;
  userText: string;
  page: string;
  comment: string;
  minor: number;
  bot: number;
  isNew: number;
  type: number;
  movedTo: string;
  patrolled: number;
  ip: string;
  /** The current title of the page rc_cur_id points at, '' when none. */
  currentPage: string;
  thisRevision: string;
  lastRevision: string;
}

export interface LogProjection {
  type: string;
  action: string;
  timestamp: string;
  user: string;
  page: string;
  comment: string;
  params: string;
}

export interface SiteStatsProjection {
  views: number;
  edits: number;
  goodArticles: number;
}

export interface WikiProjection {
  pages: Record<string, PageProjection>;
  archive: Record<string, RevisionProjection[]>;
  users: Record<string, UserProjection>;
  /** Watchlist entries of user ids with no user row, as `user|namespace:title`. */
  watchlistWithoutUser: string[];
  /** user_newtalk rows for IPs (and unknown user ids). */
  anonNewtalk: string[];
  siteStats: SiteStatsProjection | null;
  recentChanges: RecentChangeProjection[];
  logging: LogProjection[];
}

type Version = '1.4' | '1.5';
type DbRow = Record<string, unknown>;

// ---------------------------------------------------------------- value decoding

/** Bytes as text when they are UTF-8, else `hex:` and the bytes. */
export function displayBytes(b: Buffer): string {
  const s = b.toString('utf8');
  return Buffer.from(s, 'utf8').equals(b) ? s : `hex:${b.toString('hex')}`;
}

function hexBytes(v: unknown): Buffer {
  if (v === null || v === undefined) return Buffer.alloc(0);
  return Buffer.from(Buffer.isBuffer(v) ? v.toString('latin1') : String(v), 'hex');
}

function str(v: unknown): string {
  return displayBytes(hexBytes(v));
}

function num(v: unknown): number {
  return v === null || v === undefined ? 0 : Number(Buffer.isBuffer(v) ? v.toString('latin1') : v);
}

/** Article::getRevisionText: gzip'd text inflated; object (HistoryBlob) storage is not read. */
function revisionText(textHex: unknown, flagsHex: unknown): string {
  const flags = hexBytes(flagsHex).toString('latin1').split(',');
  const body = hexBytes(textHex);
  if (flags.includes('object')) return `unreadable:object storage (${body.length} bytes)`;
  if (!flags.includes('gzip')) return displayBytes(body);
  try {
    return displayBytes(inflateRawSync(body));
  } catch {
    return `unreadable:gzip (${body.length} bytes)`;
  }
}

export function pageKey(ns: number, title: string | Buffer): string {
  return `${ns}:${typeof title === 'string' ? title : displayBytes(title)}`;
}

function hexLiteral(b: Buffer): string {
  return `UNHEX('${b.toString('hex')}')`;
}

function inList(column: string, ids: number[] | null): string {
  return ids === null ? '' : ` WHERE ${column} IN (${ids.map((i) => Math.trunc(i)).join(',')})`;
}

const NAMESPACE_PREFIXES = [...WIKI_NAMESPACES].map(([ns, name]) => [ns, Buffer.from(`${name}:`)] as const);

/**
 * A brokenlinks target as the 1.5 updater files it: the first namespace (in canonical order)
 * whose `Name:` starts the text, with every leading repetition trimmed; main namespace otherwise.
 */
export function brokenLinkTarget(blTo: Buffer): string {
  for (const [ns, prefix] of NAMESPACE_PREFIXES) {
    if (!blTo.subarray(0, prefix.length).equals(prefix)) continue;
    let rest = blTo;
    while (rest.subarray(0, prefix.length).equals(prefix)) rest = rest.subarray(prefix.length);
    return pageKey(ns, rest);
  }
  return pageKey(0, blTo);
}

// ---------------------------------------------------------------- queries

class Db {
  constructor(
    private readonly runner: SqlRunner,
    private readonly database: string | undefined,
  ) {}

  t(table: string): string {
    return this.database === undefined ? `\`${table}\`` : `\`${this.database}\`.\`${table}\``;
  }

  async rows(sql: string): Promise<DbRow[]> {
    return this.runner.query<DbRow>(sql);
  }

  /** `rows` when there are ids to ask for (or no filter at all). */
  async rowsFor(ids: number[] | null, sql: (where: string) => string, column: string): Promise<DbRow[]> {
    if (ids !== null && ids.length === 0) return [];
    return this.rows(sql(inList(column, ids)));
  }
}

async function userNames(d: Db, ids: number[] | null): Promise<Map<number, string>> {
  const rows = await d.rowsFor(ids, (w) => `SELECT user_id AS id, HEX(user_name) AS name FROM ${d.t('user')}${w}`, 'user_id');
  return new Map(rows.map((r) => [num(r.id), str(r.name)]));
}

function userOf(names: Map<number, string>, id: number): string {
  return id === 0 ? '' : (names.get(id) ?? `#${id}`);
}

// ---------------------------------------------------------------- pages

interface PageRow {
  id: number;
  key: string;
  base: Omit<PageProjection, 'latest' | 'revisions' | 'links' | 'imageLinks' | 'categories'>;
  latestRevision: number;
}

interface RevisionRow {
  page: number;
  id: number;
  userId: number;
  value: RevisionProjection;
}

/** 1.4's current revision lives in cur; it gets id 0 here, page_latest-style. */
const CUR_REVISION = 0;

function pageWhere(version: Version, filter: { ns: number; title: Buffer } | null): string {
  if (!filter) return '';
  const p = version === '1.4' ? 'cur' : 'page';
  return ` WHERE ${p}_namespace = ${Math.trunc(filter.ns)} AND ${p}_title = ${hexLiteral(filter.title)}`;
}

async function pageRows(d: Db, version: Version, filter: { ns: number; title: Buffer } | null): Promise<{ pages: PageRow[]; current: RevisionRow[] }> {
  const p = version === '1.4' ? 'cur' : 'page';
  const extra = version === '1.4'
    ? ', LENGTH(cur_text) AS len, 0 AS latest, HEX(cur_text) AS text, HEX(cur_comment) AS comment, cur_user AS user, HEX(cur_user_text) AS user_text, HEX(cur_timestamp) AS timestamp, cur_minor_edit AS minor'
    : ', page_len AS len, page_latest AS latest';
  const rows = await d.rows(
    `SELECT ${p}_id AS id, ${p}_namespace AS ns, HEX(${p}_title) AS title, ${p}_is_redirect AS is_redirect, ${p}_is_new AS is_new, HEX(${p}_restrictions) AS restrictions, ${p}_counter AS counter, ${p}_random AS random, HEX(${p}_touched) AS touched${extra} FROM ${d.t(p)}${pageWhere(version, filter)}`,
  );
  const pages = rows.map((r) => ({
    id: num(r.id),
    key: pageKey(num(r.ns), hexBytes(r.title)),
    latestRevision: num(r.latest),
    base: {
      len: num(r.len), isRedirect: num(r.is_redirect), isNew: num(r.is_new), restrictions: str(r.restrictions),
      counter: num(r.counter), random: num(r.random), touched: str(r.touched),
    },
  }));
  const current = version === '1.4' ? rows.map((r) => revisionRow(num(r.id), CUR_REVISION, r, '')) : [];
  return { pages, current };
}

function revisionRow(page: number, id: number, r: DbRow, flagsHex: unknown): RevisionRow {
  return {
    page,
    id,
    userId: num(r.user),
    value: {
      timestamp: str(r.timestamp), user: '', userText: str(r.user_text), comment: str(r.comment),
      minor: num(r.minor), text: r.missing_text ? 'missing:text row' : revisionText(r.text, flagsHex),
    },
  };
}

async function historyRows(d: Db, version: Version, pageIds: number[] | null): Promise<RevisionRow[]> {
  if (version === '1.4') {
    const rows = await d.rowsFor(pageIds, (w) =>
      `SELECT c.cur_id AS page, HEX(o.old_text) AS text, HEX(o.old_flags) AS flags, HEX(o.old_comment) AS comment, o.old_user AS user, HEX(o.old_user_text) AS user_text, HEX(o.old_timestamp) AS timestamp, o.old_minor_edit AS minor FROM ${d.t('old')} o JOIN ${d.t('cur')} c ON c.cur_namespace = o.old_namespace AND c.cur_title = o.old_title${w}`, 'c.cur_id');
    return rows.map((r) => revisionRow(num(r.page), -1, r, r.flags));
  }
  const rows = await d.rowsFor(pageIds, (w) =>
    `SELECT r.rev_page AS page, r.rev_id AS id, HEX(t.old_text) AS text, HEX(t.old_flags) AS flags, t.old_id IS NULL AS missing_text, HEX(r.rev_comment) AS comment, r.rev_user AS user, HEX(r.rev_user_text) AS user_text, HEX(r.rev_timestamp) AS timestamp, r.rev_minor_edit AS minor FROM ${d.t('revision')} r LEFT JOIN ${d.t('text')} t ON t.old_id = r.rev_text_id${w}`, 'r.rev_page');
  return rows.map((r) => revisionRow(num(r.page), num(r.id), r, r.flags));
}

async function pendingHits(d: Db, pageIds: number[] | null): Promise<Map<number, number>> {
  const rows = await d.rowsFor(pageIds, (w) => `SELECT hc_id AS id, COUNT(*) AS n FROM ${d.t('hitcounter')}${w} GROUP BY hc_id`, 'hc_id');
  return new Map(rows.map((r) => [num(r.id), num(r.n)]));
}

async function linkTargets(d: Db, version: Version, pageIds: number[] | null): Promise<Array<[number, string]>> {
  if (version === '1.5') {
    const rows = await d.rowsFor(pageIds, (w) => `SELECT pl_from AS page, pl_namespace AS ns, HEX(pl_title) AS title FROM ${d.t('pagelinks')}${w}`, 'pl_from');
    return rows.map((r) => [num(r.page), pageKey(num(r.ns), hexBytes(r.title))]);
  }
  const good = await d.rowsFor(pageIds, (w) => `SELECT l.l_from AS page, c.cur_namespace AS ns, HEX(c.cur_title) AS title FROM ${d.t('links')} l JOIN ${d.t('cur')} c ON c.cur_id = l.l_to${w}`, 'l.l_from');
  const broken = await d.rowsFor(pageIds, (w) => `SELECT bl_from AS page, HEX(bl_to) AS target FROM ${d.t('brokenlinks')}${w}`, 'bl_from');
  return [
    ...good.map((r): [number, string] => [num(r.page), pageKey(num(r.ns), hexBytes(r.title))]),
    ...broken.map((r): [number, string] => [num(r.page), brokenLinkTarget(hexBytes(r.target))]),
  ];
}

async function imageLinks(d: Db, pageIds: number[] | null): Promise<Array<[number, string]>> {
  const rows = await d.rowsFor(pageIds, (w) => `SELECT il_from AS page, HEX(il_to) AS name FROM ${d.t('imagelinks')}${w}`, 'il_from');
  return rows.map((r) => [num(r.page), str(r.name)]);
}

async function categoryLinks(d: Db, pageIds: number[] | null): Promise<Array<[number, string]>> {
  const rows = await d.rowsFor(pageIds, (w) => `SELECT cl_from AS page, HEX(cl_to) AS name, HEX(cl_sortkey) AS sortkey FROM ${d.t('categorylinks')}${w}`, 'cl_from');
  return rows.map((r) => [num(r.page), `${str(r.name)}|${str(r.sortkey)}`]);
}

function groupBy<T>(pairs: Array<[number, T]>): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const [k, v] of pairs) out.set(k, [...(out.get(k) ?? []), v]);
  return out;
}

function sortedUnique(items: string[]): string[] {
  return [...new Set(items)].sort();
}

function compareRevisions(a: RevisionProjection, b: RevisionProjection): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  const [x, y] = [JSON.stringify(a), JSON.stringify(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

async function loadPages(d: Db, version: Version, filter: { ns: number; title: Buffer } | null): Promise<Record<string, PageProjection>> {
  const { pages, current } = await pageRows(d, version, filter);
  const ids = filter ? pages.map((p) => p.id) : null;
  const revisions = [...current, ...(await historyRows(d, version, ids))];
  const names = await userNames(d, filter ? [...new Set(revisions.map((r) => r.userId))] : null);
  for (const r of revisions) r.value.user = userOf(names, r.userId);
  const byPage = groupBy(revisions.map((r): [number, RevisionRow] => [r.page, r]));
  const hits = await pendingHits(d, ids);
  const links = groupBy(await linkTargets(d, version, ids));
  const images = groupBy(await imageLinks(d, ids));
  const categories = groupBy(await categoryLinks(d, ids));
  const out: Record<string, PageProjection> = {};
  for (const p of pages) {
    const revs = byPage.get(p.id) ?? [];
    out[p.key] = {
      ...p.base,
      counter: p.base.counter + (hits.get(p.id) ?? 0),
      latest: revs.find((r) => r.id === p.latestRevision)?.value ?? null,
      revisions: revs.map((r) => r.value).sort(compareRevisions),
      links: sortedUnique(links.get(p.id) ?? []),
      imageLinks: sortedUnique(images.get(p.id) ?? []),
      categories: sortedUnique(categories.get(p.id) ?? []),
    };
  }
  return out;
}

// ---------------------------------------------------------------- archive

async function loadArchive(d: Db, version: Version, filter: { ns: number; title: Buffer } | null): Promise<Record<string, RevisionProjection[]>> {
  const where = filter ? ` WHERE a.ar_namespace = ${Math.trunc(filter.ns)} AND a.ar_title = ${hexLiteral(filter.title)}` : '';
  const text = version === '1.4'
    ? `HEX(a.ar_text) AS text, HEX(a.ar_flags) AS flags FROM ${d.t('archive')} a`
    : `HEX(IF(a.ar_text_id IS NULL, a.ar_text, t.old_text)) AS text, HEX(IF(a.ar_text_id IS NULL, a.ar_flags, t.old_flags)) AS flags, a.ar_text_id IS NOT NULL AND t.old_id IS NULL AS missing_text FROM ${d.t('archive')} a LEFT JOIN ${d.t('text')} t ON t.old_id = a.ar_text_id`;
  const rows = await d.rows(
    `SELECT a.ar_namespace AS ns, HEX(a.ar_title) AS title, HEX(a.ar_comment) AS comment, a.ar_user AS user, HEX(a.ar_user_text) AS user_text, HEX(a.ar_timestamp) AS timestamp, a.ar_minor_edit AS minor, ${text}${where}`,
  );
  const names = await userNames(d, filter ? [...new Set(rows.map((r) => num(r.user)))] : null);
  const out: Record<string, RevisionProjection[]> = {};
  for (const r of rows) {
    const rev = revisionRow(0, 0, r, r.flags);
    rev.value.user = userOf(names, rev.userId);
    (out[pageKey(num(r.ns), hexBytes(r.title))] ??= []).push(rev.value);
  }
  for (const list of Object.values(out)) list.sort(compareRevisions);
  return out;
}

// ---------------------------------------------------------------- users

interface UserRow {
  id: number;
  name: string;
  base: Omit<UserProjection, 'groups' | 'watching' | 'watchingWithoutTalkRow' | 'newtalk'>;
}

async function userRows(d: Db, name: string | null): Promise<UserRow[]> {
  const where = name === null ? '' : ` WHERE user_name = ${hexLiteral(Buffer.from(name, 'utf8'))}`;
  const rows = await d.rows(
    `SELECT user_id AS id, HEX(user_name) AS name, HEX(user_real_name) AS real_name, HEX(user_password) AS password, HEX(user_newpassword) AS new_password, HEX(user_email) AS email, HEX(user_options) AS options, HEX(user_touched) AS touched, HEX(user_token) AS token FROM ${d.t('user')}${where}`,
  );
  return rows.map((r) => ({
    id: num(r.id),
    name: str(r.name),
    base: {
      realName: str(r.real_name), password: str(r.password), newPassword: str(r.new_password), email: str(r.email),
      options: str(r.options), touched: str(r.touched), token: str(r.token),
    },
  }));
}

/** user_rights' list split as do_user_groups_update splits it; user_groups rows as they are. */
async function groups(d: Db, version: Version, ids: number[] | null): Promise<Map<number, string[]>> {
  if (version === '1.5') {
    const rows = await d.rowsFor(ids, (w) => `SELECT ug_user AS user, HEX(ug_group) AS grp FROM ${d.t('user_groups')}${w}`, 'ug_user');
    return groupBy(rows.map((r): [number, string] => [num(r.user), str(r.grp)]));
  }
  const rows = await d.rowsFor(ids, (w) => `SELECT ur_user AS user, HEX(ur_rights) AS rights FROM ${d.t('user_rights')}${w}`, 'ur_user');
  return groupBy(rows.flatMap((r) => {
    const rights = hexBytes(r.rights);
    if (rights.length === 0) return [];
    return rights.toString('latin1').split(',').map((g): [number, string] => [num(r.user), displayBytes(Buffer.from(phpTrim(g), 'latin1'))]);
  }));
}

/** PHP trim(): space, tab, newline, carriage return, NUL, vertical tab. */
function phpTrim(s: string): string {
  return s.replace(/^[ \t\n\r\0\x0B]+|[ \t\n\r\0\x0B]+$/g, '');
}

interface Watches {
  entries: string[];
  withoutTalkRow: string[];
}

async function watchlist(d: Db, version: Version, ids: number[] | null): Promise<Map<number, Watches>> {
  const rows = await d.rowsFor(ids, (w) => `SELECT wl_user AS user, wl_namespace AS ns, HEX(wl_title) AS title FROM ${d.t('watchlist')}${w}`, 'wl_user');
  const out = new Map<number, Watches>();
  for (const [user, list] of groupBy(rows.map((r): [number, DbRow] => [num(r.user), r]))) {
    const present = new Set(list.map((r) => pageKey(num(r.ns), hexBytes(r.title))));
    const subjects = sortedUnique(list.map((r) => pageKey(num(r.ns) & ~1, hexBytes(r.title))));
    const unpaired = version === '1.4' ? [] : subjects.filter((s) => !present.has(s) || !present.has(talkOf(s)));
    out.set(user, { entries: subjects, withoutTalkRow: unpaired });
  }
  return out;
}

function talkOf(subjectKey: string): string {
  const colon = subjectKey.indexOf(':');
  return `${Number(subjectKey.slice(0, colon)) | 1}${subjectKey.slice(colon)}`;
}

async function newtalk(d: Db, ids: number[] | null): Promise<DbRow[]> {
  return d.rowsFor(ids, (w) => `SELECT user_id AS user, HEX(user_ip) AS ip FROM ${d.t('user_newtalk')}${w}`, 'user_id');
}

async function loadUsers(d: Db, version: Version, name: string | null): Promise<{ users: Record<string, UserProjection>; orphanWatches: string[]; anonNewtalk: string[] }> {
  const rows = await userRows(d, name);
  const ids = name === null ? null : rows.map((u) => u.id);
  const [grp, watches, talk] = [await groups(d, version, ids), await watchlist(d, version, ids), await newtalk(d, ids)];
  const users: Record<string, UserProjection> = {};
  const known = new Map<number, string>();
  for (const u of rows) {
    const key = users[u.name] ? `${u.name} [duplicate name]` : u.name;
    known.set(u.id, key);
    const w = watches.get(u.id);
    users[key] = {
      ...u.base, groups: sortedUnique(grp.get(u.id) ?? []), watching: w?.entries ?? [],
      watchingWithoutTalkRow: w?.withoutTalkRow ?? [], newtalk: false,
    };
  }
  const orphanWatches = [...watches].filter(([id]) => !known.has(id)).flatMap(([id, w]) => w.entries.map((e) => `${id === 0 ? '(anonymous)' : `#${id}`}|${e}`));
  const anonNewtalk: string[] = [];
  for (const r of talk) {
    const id = num(r.user);
    const owner = known.get(id);
    if (owner) users[owner].newtalk = true;
    else anonNewtalk.push(id === 0 ? str(r.ip) : `#${id}`);
  }
  return { users, orphanWatches: sortedUnique(orphanWatches), anonNewtalk: sortedUnique(anonNewtalk) };
}

// ---------------------------------------------------------------- site stats, recent changes, log

async function siteStats(d: Db): Promise<SiteStatsProjection | null> {
  const [r] = await d.rows(`SELECT ss_total_views AS views, ss_total_edits AS edits, ss_good_articles AS good FROM ${d.t('site_stats')} WHERE ss_row_id = 1`);
  return r ? { views: num(r.views), edits: num(r.edits), goodArticles: num(r.good) } : null;
}

async function revisionTimestamps(d: Db, version: Version, ids: number[]): Promise<Map<number, string>> {
  const rows = version === '1.4'
    ? await d.rowsFor(ids, (w) => `SELECT o.old_id AS id, HEX(o.old_timestamp) AS ts FROM ${d.t('old')} o JOIN ${d.t('cur')} c ON c.cur_namespace = o.old_namespace AND c.cur_title = o.old_title${w}`, 'o.old_id')
    : await d.rowsFor(ids, (w) => `SELECT rev_id AS id, HEX(rev_timestamp) AS ts FROM ${d.t('revision')}${w}`, 'rev_id');
  return new Map(rows.map((r) => [num(r.id), str(r.ts)]));
}

async function pageTitles(d: Db, version: Version, ids: number[]): Promise<Map<number, string>> {
  const p = version === '1.4' ? 'cur' : 'page';
  const rows = await d.rowsFor(ids, (w) => `SELECT ${p}_id AS id, ${p}_namespace AS ns, HEX(${p}_title) AS title FROM ${d.t(p)}${w}`, `${p}_id`);
  return new Map(rows.map((r) => [num(r.id), pageKey(num(r.ns), hexBytes(r.title))]));
}

function canonicalSort<T>(items: T[]): T[] {
  return items.map((x) => [JSON.stringify(x), x] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, x]) => x);
}

async function recentChanges(d: Db, version: Version): Promise<RecentChangeProjection[]> {
  const rows = await d.rows(
    `SELECT HEX(rc_timestamp) AS timestamp, HEX(rc_cur_time) AS cur_time, rc_user AS user, HEX(rc_user_text) AS user_text, rc_namespace AS ns, HEX(rc_title) AS title, HEX(rc_comment) AS comment, rc_minor AS minor, rc_bot AS bot, rc_new AS is_new, rc_type AS type, rc_moved_to_ns AS moved_ns, HEX(rc_moved_to_title) AS moved_title, rc_patrolled AS patrolled, HEX(rc_ip) AS ip, rc_cur_id AS cur_id, rc_this_oldid AS this_oldid, rc_last_oldid AS last_oldid FROM ${d.t('recentchanges')}`,
  );
  const oldIds = [...new Set(rows.flatMap((r) => [num(r.this_oldid), num(r.last_oldid)]).filter((x) => x > 0))];
  const [names, pages, revs] = [await userNames(d, null), await pageTitles(d, version, [...new Set(rows.map((r) => num(r.cur_id)))]), await revisionTimestamps(d, version, oldIds)];
  const revision = (id: number) => (id === 0 ? '' : (revs.get(id) ?? 'missing'));
  return canonicalSort(rows.map((r) => ({
    timestamp: str(r.timestamp), curTime: str(r.cur_time), user: userOf(names, num(r.user)), userText: str(r.user_text),
    page: pageKey(num(r.ns), hexBytes(r.title)), comment: str(r.comment), minor: num(r.minor), bot: num(r.bot),
    isNew: num(r.is_new), type: num(r.type), movedTo: pageKey(num(r.moved_ns), hexBytes(r.moved_title)),
    patrolled: num(r.patrolled), ip: str(r.ip), currentPage: pages.get(num(r.cur_id)) ?? '',
    thisRevision: revision(num(r.this_oldid)), lastRevision: revision(num(r.last_oldid)),
  })));
}

async function logging(d: Db): Promise<LogProjection[]> {
  const rows = await d.rows(
    `SELECT HEX(log_type) AS type, HEX(log_action) AS action, HEX(log_timestamp) AS timestamp, log_user AS user, log_namespace AS ns, HEX(log_title) AS title, HEX(log_comment) AS comment, HEX(log_params) AS params FROM ${d.t('logging')}`,
  );
  const names = await userNames(d, null);
  return canonicalSort(rows.map((r) => ({
    type: str(r.type), action: str(r.action), timestamp: str(r.timestamp), user: userOf(names, num(r.user)),
    page: pageKey(num(r.ns), hexBytes(r.title)), comment: str(r.comment), params: str(r.params),
  })));
}

// ---------------------------------------------------------------- entry points

async function projectWiki(db: SqlRunner, version: Version, database?: string): Promise<WikiProjection> {
  const d = new Db(db, database);
  const { users, orphanWatches, anonNewtalk } = await loadUsers(d, version, null);
  return {
    pages: await loadPages(d, version, null),
    archive: await loadArchive(d, version, null),
    users,
    watchlistWithoutUser: orphanWatches,
    anonNewtalk,
    siteStats: await siteStats(d),
    recentChanges: await recentChanges(d, version),
    logging: await logging(d),
  };
}

/** The whole 1.4 wiki; `database` qualifies the table names when the runner has none selected. */
export function projectWiki14(db: SqlRunner, database?: string): Promise<WikiProjection> {
  return projectWiki(db, '1.4', database);
}

export function projectWiki15(db: SqlRunner, database?: string): Promise<WikiProjection> {
  return projectWiki(db, '1.5', database);
}

function titleBytes(title: string | Buffer): Buffer {
  return typeof title === 'string' ? Buffer.from(title, 'utf8') : title;
}

async function projectPage(db: SqlRunner, version: Version, ns: number, title: string | Buffer, database?: string): Promise<PageProjection | null> {
  const pages = await loadPages(new Db(db, database), version, { ns, title: titleBytes(title) });
  return Object.values(pages)[0] ?? null;
}

/** One page (by namespace and DB key), as it appears in projectWiki14().pages; null if absent. */
export function projectPage14(db: SqlRunner, ns: number, title: string | Buffer, database?: string): Promise<PageProjection | null> {
  return projectPage(db, '1.4', ns, title, database);
}

export function projectPage15(db: SqlRunner, ns: number, title: string | Buffer, database?: string): Promise<PageProjection | null> {
  return projectPage(db, '1.5', ns, title, database);
}

async function projectArchive(db: SqlRunner, version: Version, ns: number, title: string | Buffer, database?: string): Promise<RevisionProjection[]> {
  const archive = await loadArchive(new Db(db, database), version, { ns, title: titleBytes(title) });
  return Object.values(archive)[0] ?? [];
}

/** The archived (deleted) revisions of one title, sorted as in projectWiki14().archive. */
export function projectArchive14(db: SqlRunner, ns: number, title: string | Buffer, database?: string): Promise<RevisionProjection[]> {
  return projectArchive(db, '1.4', ns, title, database);
}

export function projectArchive15(db: SqlRunner, ns: number, title: string | Buffer, database?: string): Promise<RevisionProjection[]> {
  return projectArchive(db, '1.5', ns, title, database);
}

async function projectUser(db: SqlRunner, version: Version, name: string, database?: string): Promise<UserProjection | null> {
  const { users } = await loadUsers(new Db(db, database), version, name);
  return users[name] ?? null;
}

/** One account by user_name, as in projectWiki14().users; null if absent. */
export function projectUser14(db: SqlRunner, name: string, database?: string): Promise<UserProjection | null> {
  return projectUser(db, '1.4', name, database);
}

export function projectUser15(db: SqlRunner, name: string, database?: string): Promise<UserProjection | null> {
  return projectUser(db, '1.5', name, database);
}

// ---------------------------------------------------------------- comparison

const DEFAULT_LIMIT = 500;

/**
 * Every difference between two projections, one line each: the path of the item and field
 * (`pages["0:Foo"].revisions[2].comment`) and what each side holds. Lists of equal length are
 * compared entry by entry; lists of different length by which entries only one side has.
 */
export function diffProjections(a: WikiProjection, b: WikiProjection, labels: [string, string] = ['a', 'b'], limit = DEFAULT_LIMIT): string[] {
  const out: string[] = [];
  diffValue('', a, b, labels, out);
  return out.length > limit ? [...out.slice(0, limit), `... and ${out.length - limit} more differences`] : out;
}

function diffValue(path: string, a: unknown, b: unknown, labels: [string, string], out: string[]): void {
  if (Array.isArray(a) && Array.isArray(b)) return diffList(path, a, b, labels, out);
  if (isRecord(a) && isRecord(b)) return diffRecord(path, a, b, labels, out);
  if (!Object.is(a, b)) out.push(`${path}: ${labels[0]}=${show(a)} ${labels[1]}=${show(b)}`);
}

function diffRecord(path: string, a: Record<string, unknown>, b: Record<string, unknown>, labels: [string, string], out: string[]): void {
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const p = childPath(path, k);
    if (!(k in b)) out.push(`${p}: only in ${labels[0]}`);
    else if (!(k in a)) out.push(`${p}: only in ${labels[1]}`);
    else diffValue(p, a[k], b[k], labels, out);
  }
}

function diffList(path: string, a: unknown[], b: unknown[], labels: [string, string], out: string[]): void {
  if (a.length === b.length) {
    a.forEach((x, i) => diffValue(`${path}[${i}]`, x, b[i], labels, out));
    return;
  }
  out.push(`${path}: ${a.length} entries in ${labels[0]}, ${b.length} in ${labels[1]}`);
  const rest = b.map((x) => JSON.stringify(x));
  for (const x of a) {
    const i = rest.indexOf(JSON.stringify(x));
    if (i >= 0) rest.splice(i, 1);
    else out.push(`${path}: only in ${labels[0]}: ${show(x)}`);
  }
  for (const x of rest) out.push(`${path}: only in ${labels[1]}: ${show(JSON.parse(x))}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function childPath(path: string, k: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) return `${path}[${JSON.stringify(k)}]`;
  return path === '' ? k : `${path}.${k}`;
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 160 ? `${s.slice(0, 160)}... (${s.length} chars)` : s;
}
