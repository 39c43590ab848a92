import { performance } from 'node:perf_hooks';
import type { Classified } from '../sql/classify.js';
import { classify, userVarsAssignedByRead, writeFlags } from '../sql/classify.js';
import { inlineParams } from '../sql/inline-params.js';
import { decodeStmtExecute } from '../protocol/stmt-execute.js';
import { renderLiteral } from '../protocol/sql-literal.js';
import type { OkPacket } from '../protocol/ok-packet.js';
import type { JournalStatement } from '../journal/record.js';
import type { PreparedStatement } from './prepared-statements.js';
import type { SessionContext } from './session-context.js';

export interface ExecuteInfo {
  payload: Buffer;
  longData: Map<number, Buffer[]>;
  /** Known when the statement was prepared before this execute was sent. */
  ps: PreparedStatement | undefined;
  lookup: (id: number) => PreparedStatement | undefined;
}

/** A statement sent to the server whose result has not come back yet. */
export interface PendingStatement {
  sql: Buffer;
  classified: Classified;
  /** Proxy time of execution in µs since the epoch: replay sets TIMESTAMP to it for NOW(). */
  ts: number;
  execute?: ExecuteInfo;
  /** Why this statement's journal text may not be exact (set while resolving an execute). */
  problems: string[];
  resolved: boolean;
}

const UNKNOWN: Classified = { kind: 'other', implicitCommit: false };
const AT = 0x40;

export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * Turns statements the client sent into journal statements: resolves prepared executes into
 * executable text with their parameters inlined, and attaches the replay context.
 */
export class StatementRecorder {
  constructor(private readonly ctx: () => SessionContext, private readonly noBackslashEscapes: () => boolean) {}

  pending(sql: Buffer, classified: Classified): PendingStatement {
    return { sql, classified, ts: nowMicros(), problems: [], resolved: true };
  }

  pendingExecute(payload: Buffer, longData: Map<number, Buffer[]>, lookup: ExecuteInfo['lookup']): PendingStatement {
    const ps = lookup(payload.readUInt32LE(1));
    return {
      sql: ps?.sql ?? Buffer.alloc(0),
      classified: ps?.classified ?? UNKNOWN,
      ts: nowMicros(),
      execute: { payload, longData, ps, lookup },
      problems: [],
      resolved: false,
    };
  }

  /** The statement's final classification; for a prepared write, its text with parameters inlined. */
  resolve(st: PendingStatement): Classified {
    if (st.resolved || !st.execute) return st.classified;
    st.resolved = true;
    const ps = st.execute.ps ?? st.execute.lookup(st.execute.payload.readUInt32LE(1));
    if (!ps) {
      st.problems.push('executed a prepared statement the proxy never saw prepared');
      return st.classified;
    }
    st.classified = ps.classified;
    st.sql = ps.sql;
    if (ps.classified.kind === 'read') return st.classified; // nothing to journal: skip the decode
    try {
      st.sql = this.inline(ps, st.execute);
      if (ps.classified.kind === 'set') st.classified = classify(st.sql);
    } catch (e) {
      st.problems.push(`parameters could not be inlined (${(e as Error).message}); the text keeps its placeholders`);
    }
    return st.classified;
  }

  /** A failed execute still bound parameter types that later executes may reuse. */
  decodeForTypes(st: PendingStatement): void {
    if (st.resolved || !st.execute) return;
    st.resolved = true;
    const ps = st.execute.ps ?? st.execute.lookup(st.execute.payload.readUInt32LE(1));
    if (!ps || ps.classified.kind === 'read') return;
    try {
      ps.types = decodeStmtExecute(st.execute.payload, ps.numParams, ps.types, st.execute.longData).types;
    } catch {
      // The server rejected this execute too; nothing was written, nothing to record.
    }
  }

  private inline(ps: PreparedStatement, ex: ExecuteInfo): Buffer {
    const decoded = decodeStmtExecute(ex.payload, ps.numParams, ps.types, ex.longData);
    ps.types = decoded.types;
    if (ps.numParams === 0) return ps.sql;
    const opts = { noBackslashEscapes: this.noBackslashEscapes() };
    return inlineParams(ps.sql, decoded.params.map((p) => renderLiteral(p, opts)));
  }

  record(st: PendingStatement, ok: OkPacket | null): JournalStatement {
    const ctx = this.ctx();
    const sql = Buffer.from(st.sql); // the packet's buffer is shared with the rest of its chunk
    const flags = writeFlags(sql, ctx.tainted);
    if (!ok) st.problems.push('answered with rows (RETURNING): the affected-row count is unknown');
    return {
      sql,
      db: ctx.db,
      session: ctx.snapshot(),
      ts: st.ts,
      affectedRows: ok ? Number(ok.affectedRows) : 0,
      insertId: ok ? ok.insertId.toString() : '0',
      flags: st.problems.length > 0 ? [...flags, ...st.problems] : flags,
      kind: st.classified.writeKind ?? 'other',
    };
  }

  /** SELECT @x := ..., SELECT ... INTO @x: values that replay cannot reproduce. */
  noteRead(st: PendingStatement): void {
    if (st.sql.indexOf(AT) < 0) return;
    const vars = userVarsAssignedByRead(st.sql);
    if (vars.length > 0) this.ctx().taint(vars);
  }
}
