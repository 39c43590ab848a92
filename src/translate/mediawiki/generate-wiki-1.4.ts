import { deflateRawSync } from 'node:zlib';
import type { Connection } from 'mysql2/promise';

/**
 * A MediaWiki 1.4 wiki of a chosen size written straight into 1.4's tables with multi-row INSERTs,
 * much faster than runWorkload14 gets there, in the shape the workload leaves: 14-char timestamps
 * and inverse timestamps, 'utf-8' and 'utf-8,gzip' history, rights lists, watchlists holding a
 * page and its talk page, links and broken links, and archived pages the way Article::
 * doDeleteArticle leaves them (the cur row with ar_flags '0', the old rows with their own flags).
 * Deterministic for a seed. runWorkload14 can run on top: its clock continues after these rows.
 */

export interface GenerateOptions14 {
  /** Live pages (cur rows). */
  pages: number;
  /** Revisions of each live and each archived page, its current one included (>= 1). */
  revisionsPerPage: number;
  /** Accounts; user 1 is WikiSysop, the installer's account. */
  users: number;
  seed?: number;
  /** Deleted pages, with all their revisions in archive. */
  archivedPages?: number;
}

/** Rows written, by table (`revisions` counts the live pages' cur and old rows). */
export interface GeneratedWiki14 {
  pages: number;
  revisions: number;
  old: number;
  users: number;
  archive: number;
  watchlist: number;
  links: number;
}

const WORDS = ('tundra glacier quartz pebble saffron raven granite nectar zephyr apple harbour meadow lantern ' +
  'orchid copper velvet thistle cinder marble juniper falcon prairie cobalt willow ember fjord basalt').split(' ');
const NAMESPACES = [0, 0, 0, 0, 0, 0, 1, 1, 2, 4];
const START_S = Date.UTC(2004, 0, 1) / 1000;
const OPTIONS = 'quickbar=1\nunderline=1\nhover=1\ncols=80\nrows=25\nsearchlimit=20\nskin=monobook';
/** Rows per INSERT; pages per slice, so that the text of 100 000 revisions is never all in memory. */
const BATCH = 1000;
const SLICE = 500;

const CUR_COLUMNS = ['cur_id', 'cur_namespace', 'cur_title', 'cur_text', 'cur_comment', 'cur_user', 'cur_user_text', 'cur_timestamp', 'cur_restrictions',
  'cur_counter', 'cur_is_redirect', 'cur_minor_edit', 'cur_is_new', 'cur_random', 'cur_touched', 'inverse_timestamp'];
const OLD_COLUMNS = ['old_namespace', 'old_title', 'old_text', 'old_comment', 'old_user', 'old_user_text', 'old_timestamp', 'old_minor_edit', 'old_flags', 'inverse_timestamp'];
const ARCHIVE_COLUMNS = ['ar_namespace', 'ar_title', 'ar_text', 'ar_comment', 'ar_user', 'ar_user_text', 'ar_timestamp', 'ar_minor_edit', 'ar_flags'];

type Row = (string | number | Buffer)[];

/** mulberry32: small, fast, and the same sequence on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function timestamp(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** 1.4's inverse timestamp: each digit d as 9 - d. */
const inverse = (ts: string) => ts.replace(/\d/g, (d) => String(9 - Number(d)));
const title = (i: number) => {
  const word = WORDS[i % WORDS.length];
  return `${word[0].toUpperCase()}${word.slice(1)}_${WORDS[(i * 7 + 3) % WORDS.length]}_${i}`;
};
const display = (t: string) => t.replace(/_/g, ' ');
const userName = (id: number) => (id === 1 ? 'WikiSysop' : `Editor ${id}`);
const namespaceOf = (page: number) => NAMESPACES[page % NAMESPACES.length];

async function insertRows(conn: Connection, table: string, columns: string[], rows: Row[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    await conn.query(`INSERT INTO ${table} (${columns.join(',')}) VALUES ?`, [rows.slice(i, i + BATCH)]);
  }
}

function checkOptions(opts: GenerateOptions14): void {
  const whole = (n: number | undefined, min: number) => n === undefined || (Number.isInteger(n) && n >= min);
  if (!whole(opts.pages, 0) || !whole(opts.revisionsPerPage, 1) || !whole(opts.users, 1) || !whole(opts.archivedPages, 0)) {
    throw Object.assign(
      new Error(`generateWiki14 needs whole numbers: pages >= 0, revisionsPerPage >= 1, users >= 1, archivedPages >= 0; got ${JSON.stringify(opts)}`),
      { code: 'GENERATE_BAD_OPTIONS' },
    );
  }
}

/** Writes the wiki into the database `conn` uses, which must hold loadSchema14's empty tables. */
export async function generateWiki14(conn: Connection, opts: GenerateOptions14): Promise<GeneratedWiki14> {
  checkOptions(opts);
  return new Generator(conn, opts).run();
}

class Generator {
  private readonly rand: () => number;
  /** Seconds; every revision takes the next one. Archived pages come first, so the live ones hold the latest time. */
  private clock: number;

  constructor(
    private readonly conn: Connection,
    private readonly opts: GenerateOptions14,
  ) {
    this.rand = rng(opts.seed ?? 1405);
    this.clock = START_S + opts.users + 10;
  }

  async run(): Promise<GeneratedWiki14> {
    const users = await this.users();
    const archive = await this.archive();
    const { old, links } = await this.pages();
    const watchlist = await this.watchlist();
    const revisions = this.opts.pages * this.opts.revisionsPerPage;
    await this.conn.query(`UPDATE site_stats SET ss_total_edits = ${revisions}, ss_good_articles = ${this.opts.pages}`);
    return { pages: this.opts.pages, revisions, old, users, archive, watchlist, links };
  }

  private int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  private nextTimestamp(): string {
    return timestamp(this.clock++);
  }

  private someUser(): number {
    return 1 + this.int(this.opts.users);
  }

  /** 1-3 KB of wikitext ending in links to `targets`. */
  private wikitext(page: number, targets: string[]): Buffer {
    const parts = [`'''${display(title(page))}''' `];
    const size = 1000 + this.int(2000);
    let n = parts[0].length;
    while (n < size) {
      const s = `${Array.from({ length: 8 + this.int(10) }, () => WORDS[this.int(WORDS.length)]).join(' ')}. `;
      parts.push(s);
      n += s.length;
    }
    parts.push(`\nSee also ${targets.map((l) => `[[${display(l)}]]`).join(', ')}.\n`);
    return Buffer.from(parts.join(''));
  }

  /** One history revision: every third one compressed, as $wgCompressRevisions left them. */
  private history(r: number, page: number, targets: string[]): { ts: string; user: number; text: Buffer; comment: string; minor: number; flags: string } {
    const ts = this.nextTimestamp();
    const user = this.someUser();
    const body = this.wikitext(page, targets);
    const gzip = r % 3 === 0;
    return { ts, user, text: gzip ? deflateRawSync(body) : body, comment: r ? 'copyedit' : '', minor: r % 4 === 1 ? 1 : 0, flags: gzip ? 'utf-8,gzip' : 'utf-8' };
  }

  private async users(): Promise<number> {
    const { users } = this.opts;
    const rows = Array.from({ length: users }, (_, i): Row => {
      const id = i + 1;
      return [id, userName(id), '', 'd0be3085fbae73d23da1a400efab0b85', '', `editor.${id}@example.org`, OPTIONS, timestamp(START_S + id), '197301dede1f402278f9993bd85d08ae'];
    });
    await insertRows(this.conn, 'user', ['user_id', 'user_name', 'user_real_name', 'user_password', 'user_newpassword', 'user_email', 'user_options', 'user_touched', 'user_token'], rows);
    const rights: Row[] = [[1, 'sysop,bureaucrat,developer']];
    for (let id = 2; id <= users; id += 9) rights.push([id, id % 2 ? 'sysop' : 'bot']);
    await insertRows(this.conn, 'user_rights', ['ur_user', 'ur_rights'], rights);
    return users;
  }

  /** Deleted pages, numbered after the live ones so that no title is both live and archived. */
  private async archive(): Promise<number> {
    const { pages, revisionsPerPage, archivedPages = 0 } = this.opts;
    const rows: Row[] = [];
    for (let page = pages + 1; page <= pages + archivedPages; page++) {
      const ns = namespaceOf(page);
      const targets = [title(1 + this.int(Math.max(1, pages)))];
      for (let r = 0; r < revisionsPerPage - 1; r++) {
        const h = this.history(r, page, targets);
        rows.push([ns, title(page), h.text, h.comment, h.user, userName(h.user), h.ts, h.minor, h.flags]);
      }
      // The cur row, copied with ar_flags '0' and its text as it was: cur was never compressed.
      const user = this.someUser();
      rows.push([ns, title(page), this.wikitext(page, targets), 'stub', user, userName(user), this.nextTimestamp(), 0, '0']);
    }
    await insertRows(this.conn, 'archive', ARCHIVE_COLUMNS, rows);
    return rows.length;
  }

  private async pages(): Promise<{ old: number; links: number }> {
    const { pages, revisionsPerPage } = this.opts;
    const links: Row[] = [];
    const broken: Row[] = [];
    let oldRows = 0;
    for (let first = 1; first <= pages; first += SLICE) {
      const cur: Row[] = [];
      const old: Row[] = [];
      for (let id = first; id < Math.min(first + SLICE, pages + 1); id++) {
        const ns = namespaceOf(id);
        const linked = [1 + this.int(pages), 1 + this.int(pages), 1 + this.int(pages)];
        const missing = `Missing_${WORDS[this.int(WORDS.length)]}_${this.int(pages)}`;
        const targets = [...linked.map(title), missing];
        for (let r = 0; r < revisionsPerPage - 1; r++) {
          const h = this.history(r, id, targets);
          old.push([ns, title(id), h.text, h.comment, h.user, userName(h.user), h.ts, h.minor, h.flags, inverse(h.ts)]);
        }
        const ts = this.nextTimestamp();
        const user = this.someUser();
        cur.push([id, ns, title(id), this.wikitext(id, targets), 'expand', user, userName(user), ts, id % 50 ? '' : 'move=sysop:edit=sysop',
          this.int(500), 0, 0, revisionsPerPage === 1 ? 1 : 0, this.rand(), ts, inverse(ts)]);
        for (const to of new Set(linked)) links.push([id, to]);
        broken.push([id, missing]);
      }
      await insertRows(this.conn, 'cur', CUR_COLUMNS, cur);
      await insertRows(this.conn, 'old', OLD_COLUMNS, old);
      oldRows += old.length;
    }
    await insertRows(this.conn, 'links', ['l_from', 'l_to'], links);
    await insertRows(this.conn, 'brokenlinks', ['bl_from', 'bl_to'], broken);
    return { old: oldRows, links: links.length };
  }

  /** 1.4 watched a page and its talk page together: two rows each. */
  private async watchlist(): Promise<number> {
    const { pages, users } = this.opts;
    const rows: Row[] = [];
    if (!pages) return 0;
    for (let u = 1; u <= users; u++) {
      for (const p of new Set(Array.from({ length: 5 }, () => 1 + this.int(pages)))) {
        const ns = namespaceOf(p);
        rows.push([u, ns & ~1, title(p)], [u, ns | 1, title(p)]);
      }
    }
    await insertRows(this.conn, 'watchlist', ['wl_user', 'wl_namespace', 'wl_title'], rows);
    return rows.length;
  }
}
