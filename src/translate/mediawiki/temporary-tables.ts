// The only DDL a running 1.4 wiki issues: the temporary table of the hit counter flush
// (Article::incViewCount: CREATE TEMPORARY TABLE acchits ... SELECT ... FROM hitcounter, then
// UPDATE cur,acchits ..., then DROP TABLE acchits). It reads only hitcounter, which 1.5 has too,
// so it runs on the target as written, under a name of its source connection: every source
// connection has its own temporary tables, the replay has one connection for all. The DROP is
// made explicitly temporary, because a plain DROP TABLE would commit the replay transaction.
import type { JournalEntry } from '../../journal/record.js';
import { Lexer } from '../../sql/lexer.js';
import { toExecutableText } from '../../sql/executable-text.js';
import { TranslateError } from '../pack.js';
import { lexOptionsOf } from './parse-write.js';
import { quoteIdent } from './sql-render.js';
import type { Target } from './translation.js';

/** Tables of either version (without the table prefix): never a temporary table's name. */
const WIKI_TABLES: ReadonlySet<string> = new Set([
  'user', 'user_rights', 'user_groups', 'user_newtalk', 'cur', 'old', 'page', 'revision', 'text', 'archive', 'links',
  'brokenlinks', 'pagelinks', 'imagelinks', 'categorylinks', 'linkscc', 'site_stats', 'hitcounter', 'ipblocks', 'image',
  'oldimage', 'recentchanges', 'watchlist', 'math', 'searchindex', 'interwiki', 'querycache', 'objectcache', 'blobs',
  'validate', 'logging',
]);
/** 1.4 tables whose rows 1.5 stores differently (or not at all): SQL that reads them cannot run on 1.5. */
const CHANGED_TABLES = new Set(['cur', 'old', 'links', 'brokenlinks', 'user_rights', 'watchlist', 'linkscc', 'blobs', 'validate', 'archive', 'recentchanges']);
const COMMA = 0x2c;
const DOT = 0x2e;

export function isWikiTable(name: string, target: Target): boolean {
  return WIKI_TABLES.has(unprefixed(name, target));
}

/** The target's name for a temporary table of the entry's source connection. */
export function temporaryTable(target: Target, entry: JournalEntry, name: string): string {
  const own = `${name}_metamorph_conn${entry.conn}`;
  return target.db === null ? quoteIdent(own) : `${quoteIdent(target.db)}.${quoteIdent(own)}`;
}

export async function translateTemporaryTable(entry: JournalEntry, target: Target): Promise<void> {
  const lx = new Lexer(entry.sql, lexOptionsOf(entry.session));
  lx.next();
  if (lx.isWord('CREATE')) return createTemporary(entry, target, lx);
  if (lx.isWord('DROP')) return dropTemporary(entry, target, lx);
  throw new TranslateError('DDL other than a temporary table is not translated (a running 1.4 wiki issues none)');
}

/** CREATE TEMPORARY TABLE [IF NOT EXISTS] name <rest, run as written>. */
async function createTemporary(entry: JournalEntry, target: Target, lx: Lexer): Promise<void> {
  lx.next();
  if (!lx.isWord('TEMPORARY')) throw new TranslateError('CREATE of a permanent object is not translated (a running 1.4 wiki issues none)');
  lx.next();
  if (!lx.isWord('TABLE')) throw new TranslateError('CREATE TEMPORARY of anything but a table is not translated');
  let t = lx.next();
  let ifNotExists = '';
  if (lx.isWord('IF')) {
    lx.next(); // NOT
    lx.next(); // EXISTS
    ifNotExists = 'IF NOT EXISTS ';
    t = lx.next();
  }
  if (t !== 'word' && t !== 'ident') throw new TranslateError('CREATE TEMPORARY TABLE without a table name');
  const name = qualifiedName(lx);
  const rest = entry.sql.subarray(lx.stop);
  for (let r = lx.next(); r !== 'end'; r = lx.next()) {
    if ((r === 'word' || r === 'ident') && CHANGED_TABLES.has(unprefixed(lx.name(), target).toLowerCase())) {
      throw new TranslateError(`a temporary table built from ${lx.name()}, whose rows 1.5 stores differently, is not translated`);
    }
  }
  const body = toExecutableText(rest, lexOptionsOf(entry.session));
  await target.exec(`CREATE TEMPORARY TABLE ${ifNotExists}${temporaryTable(target, entry, name)} ${body}`);
}

/** DROP [TEMPORARY] TABLE [IF EXISTS] name[, name...] of tables that are not the wiki's. */
async function dropTemporary(entry: JournalEntry, target: Target, lx: Lexer): Promise<void> {
  lx.next();
  if (lx.isWord('TEMPORARY')) lx.next();
  if (!lx.isWord('TABLE')) throw new TranslateError('DROP of anything but a table is not translated');
  let t = lx.next();
  if (lx.isWord('IF')) {
    lx.next(); // EXISTS
    t = lx.next();
  }
  const names: string[] = [];
  for (; t === 'word' || t === 'ident'; t = lx.next()) {
    const name = qualifiedName(lx);
    if (isWikiTable(name, target)) throw new TranslateError(`DROP TABLE ${name} drops a table of the wiki; not translated`);
    names.push(temporaryTable(target, entry, name));
    if (lx.next() !== 'punct' || !lx.isPunct(COMMA)) break;
  }
  if (names.length === 0) throw new TranslateError('DROP TABLE without a table name');
  await target.exec(`DROP TEMPORARY TABLE IF EXISTS ${names.join(', ')}`);
}

/** The table name at the lexer (a `db.` qualifier, the source's database, is dropped). */
function qualifiedName(lx: Lexer): string {
  let name = lx.name();
  const after = lx.fork();
  if (after.next() === 'punct' && after.isPunct(DOT)) {
    after.next();
    name = after.name();
    lx.next();
    lx.next();
  }
  return name;
}

function unprefixed(name: string, target: Target): string {
  return name.startsWith(target.prefix) ? name.slice(target.prefix.length) : name;
}
