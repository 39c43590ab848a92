import { readFileSync } from 'node:fs';

/** One command of MariaDB's general log: the thread (connection id) and the statement text. */
export interface LoggedCommand { thread: number; command: string; text: string }

/** A transaction of one thread as the server saw it, with the writes that survived its savepoint rollbacks. */
export interface LoggedTransaction {
  thread: number;
  savepoints: number;
  rolledBackToSavepoint: number;
  end: 'commit' | 'rollback' | 'open';
  writes: string[];
}

// "251121 23:59:01\t     5 Query\tSELECT 1" or "\t\t     5 Query\tSELECT 1"; other lines continue the last statement.
const LINE = /^(?:\d{6}\s+\d{1,2}:\d{2}:\d{2})?\t+\s*(\d+) (Connect|Query|Quit|Init DB|Field List|Prepare|Execute|Close stmt|Reset stmt|Change user|Ping|Statistics|Refresh|Shutdown|Set option|Binlog Dump|Processlist|Kill|Debug|Long Data)\t?(.*)$/;
const WRITE = /^\s*(?:\/\*.*?\*\/\s*)?(INSERT|REPLACE|UPDATE|DELETE)\b/is;

/** The commands in a general log file; latin1 keeps every byte of binary literals as one character. */
export function readGeneralLog(path: string): LoggedCommand[] {
  const out: LoggedCommand[] = [];
  for (const line of readFileSync(path, 'latin1').split('\n')) {
    const m = LINE.exec(line);
    if (m) out.push({ thread: Number(m[1]), command: m[2], text: m[3] });
    else if (out.length > 0) out[out.length - 1].text += `\n${line}`;
  }
  return out;
}

/** The threads that logged in as `user`. */
export function threadsOf(commands: LoggedCommand[], user: string): Set<number> {
  const prefix = `${user}@`;
  return new Set(commands.filter((c) => c.command === 'Connect' && c.text.startsWith(prefix)).map((c) => c.thread));
}

/** The Query commands of `threads` whose text matches `pattern`. */
export function countQueries(commands: LoggedCommand[], threads: Set<number>, pattern: RegExp): number {
  return commands.filter((c) => c.command === 'Query' && threads.has(c.thread) && pattern.test(c.text)).length;
}

/**
 * Explicit transactions (BEGIN … COMMIT/ROLLBACK) of `threads` that used a SAVEPOINT. The writes
 * rolled back to a savepoint are dropped, so `writes` of a committed one is what must be journaled.
 */
export function savepointTransactions(commands: LoggedCommand[], threads: Set<number>): LoggedTransaction[] {
  const open = new Map<number, { t: LoggedTransaction; marks: Map<string, number> }>();
  const done: LoggedTransaction[] = [];
  const close = (thread: number, end: LoggedTransaction['end']) => {
    const o = open.get(thread);
    open.delete(thread);
    if (o && o.t.savepoints > 0) done.push({ ...o.t, end });
  };
  for (const c of commands) {
    if (!threads.has(c.thread)) continue;
    if (c.command === 'Quit') close(c.thread, 'rollback');
    if (c.command !== 'Query') continue;
    const sql = c.text.replace(/\/\*.*?\*\//gs, ' ').trim();
    const o = open.get(c.thread);
    if (/^(BEGIN|START TRANSACTION)\b/i.test(sql)) {
      close(c.thread, 'commit'); // BEGIN commits an open transaction implicitly
      open.set(c.thread, { t: { thread: c.thread, savepoints: 0, rolledBackToSavepoint: 0, end: 'open', writes: [] }, marks: new Map() });
    } else if (/^COMMIT\b/i.test(sql)) {
      close(c.thread, 'commit');
    } else if (/^ROLLBACK\s+(WORK\s+)?TO\b/i.test(sql) && o) {
      const name = savepointName(sql);
      o.t.rolledBackToSavepoint++;
      o.t.writes.length = o.marks.get(name) ?? o.t.writes.length;
    } else if (/^ROLLBACK\b/i.test(sql)) {
      close(c.thread, 'rollback');
    } else if (/^SAVEPOINT\b/i.test(sql) && o) {
      o.t.savepoints++;
      o.marks.set(savepointName(sql), o.t.writes.length);
    } else if (o && WRITE.test(c.text)) {
      o.t.writes.push(c.text);
    }
  }
  for (const thread of [...open.keys()]) close(thread, 'open');
  return done;
}

/** The name at the end of SAVEPOINT / ROLLBACK TO [SAVEPOINT] name, without backquotes. */
function savepointName(sql: string): string {
  return /`?(\w+)`?\s*$/.exec(sql)?.[1] ?? '';
}
