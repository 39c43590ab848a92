import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Connection, ConnectionOptions, ResultSetHeader } from 'mysql2/promise';
import { SCHEMA_1_4 } from './schema-1.4.js';

/**
 * A MediaWiki 1.4 load generator: simulated users whose requests send the statements 1.4's
 * PHP sent, byte for byte as far as the 1.4 sources tell (Database.php's quoting and the
 * double space of `INSERT  INTO`, the leading Class::method comment, quoted numbers, explicit
 * NULL ids, LOW_PRIORITY, addslashes escaping, inverse timestamps, the array_flip column list of
 * Database::replace, insertArray dropping IGNORE, Database::set commented with DB_MASTER). Each
 * request opens its own connection, like a PHP request without persistent connections, and a
 * statement the server refuses ends the request as 1.4's database error page did.
 *
 * The one deliberate change: the hit counter flush writes `ENGINE=HEAP` where 1.4 wrote
 * `TYPE=HEAP`, which MariaDB 10.11 no longer parses.
 *
 * Not generated: uploads (image, oldimage), blocks (ipblocks), validation, math, the persistent
 * link cache (linkscc, off by default), interwiki/querycache/objectcache maintenance, and move
 * over an existing redirect (its first UPDATE breaks the UNIQUE name_title index, so 1.4 wrote
 * nothing).
 */

// ---------------------------------------------------------------- configuration

/**
 * How 1.4 connected: PHP's mysql extension spoke latin1 and MySQL 4.0 never converted bytes, so
 * the statements carry raw bytes. BINARY works too. `-FOUND_ROWS`: PHP reported changed rows.
 */
export const CONNECT_OPTIONS_14 = { charset: 'LATIN1_SWEDISH_CI', flags: ['-FOUND_ROWS'] } satisfies ConnectionOptions;

/** Server settings 1.4 was written for: MySQL 4.0 had no strict mode (1.4 relies on that). */
export const MARIADB_ARGS_14 = ['--sql-mode='];

/** The simulated wiki's namespace names ($wgSitename 'Wikipedia'), as getNsText() gives them. */
export const WIKI_NAMESPACES: ReadonlyMap<number, string> = new Map([
  [-2, 'Media'], [-1, 'Special'], [1, 'Talk'], [2, 'User'], [3, 'User_talk'], [4, 'Wikipedia'],
  [5, 'Wikipedia_talk'], [6, 'Image'], [7, 'Image_talk'], [8, 'MediaWiki'], [9, 'MediaWiki_talk'],
  [10, 'Template'], [11, 'Template_talk'], [12, 'Help'], [13, 'Help_talk'], [14, 'Category'],
  [15, 'Category_talk'],
]);

export interface WorkloadOptions14 {
  /** Opens one connection with the wiki's database selected and CONNECT_OPTIONS_14's charset. */
  conn: () => Promise<Connection>;
  clients: number;
  /** User actions in total, shared out between the clients. */
  actions: number;
  /** Same seed, same choices: with one client the whole run (ids, timestamps, bytes) repeats. */
  seed?: number;
  /** $wgHitcounterUpdateFreq: 1 (1.4's default) counts views in cur; more batches them in hitcounter. */
  hitcounterUpdateFreq?: number;
  /** $wgCompressRevisions: history pushed into old is gzdeflate'd (old_flags 'utf-8,gzip'). */
  compressRevisions?: boolean;
  /** Asked before each action: true ends the run early (the app tier was switched away). */
  stop?: () => boolean;
  /** Each client waits this long between its actions (a reader's pace); default 0. */
  thinkMs?: number;
}

/** What the run did, by kind of request and outcome. */
export interface Counts {
  requests: number;
  /** Data-changing statements sent (LOCK/UNLOCK TABLES of the hit counter flush included). */
  writeStatements: number;
  failedStatements: number;
  /** Server error codes of the failed statements (each ended its request). */
  failuresByCode: Record<string, number>;
  creates: number;
  edits: number;
  minorEdits: number;
  /** Saves whose text equalled the current text: no cur/old write, but the deferred updates ran. */
  unchangedSaves: number;
  /** Belated edit conflicts: the guarded UPDATE cur matched no row and nothing else was written. */
  conflicts: number;
  /** Conflicts EditPage caught from the form's edit time, before any write. */
  staleEditForms: number;
  rollbacks: number;
  moves: number;
  talkPageMoves: number;
  deletes: number;
  undeletes: number;
  protects: number;
  unprotects: number;
  patrols: number;
  views: number;
  hitcounterFlushes: number;
  watches: number;
  unwatches: number;
  registrations: number;
  logins: number;
  preferenceChanges: number;
  passwordChanges: number;
  emailChanges: number;
  newPasswordMails: number;
  rightsChanges: number;
  newtalkNotices: number;
  newtalkCleared: number;
  /** Requests refused before any write (no permission, nothing to act on). */
  refusedRequests: number;
}

const ADMIN_NAME = 'WikiSysop';
const ADMIN_PASSWORD = 'adminpass';
const START_MS = Date.UTC(2005, 2, 1, 0, 0, 0);
const DB_MASTER = -2;
const NS_USER = 2;
const NS_USER_TALK = 3;
const NS_IMAGE = 6;
const NS_CATEGORY = 14;
const NS_MEDIA = -2;
const NS_SPECIAL = -1;
const RC_EDIT = 0;
const RC_NEW = 1;
const RC_MOVE = 2;
const RC_LOG = 3;
const LATIN1_OR_BINARY = new Set([5, 8, 15, 31, 47, 48, 49, 94, 63]);

const DEFAULT_OPTIONS: Array<[string, string]> = [
  ['quickbar', '1'], ['underline', '1'], ['hover', '1'], ['cols', '80'], ['rows', '25'],
  ['searchlimit', '20'], ['contextlines', '5'], ['contextchars', '50'], ['skin', 'monobook'],
  ['math', '1'], ['rcdays', '7'], ['rclimit', '50'], ['highlightbroken', '1'], ['stubthreshold', '0'],
  ['previewontop', '1'], ['editsection', '1'], ['editsectiononrightclick', '0'], ['showtoc', '1'],
  ['showtoolbar', '1'], ['date', '0'], ['imagesize', '2'],
];

// ---------------------------------------------------------------- SQL text, as 1.4's Database.php wrote it

type Value = string | number | Buffer | null;
type Row = Record<string, Value>;
type Sql = string | Buffer;

function bytes(v: Sql): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

function cat(...parts: Sql[]): Buffer {
  return Buffer.concat(parts.map(bytes));
}

function joinSql(parts: Buffer[], sep: string): Buffer {
  return cat(...parts.flatMap((p, i) => (i === 0 ? [p] : [sep, p])));
}

/** PHP addslashes (1.4's strencode): backslash before ' " \ and NUL as \0. */
function addslashes(b: Buffer): Buffer {
  const out: number[] = [];
  for (const c of b) {
    if (c === 0) out.push(0x5c, 0x30);
    else if (c === 0x27 || c === 0x22 || c === 0x5c) out.push(0x5c, c);
    else out.push(c);
  }
  return Buffer.from(out);
}

/** Database::addQuotes: every value quoted, numbers too; PHP null is NULL. */
function addQuotes(v: Value): Buffer {
  if (v === null) return Buffer.from('NULL');
  return cat("'", addslashes(bytes(typeof v === 'number' ? String(v) : v)), "'");
}

/** Database::makeList in its three modes; literal conditions go in parentheses. */
function makeList(a: Row, mode: 'comma' | 'and' | 'set', literals: Sql[] = []): Buffer {
  const parts = Object.entries(a).map(([k, v]) => (mode === 'comma' ? addQuotes(v) : cat(k, '=', addQuotes(v))));
  for (const l of literals) parts.push(cat('(', l, ')'));
  return joinSql(parts, mode === 'and' ? ' AND ' : ',');
}

function sqlInsert(table: string, a: Row | Row[], options: string[] = []): Buffer {
  const rows = Array.isArray(a) ? a : [a];
  const head = `INSERT ${options.join(' ')} INTO ${table} (${Object.keys(rows[0]).join(',')}) VALUES `;
  return cat(head, joinSql(rows.map((r) => cat('(', makeList(r, 'comma'), ')')), ','));
}

function sqlUpdate(table: string, values: Row, conds: Row, literals: Sql[] = []): Buffer {
  return cat(`UPDATE ${table} SET `, makeList(values, 'set'), ' WHERE ', makeList(conds, 'and', literals));
}

function sqlDelete(table: string, conds: Row): Buffer {
  return cat(`DELETE FROM ${table} WHERE `, makeList(conds, 'and'));
}

/**
 * Database::replace names its columns with implode(',', array_flip($rows[0])): values equal as
 * PHP array keys collapse (a user id equal to the namespace loses a column and the statement
 * fails), and no rows at all give `REPLACE INTO t () VALUES ()`.
 */
function sqlReplace(table: string, rows: Row[]): Buffer {
  const all = rows.length ? rows : [{}];
  const columns = new Map<string, string>();
  for (const [col, v] of Object.entries(all[0])) columns.set(phpArrayKey(v), col);
  const head = `REPLACE INTO ${table} (${[...columns.values()].join(',')}) VALUES `;
  return cat(head, joinSql(all.map((r) => cat('(', makeList(r, 'comma'), ')')), ','));
}

function phpArrayKey(v: Value): string {
  if (typeof v === 'number') return `i${Math.trunc(v)}`;
  const s = v === null ? '' : Buffer.isBuffer(v) ? v.toString('latin1') : v;
  return /^(0|-?[1-9][0-9]*)$/.test(s) ? `i${s}` : `s${s}`;
}

function sqlInsertSelect(dest: string, src: string, varMap: Record<string, string>, conds: Row): Buffer {
  const head = `INSERT INTO ${dest} (${Object.keys(varMap).join(',')}) SELECT ${Object.values(varMap).join(',')} FROM ${src}`;
  return cat(head, ' WHERE ', makeList(conds, 'and'));
}

/** Database::set: raw SET with strencode, the condition in parentheses. */
function sqlSet(table: string, column: string, value: Sql, cond: string): Buffer {
  return cat(`UPDATE ${table} SET ${column} = '`, addslashes(bytes(value)), `' WHERE (${cond})`);
}

/** Database::query puts the caller's name in a comment in front, when it is truthy in PHP. */
function withComment(sql: Sql, fname: string | number | null): Buffer {
  return fname === null || fname === '' ? bytes(sql) : cat(`/* ${fname} */ `, sql);
}

// ---------------------------------------------------------------- small helpers

class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** mulberry32 */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  weighted<T>(items: ReadonlyArray<readonly [T, number]>): T {
    let r = this.next() * items.reduce((s, [, w]) => s + w, 0);
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    return items[items.length - 1][0];
  }
}

/** wfTimestampNow() on a simulated clock: strictly increasing, 1-3 s a step, UTC YYYYMMDDHHMMSS. */
class Clock {
  private steps = 0;

  constructor(private ms: number) {}

  next(): string {
    this.ms += 1000 * (1 + (this.steps++ % 3));
    return mwTimestamp(this.ms);
  }
}

function mwTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function parseMwTimestamp(ts: string): number {
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/.exec(ts);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : 0;
}

/** wfInvertTimestamp: each digit d becomes 9-d. */
function invertTimestamp(ts: string): string {
  return ts.replace(/\d/g, (d) => String(9 - Number(d)));
}

function md5(s: Sql): string {
  return createHash('md5').update(bytes(s)).digest('hex');
}

/** User::encryptPassword with $wgPasswordSalt. */
function passwordHash(id: number, password: string): string {
  return md5(`${id}-${md5(password)}`);
}

/** wfRandom(): number_format(mt_rand() / mt_getrandmax(), 12, '.', ''). */
function wfRandom(rng: Rng): string {
  return rng.next().toFixed(12);
}

function text(v: Buffer | string | null | undefined): string {
  return v === null || v === undefined ? '' : Buffer.isBuffer(v) ? v.toString('utf8') : v;
}

// ---------------------------------------------------------------- titles and wiki text

interface Title {
  ns: number;
  key: string;
}

function nsText(ns: number): string {
  return ns === 0 ? '' : (WIKI_NAMESPACES.get(ns) ?? '');
}

function prefixedKey(t: Title): string {
  return t.ns === 0 ? t.key : `${nsText(t.ns)}:${t.key}`;
}

function prefixedText(t: Title): string {
  return prefixedKey(t).replace(/_/g, ' ');
}

function textForm(t: Title): string {
  return t.key.replace(/_/g, ' ');
}

function sameTitle(a: Title, b: Title): boolean {
  return a.ns === b.ns && a.key === b.key;
}

const NS_BY_NAME = new Map([...WIKI_NAMESPACES].map(([ns, name]) => [name.toLowerCase(), ns]));

/** Title::newFromText for the link syntax the generator writes. */
function parseTitle(target: string): { title: Title; colon: boolean } | null {
  let t = target.replace(/[\s_]+/g, '_').replace(/^_+|_+$/g, '');
  const colon = t.startsWith(':');
  if (colon) t = t.slice(1);
  let ns = 0;
  const m = colon ? null : /^(.+?)_*:_*(.*)$/.exec(t);
  if (m && NS_BY_NAME.has(m[1].toLowerCase())) {
    ns = NS_BY_NAME.get(m[1].toLowerCase()) ?? 0;
    t = m[2];
  }
  t = t.replace(/#.*$/, '').replace(/_+$/, '');
  if (!t) return null;
  return { title: { ns, key: ucfirst(t) }, colon };
}

function ucfirst(s: string): string {
  const first = String.fromCodePoint(s.codePointAt(0) ?? 0);
  const upper = first.toUpperCase();
  return [...upper].length === 1 ? upper + s.slice(first.length) : s;
}

interface WikiLink {
  title: Title;
  colon: boolean;
  label: string | null;
}

/** The [[target|label]] links of a text, in order. */
function wikiLinks(body: Buffer): WikiLink[] {
  const out: WikiLink[] = [];
  for (const m of body.toString('latin1').matchAll(/\[\[([^\]|\n]+)(?:\|([^\]\n]*))?\]\]/g)) {
    const parsed = parseTitle(Buffer.from(m[1], 'latin1').toString('utf8'));
    const label = m[2] === undefined ? null : Buffer.from(m[2], 'latin1').toString('utf8');
    if (parsed) out.push({ ...parsed, label });
  }
  return out;
}

function isRedirectText(body: Buffer): boolean {
  return /^#REDIRECT\s*\[\[[^\]|\n]+[\]|]/i.test(body.toString('latin1'));
}

/** Article::isCountable with $wgUseCommaCount off. */
function isCountable(t: Title, body: Buffer): number {
  return t.ns === 0 && !isRedirectText(body) && body.includes('[[') ? 1 : 0;
}

const WORDS = [
  'Apple', 'Harbour', 'Granite', 'Violin', 'Comet', 'Lantern', 'Meadow', 'Orchid', 'Quartz', 'Saffron',
  'Tundra', 'Willow', 'Zephyr', 'Ember', 'Falcon', 'Glacier', 'Nectar', 'Pebble', 'Raven', 'Summit',
  'Café', 'Zürich', 'Ōsaka', 'Łódź', 'Ελλάδα', 'Привет', '東京', 'Ñandú', 'Smörgåsbord', 'Crème_brûlée',
];
const GIVEN_NAMES = ['Alice', 'Bob', 'Carol', 'Dave', 'Eve', 'Zoë', 'Łukasz', 'Søren', 'Mårten', 'Ana María'];
const SENTENCES = [
  'It is known for its long history and quiet streets.',
  'Nobody remembers who wrote the first version of this article.',
  "The committee's \"final\" report was never published.",
  'A path like C:\\Program Files\\Wiki needs its backslashes.',
  'Tabs\tand trailing spaces   stay as typed.',
  'Prices rose by 15% in 2004; see the table below.',
  'Größere Städte liegen am Fluss, sagt man.',
  '東京は日本の首都です。',
  'Эта статья нуждается в доработке.',
  'Emoji survive too: 😀 🚀.',
  'Line with a literal \\n that is not a newline.',
  "O'Reilly wrote \\\"escaped\\\" quotes here.",
];
const SUMMARIES = [
  'typo', 'rv vandalism', 'expand', "fix \"quotes\" and it's", 'back\\slash \\n test', 'Überarbeitung',
  '東京 update', 'emoji 😀 edit', '', 'copyedit; see talk', 'wikify, +links',
];
/** A Latin-1 byte that is not UTF-8: legacy text a 1.4 wiki could hold. */
const LATIN1_LINE = Buffer.from('Legacy Latin-1 bytes: Caf\xe9 cr\xe8me \xbd price', 'latin1');

function vocabularyTitle(rng: Rng): string {
  const a = rng.pick(WORDS);
  let b = rng.pick(WORDS);
  if (b === a) b = String(1 + rng.int(9));
  return `${a}_${b}`;
}

function linkTarget(rng: Rng, known: Title[]): string {
  const r = rng.next();
  if (r < 0.35 && known.length) return prefixedText(rng.pick(known));
  if (r < 0.6) return vocabularyTitle(rng).replace(/_/g, ' ');
  if (r < 0.68) return `Talk:${vocabularyTitle(rng).replace(/_/g, ' ')}`;
  if (r < 0.74) return `Wikipedia:${rng.pick(['About', 'Policy', 'Sandbox'])}`;
  if (r < 0.8) return `Template:${rng.pick(['Stub', 'Cleanup'])}`;
  if (r < 0.88) return `Image:Pic ${1 + rng.int(12)}.png`;
  if (r < 0.92) return `Help:${rng.pick(['Contents', 'Editing'])}`;
  return `Category:${rng.pick(WORDS).replace(/_/g, ' ')}`;
}

/** A page text around the given link targets. */
function pageText(rng: Rng, t: Title, targets: string[]): Buffer {
  const lines: Buffer[] = [Buffer.from(`'''${textForm(t)}''' ${rng.pick(SENTENCES)}`)];
  const links = targets.map((x) => (rng.chance(0.25) && !x.startsWith('Category:') ? `[[${x}|${rng.pick(WORDS)}]]` : `[[${x}]]`));
  if (links.length) lines.push(Buffer.from(`See also ${links.join(', ')}.`));
  for (let i = rng.int(5); i >= 0; i--) lines.push(Buffer.from(rng.pick(SENTENCES)));
  if (rng.chance(0.3)) lines.push(Buffer.from(`== ${rng.pick(WORDS).replace(/_/g, ' ')} ==`));
  if (rng.chance(0.04)) lines.push(LATIN1_LINE);
  return Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
}

function redirectText(target: Title): Buffer {
  return Buffer.from(`#REDIRECT [[${prefixedText(target)}]]\n`);
}

/** A new version of a text: most of its links kept, a few dropped and added. */
function editedText(rng: Rng, t: Title, old: Buffer, known: Title[]): Buffer {
  const kept = wikiLinks(old)
    .filter(() => !rng.chance(0.2))
    .map((l) => (l.colon ? ':' : '') + prefixedText(l.title));
  for (let i = rng.int(3); i > 0; i--) kept.push(linkTarget(rng, known));
  return pageText(rng, t, [...new Set(kept)]);
}

// ---------------------------------------------------------------- requests

/** A statement the server refused: 1.4 showed its database error page and the request ended. */
class RequestAborted extends Error {
  constructor(readonly errorCode: string) {
    super(`request aborted by ${errorCode}`);
  }
}

interface UserRecord {
  id: number;
  name: string;
  password: Buffer;
  newPassword: Buffer;
  realName: Buffer;
  email: Buffer;
  options: Array<[string, string]>;
  touched: Buffer;
  token: Buffer;
  rights: string[];
}

/** Who sends the request: an IP, logged in as `user` or anonymous. */
interface Actor {
  ip: string;
  user: UserRecord | null;
}

function actorId(a: Actor): number {
  return a.user?.id ?? 0;
}

function actorName(a: Actor): string {
  return a.user?.name ?? a.ip;
}

function isBot(a: Actor): number {
  return a.user?.rights.includes('bot') ? 1 : 0;
}

function isSysop(a: Actor): boolean {
  return a.user?.rights.includes('sysop') ?? false;
}

type CountKind = Exclude<keyof Counts, 'failuresByCode'>;

class Run {
  readonly counts: Counts = emptyCounts();
  readonly hitcounterUpdateFreq: number;
  readonly compressRevisions: boolean;
  readonly seed: number;
  clock = new Clock(START_MS);
  adminId = 0;
  /** Set when a client failed outright (not a refused statement): the others stop too. */
  failed = false;

  constructor(readonly opts: WorkloadOptions14) {
    this.seed = opts.seed ?? 1;
    this.hitcounterUpdateFreq = opts.hitcounterUpdateFreq ?? 1;
    this.compressRevisions = opts.compressRevisions ?? false;
  }

  async connect(): Promise<Connection> {
    const conn = await this.opts.conn();
    const charset = conn.config.charsetNumber ?? 0;
    if (!LATIN1_OR_BINARY.has(charset)) {
      await conn.end();
      throw Object.assign(
        new Error(`workload connection uses charset number ${charset}: open it with CONNECT_OPTIONS_14 (latin1, as PHP's mysql extension did) or BINARY, so that statements travel as raw bytes`),
        { code: 'WORKLOAD_CONNECTION_CHARSET' },
      );
    }
    return conn;
  }

  count(kind: CountKind): void {
    this.counts[kind]++;
  }
}

function emptyCounts(): Counts {
  return {
    requests: 0, writeStatements: 0, failedStatements: 0, failuresByCode: {}, creates: 0, edits: 0, minorEdits: 0,
    unchangedSaves: 0, conflicts: 0, staleEditForms: 0, rollbacks: 0, moves: 0, talkPageMoves: 0,
    deletes: 0, undeletes: 0, protects: 0, unprotects: 0, patrols: 0, views: 0, hitcounterFlushes: 0,
    watches: 0, unwatches: 0, registrations: 0, logins: 0, preferenceChanges: 0, passwordChanges: 0,
    emailChanges: 0, newPasswordMails: 0, rightsChanges: 0, newtalkNotices: 0, newtalkCleared: 0,
    refusedRequests: 0,
  };
}

/** One PHP request: its own connection, one clock reading, deferred updates run at its end. */
class Request {
  private readonly deferred: Array<() => Promise<void>> = [];
  private nowValue: string | undefined;

  constructor(
    private readonly conn: Connection,
    readonly run: Run,
    readonly rng: Rng,
    readonly actor: Actor,
  ) {}

  /** wfTimestampNow(), read once per request when first needed. */
  get now(): string {
    return (this.nowValue ??= this.run.clock.next());
  }

  async write(sql: Sql, fname: string | number | null): Promise<ResultSetHeader> {
    this.run.counts.writeStatements++;
    return (await this.send(sql, fname)) as ResultSetHeader;
  }

  /** A write under 1.4's ignoreErrors: a refused statement is counted and skipped. */
  async writeIgnoringErrors(sql: Sql, fname: string | number | null): Promise<ResultSetHeader | null> {
    try {
      return await this.write(sql, fname);
    } catch (err) {
      if (err instanceof RequestAborted) return null;
      throw err;
    }
  }

  async read<T>(sql: Sql, fname: string | null = null): Promise<T[]> {
    return (await this.send(sql, fname)) as T[];
  }

  /** BEGIN and COMMIT. */
  async control(sql: string, fname: string | null): Promise<void> {
    await this.send(sql, fname);
  }

  defer(update: () => Promise<void>): void {
    this.deferred.push(update);
  }

  /** wfDoUpdates() at the end of the request. */
  async runDeferred(): Promise<void> {
    while (this.deferred.length) await this.deferred.shift()!();
  }

  private async send(sql: Sql, fname: string | number | null): Promise<unknown> {
    try {
      const [result] = await this.conn.query(withComment(sql, fname).toString('latin1'));
      return result;
    } catch (err) {
      const e = err as { code?: string; sqlState?: string };
      if (e.sqlState === undefined) throw err;
      this.run.counts.failedStatements++;
      const code = e.code ?? 'UNKNOWN';
      this.run.counts.failuresByCode[code] = (this.run.counts.failuresByCode[code] ?? 0) + 1;
      throw new RequestAborted(code);
    }
  }
}

// ---------------------------------------------------------------- users (User.php)

interface UserDbRow {
  user_id: number;
  user_name: Buffer;
  user_password: Buffer;
  user_newpassword: Buffer;
  user_email: Buffer;
  user_real_name: Buffer;
  user_options: Buffer;
  user_touched: Buffer;
  user_token: Buffer;
}

/** User::loadFromDatabase: the row, its stored options over the defaults, lower-cased rights. */
async function loadUser(req: Request, id: number): Promise<UserRecord | null> {
  const [u] = await req.read<UserDbRow>(
    `SELECT user_id,user_name,user_password,user_newpassword,user_email,user_real_name,user_options,user_touched,user_token FROM user WHERE user_id='${id}' LIMIT 1`,
    'User::loadFromDatabase',
  );
  if (!u) return null;
  const [r] = await req.read<{ ur_rights: Buffer }>(`SELECT ur_rights FROM user_rights WHERE ur_user='${id}' LIMIT 1`, 'User::loadFromDatabase');
  return {
    id: u.user_id,
    name: text(u.user_name),
    password: u.user_password,
    newPassword: u.user_newpassword,
    realName: u.user_real_name,
    email: u.user_email,
    options: decodeOptions(text(u.user_options)),
    touched: u.user_touched,
    token: u.user_token,
    rights: text(r?.ur_rights).toLowerCase().split(','),
  };
}

function decodeOptions(stored: string): Array<[string, string]> {
  const options = new Map(DEFAULT_OPTIONS);
  for (const line of stored.split('\n')) {
    const m = /^(.[^=]*)=(.*)$/.exec(line);
    if (m) options.set(m[1], m[2]);
  }
  return [...options];
}

function encodeOptions(options: Array<[string, string]>): string {
  return options.map(([k, v]) => `${k}=${v}`).join('\n');
}

function setOption(u: UserRecord, key: string, value: string): void {
  const entry = u.options.find(([k]) => k === key);
  if (entry) entry[1] = value;
  else u.options.push([key, value]);
}

async function idForName(req: Request, name: string): Promise<number> {
  const [row] = await req.read<{ user_id: number }>(cat('SELECT user_id FROM user WHERE user_name=', addQuotes(name), ' LIMIT 1'), 'User::idForName');
  return row?.user_id ?? 0;
}

async function hasNewtalk(req: Request, field: 'user_id' | 'user_ip', value: Value): Promise<boolean> {
  const rows = await req.read(cat(`SELECT ${field} FROM user_newtalk WHERE ${field}=`, addQuotes(value), ' LIMIT 1'), 'User::saveNewtalk');
  return rows.length > 0;
}

/** User::saveSettings: newtalk clean-up, the whole user row, the rights via Database::set. */
async function saveSettings(req: Request, u: UserRecord): Promise<void> {
  const fname = 'User::saveSettings';
  if (!(await hasNewtalk(req, 'user_id', u.id))) await req.write(sqlDelete('user_newtalk', { user_id: u.id }), fname);
  await req.write(
    sqlUpdate('user', {
      user_name: u.name,
      user_password: u.password,
      user_newpassword: u.newPassword,
      user_real_name: u.realName,
      user_email: u.email,
      user_options: encodeOptions(u.options),
      user_touched: u.touched,
      user_token: u.token,
    }, { user_id: u.id }),
    fname,
  );
  // Database::set passes DB_MASTER where the function name belongs, and $fname as tempIgnore.
  await req.writeIgnoringErrors(sqlSet('user_rights', 'ur_rights', u.rights.join(','), `ur_user=${u.id}`), DB_MASTER);
}

/** User::saveNewtalk for the user named by a User_talk page (User::newFromName). */
async function saveNewtalk(req: Request, name: string, on: boolean): Promise<boolean> {
  const id = await idForName(req, name);
  const [field, value]: ['user_id' | 'user_ip', Value] = id ? ['user_id', id] : ['user_ip', name];
  const present = await hasNewtalk(req, field, value);
  if (present && !on) {
    await req.write(sqlDelete('user_newtalk', { [field]: value }), 'User::saveNewtalk');
    return true;
  }
  if (!present && on) {
    await req.write(sqlInsert('user_newtalk', { [field]: value }), 'User::saveNewtalk');
    return true;
  }
  return false;
}

/** SpecialUserlogin: addToDatabase, then initUser's setters and saveSettings. */
async function registerUser(req: Request, name: string, password: string, email: string, realName: string): Promise<number> {
  const fname = 'User::addToDatabase';
  const res = await req.write(
    sqlInsert('user', {
      user_id: null,
      user_name: name,
      user_password: '',
      user_newpassword: '',
      user_email: '',
      user_real_name: '',
      user_options: encodeOptions(DEFAULT_OPTIONS),
      user_token: '',
    }),
    fname,
  );
  const id = res.insertId;
  await req.write(sqlInsert('user_rights', { ur_user: id, ur_rights: '' }), fname);
  const u: UserRecord = {
    id, name, password: Buffer.from(passwordHash(id, password)), newPassword: Buffer.alloc(0),
    realName: Buffer.from(realName), email: Buffer.from(email), options: decodeOptions(''),
    touched: Buffer.from(req.now), token: Buffer.from(md5(`${name}${req.rng.next()}`)), rights: [''],
  };
  await saveSettings(req, u);
  return id;
}

// ---------------------------------------------------------------- watchlist (WatchedItem.php)

function watchRow(u: UserRecord, t: Title): Row {
  return { wl_user: u.id, wl_namespace: t.ns & ~1, wl_title: t.key };
}

async function isWatched(req: Request, t: Title): Promise<boolean> {
  const u = req.actor.user;
  if (!u) return false;
  const rows = await req.read(cat('SELECT 1 FROM watchlist WHERE ', makeList(watchRow(u, t), 'and'), ' LIMIT 1'), 'WatchedItem::isWatched');
  return rows.length > 0;
}

/** Article::watch: User::addWatch (REPLACE), invalidateCache, saveSettings. */
async function watchArticle(req: Request, t: Title): Promise<void> {
  const u = req.actor.user;
  if (!u) return;
  await req.write(sqlReplace('watchlist', [watchRow(u, t)]), 'WatchedItem::addWatch');
  u.touched = Buffer.from(req.now);
  await saveSettings(req, u);
  req.run.count('watches');
}

async function unwatchArticle(req: Request, t: Title): Promise<void> {
  const u = req.actor.user;
  if (!u) return;
  await req.write(sqlDelete('watchlist', watchRow(u, t)), 'WatchedItem::removeWatch');
  u.touched = Buffer.from(req.now);
  await saveSettings(req, u);
  req.run.count('unwatches');
}

/** updateArticle / insertNewArticle: watch or unwatch to match the form's checkbox. */
async function applyWatchCheckbox(req: Request, t: Title, watchthis: boolean): Promise<void> {
  const watching = await isWatched(req, t);
  if (watchthis && !watching) await watchArticle(req, t);
  else if (!watchthis && watching) await unwatchArticle(req, t);
}

/** WatchedItem::duplicateEntries after a move. */
async function duplicateWatches(req: Request, from: Title, to: Title): Promise<void> {
  const fname = 'WatchedItem::duplicateEntries';
  const users = await req.read<{ wl_user: number }>(
    cat('SELECT wl_user FROM watchlist WHERE ', makeList({ wl_namespace: from.ns & ~1, wl_title: from.key }, 'and'), ' FOR UPDATE'),
    fname,
  );
  const rows = users.map((r) => ({ wl_user: String(r.wl_user), wl_namespace: to.ns & ~1, wl_title: to.key }));
  await req.write(sqlReplace('watchlist', rows), fname);
}

// ---------------------------------------------------------------- recent changes and log (RecentChange.php, LogPage.php)

function rcBase(req: Request, t: Title): Row {
  return { rc_timestamp: req.now, rc_cur_time: req.now, rc_namespace: t.ns, rc_title: t.key };
}

async function rcSave(req: Request, attribs: Row, lastTimestamp?: string): Promise<void> {
  const fname = 'RecentChange::save';
  await req.write(sqlInsert('recentchanges', attribs), fname);
  if (attribs.rc_type !== RC_EDIT || lastTimestamp === undefined) return;
  await req.write(
    sqlUpdate('recentchanges', { rc_this_oldid: attribs.rc_last_oldid }, {
      rc_namespace: attribs.rc_namespace, rc_title: attribs.rc_title, rc_timestamp: lastTimestamp,
    }),
    fname,
  );
  await req.write(sqlUpdate('recentchanges', { rc_cur_time: req.now }, { rc_cur_id: attribs.rc_cur_id }), fname);
}

function rcActor(req: Request): Row {
  return { rc_user: actorId(req.actor), rc_user_text: actorName(req.actor) };
}

async function rcNotifyEdit(req: Request, t: Title, curId: number, minor: number, comment: Sql, oldId: number, lastTimestamp: string, bot: number): Promise<void> {
  await rcSave(req, {
    ...rcBase(req, t), rc_type: RC_EDIT, rc_minor: minor, rc_cur_id: curId, ...rcActor(req),
    rc_comment: comment, rc_this_oldid: 0, rc_last_oldid: oldId, rc_bot: bot, rc_moved_to_ns: 0,
    rc_moved_to_title: '', rc_ip: req.actor.ip, rc_patrolled: 0, rc_new: 0,
  }, lastTimestamp);
}

async function rcNotifyNew(req: Request, t: Title, curId: number, minor: number, comment: Sql): Promise<void> {
  await rcSave(req, {
    ...rcBase(req, t), rc_type: RC_NEW, rc_minor: minor, rc_cur_id: curId, ...rcActor(req),
    rc_comment: comment, rc_this_oldid: 0, rc_last_oldid: 0, rc_bot: isBot(req.actor), rc_moved_to_ns: 0,
    rc_moved_to_title: '', rc_ip: req.actor.ip, rc_patrolled: 0, rc_new: 1,
  });
}

async function rcNotifyMove(req: Request, from: Title, to: Title, curId: number, comment: string): Promise<void> {
  await rcSave(req, {
    ...rcBase(req, from), rc_type: RC_MOVE, rc_minor: 0, rc_cur_id: curId, ...rcActor(req),
    rc_comment: comment, rc_this_oldid: 0, rc_last_oldid: 0, rc_bot: isBot(req.actor), rc_moved_to_ns: to.ns,
    rc_moved_to_title: to.key, rc_ip: req.actor.ip, rc_new: 0, rc_patrolled: 1,
  });
}

async function rcNotifyLog(req: Request, type: string, comment: string): Promise<void> {
  const t = { ns: NS_SPECIAL, key: `Log/${type}` };
  await rcSave(req, {
    ...rcBase(req, t), rc_type: RC_LOG, rc_minor: 0, rc_cur_id: 0, ...rcActor(req),
    rc_comment: comment, rc_this_oldid: 0, rc_last_oldid: 0, rc_bot: 0, rc_moved_to_ns: 0,
    rc_moved_to_title: '', rc_ip: req.actor.ip, rc_patrolled: 1, rc_new: 0,
  });
}

const ACTION_TEXT: Record<string, (target: string) => string> = {
  'delete/delete': (t) => `deleted "[[${t}]]"`,
  'delete/restore': (t) => `restored "[[${t}]]"`,
  'protect/protect': (t) => `protected [[${t}]]`,
  'protect/unprotect': (t) => `unprotected [[${t}]]`,
  'rights/rights': (t) => `Rights for user "${t}" set "$2"`,
};

/** LogPage::addEntry: the logging row and its Special:Log entry in recentchanges. */
async function logEntry(req: Request, type: string, action: string, target: Title, comment: string): Promise<void> {
  await req.write(
    sqlInsert('logging', {
      log_type: type, log_action: action, log_timestamp: req.now, log_user: actorId(req.actor),
      log_namespace: target.ns, log_title: target.key, log_comment: comment,
    }),
    'LogPage::saveContent',
  );
  const actionText = ACTION_TEXT[`${type}/${action}`](prefixedText(target));
  await rcNotifyLog(req, type, comment ? `${actionText}: ${comment}` : actionText);
}

// ---------------------------------------------------------------- deferred updates (SiteStatsUpdate, SearchUpdate, LinksUpdate)

function siteStatsUpdate(req: Request, views: number, edits: number, good: number): void {
  const term = (col: string, n: number) => `${col}=(${col}${n < 0 ? '-1' : n > 0 ? '+1' : ''})`;
  const sql = `UPDATE LOW_PRIORITY site_stats SET ${term('ss_total_views', views)},${term('ss_total_edits', edits)},${term('ss_good_articles', good)} WHERE ss_row_id=1`;
  req.defer(async () => {
    await req.write(sql, 'SiteStatsUpdate::doUpdate');
  });
}

/** SearchEngine munging: lower case, UTF-8 characters as u8 + hex, everything else blank. */
function searchMunge(s: Buffer): string {
  let out = '';
  for (const ch of s.toString('utf8')) {
    if (/[A-Za-z0-9']/.test(ch)) out += ch.toLowerCase();
    else if (ch.codePointAt(0)! > 0x7f && ch !== '\ufffd') out += ` u8${Buffer.from(ch).toString('hex')} `;
    else out += ' ';
  }
  return out.replace(/\s+/g, ' ').trim();
}

/** SearchUpdate::doUpdate: the whole entry, or only the title when there is no text. */
async function searchUpdate(req: Request, id: number, t: Title, body: Buffer | null): Promise<void> {
  if (!id) return;
  const fname = 'SearchUpdate::doUpdate';
  const title = addslashes(Buffer.from(searchMunge(Buffer.from(textForm(t)))));
  if (!body || body.length === 0) {
    await req.write(cat(`UPDATE LOW_PRIORITY searchindex SET si_title='`, title, `' WHERE si_page=${id}`), fname);
    return;
  }
  const munged = addslashes(Buffer.from(searchMunge(body)));
  await req.write(cat(`REPLACE INTO searchindex (si_page,si_title,si_text) VALUES (${id},'`, title, `','`, munged, `')`), fname);
}

async function articleId(req: Request, t: Title): Promise<number> {
  const [row] = await req.read<{ cur_id: number }>(
    cat('SELECT cur_id FROM cur WHERE ', makeList({ cur_namespace: t.ns, cur_title: t.key }, 'and'), ' LIMIT 1'),
    'LinkCache::addLinkObj',
  );
  return row?.cur_id ?? 0;
}

/** What the parser put in the link cache for one text. */
interface LinkSet {
  good: Map<string, number>;
  bad: string[];
  images: string[];
  categories: Map<string, string>;
}

async function collectLinks(req: Request, page: Title, body: Buffer): Promise<LinkSet> {
  const set: LinkSet = { good: new Map(), bad: [], images: [], categories: new Map() };
  for (const link of wikiLinks(body)) {
    const t = link.title;
    if ((t.ns === NS_IMAGE && !link.colon) || t.ns === NS_MEDIA) {
      if (!set.images.includes(t.key)) set.images.push(t.key);
    } else if (t.ns === NS_CATEGORY && !link.colon) {
      const sortkey = link.label ?? (page.ns === NS_CATEGORY ? textForm(page) : prefixedText(page));
      set.categories.set(t.key, sortkey);
    } else if (t.ns !== NS_SPECIAL && !sameTitle(t, page)) {
      await addPageLink(req, set, t);
    }
  }
  return set;
}

async function addPageLink(req: Request, set: LinkSet, t: Title): Promise<void> {
  const key = prefixedKey(t);
  if (set.good.has(key) || set.bad.includes(key)) return;
  const id = await articleId(req, t);
  if (id) set.good.set(key, id);
  else set.bad.push(key);
}

/** LinkCache::preFill: the page's links as stored, for the incremental update. */
interface StoredLinks {
  good: number[];
  bad: string[];
}

async function storedLinks(req: Request, id: number): Promise<StoredLinks> {
  const good = await req.read<{ cur_id: number }>(`SELECT cur_id,cur_namespace,cur_title FROM cur,links WHERE cur_id=l_to AND l_from=${id}`, 'LinkCache::preFill');
  const bad = await req.read<{ bl_to: Buffer }>(`SELECT bl_to FROM brokenlinks WHERE bl_from='${id}'`, 'LinkCache::preFill');
  return { good: good.map((r) => r.cur_id), bad: bad.map((r) => text(r.bl_to)) };
}

/** LinksUpdate::doUpdate; incremental against `stored` when the link cache was prefilled. */
async function linksUpdate(req: Request, id: number, page: Title, set: LinkSet, stored: StoredLinks | null): Promise<void> {
  await updateGoodLinks(req, id, [...set.good.values()], stored);
  await updateBadLinks(req, id, set.bad, stored);
  await updateImageLinks(req, id, set.images);
  await updateCategoryLinks(req, id, set.categories);
  await fixBrokenLinks(req, id, prefixedKey(page));
}

const LINKS_FNAME = 'LinksUpdate::doUpdate';

async function updateGoodLinks(req: Request, id: number, current: number[], stored: StoredLinks | null): Promise<void> {
  let add = current;
  if (stored) {
    const del = stored.good.filter((x) => !current.includes(x));
    if (del.length) await req.write(`DELETE FROM links WHERE l_from=${id} AND l_to IN(${del.join(',')})`, LINKS_FNAME);
    add = current.filter((x) => !stored.good.includes(x));
  } else {
    await req.write(sqlDelete('links', { l_from: id }), LINKS_FNAME);
  }
  // insertArray drops both the IGNORE option and the caller's name.
  if (add.length) await req.write(sqlInsert('links', add.map((to) => ({ l_from: id, l_to: to }))), 'Database::insertArray');
}

async function updateBadLinks(req: Request, id: number, current: string[], stored: StoredLinks | null): Promise<void> {
  let add = current;
  if (stored) {
    const del = stored.bad.filter((x) => !current.includes(x));
    if (del.length) {
      await req.write(cat(`DELETE FROM brokenlinks WHERE bl_from=${id} AND bl_to IN(`, joinSql(del.map(addQuotes), ','), ')'), LINKS_FNAME);
    }
    add = current.filter((x) => !stored.bad.includes(x));
  } else {
    await req.write(sqlDelete('brokenlinks', { bl_from: id }), 'Database::delete');
  }
  // strencode'd by LinksUpdate, then quoted again by insert(): escaped twice.
  if (add.length) {
    const rows = add.map((t) => ({ bl_from: id, bl_to: addslashes(bytes(t)) }));
    await req.write(sqlInsert('brokenlinks', rows), 'Database::insertArray');
  }
}

async function invalidateCache(req: Request, t: Title): Promise<void> {
  await req.write(sqlUpdate('cur', { cur_touched: req.now }, { cur_namespace: t.ns, cur_title: t.key }), 'Title::invalidateCache');
}

async function updateImageLinks(req: Request, id: number, images: string[]): Promise<void> {
  await req.write(`DELETE FROM imagelinks WHERE il_from='${id}'`, LINKS_FNAME);
  for (const name of images) await invalidateCache(req, { ns: NS_IMAGE, key: name });
  if (images.length) {
    const rows = images.map((name) => ({ il_from: id, il_to: addslashes(bytes(name)) }));
    await req.write(sqlInsert('imagelinks', rows), 'Database::insertArray');
  }
}

async function updateCategoryLinks(req: Request, id: number, categories: Map<string, string>): Promise<void> {
  await req.write(`DELETE FROM categorylinks WHERE cl_from='${id}'`, LINKS_FNAME);
  for (const name of categories.keys()) await invalidateCache(req, { ns: NS_CATEGORY, key: name });
  if (categories.size) {
    const rows = [...categories].map(([name, sortkey]) => ({
      cl_from: id, cl_to: addslashes(bytes(name)), cl_sortkey: addslashes(bytes(sortkey)),
    }));
    await req.write(sqlInsert('categorylinks', rows), 'Database::insertArray');
  }
}

/** LinksUpdate::fixBrokenLinks: broken links to this title become links to `id`. */
async function fixBrokenLinks(req: Request, id: number, key: string): Promise<void> {
  const fname = 'LinksUpdate::fixBrokenLinks';
  const rows = await req.read<{ bl_from: number }>(cat('SELECT bl_from FROM brokenlinks WHERE bl_to=', addQuotes(key), ' FOR UPDATE'), fname);
  if (!rows.length) return;
  await req.write(sqlInsert('links', rows.map((r) => ({ l_from: String(r.bl_from), l_to: id }))), 'Database::insertArray');
  await req.write(`UPDATE cur SET cur_touched='${req.now}' WHERE cur_id IN (${rows.map((r) => r.bl_from).join(',')})`, fname);
  await req.write(sqlDelete('brokenlinks', { bl_to: key }), fname);
}

/** Title::touchArray */
async function touchArray(req: Request, ids: number[]): Promise<void> {
  if (ids.length) await req.write(`UPDATE cur SET cur_touched='${req.now}' WHERE cur_id IN (${ids.join(',')})`, 'Title::touchArray');
}

/** Article::editUpdates: RC pruning, the deferred link/stats/search updates, newtalk. */
async function editUpdates(req: Request, id: number, t: Title, body: Buffer, countAdjustment: number): Promise<void> {
  if (req.rng.int(1000) === 0) {
    const cutoff = mwTimestamp(parseMwTimestamp(req.now) - 7 * 86400 * 1000);
    await req.write(`DELETE FROM recentchanges WHERE rc_timestamp < '${cutoff}'`, null);
  }
  req.defer(async () => {
    const stored = await storedLinks(req, id);
    await linksUpdate(req, id, t, await collectLinks(req, t, body), stored);
  });
  siteStatsUpdate(req, 0, 1, countAdjustment);
  req.defer(() => searchUpdate(req, id, t, body));
  // Compares the DB key with the user name: a name with a space never matches.
  if (t.ns === NS_USER_TALK && t.key !== actorName(req.actor)) {
    if (await saveNewtalk(req, textForm(t), true)) req.run.count('newtalkNotices');
  }
}

// ---------------------------------------------------------------- pages (Article.php, Title.php, SpecialUndelete.php)

interface CurRow {
  cur_id: number;
  cur_namespace: number;
  cur_title: Buffer;
  cur_text: Buffer;
  cur_comment: Buffer;
  cur_user: number;
  cur_user_text: Buffer;
  cur_timestamp: Buffer;
  cur_minor_edit: number;
  cur_is_redirect: number;
  cur_restrictions: Buffer;
}

const CUR_FIELDS = 'cur_id,cur_namespace,cur_title,cur_text,cur_comment,cur_user,cur_user_text,cur_timestamp,cur_minor_edit,cur_is_redirect,cur_restrictions';

async function loadCur(req: Request, id: number): Promise<CurRow | null> {
  const [row] = await req.read<CurRow>(`SELECT ${CUR_FIELDS} FROM cur WHERE cur_id='${id}' LIMIT 1`, 'Article::loadContent');
  return row ?? null;
}

function curTitle(row: CurRow): Title {
  return { ns: row.cur_namespace, key: text(row.cur_title) };
}

function restrictions(row: CurRow, action: 'edit' | 'move'): string[] {
  for (const part of text(row.cur_restrictions).trim().split(':')) {
    const kv = part.trim().split('=');
    if (kv.length === 1 || kv[0] === action) return kv[kv.length - 1].split(',').filter(Boolean);
  }
  return [];
}

function mayChange(req: Request, row: CurRow, action: 'edit' | 'move'): boolean {
  return restrictions(row, action).every((r) => req.actor.user?.rights.includes(r));
}

/** Article::compressRevisionText */
function compressRevisionText(req: Request, body: Buffer): { text: Buffer; flags: string } {
  if (!req.run.compressRevisions) return { text: body, flags: 'utf-8' };
  return { text: deflateRawSync(body), flags: 'utf-8,gzip' };
}

/** Article::getRevisionText */
function revisionText(body: Buffer, flags: Buffer): Buffer {
  return text(flags).split(',').includes('gzip') ? inflateRawSync(body) : body;
}

/** Article::insertNewArticle */
async function insertNewArticle(req: Request, t: Title, body: Buffer, summary: string, minor: boolean, watchthis: boolean): Promise<number> {
  const fname = 'Article::insertNewArticle';
  const isminor = minor && req.actor.user ? 1 : 0;
  const res = await req.write(
    sqlInsert('cur', {
      cur_id: null, cur_namespace: t.ns, cur_title: t.key, cur_text: body, cur_comment: summary,
      cur_user: actorId(req.actor), cur_timestamp: req.now, cur_minor_edit: isminor, cur_counter: 0,
      cur_restrictions: '', cur_user_text: actorName(req.actor), cur_is_redirect: isRedirectText(body) ? 1 : 0,
      cur_is_new: 1, cur_random: wfRandom(req.rng), cur_touched: req.now, inverse_timestamp: invertTimestamp(req.now),
    }),
    fname,
  );
  const id = res.insertId;
  await rcNotifyNew(req, t, id, isminor, summary);
  await applyWatchCheckbox(req, t, watchthis);
  await req.write(sqlUpdate('cur', { cur_touched: req.now }, { cur_namespace: t.ns ^ 1, cur_title: t.key }), fname);
  await editUpdates(req, id, t, body, isCountable(t, body));
  return id;
}

/** What updateArticle read inside its transaction before writing. */
interface OpenEdit {
  row: CurRow;
  /** mMinorEdit, loaded by EditPage's getTimestamp(); rollback never loads it. */
  previousMinor: number;
}

interface EditRequest {
  body: Buffer;
  summary: string;
  minor: boolean;
  watchthis: boolean;
  forceBot?: boolean;
}

const UPDATE_FNAME = 'Article::updateArticle';

/** Article::updateArticle up to its getContent(): BEGIN and the fresh read of cur. */
async function beginUpdate(req: Request, id: number, previousMinor: number): Promise<OpenEdit | null> {
  await req.control('BEGIN', UPDATE_FNAME);
  const row = await loadCur(req, id);
  if (!row) {
    await req.control('COMMIT', UPDATE_FNAME);
    return null;
  }
  return { row, previousMinor };
}

/** The rest of updateArticle: guarded UPDATE cur, INSERT old, RC, COMMIT, then the post-save work. */
async function finishUpdate(req: Request, open: OpenEdit, edit: EditRequest): Promise<'saved' | 'conflict' | 'unchanged'> {
  const { row } = open;
  const t = curTitle(row);
  const body = redirectFirstLine(edit.body);
  const me2 = edit.minor && req.actor.user ? 1 : 0;
  let outcome: 'saved' | 'conflict' | 'unchanged' = 'unchanged';
  if (!body.equals(row.cur_text)) {
    outcome = await overwriteCur(req, open, body, edit, me2) ? 'saved' : 'conflict';
  }
  await req.control('COMMIT', UPDATE_FNAME);
  if (outcome === 'conflict') return outcome;
  await applyWatchCheckbox(req, t, edit.watchthis);
  const adjustment = outcome === 'saved' ? isCountable(t, body) - isCountable(t, row.cur_text) : 0;
  await editUpdates(req, row.cur_id, t, body, adjustment);
  return outcome;
}

/** A redirect keeps only its first line. */
function redirectFirstLine(body: Buffer): Buffer {
  if (!isRedirectText(body)) return body;
  const m = /^((#REDIRECT)[^\n]+)/i.exec(body.toString('latin1'));
  return m ? Buffer.from(`${m[1]}\n`, 'latin1') : body;
}

async function overwriteCur(req: Request, open: OpenEdit, body: Buffer, edit: EditRequest, me2: number): Promise<boolean> {
  const { row } = open;
  const t = curTitle(row);
  const previous = text(row.cur_timestamp);
  const res = await req.write(
    sqlUpdate('cur', {
      cur_text: body, cur_comment: edit.summary, cur_minor_edit: me2, cur_user: actorId(req.actor),
      cur_timestamp: req.now, cur_user_text: actorName(req.actor), cur_is_redirect: isRedirectText(body) ? 1 : 0,
      cur_is_new: 0, cur_touched: req.now, inverse_timestamp: invertTimestamp(req.now),
    }, { cur_id: row.cur_id, cur_timestamp: previous }),
    UPDATE_FNAME,
  );
  if (res.affectedRows === 0) return false;
  const stored = compressRevisionText(req, row.cur_text);
  const old = await req.write(
    sqlInsert('old', {
      old_id: null, old_namespace: t.ns, old_title: t.key, old_text: stored.text, old_comment: row.cur_comment,
      old_user: row.cur_user, old_user_text: row.cur_user_text, old_timestamp: previous,
      old_minor_edit: open.previousMinor, inverse_timestamp: invertTimestamp(previous), old_flags: stored.flags,
    }),
    UPDATE_FNAME,
  );
  const bot = isBot(req.actor) || edit.forceBot ? 1 : 0;
  await rcNotifyEdit(req, t, row.cur_id, me2, edit.summary, old.insertId, previous, bot);
  return true;
}

/** Title::moveTo for a target that does not exist (moveToNewTitle), then the move's follow-ups. */
async function moveToNewTitle(req: Request, from: Title, to: Title, oldId: number): Promise<void> {
  const fname = 'MovePageForm::moveToNewTitle';
  const comment = `[[${prefixedText(from)}]] moved to [[${prefixedText(to)}]]`;
  await req.write(sqlUpdate('cur', { cur_touched: req.now, cur_namespace: to.ns, cur_title: to.key }, { cur_id: oldId }), fname);
  const res = await req.write(
    sqlInsert('cur', {
      cur_id: null, cur_namespace: from.ns, cur_title: from.key, cur_comment: comment, cur_user: actorId(req.actor),
      cur_user_text: actorName(req.actor), cur_timestamp: req.now, inverse_timestamp: invertTimestamp(req.now),
      cur_touched: req.now, cur_is_redirect: 1, cur_random: wfRandom(req.rng), cur_is_new: 1,
      cur_text: redirectText(to),
    }),
    fname,
  );
  const newId = res.insertId;
  await req.write(sqlUpdate('old', { old_namespace: to.ns, old_title: to.key }, { old_namespace: from.ns, old_title: from.key }), fname);
  await rcNotifyMove(req, from, to, oldId, comment);
  await req.write(sqlUpdate('links', { l_to: newId }, { l_to: oldId }), fname);
  await req.write(sqlInsert('links', { l_from: newId, l_to: oldId }), fname);
  await fixBrokenLinks(req, oldId, prefixedKey(to));
  await afterMove(req, from, to, oldId, newId);
}

async function afterMove(req: Request, from: Title, to: Title, oldId: number, newId: number): Promise<void> {
  await req.write(
    cat('UPDATE categorylinks SET cl_sortkey=', addQuotes(prefixedText(to)), ' WHERE cl_from=', addQuotes(oldId), ' AND cl_sortkey=', addQuotes(prefixedText(from))),
    'SpecialMovepage::doSubmit',
  );
  if ((from.ns & ~1) !== (to.ns & ~1) || from.key !== to.key) await duplicateWatches(req, from, to);
  await searchUpdate(req, oldId, to, null);
  await searchUpdate(req, newId, from, null);
}

/** Article::doDeleteArticle */
async function doDeleteArticle(req: Request, row: CurRow, reason: string): Promise<void> {
  const fname = 'Article::doDeleteArticle';
  const t = curTitle(row);
  const id = row.cur_id;
  siteStatsUpdate(req, 0, 1, -isCountable(t, row.cur_text));
  const linksTo = await req.read<{ cur_id: number }>(`SELECT cur_namespace,cur_title,cur_id FROM cur,links WHERE l_from=cur_id AND l_to=${id} `, 'Title::getLinksTo');
  await touchArray(req, linksTo.map((r) => r.cur_id));
  await req.write(sqlInsertSelect('archive', 'cur', {
    ar_namespace: 'cur_namespace', ar_title: 'cur_title', ar_text: 'cur_text', ar_comment: 'cur_comment', ar_user: 'cur_user',
    ar_user_text: 'cur_user_text', ar_timestamp: 'cur_timestamp', ar_minor_edit: 'cur_minor_edit', ar_flags: '0',
  }, { cur_namespace: t.ns, cur_title: t.key }), fname);
  await req.write(sqlInsertSelect('archive', 'old', {
    ar_namespace: 'old_namespace', ar_title: 'old_title', ar_text: 'old_text', ar_comment: 'old_comment', ar_user: 'old_user',
    ar_user_text: 'old_user_text', ar_timestamp: 'old_timestamp', ar_minor_edit: 'old_minor_edit', ar_flags: 'old_flags',
  }, { old_namespace: t.ns, old_title: t.key }), fname);
  await req.write(sqlDelete('cur', { cur_namespace: t.ns, cur_title: t.key }), fname);
  await req.write(sqlDelete('old', { old_namespace: t.ns, old_title: t.key }), fname);
  await req.write(sqlDelete('recentchanges', { rc_namespace: t.ns, rc_title: t.key }), fname);
  if (linksTo.length) {
    await req.write(sqlInsert('brokenlinks', linksTo.map((r) => ({ bl_from: String(r.cur_id), bl_to: prefixedKey(t) })), ['IGNORE']), fname);
  }
  await req.write(sqlDelete('links', { l_to: id }), 'Database::delete');
  await req.write(sqlDelete('links', { l_from: id }), 'Database::delete');
  await req.write(sqlDelete('imagelinks', { il_from: id }), 'Database::delete');
  await req.write(sqlDelete('brokenlinks', { bl_from: id }), 'Database::delete');
  await req.write(sqlDelete('categorylinks', { cl_from: id }), 'Database::delete');
  await logEntry(req, 'delete', 'delete', t, reason);
}

/** PageArchive::undelete restoring every archived revision. */
async function undeleteAll(req: Request, t: Title): Promise<void> {
  const fname = 'doUndeleteArticle';
  const titleSql = cat(`ar_namespace=${t.ns} AND ar_title='`, addslashes(bytes(t.key)), `'`);
  const curSql = cat(`cur_namespace=${t.ns} AND cur_title='`, addslashes(bytes(t.key)), `'`);
  const [{ count }] = await req.read<{ count: number }>(cat('SELECT COUNT(*) AS count FROM cur WHERE ', curSql, ' FOR UPDATE'), fname);
  let newId = 0;
  let oldOnes = '';
  let restored: Buffer | null = null;
  if (count === 0) {
    const [s] = await req.read<ArchiveRow>(
      cat('SELECT ar_text,ar_comment,ar_user,ar_user_text,ar_timestamp,ar_minor_edit,ar_flags FROM archive WHERE ', titleSql, ' ORDER BY ar_timestamp DESC LIMIT 1 FOR UPDATE'),
      fname,
    );
    if (!s) return;
    restored = revisionText(s.ar_text, s.ar_flags);
    newId = await insertRestoredCur(req, t, s, restored);
    oldOnes = `AND ar_timestamp<${text(s.ar_timestamp)}`;
  } else {
    await req.write(cat(`UPDATE cur SET cur_touched='${req.now}' WHERE `, curSql), fname);
  }
  await req.write(cat(
    'INSERT INTO old (old_namespace,old_title,old_text,old_comment,old_user,old_user_text,old_timestamp,inverse_timestamp,old_minor_edit,old_flags) ',
    'SELECT ar_namespace,ar_title,ar_text,ar_comment,ar_user,ar_user_text,ar_timestamp,99999999999999-ar_timestamp,ar_minor_edit,ar_flags ',
    'FROM archive WHERE ', titleSql, ` ${oldOnes}`,
  ), fname);
  if (newId && restored) {
    const body = restored;
    req.defer(async () => linksUpdate(req, newId, t, await collectLinks(req, t, body), null));
  }
  await req.write(cat('DELETE FROM archive WHERE ', titleSql), fname);
  await logEntry(req, 'delete', 'restore', t, '');
}

interface ArchiveRow {
  ar_text: Buffer;
  ar_comment: Buffer;
  ar_user: number;
  ar_user_text: Buffer;
  ar_timestamp: Buffer;
  ar_minor_edit: number;
  ar_flags: Buffer;
}

async function insertRestoredCur(req: Request, t: Title, s: ArchiveRow, body: Buffer): Promise<number> {
  const res = await req.write(
    sqlInsert('cur', {
      cur_id: null, cur_namespace: t.ns, cur_title: t.key, cur_text: body, cur_comment: s.ar_comment,
      cur_user: s.ar_user, cur_timestamp: s.ar_timestamp, cur_minor_edit: s.ar_minor_edit, cur_user_text: s.ar_user_text,
      cur_is_redirect: isRedirectText(body) ? 1 : 0, cur_random: wfRandom(req.rng), cur_touched: req.now,
      inverse_timestamp: invertTimestamp(text(s.ar_timestamp)),
    }),
    'Database::insertArray',
  );
  return res.insertId;
}

/** Article::incViewCount */
async function incViewCount(req: Request, id: number): Promise<void> {
  const freq = req.run.hitcounterUpdateFreq;
  if (freq <= 1) {
    await req.write(`UPDATE cur SET cur_counter = cur_counter + 1 WHERE cur_id = ${id}`, null);
    return;
  }
  // "Not important enough to warrant an error page in case of failure"
  if (!(await req.writeIgnoringErrors(`INSERT INTO hitcounter (hc_id) VALUES (${id})`, null))) return;
  if (req.rng.int(Math.floor(freq / 25 + 1)) !== 0) return;
  const [{ n }] = await req.read<{ n: number }>('SELECT COUNT(*) as n FROM hitcounter');
  if (n < freq) return;
  await req.writeIgnoringErrors('LOCK TABLES hitcounter WRITE', null);
  await req.writeIgnoringErrors('CREATE TEMPORARY TABLE acchits ENGINE=HEAP SELECT hc_id,COUNT(*) AS hc_n FROM hitcounter GROUP BY hc_id', null);
  await req.writeIgnoringErrors('DELETE FROM hitcounter', null);
  await req.writeIgnoringErrors('UNLOCK TABLES', null);
  await req.writeIgnoringErrors('UPDATE cur,acchits SET cur_counter=cur_counter + hc_n WHERE cur_id = hc_id', null);
  await req.writeIgnoringErrors('DROP TABLE acchits', null);
  req.run.count('hitcounterFlushes');
}

// ---------------------------------------------------------------- simulated users

interface OwnUser {
  id: number;
  name: string;
  password: string;
}

type ActionName =
  | 'view' | 'edit' | 'create' | 'editRace' | 'staleEdit' | 'move' | 'delete' | 'undelete' | 'protect'
  | 'rollback' | 'patrol' | 'watch' | 'unwatch' | 'register' | 'login' | 'preferences' | 'password'
  | 'email' | 'newPassword' | 'rights';

const ACTIONS: ReadonlyArray<readonly [ActionName, number]> = [
  ['view', 18], ['edit', 20], ['create', 14], ['editRace', 3], ['staleEdit', 2], ['move', 4], ['delete', 3],
  ['undelete', 2], ['protect', 2], ['rollback', 2], ['patrol', 2], ['watch', 4], ['unwatch', 2],
  ['register', 4], ['login', 3], ['preferences', 3], ['password', 2], ['email', 1], ['newPassword', 1],
  ['rights', 3],
];

/** One simulated browser: its own random choices, IP and accounts; one request at a time. */
class Client {
  private readonly rng: Rng;
  private readonly users: OwnUser[] = [];
  private readonly known: Title[] = [];
  private serial = 0;

  constructor(
    private readonly run: Run,
    private readonly index: number,
  ) {
    this.rng = new Rng(Math.imul(run.seed ^ 0x9e3779b9, 2654435761) + index * 7919);
  }

  async act(): Promise<void> {
    const action = this.users.length ? this.rng.weighted(ACTIONS) : 'register';
    this.run.count('requests');
    await this.dispatch(action);
  }

  private dispatch(action: ActionName): Promise<void> {
    switch (action) {
      case 'view': return this.view();
      case 'edit': return this.edit();
      case 'create': return this.create();
      case 'editRace': return this.editRace();
      case 'staleEdit': return this.staleEdit();
      case 'move': return this.move();
      case 'delete': return this.delete();
      case 'undelete': return this.undelete();
      case 'protect': return this.protect();
      case 'rollback': return this.rollback();
      case 'patrol': return this.patrol();
      case 'watch': return this.watch();
      case 'unwatch': return this.unwatch();
      case 'register': return this.register();
      case 'login': return this.login();
      case 'preferences': return this.preferences();
      case 'password': return this.password();
      case 'email': return this.email();
      case 'newPassword': return this.newPassword();
      case 'rights': return this.rights();
    }
  }

  private ip(slot: number): string {
    return `10.0.${this.index}.${1 + slot}`;
  }

  /** Runs one request as `who`: a fresh connection, the user loaded, deferred updates at the end. */
  private async request(who: OwnUser | 'anonymous' | 'admin', body: (req: Request) => Promise<void>): Promise<void> {
    const conn = await this.run.connect();
    const id = who === 'anonymous' ? 0 : who === 'admin' ? this.run.adminId : who.id;
    const slot = who === 'anonymous' ? 0 : 1 + this.users.findIndex((u) => u.id === id);
    const req = new Request(conn, this.run, this.rng, { ip: this.ip(slot), user: null });
    try {
      if (id) req.actor.user = await loadUser(req, id);
      await body(req);
      await req.runDeferred();
    } catch (err) {
      if (!(err instanceof RequestAborted)) throw err;
    } finally {
      await conn.end().catch(() => conn.destroy());
    }
  }

  private someone(): OwnUser | 'anonymous' {
    return this.rng.chance(0.3) ? 'anonymous' : this.rng.pick(this.users);
  }

  private sysop(): OwnUser | 'admin' {
    return this.rng.chance(0.6) ? 'admin' : this.rng.pick(this.users);
  }

  private refuse(): void {
    this.run.count('refusedRequests');
  }

  private remember(t: Title): void {
    if (this.known.length >= 40) this.known.splice(this.rng.int(this.known.length), 1);
    this.known.push(t);
  }

  private async pickPage(req: Request, where = '1=1'): Promise<CurRow | null> {
    const hot = this.rng.chance(0.3);
    const [{ n }] = await req.read<{ n: number }>(`SELECT COUNT(*) AS n FROM cur WHERE ${where}`);
    if (!n) return null;
    const offset = hot ? Math.max(0, n - 1 - this.rng.int(Math.min(n, 8))) : this.rng.int(n);
    const [row] = await req.read<{ cur_id: number }>(`SELECT cur_id FROM cur WHERE ${where} ORDER BY cur_id LIMIT ${offset},1`);
    return row ? loadCur(req, row.cur_id) : null;
  }

  // ------------------------------------------------------------ page actions

  private async view(): Promise<void> {
    await this.request(this.someone(), async (req) => {
      const ownTalk = { ns: NS_USER_TALK, key: actorName(req.actor).replace(/ /g, '_') };
      let row = this.rng.chance(0.25) ? await this.loadByTitle(req, ownTalk) : null;
      row ??= await this.pickPage(req);
      if (!row) return this.refuse();
      if (row.cur_is_redirect) {
        const target = wikiLinks(row.cur_text)[0];
        const id = target ? await articleId(req, target.title) : 0;
        if (id) row = (await loadCur(req, id)) ?? row;
      }
      await incViewCount(req, row.cur_id);
      siteStatsUpdate(req, 1, 0, 0);
      this.run.count('views');
      const t = curTitle(row);
      if (t.ns === NS_USER_TALK && textForm(t) === actorName(req.actor)) {
        const cleared = req.actor.user ? await saveNewtalk(req, req.actor.user.name, false) : await saveNewtalk(req, req.actor.ip, false);
        if (cleared) this.run.count('newtalkCleared');
      }
    });
  }

  /** EditPage then updateArticle on an existing page. */
  private async edit(target?: Title): Promise<void> {
    const who = this.someone();
    await this.request(who, async (req) => {
      const row = target ? await this.loadByTitle(req, target) : await this.pickPage(req);
      if (!row || !mayChange(req, row, 'edit')) return this.refuse();
      await this.saveEdit(req, row, this.editFor(req, row));
    });
  }

  private editFor(req: Request, row: CurRow): EditRequest {
    const t = curTitle(row);
    const r = this.rng.next();
    const body = r < 0.04 ? row.cur_text
      : r < 0.09 && this.known.length ? redirectText(this.rng.pick(this.known))
        : editedText(this.rng, t, row.cur_text, this.known);
    return {
      body,
      summary: this.rng.pick(SUMMARIES),
      minor: this.rng.chance(0.3),
      watchthis: req.actor.user !== null && this.rng.chance(0.4),
    };
  }

  private async saveEdit(req: Request, row: CurRow, edit: EditRequest): Promise<void> {
    const open = await beginUpdate(req, row.cur_id, row.cur_minor_edit);
    if (!open) return this.refuse();
    const outcome = await finishUpdate(req, open, edit);
    this.countEdit(req, outcome, edit);
  }

  private countEdit(req: Request, outcome: 'saved' | 'conflict' | 'unchanged', edit: EditRequest): void {
    if (outcome === 'conflict') this.run.count('conflicts');
    else if (outcome === 'unchanged') this.run.count('unchangedSaves');
    else {
      this.run.count('edits');
      if (edit.minor && req.actor.user) this.run.count('minorEdits');
    }
  }

  private async loadByTitle(req: Request, t: Title): Promise<CurRow | null> {
    const id = await articleId(req, t);
    return id ? loadCur(req, id) : null;
  }

  private async create(): Promise<void> {
    const who = this.someone();
    const t = await this.newPageTitle(who);
    let existed = false;
    await this.request(who, async (req) => {
      if (await articleId(req, t)) {
        existed = true;
        return;
      }
      const body = this.rng.chance(0.05) && this.known.length
        ? redirectText(this.rng.pick(this.known))
        : pageText(this.rng, t, Array.from({ length: this.rng.int(6) }, () => linkTarget(this.rng, this.known)));
      const watchthis = req.actor.user !== null && this.rng.chance(0.5);
      await insertNewArticle(req, t, body, this.rng.pick(SUMMARIES), this.rng.chance(0.2), watchthis);
      this.remember(t);
      this.run.count('creates');
    });
    if (existed) await this.edit(t);
  }

  private async newPageTitle(who: OwnUser | 'anonymous'): Promise<Title> {
    const r = this.rng.next();
    if (r < 0.6) return { ns: 0, key: vocabularyTitle(this.rng) };
    if (r < 0.7) return { ns: 1, key: this.known.length ? this.rng.pick(this.known).key : vocabularyTitle(this.rng) };
    if (r < 0.76 && who !== 'anonymous') return { ns: NS_USER, key: who.name.replace(/ /g, '_') };
    if (r < 0.88) return { ns: NS_USER_TALK, key: await this.someUserName() };
    if (r < 0.95) return { ns: 4, key: vocabularyTitle(this.rng) };
    return { ns: NS_CATEGORY, key: this.rng.pick(WORDS) };
  }

  /** A user talk page owner: anyone registered, or an anonymous IP. */
  private async someUserName(): Promise<string> {
    if (this.rng.chance(0.2)) return this.ip(0);
    let name = ADMIN_NAME;
    await this.request('anonymous', async (req) => {
      const [{ n }] = await req.read<{ n: number }>('SELECT COUNT(*) AS n FROM user');
      const [row] = await req.read<{ user_name: Buffer }>(`SELECT user_name FROM user ORDER BY user_id LIMIT ${this.rng.int(n)},1`);
      if (row) name = text(row.user_name);
    });
    return name.replace(/ /g, '_');
  }

  /** Two requests on one page: B saves between A's read of cur and A's guarded UPDATE. */
  private async editRace(): Promise<void> {
    const a = this.someone();
    await this.request(a, async (reqA) => {
      const row = await this.pickPage(reqA);
      if (!row || !mayChange(reqA, row, 'edit')) return this.refuse();
      const editA = this.editFor(reqA, row);
      const open = await beginUpdate(reqA, row.cur_id, row.cur_minor_edit);
      if (!open) return this.refuse();
      await this.edit(curTitle(row));
      this.countEdit(reqA, await finishUpdate(reqA, open, editA), editA);
    });
  }

  /** A form loaded before someone else saved: EditPage compares edit times and writes nothing. */
  private async staleEdit(): Promise<void> {
    let stale: { t: Title; edittime: string } | null = null;
    await this.request(this.someone(), async (req) => {
      const row = await this.pickPage(req);
      if (row) stale = { t: curTitle(row), edittime: text(row.cur_timestamp) };
    });
    if (!stale) return this.refuse();
    const form: { t: Title; edittime: string } = stale;
    await this.edit(form.t);
    await this.request(this.someone(), async (req) => {
      const row = await this.loadByTitle(req, form.t);
      if (row && text(row.cur_timestamp) !== form.edittime) this.run.count('staleEditForms');
      else if (row) await this.saveEdit(req, row, this.editFor(req, row));
    });
  }

  /** SpecialMovepage: the page, then its talk page, to titles that do not exist. */
  private async move(): Promise<void> {
    await this.request(this.rng.pick(this.users), async (req) => {
      const hasTalk = ' AND EXISTS (SELECT 1 FROM cur t WHERE t.cur_namespace = cur.cur_namespace + 1 AND t.cur_title = cur.cur_title)';
      const row = await this.pickPage(req, `cur_namespace IN (0,2,4) AND cur_is_redirect=0${this.rng.chance(0.5) ? hasTalk : ''}`);
      if (!row || !mayChange(req, row, 'move') || !mayChange(req, row, 'edit')) return this.refuse();
      const from = curTitle(row);
      const to = { ns: this.rng.chance(0.85) ? 0 : 4, key: vocabularyTitle(this.rng) };
      if (await articleId(req, to)) return this.refuse();
      await moveToNewTitle(req, from, to, row.cur_id);
      this.remember(to);
      this.run.count('moves');
      if (from.ns === 0 && to.ns !== 0) siteStatsUpdate(req, 0, 1, -1);
      else if (from.ns !== 0 && to.ns === 0) siteStatsUpdate(req, 0, 1, 1);
      await this.moveTalkPage(req, from, to);
    });
  }

  private async moveTalkPage(req: Request, from: Title, to: Title): Promise<void> {
    const talkFrom = { ns: from.ns | 1, key: from.key };
    const talkTo = { ns: to.ns | 1, key: to.key };
    const id = await articleId(req, talkFrom);
    if (!id || (await articleId(req, talkTo)) || this.rng.chance(0.2)) return;
    await moveToNewTitle(req, talkFrom, talkTo, id);
    this.run.count('talkPageMoves');
  }

  private async delete(): Promise<void> {
    await this.request(this.sysop(), async (req) => {
      if (!isSysop(req.actor)) return this.refuse();
      const row = await this.pickPage(req, "NOT (cur_namespace=0 AND cur_title='Main_Page')");
      if (!row) return this.refuse();
      const objects = await req.read(cat('SELECT old_flags FROM old WHERE ', makeList({ old_namespace: row.cur_namespace, old_title: row.cur_title }, 'and', ["old_flags LIKE '%object%'"]), ' LIMIT 1'), 'Article::delete');
      if (objects.length) return this.refuse();
      await doDeleteArticle(req, row, this.rng.chance(0.5) ? 'vandalism' : `content was: '${text(row.cur_text).slice(0, 40).replace(/[\n\r"<>]/g, ' ')}'`);
      this.run.count('deletes');
    });
  }

  private async undelete(): Promise<void> {
    await this.request(this.sysop(), async (req) => {
      if (!isSysop(req.actor)) return this.refuse();
      const titles = await req.read<{ ar_namespace: number; ar_title: Buffer }>('SELECT ar_namespace,ar_title, COUNT(*) AS count FROM archive GROUP BY ar_namespace,ar_title ORDER BY ar_namespace,ar_title', 'PageArchive::listAllPages');
      if (!titles.length) return this.refuse();
      const pick = this.rng.pick(titles);
      await undeleteAll(req, { ns: pick.ar_namespace, key: text(pick.ar_title) });
      this.run.count('undeletes');
    });
  }

  private async protect(): Promise<void> {
    await this.request(this.sysop(), async (req) => {
      if (!isSysop(req.actor)) return this.refuse();
      const protectedOnly = this.rng.chance(0.4) ? await this.pickPage(req, "cur_restrictions LIKE '%sysop%'") : null;
      const row = protectedOnly ?? (await this.pickPage(req));
      if (!row) return this.refuse();
      const unprotect = text(row.cur_restrictions).includes('sysop');
      const limit = unprotect ? '' : 'sysop';
      const value = this.rng.chance(0.2) && !unprotect ? `move=${limit}` : `move=${limit}:edit=${limit}`;
      await req.write(sqlUpdate('cur', { cur_touched: req.now, cur_restrictions: value }, { cur_id: row.cur_id }), 'Article::protect');
      await logEntry(req, 'protect', unprotect ? 'unprotect' : 'protect', curTitle(row), this.rng.pick(['edit war', '', 'vandalism']));
      this.run.count(unprotect ? 'unprotects' : 'protects');
    });
  }

  /** Article::rollback: back to the last version by someone else, optionally marking edits as bot. */
  private async rollback(): Promise<void> {
    await this.request(this.sysop(), async (req) => {
      if (!isSysop(req.actor)) return this.refuse();
      const row = await this.pickPage(req);
      if (!row) return this.refuse();
      const last = await this.lastOtherRevision(req, row);
      if (!last) return this.refuse();
      const bot = this.rng.chance(0.3);
      if (bot) {
        await req.write(sqlUpdate('recentchanges', { rc_bot: 1 }, { rc_user: row.cur_user }, [`rc_timestamp > '${text(last.old_timestamp)}'`]), 'Article::rollback');
      }
      const summary = `Reverted edit of ${text(row.cur_user_text)}, changed back to last version by ${text(last.old_user_text)}`;
      const open = await beginUpdate(req, row.cur_id, 0);
      if (!open) return;
      const watchthis = await isWatched(req, curTitle(row));
      const outcome = await finishUpdate(req, open, { body: revisionText(last.old_text, last.old_flags), summary, minor: true, watchthis, forceBot: bot });
      if (outcome !== 'conflict') this.run.count('rollbacks');
      else this.run.count('conflicts');
    });
  }

  private async lastOtherRevision(req: Request, row: CurRow): Promise<{ old_text: Buffer; old_flags: Buffer; old_timestamp: Buffer; old_user_text: Buffer } | null> {
    const conds = makeList({ old_namespace: row.cur_namespace, old_title: row.cur_title }, 'and', [
      cat(`old_user <> ${row.cur_user} OR old_user_text <> '`, addslashes(row.cur_user_text), `'`),
    ]);
    const [last] = await req.read<{ old_text: Buffer; old_flags: Buffer; old_timestamp: Buffer; old_user_text: Buffer }>(
      cat('SELECT old_text,old_user,old_user_text,old_timestamp,old_flags FROM old USE INDEX (name_title_timestamp) WHERE ', conds, ' ORDER BY inverse_timestamp LIMIT 1 FOR UPDATE'),
      'Article::rollback',
    );
    return last ?? null;
  }

  private async patrol(): Promise<void> {
    await this.request(this.sysop(), async (req) => {
      if (!isSysop(req.actor)) return this.refuse();
      const rows = await req.read<{ rc_id: number }>('SELECT rc_id FROM recentchanges WHERE rc_patrolled=0 ORDER BY rc_id LIMIT 20');
      if (!rows.length) return this.refuse();
      await req.write(sqlUpdate('recentchanges', { rc_patrolled: 1 }, { rc_id: this.rng.pick(rows).rc_id }), 'RecentChange::markPatrolled');
      this.run.count('patrols');
    });
  }

  private async watch(): Promise<void> {
    await this.request(this.rng.pick(this.users), async (req) => {
      const row = await this.pickPage(req);
      if (!row) return this.refuse();
      await watchArticle(req, curTitle(row));
    });
  }

  private async unwatch(): Promise<void> {
    await this.request(this.rng.pick(this.users), async (req) => {
      const rows = await req.read<{ wl_namespace: number; wl_title: Buffer }>(`SELECT wl_namespace,wl_title FROM watchlist WHERE wl_user='${actorId(req.actor)}'`);
      if (!rows.length) return this.refuse();
      const w = this.rng.pick(rows);
      await unwatchArticle(req, { ns: w.wl_namespace, key: text(w.wl_title) });
    });
  }

  // ------------------------------------------------------------ account actions

  private async register(): Promise<void> {
    const name = `${this.rng.pick(GIVEN_NAMES)} ${this.index}-${++this.serial}`;
    const password = `pw-${this.rng.int(1e6)}`;
    await this.request('anonymous', async (req) => {
      if (await idForName(req, name)) return this.refuse();
      const id = await registerUser(req, name, password, `${name.replace(/\W+/g, '.')}@example.org`, this.rng.chance(0.5) ? name : '');
      this.users.push({ id, name, password });
      this.run.count('registrations');
    });
  }

  /** A Special:Preferences-style request: `change` edits the loaded user (false: refused), saveSettings. */
  private async asOwnUser(kind: CountKind, change: (u: UserRecord, req: Request, own: OwnUser) => boolean | void): Promise<void> {
    const own = this.rng.pick(this.users);
    await this.request(own, async (req) => {
      const u = req.actor.user;
      if (!u || change(u, req, own) === false) return this.refuse();
      u.touched = Buffer.from(req.now);
      await saveSettings(req, u);
      this.run.count(kind);
    });
  }

  private login(): Promise<void> {
    return this.asOwnUser('logins', (u, req, own) => {
      if (text(u.password) !== passwordHash(u.id, own.password)) return false;
      const remember = this.rng.chance(0.5);
      setOption(u, 'rememberpassword', remember ? '1' : '0');
      if (remember) u.token = Buffer.from(md5(`${u.name}${req.rng.next()}`));
    });
  }

  private preferences(): Promise<void> {
    return this.asOwnUser('preferenceChanges', (u) => {
      setOption(u, this.rng.pick(['skin', 'rows', 'cols', 'rclimit', 'nickname']), this.rng.pick(['monobook', 'classic', '30', '100', 'Zoë ~ "nick"']));
    });
  }

  private password(): Promise<void> {
    return this.asOwnUser('passwordChanges', (u, _req, own) => {
      own.password = `pw-${this.rng.int(1e6)}`;
      u.password = Buffer.from(passwordHash(u.id, own.password));
    });
  }

  private email(): Promise<void> {
    return this.asOwnUser('emailChanges', (u) => {
      u.email = Buffer.from(`${this.rng.pick(['new', 'other', 'zoë'])}.${u.id}@example.net`);
      u.realName = Buffer.from(this.rng.pick(['', 'Real Name', "O'Brien \\ Ünal"]));
    });
  }

  /** SpecialUserlogin "mail me a new password": anyone, for a named account. */
  private async newPassword(): Promise<void> {
    const target = this.rng.pick(this.users);
    await this.request('anonymous', async (req) => {
      const u = await loadUser(req, target.id);
      if (!u) return this.refuse();
      u.newPassword = Buffer.from(passwordHash(u.id, `mailed-${this.rng.int(1e6)}`));
      await saveSettings(req, u);
      this.run.count('newPasswordMails');
    });
  }

  /** SpecialMakesysop: the bureaucrat's +sysop/+bureaucrat, or a developer's literal rights. */
  private async rights(): Promise<void> {
    const actor = this.rng.chance(0.7) ? 'admin' : this.rng.pick(this.users);
    await this.request(actor, async (req) => {
      const rights = req.actor.user?.rights ?? [];
      if (!rights.includes('bureaucrat')) return this.refuse();
      const target = this.rng.pick(this.users);
      const [row] = await req.read<{ ur_user: number | null; ur_rights: Buffer | null }>(
        cat('SELECT ur_user, ur_rights FROM user LEFT JOIN user_rights ON user_id=ur_user WHERE user_name = ', addQuotes(target.name), ' FOR UPDATE'),
      );
      if (!row || row.ur_user === null) return this.refuse();
      const change = rights.includes('developer') ? this.developerRights() : this.bureaucratRights(text(row.ur_rights));
      if (!change) return this.refuse();
      await req.write(sqlReplace('user_rights', [{ ur_user: row.ur_user, ur_rights: change.rights }]), 'MakesysopForm::doSubmit');
      await logEntry(req, 'rights', 'rights', { ns: NS_USER, key: target.name.replace(/ /g, '_') }, change.notation);
      this.run.count('rightsChanges');
    });
  }

  private developerRights(): { rights: string; notation: string } {
    const rights = this.rng.pick(['sysop', 'sysop,bureaucrat', 'bot', '', 'sysop,bot']);
    return { rights, notation: `=${rights}` };
  }

  private bureaucratRights(current: string): { rights: string; notation: string } | null {
    const buro = this.rng.chance(0.3);
    if (!current) return { rights: buro ? 'sysop,bureaucrat' : 'sysop', notation: buro ? '+sysop +bureaucrat' : '+sysop' };
    const rights = current.split(',');
    const notation: string[] = [];
    for (const [right, wanted] of [['sysop', true], ['bureaucrat', buro]] as const) {
      if (!wanted || rights.includes(right)) continue;
      rights.push(right);
      notation.push(`+${right} `);
    }
    return notation.length ? { rights: rights.join(','), notation: notation.join(' ') } : null;
  }
}

// ---------------------------------------------------------------- set-up and entry points

/** Creates `db` with 1.4's tables and the installer's site_stats row. Leaves `conn` using `db`. */
export async function loadSchema14(conn: Connection, db: string): Promise<void> {
  if (!/^[A-Za-z0-9_$]+$/.test(db)) {
    throw Object.assign(new Error(`database name ${JSON.stringify(db)} is not a plain identifier: use letters, digits, _ and $`), { code: 'WORKLOAD_BAD_DATABASE_NAME' });
  }
  await conn.query(`CREATE DATABASE \`${db}\``);
  await conn.query(`USE \`${db}\``);
  for (const ddl of SCHEMA_1_4) await conn.query(ddl);
  await conn.query('INSERT INTO site_stats (ss_row_id,ss_total_views,ss_total_edits,ss_good_articles) VALUES (1,0,0,0)');
}

/**
 * Runs `actions` user actions from `clients` concurrent simulated users against a 1.4 database
 * (made by loadSchema14), after the installer's steps: the WikiSysop account (sysop, bureaucrat,
 * developer) and the Main Page, when missing.
 */
export async function runWorkload14(opts: WorkloadOptions14): Promise<Counts> {
  if (!Number.isInteger(opts.clients) || opts.clients < 1 || !Number.isInteger(opts.actions) || opts.actions < 0) {
    throw Object.assign(new Error(`runWorkload14 needs a whole number of clients (>= 1) and actions (>= 0), got ${opts.clients} and ${opts.actions}`), { code: 'WORKLOAD_BAD_OPTIONS' });
  }
  const run = new Run(opts);
  await install(run);
  const share = (i: number) => Math.floor(opts.actions / opts.clients) + (i < opts.actions % opts.clients ? 1 : 0);
  await Promise.all(Array.from({ length: opts.clients }, async (_, i) => {
    const client = new Client(run, i);
    try {
      for (let n = share(i); n > 0 && !run.failed && !opts.stop?.(); n--) {
        await client.act();
        if (opts.thinkMs) await new Promise((r) => setTimeout(r, opts.thinkMs));
      }
    } catch (err) {
      run.failed = true;
      throw err;
    }
  }));
  return run.counts;
}

/** The installer's account and Main Page; the clock continues after what the wiki holds. */
async function install(run: Run): Promise<void> {
  const conn = await run.connect();
  const rng = new Rng(run.seed);
  try {
    const req = new Request(conn, run, rng, { ip: '127.0.0.1', user: null });
    const [latest] = await req.read<Record<string, Buffer | null>>(
      'SELECT (SELECT MAX(rc_timestamp) FROM recentchanges) AS rc, (SELECT MAX(cur_touched) FROM cur) AS cur, (SELECT MAX(user_touched) FROM user) AS user',
    );
    run.clock = new Clock(Math.max(START_MS, ...Object.values(latest).map((v) => parseMwTimestamp(text(v)))));
    run.adminId = (await idForName(req, ADMIN_NAME)) || (await installAdmin(req));
    req.actor.user = await loadUser(req, run.adminId);
    const main = { ns: 0, key: 'Main_Page' };
    if (!(await articleId(req, main))) {
      await insertNewArticle(req, main, Buffer.from("'''MediaWiki has been successfully installed.'''\n\nConsult the [[Help:Contents|User's Guide]].\n"), '', false, false);
    }
    await req.runDeferred();
  } finally {
    await conn.end();
  }
}

async function installAdmin(req: Request): Promise<number> {
  const id = await registerUser(req, ADMIN_NAME, ADMIN_PASSWORD, '', '');
  const u = await loadUser(req, id);
  if (!u) throw Object.assign(new Error(`the ${ADMIN_NAME} account just created (id ${id}) cannot be read back`), { code: 'WORKLOAD_INSTALL_FAILED' });
  u.rights = ['sysop', 'bureaucrat', 'developer'];
  u.touched = Buffer.from(req.now);
  await saveSettings(req, u);
  return id;
}
