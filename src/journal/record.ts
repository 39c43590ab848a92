export interface JournalStatement {
  /** Exact bytes to execute with the text protocol (binary-safe). */
  sql: Buffer;
  /** Current database when executed. */
  db: string | null;
  /** Replay context: key -> SET fragment, e.g. {sql_mode: "@@SESSION.sql_mode = ''", names: "NAMES utf8mb4"}. */
  session: Record<string, string>;
  /** Proxy's time of execution, integer microseconds since the epoch. */
  ts: number;
  affectedRows: number;
  /** Decimal string (the server's last_insert_id may exceed 2^53); "0" if none. */
  insertId: string;
  /** Reasons the statement may not replay deterministically; [] if none. */
  flags: string[];
  /** 'insert' | 'update' | 'delete' | 'replace' | 'load' | 'ddl' | 'other' */
  kind: string;
}

/** What the proxy appends: one committed transaction. */
export interface JournalTxn {
  conn: number;
  statements: JournalStatement[];
}

/** What readers get; `last` marks the last statement of its transaction. */
export interface JournalEntry extends JournalStatement {
  seq: number;
  txn: number;
  conn: number;
  last: boolean;
}

export interface AppendResult {
  txn: number;
  firstSeq: number;
  lastSeq: number;
}

/**
 * An entry as stored: plus the bookkeeping of the write it came in. Every write() of the writer
 * is one batch of whole transactions; `batchSeq` is the seq of the batch's first record and
 * `batchEnd` marks its last record. Readers hand out only whole batches, and recovery uses them
 * to tell an unfinished final write (dropped) from damage to acknowledged data (an error).
 */
export interface StoredRecord {
  entry: JournalEntry;
  batchSeq: number;
  batchEnd: boolean;
}

/** Leaves room for the other fields under the codec's 1 GiB record limit. */
const MAX_SQL_BYTES = 1023 * 1024 * 1024;

/** Why `txn` cannot be recorded, or null when it can. */
export function checkTxn(txn: JournalTxn): string | null {
  if (!isU32(txn.conn)) return `conn must be an integer 0..2^32-1, got ${String(txn.conn)}`;
  if (!Array.isArray(txn.statements) || txn.statements.length === 0) return 'a transaction needs at least one statement';
  for (let i = 0; i < txn.statements.length; i++) {
    const problem = checkStatement(txn.statements[i]);
    if (problem) return `statement ${i}: ${problem}`;
  }
  return null;
}

function checkStatement(s: JournalStatement): string | null {
  if (!Buffer.isBuffer(s.sql)) return 'sql must be a Buffer';
  if (s.sql.length > MAX_SQL_BYTES) return `sql of ${s.sql.length} bytes is above the ${MAX_SQL_BYTES}-byte limit`;
  if (s.db !== null && typeof s.db !== 'string') return 'db must be a string or null';
  if (!isCount(s.ts)) return `ts must be a non-negative integer (microseconds), got ${String(s.ts)}`;
  if (!isCount(s.affectedRows)) return `affectedRows must be a non-negative integer, got ${String(s.affectedRows)}`;
  if (typeof s.insertId !== 'string' || !/^[0-9]{1,20}$/.test(s.insertId)) return `insertId must be a decimal string, got ${String(s.insertId)}`;
  if (typeof s.kind !== 'string') return 'kind must be a string';
  if (!Array.isArray(s.flags) || s.flags.some((f) => typeof f !== 'string')) return 'flags must be an array of strings';
  if (!isStringMap(s.session)) return 'session must be an object of string values';
  return null;
}

export function isStringMap(v: unknown): v is Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.values(v).every((x) => typeof x === 'string');
}

function isCount(n: unknown): boolean {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

function isU32(n: unknown): boolean {
  return Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xffffffff;
}
