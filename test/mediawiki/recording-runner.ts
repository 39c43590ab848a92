import type { SqlRunner } from '../../src/translate/pack.js';
import type { JournalEntry } from '../../src/journal/record.js';

type Rows = Record<string, unknown>[];

export interface Call {
  /** The SQL with whitespace collapsed. */
  sql: string;
  params: unknown[];
}

/**
 * A SqlRunner that records what it is asked to run: SELECTs answer with the rows of the first
 * matching pattern, or what its function makes of the parameters (no match: no rows), writes report `affected` rows (1 unless a pattern says
 * otherwise) and insert ids counting up from 100.
 */
export class RecordingRunner implements SqlRunner {
  readonly calls: Call[] = [];
  private nextId = 100;

  constructor(
    private readonly rows: Array<[RegExp, Rows | ((params: unknown[]) => Rows)]> = [],
    private readonly affected: Array<[RegExp, number]> = [],
  ) {}

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const call = this.record(sql, params);
    const answer = this.rows.find(([re]) => re.test(call.sql))?.[1] ?? [];
    return (typeof answer === 'function' ? answer(params) : answer) as T[];
  }

  async exec(sql: string, params: unknown[] = []): Promise<{ affectedRows: number; insertId: number }> {
    const call = this.record(sql, params);
    return { affectedRows: this.affected.find(([re]) => re.test(call.sql))?.[1] ?? 1, insertId: this.nextId++ };
  }

  /** The statements run, as text. */
  get statements(): string[] {
    return this.calls.map((c) => c.sql);
  }

  private record(sql: string, params: unknown[]): Call {
    const call = { sql: sql.replace(/\s+/g, ' ').trim(), params };
    this.calls.push(call);
    return call;
  }
}

let seq = 0;

/** A journal entry for one 1.4 statement. */
export function entry(sql: string | Buffer, over: Partial<JournalEntry> = {}): JournalEntry {
  const text = typeof sql === 'string' ? Buffer.from(sql, 'utf8') : sql;
  const verb = text.toString('latin1', 0, 8).trim().split(/\s/)[0].toLowerCase();
  seq++;
  return {
    sql: text,
    db: 'wiki14',
    session: {},
    ts: 1_104_537_600_000_000 + seq,
    affectedRows: 1,
    insertId: '0',
    flags: [],
    kind: ['insert', 'replace', 'update', 'delete'].includes(verb) ? verb : 'other',
    seq,
    txn: seq,
    conn: 1,
    last: true,
    ...over,
  };
}
