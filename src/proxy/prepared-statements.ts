import type { Classified } from '../sql/classify.js';
import type { ParamType } from '../protocol/stmt-execute.js';

export interface PreparedStatement {
  /** The id the client knows. */
  id: number;
  /** The id on the current upstream: differs from `id` once the session moved to another server. */
  serverId: number;
  sql: Buffer;
  classified: Classified;
  numParams: number;
  /** Types bound by the last execute; an execute may reuse them (new_params_bound = 0). */
  types: ParamType[] | null;
  /** COM_STMT_SEND_LONG_DATA chunks for the next execute, by parameter index. */
  longData: Map<number, Buffer[]>;
  /** The raw parameter type bytes last bound (2 per parameter), kept to re-bind after a move. */
  typeBytes: Buffer | null;
  /** Re-prepared on a new server that has never seen its parameter types. */
  needsTypes: boolean;
}

/** MariaDB connectors may pipeline PREPARE + EXECUTE and name "the statement just prepared" so. */
export const LAST_PREPARED = 0xffffffff;

/** One client session's prepared statements, as the server numbered them. */
export class PreparedStatements {
  private readonly byId = new Map<number, PreparedStatement>();
  private last: PreparedStatement | null = null;
  private highestId = 0;

  add(id: number, sql: Buffer, classified: Classified, numParams: number, serverId = id): void {
    const ps: PreparedStatement = { id, serverId, sql, classified, numParams, types: null, longData: new Map(), typeBytes: null, needsTypes: false };
    this.byId.set(id, ps);
    this.last = ps;
    this.highestId = Math.max(this.highestId, id);
  }

  /** A client id no statement of this session ever had (for statements prepared after a move). */
  unusedId(): number {
    return this.highestId + 1;
  }

  all(): IterableIterator<PreparedStatement> {
    return this.byId.values();
  }

  get(id: number): PreparedStatement | undefined {
    return id === LAST_PREPARED ? this.last ?? undefined : this.byId.get(id);
  }

  close(id: number): void {
    const ps = this.get(id);
    if (!ps) return;
    this.byId.delete(ps.id);
    if (this.last === ps) this.last = null;
  }

  clear(): void {
    this.byId.clear();
    this.last = null;
  }

  get size(): number {
    return this.byId.size;
  }
}
