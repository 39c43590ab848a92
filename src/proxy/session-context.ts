import type { SetAssignment } from '../sql/classify.js';

/**
 * What a replayer needs to re-create this client's session before a write: current database,
 * session variables set with constant values, charset, constant user variables. Variables set
 * by non-constant expressions are "tainted": writes that read them are flagged.
 */
export class SessionContext {
  db: string | null;
  private readonly vars = new Map<string, string>();
  private readonly taintedVars = new Set<string>();
  /** NOT_REPLAYED settings, kept only to re-create the session on another upstream. */
  private readonly local = new Map<string, string>();
  private snapshotCache: Record<string, string> | null = null;

  constructor(db: string | null, charsetFragment: string | null) {
    this.db = db;
    if (charsetFragment) this.vars.set('names', charsetFragment);
  }

  /** Keys that only steer the proxy's own transaction tracking; the replayer decides these. */
  private static readonly NOT_REPLAYED = new Set(['autocommit', 'transaction_isolation', 'tx_isolation', 'transaction_read_only', 'tx_read_only']);

  apply(assignments: readonly SetAssignment[]): void {
    for (const a of assignments) {
      if (a.scope === 'global') continue;
      if (SessionContext.NOT_REPLAYED.has(a.key)) {
        if (a.constant) this.local.set(a.key, a.fragment);
        else this.taintedVars.add(a.key);
        continue;
      }
      if (a.constant) {
        this.vars.set(a.key, a.fragment);
        this.taintedVars.delete(a.key);
      } else {
        this.vars.delete(a.key);
        this.taintedVars.add(a.key);
      }
    }
    this.snapshotCache = null;
  }

  taint(userVars: readonly string[]): void {
    for (const v of userVars) {
      this.taintedVars.add(v);
      this.vars.delete(v);
    }
    this.snapshotCache = null;
  }

  get tainted(): ReadonlySet<string> {
    return this.taintedVars;
  }

  /** Shared, immutable view; rebuilt only after a change, so writes don't each allocate one. */
  snapshot(): Record<string, string> {
    if (!this.snapshotCache) this.snapshotCache = Object.freeze(Object.fromEntries(this.vars)) as Record<string, string>;
    return this.snapshotCache;
  }

  /** Every SET fragment that re-creates this session's settings elsewhere ('names' excluded: see `names`). */
  restoreFragments(): string[] {
    return [...this.vars].filter(([k]) => k !== 'names').map(([, f]) => f).concat([...this.local.values()]);
  }

  get names(): string | undefined {
    return this.vars.get('names');
  }

  /** COM_RESET_CONNECTION / COM_CHANGE_USER: the server forgets variables. */
  reset(db: string | null, charsetFragment: string | null): void {
    this.db = db;
    this.vars.clear();
    this.local.clear();
    this.taintedVars.clear();
    if (charsetFragment) this.vars.set('names', charsetFragment);
    this.snapshotCache = null;
  }
}
