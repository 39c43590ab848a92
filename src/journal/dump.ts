import { isUtf8 } from 'node:buffer';
import { once } from 'node:events';
import { SqlTextError } from '../sql/errors.js';
import { toExecutableText } from '../sql/executable-text.js';
import { JournalReader } from './journal-reader.js';
import type { JournalEntry } from './record.js';

export interface DumpedEntry {
  seq: number;
  txn: number;
  conn: number;
  db: string | null;
  /** Executable text of the statement. */
  sql: string;
  /** The exact bytes, present only when they are not valid UTF-8 (then `sql` has hex literals for them). */
  sqlBase64?: string;
  /** Present when `sql` could not be made exact: why. */
  sqlInexact?: string;
  affectedRows: number;
  insertId: string;
  /** Microseconds since the epoch. */
  ts: number;
  kind: string;
  session: Record<string, string>;
  flags: string[];
  last: boolean;
}

/**
 * The JSON object a dump prints for one entry. SQL that is not valid UTF-8 is shown with its
 * string literals as hex literals (still executable and exact) and its bytes in `sqlBase64`. When
 * no exact text exists (invalid bytes outside literals), `sql` is a lossy decoding and
 * `sqlInexact` says why; `sqlBase64` is then the only exact form.
 */
export function formatEntry(e: JournalEntry): DumpedEntry {
  if (isUtf8(e.sql)) return dumped(e, e.sql.toString('utf8'), {});
  const exact = { sqlBase64: e.sql.toString('base64') };
  try {
    return dumped(e, toExecutableText(e.sql, { noBackslashEscapes: /NO_BACKSLASH_ESCAPES/i.test(e.session.sql_mode ?? '') }), exact);
  } catch (err) {
    if (!(err instanceof SqlTextError)) throw err;
    return dumped(e, e.sql.toString('utf8'), { ...exact, sqlInexact: err.message });
  }
}

function dumped(e: JournalEntry, sql: string, extra: Pick<DumpedEntry, 'sqlBase64' | 'sqlInexact'>): DumpedEntry {
  return {
    seq: e.seq,
    txn: e.txn,
    conn: e.conn,
    db: e.db,
    sql,
    ...extra,
    affectedRows: e.affectedRows,
    insertId: e.insertId,
    ts: e.ts,
    kind: e.kind,
    session: e.session,
    flags: e.flags,
    last: e.last,
  };
}

/** Writes one JSON line per entry to `out`, waiting when it is full; returns how many. */
export async function dumpJournal(opts: { dir: string; from?: number; follow?: boolean; out: NodeJS.WritableStream; signal?: AbortSignal }): Promise<number> {
  let count = 0;
  const entries = new JournalReader(opts.dir).entries({ from: opts.from, follow: opts.follow, signal: opts.signal });
  for await (const e of entries) {
    count++;
    if (!opts.out.write(`${JSON.stringify(formatEntry(e))}\n`) && !(await drained(opts.out, opts.signal))) break;
  }
  return count;
}

/** False when aborted before `out` drained. */
async function drained(out: NodeJS.WritableStream, signal?: AbortSignal): Promise<boolean> {
  try {
    await once(out as NodeJS.EventEmitter, 'drain', { signal });
    return true;
  } catch (err) {
    if ((err as Error).name === 'AbortError') return false;
    throw err;
  }
}

/** Prints a summary of the journal's checks, and each error found; true when there are none. */
export async function verifyJournal(dir: string, out: NodeJS.WritableStream): Promise<boolean> {
  const s = await new JournalReader(dir).verify();
  const seqs = s.records > 0 ? `seq ${s.firstSeq}..${s.lastSeq}` : 'no records';
  const lines = [`journal ${dir}: ${s.segments} segment(s), ${s.records} record(s), ${s.transactions} transaction(s), ${seqs}, ${s.bytes} bytes`];
  for (const e of s.errors) lines.push(`  error: ${e}`);
  lines.push(s.errors.length === 0 ? 'ok: every checksum, the framing and the seq order check out' : `FAILED: ${s.errors.length} error(s)`);
  out.write(`${lines.join('\n')}\n`);
  return s.errors.length === 0;
}
