// Statement classification for the proxy hot path: looks at the first keywords only (plus a scan
// where the kind depends on later text: WITH, SET STATEMENT ... FOR, SET), never parses the whole
// statement, and decodes nothing but the words it compares.
import { Lexer, type LexOptions } from './lexer.js';
import { parseSetAssignments, type SetAssignment } from './set-assignments.js';

export type { SetAssignment } from './set-assignments.js';

export type StatementKind =
  | 'read'
  | 'write'
  | 'begin'
  | 'commit'
  | 'rollback'
  | 'savepoint'
  | 'rollback_to'
  | 'release_savepoint'
  | 'use'
  | 'set'
  | 'other';

export type WriteKind = 'insert' | 'replace' | 'update' | 'delete' | 'load' | 'ddl' | 'other';

export interface Classified {
  kind: StatementKind;
  /** When kind is 'write'. */
  writeKind?: WriteKind;
  /**
   * The statement commits the open transaction before it runs (DDL, BEGIN, LOCK TABLES, ...).
   * UNLOCK TABLES is marked too although it commits only while LOCK TABLES is in effect, and
   * SET autocommit = 1 is not although it commits when autocommit was 0: the caller knows that state.
   */
  implicitCommit: boolean;
  /** Savepoint name (savepoint, rollback_to, release_savepoint), database for 'use'; unquoted. */
  name?: string;
  /** For 'set'. */
  assignments?: SetAssignment[];
  /** LOAD DATA LOCAL / LOAD XML LOCAL: the file comes from the client over the protocol. */
  loadLocal?: boolean;
}

const LPAREN = 0x28;
const RPAREN = 0x29;
const SEMICOLON = 0x3b;

export function classify(sql: Buffer, opts: LexOptions = {}): Classified {
  return classifyNext(new Lexer(sql, opts), opts);
}

function classifyNext(lx: Lexer, opts: LexOptions): Classified {
  const t = lx.next();
  if (lx.isPunct(LPAREN)) return read(); // (SELECT ...) UNION (SELECT ...)
  if (t !== 'word') return other();
  return classifyKeyword(lx.upper(), lx, opts);
}

/** `keyword` is the statement's first word, `lx` is positioned just after it. */
function classifyKeyword(keyword: string, lx: Lexer, opts: LexOptions): Classified {
  switch (keyword) {
    case 'SELECT':
    case 'VALUES':
    case 'TABLE':
    case 'SHOW':
    case 'DESCRIBE':
    case 'DESC':
    case 'EXPLAIN':
    case 'HELP':
    case 'DO':
    case 'HANDLER':
    case 'CHECKSUM':
      return read();
    case 'CHECK':
      return read(true);
    case 'INSERT':
      return write('insert');
    case 'REPLACE':
      return write('replace');
    case 'UPDATE':
      return write('update');
    case 'DELETE':
      return write('delete');
    case 'LOAD':
      return classifyLoad(lx);
    case 'CREATE':
      return classifyCreate(lx);
    case 'DROP':
      return classifyDrop(lx);
    case 'ALTER':
    case 'RENAME':
    case 'TRUNCATE':
    case 'GRANT':
    case 'REVOKE':
      return write('ddl', true);
    case 'CALL':
    case 'EXECUTE': // a prepared statement's text is not visible here: assume it writes
    case 'BINLOG': // row events from mysqlbinlog output
      return write('other');
    // MariaDB runs compound statements outside stored programs; their bodies can do anything.
    case 'IF':
    case 'CASE':
    case 'LOOP':
    case 'REPEAT':
    case 'WHILE':
    case 'FOR':
      return write('other');
    case 'BEGIN':
      lx.next();
      return lx.isWord('NOT') ? write('other') : { kind: 'begin', implicitCommit: true };
    case 'START':
      lx.next();
      return lx.isWord('TRANSACTION') ? { kind: 'begin', implicitCommit: true } : other();
    case 'COMMIT':
      return { kind: 'commit', implicitCommit: false };
    case 'ROLLBACK':
      return classifyRollback(lx);
    case 'SAVEPOINT':
      return named('savepoint', lx);
    case 'RELEASE':
      lx.next();
      return lx.isWord('SAVEPOINT') ? named('release_savepoint', lx) : other();
    case 'LOCK':
    case 'UNLOCK':
      lx.next();
      return other(lx.isWord('TABLES') || lx.isWord('TABLE'));
    case 'USE':
      return named('use', lx);
    case 'SET':
      return classifySet(lx, opts);
    case 'WITH':
      return classifyWith(lx, opts);
    case 'ANALYZE':
      return classifyAnalyze(lx, opts);
    case 'OPTIMIZE':
    case 'REPAIR':
    case 'FLUSH':
    case 'RESET':
    case 'INSTALL':
    case 'UNINSTALL':
      return other(true);
    default:
      return other(); // XA, PREPARE, DEALLOCATE, KILL, PURGE, SIGNAL, GET DIAGNOSTICS, ...
  }
}

function read(implicitCommit = false): Classified {
  return { kind: 'read', implicitCommit };
}

function write(writeKind: WriteKind, implicitCommit = false): Classified {
  return { kind: 'write', writeKind, implicitCommit };
}

function other(implicitCommit = false): Classified {
  return { kind: 'other', implicitCommit };
}

/** `kind` followed by a name: SAVEPOINT sp, RELEASE SAVEPOINT sp, USE db. */
function named(kind: 'savepoint' | 'release_savepoint' | 'rollback_to' | 'use', lx: Lexer): Classified {
  const t = lx.next();
  if (t !== 'word' && t !== 'ident') return other();
  return { kind, implicitCommit: false, name: lx.name() };
}

/** ROLLBACK [WORK] [TO [SAVEPOINT] name] [AND [NO] CHAIN] [[NO] RELEASE] */
function classifyRollback(lx: Lexer): Classified {
  lx.next();
  if (lx.isWord('WORK')) lx.next();
  if (!lx.isWord('TO')) return { kind: 'rollback', implicitCommit: false };
  const afterTo = lx.fork();
  lx.next();
  return named('rollback_to', lx.isWord('SAVEPOINT') ? lx : afterTo);
}

/** LOAD DATA|XML [LOW_PRIORITY|CONCURRENT] [LOCAL] INFILE ...; LOAD INDEX INTO CACHE is not a write. */
function classifyLoad(lx: Lexer): Classified {
  lx.next();
  if (!lx.isWord('DATA') && !lx.isWord('XML')) return other();
  lx.next();
  if (lx.isWord('LOW_PRIORITY') || lx.isWord('CONCURRENT')) lx.next();
  return { kind: 'write', writeKind: 'load', implicitCommit: false, loadLocal: lx.isWord('LOCAL') };
}

/** CREATE [OR REPLACE] TEMPORARY TABLE does not commit in MariaDB; every other CREATE does. */
function classifyCreate(lx: Lexer): Classified {
  lx.next();
  if (lx.isWord('OR')) {
    lx.next(); // REPLACE
    lx.next();
  }
  if (!lx.isWord('TEMPORARY')) return write('ddl', true);
  lx.next();
  return write('ddl', !lx.isWord('TABLE'));
}

/** DROP TEMPORARY TABLE|SEQUENCE does not commit; DROP PREPARE is DEALLOCATE PREPARE. */
function classifyDrop(lx: Lexer): Classified {
  lx.next();
  if (lx.isWord('PREPARE')) return other();
  return write('ddl', !lx.isWord('TEMPORARY'));
}

/** WITH cte AS (...) [, ...] <statement>: the first top-level statement keyword decides. */
function classifyWith(lx: Lexer, opts: LexOptions): Classified {
  let depth = 0;
  for (let t = lx.next(); t !== 'end'; t = lx.next()) {
    if (lx.isPunct(LPAREN)) depth++;
    else if (lx.isPunct(RPAREN)) depth--;
    else if (lx.isPunct(SEMICOLON)) break;
    else if (t === 'word' && depth === 0) {
      const word = lx.upper();
      if (word === 'SELECT' || word === 'INSERT' || word === 'UPDATE' || word === 'DELETE' || word === 'REPLACE') {
        return classifyKeyword(word, lx, opts);
      }
    }
  }
  return read();
}

/** ANALYZE TABLE is maintenance; MariaDB's ANALYZE [FORMAT=JSON] <statement> runs the statement. */
function classifyAnalyze(lx: Lexer, opts: LexOptions): Classified {
  const statement = lx.fork();
  lx.next();
  if (lx.isWord('FORMAT')) {
    lx.next(); // =
    lx.next(); // JSON
    return classifyNext(lx, opts);
  }
  if (lx.isWord('SELECT') || lx.isWord('INSERT') || lx.isWord('UPDATE') || lx.isWord('DELETE') || lx.isWord('REPLACE')) {
    return classifyNext(statement, opts);
  }
  return other(true);
}

function classifySet(lx: Lexer, opts: LexOptions): Classified {
  const body = lx.fork();
  lx.next();
  if (lx.isWord('STATEMENT')) return classifySetStatement(lx, opts);
  if (lx.isWord('PASSWORD')) return write('ddl', true);
  if (lx.isWord('ROLE')) return other();
  if (lx.isWord('DEFAULT')) {
    lx.next();
    if (lx.isWord('ROLE')) return other(true); // it writes the grant tables, which commits
  } else if (lx.isWord('GLOBAL') || lx.isWord('SESSION')) {
    lx.next();
  }
  if (lx.isWord('TRANSACTION')) return other();
  const assignments = parseSetAssignments(body, opts);
  return assignments === null ? other() : { kind: 'set', implicitCommit: false, assignments };
}

/** MariaDB SET STATEMENT var = value [, ...] FOR <statement>: classified as the statement. */
function classifySetStatement(lx: Lexer, opts: LexOptions): Classified {
  return skipPastFor(lx) ? classifyNext(lx, opts) : other();
}

/** Moves `lx` (just after SET STATEMENT) past the top-level FOR; false when there is none. */
function skipPastFor(lx: Lexer): boolean {
  let depth = 0;
  for (let t = lx.next(); t !== 'end'; t = lx.next()) {
    if (lx.isPunct(LPAREN)) depth++;
    else if (lx.isPunct(RPAREN)) depth--;
    else if (depth === 0 && lx.isWord('FOR')) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Replay hazards of writes, and user variables set by reads.

// CURRENT_USER needs no parentheses, so it is matched as a word; LAST_INSERT_ID only without an argument.
const NONDETERMINISTIC_CALLS = new Set([
  'RAND',
  'UUID',
  'UUID_SHORT',
  'SYSDATE',
  'CONNECTION_ID',
  'USER',
  'SESSION_USER',
  'SYSTEM_USER',
  'FOUND_ROWS',
  'ROW_COUNT',
  'GET_LOCK',
  'RELEASE_LOCK',
  'SLEEP',
]);

// After these words `name (` is a table and its column list (INSERT INTO user (...)), not a call.
const TABLE_CONTEXT = new Set([
  'INTO',
  'INSERT',
  'REPLACE',
  'IGNORE',
  'LOW_PRIORITY',
  'HIGH_PRIORITY',
  'DELAYED',
  'TABLE',
  'FROM',
  'JOIN',
  'UPDATE',
  'REFERENCES',
  'EXISTS',
  'ON',
  '.',
]);

const LIMITED_WRITES = new Set<WriteKind | undefined>(['insert', 'replace', 'update', 'delete']);

/**
 * Reasons a write may not replay to the same result, as short messages (empty when it replays
 * deterministically). NOW(), CURRENT_TIMESTAMP, UNIX_TIMESTAMP() are not listed: replay sets the
 * original SET TIMESTAMP. `taintedVars` holds '@name' keys of user variables set by reads.
 */
export function writeFlags(sql: Buffer, taintedVars: ReadonlySet<string>, opts: LexOptions = {}): string[] {
  const classified = classify(sql, opts);
  const flags = new Set<string>();
  if (classified.writeKind === 'load' && !classified.loadLocal) {
    flags.add('LOAD DATA without LOCAL reads a file on the server');
  }
  const verb = statementVerb(sql, opts);
  if (verb === 'CALL') flags.add('stored procedure: effects not visible to the proxy');
  if (verb === 'EXECUTE') flags.add('EXECUTE of a prepared statement: its text is not visible to the proxy');
  const checkLimit = LIMITED_WRITES.has(classified.writeKind);
  const ordered: boolean[] = [false]; // per paren depth: ORDER BY seen in this query block
  let prev = '';
  let prevPrev = '';
  const lx = new Lexer(sql, opts);
  for (let t = lx.next(); t !== 'end'; t = lx.next()) {
    let current = '';
    if (t === 'word') {
      current = lx.upper();
      if (current === 'CURRENT_USER') flags.add('nondeterministic function CURRENT_USER');
      else if (current === 'BY' && prev === 'ORDER') ordered[ordered.length - 1] = true;
      else if (current === 'LIMIT' && checkLimit && !ordered[ordered.length - 1]) {
        flags.add('LIMIT without ORDER BY: which rows it takes depends on storage order');
      }
    } else if (lx.isPunct(LPAREN)) {
      current = '(';
      if (NONDETERMINISTIC_CALLS.has(prev) && !TABLE_CONTEXT.has(prevPrev)) flags.add(`nondeterministic function ${prev}()`);
      ordered.push(false);
    } else if (lx.isPunct(RPAREN)) {
      if (prev === '(' && prevPrev === 'LAST_INSERT_ID') flags.add('nondeterministic function LAST_INSERT_ID()');
      if (ordered.length > 1) ordered.pop();
    } else if (t === 'punct') {
      current = lx.buf.toString('latin1', lx.start, lx.stop);
    } else if (t === 'uservar' && taintedVars.size > 0) {
      const key = lx.userVarKey();
      if (taintedVars.has(key)) flags.add(`user variable ${key} was set by a read`);
    }
    prevPrev = prev;
    prev = current;
  }
  return [...flags];
}

/** The first keyword of the statement that runs (the one after FOR in SET STATEMENT ... FOR). */
function statementVerb(sql: Buffer, opts: LexOptions): string {
  const lx = new Lexer(sql, opts);
  lx.next();
  if (!lx.isWord('SET')) return lx.upper();
  lx.next();
  if (!lx.isWord('STATEMENT')) return 'SET';
  if (!skipPastFor(lx)) return '';
  lx.next();
  return lx.upper();
}

/**
 * User variables a read assigns, as '@name' keys: SELECT @a := ..., SELECT ... INTO @a, @b.
 * (A plain `@a = 1` in a SELECT is a comparison.)
 */
export function userVarsAssignedByRead(sql: Buffer, opts: LexOptions = {}): string[] {
  if (sql.indexOf(0x40) === -1) return [];
  const assigned = new Set<string>();
  const lx = new Lexer(sql, opts);
  let t = lx.next();
  while (t !== 'end') {
    if (t === 'uservar') {
      const key = lx.userVarKey();
      t = lx.next();
      if (lx.isColonEquals()) assigned.add(key);
    } else if (lx.isWord('INTO')) {
      t = lx.next();
      while (t === 'uservar') {
        assigned.add(lx.userVarKey());
        t = lx.next();
        if (!lx.isPunct(0x2c)) break;
        t = lx.next();
      }
    } else {
      t = lx.next();
    }
  }
  return [...assigned];
}
