/** 0 open, 1 locking, 2 locked, 3 rejecting: the order of the metamorph_gate_state gauge. */
export const GATE_STATES = ['open', 'locking', 'locked', 'rejecting'] as const;
export type GateState = (typeof GATE_STATES)[number];

export type Admission = 'go' | 'hold' | 'reject';

/** What the gate needs to know of a client session. */
export interface GateMember {
  readonly id: number;
  readonly user: string;
  readonly clientAddress: string;
  readonly startedAt: number;
  readonly lastStatement: string;
  /** A transaction that has written and not ended, or a write the server has not answered. */
  readonly writing: boolean;
  /** When its open transaction first wrote (ms since epoch), or null. */
  readonly writingSince: number | null;
  readonly heldCount: number;
  /** Let held writes go to the server, in their original order; `pass`: past a gate still locked (drain). */
  releaseHeld(pass?: boolean): void;
  /** Answer every held write with an ERR carrying `message`; none reaches the server. */
  failHeld(message: string): void;
}

export interface Blocker { id: number; user: string; host: string; connectedSeconds: number; writingSeconds: number | null; lastStatement: string }

export type LockResult =
  | { ok: true; state: 'locked'; seq: number; waitedMs: number; held: number }
  | { ok: false; error: string; waitedMs: number; blockers: Blocker[] };

export interface GateHooks {
  /** Journal position once every acknowledged commit is durable. */
  settledSeq(): Promise<number>;
  onHoldEnded?(seconds: number): void;
}

/**
 * The blocking queue of the design. `lock` holds new writes (reads and transactions that
 * already wrote go on) until nothing is writing: then the database is quiesced at a journal
 * position. `reject` answers writes with a read-only error instead.
 */
export class WriteGate {
  private current: GateState = 'open';
  private readonly members = new Set<GateMember>();
  private quiesce: (() => void) | null = null;
  private lockedAt: number | null = null;
  /** The longest any single write has waited at the gate since the proxy started. */
  longestHoldSeconds = 0;

  constructor(private readonly hooks: GateHooks) {}

  get state(): GateState {
    return this.current;
  }

  get heldWrites(): number {
    let n = 0;
    for (const m of this.members) n += m.heldCount;
    return n;
  }

  join(m: GateMember): void {
    this.members.add(m);
  }

  leave(m: GateMember): void {
    this.members.delete(m);
    this.poke();
  }

  /**
   * May a write go to the server now? `alreadyWriting`: the session's transaction has written,
   * so it may run to its end while the gate is locking.
   */
  admit(alreadyWriting: boolean): Admission {
    switch (this.current) {
      case 'open':
        return 'go';
      case 'rejecting':
        return 'reject';
      case 'locking':
        return alreadyWriting ? 'go' : 'hold';
      case 'locked':
        return 'hold';
    }
  }

  /** A session finished something that may have been the last write in flight. */
  poke(): void {
    if (this.quiesce && !this.anyWriting()) this.quiesce();
  }

  holdEnded(seconds: number): void {
    this.longestHoldSeconds = Math.max(this.longestHoldSeconds, seconds);
    this.hooks.onHoldEnded?.(seconds);
  }

  async lock(timeoutMs: number): Promise<LockResult> {
    const started = Date.now();
    if (this.current === 'locked') {
      return { ok: true, state: 'locked', seq: await this.hooks.settledSeq(), waitedMs: 0, held: this.heldWrites };
    }
    if (this.current === 'locking') return { ok: false, error: 'a lock is already in progress', waitedMs: 0, blockers: [] };
    this.current = 'locking';
    const quiesced = await this.waitForQuiescence(timeoutMs);
    const waitedMs = Date.now() - started;
    if (!quiesced || this.current !== 'locking') {
      const blockers = this.blockers();
      if (this.current === 'locking') this.open();
      return {
        ok: false,
        error: quiesced ? 'lock abandoned by another command' : `not quiesced within ${timeoutMs} ms: the lock was abandoned and held writes released`,
        waitedMs,
        blockers,
      };
    }
    this.current = 'locked';
    this.lockedAt = Date.now();
    return { ok: true, state: 'locked', seq: await this.hooks.settledSeq(), waitedMs, held: this.heldWrites };
  }

  private waitForQuiescence(timeoutMs: number): Promise<boolean> {
    if (!this.anyWriting()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.quiesce = null;
        resolve(false);
      }, timeoutMs);
      this.quiesce = () => {
        clearTimeout(timer);
        this.quiesce = null;
        resolve(true);
      };
    });
  }

  /**
   * While locked: the writes held now run (their transactions may go on writing), new writes of
   * other sessions stay held; locked again once nothing is writing. A translated switchover uses
   * it so writes held in the old schema are journaled and translated, not refused.
   */
  async drain(timeoutMs: number): Promise<LockResult & { released?: number }> {
    const started = Date.now();
    if (this.current !== 'locked') return { ok: false, error: `drain needs the gate locked (it is ${this.current})`, waitedMs: 0, blockers: [] };
    const released = this.heldWrites;
    this.current = 'locking';
    for (const m of [...this.members]) m.releaseHeld(true);
    const quiesced = await this.waitForQuiescence(timeoutMs);
    const waitedMs = Date.now() - started;
    if (!quiesced || this.current !== 'locking') {
      return { ok: false, error: quiesced ? 'drain interrupted by another command' : `not quiesced within ${timeoutMs} ms after releasing ${released} held writes; the gate still holds new writes`, waitedMs, blockers: this.blockers() };
    }
    this.current = 'locked';
    return { ok: true, state: 'locked', seq: await this.hooks.settledSeq(), waitedMs, held: this.heldWrites, released };
  }

  /** Writes get an immediate read-only error; held ones too. */
  reject(): { ok: true; state: 'rejecting'; rejected: number } {
    const rejected = this.heldWrites;
    this.current = 'rejecting';
    this.quiesce?.();
    for (const m of this.members) m.failHeld('the database is read-only while it is being upgraded (metamorph write gate in reject mode); this write was not executed');
    return { ok: true, state: 'rejecting', rejected };
  }

  unlock(): { ok: true; state: 'open'; released: number; lockedMs: number | null } {
    const released = this.heldWrites;
    const lockedMs = this.lockedAt === null ? null : Date.now() - this.lockedAt;
    this.quiesce?.();
    this.open();
    return { ok: true, state: 'open', released, lockedMs };
  }

  /** Proxy exit: held writes never ran; their clients get an ERR, not silence. */
  shutdown(): void {
    for (const m of this.members) m.failHeld('the proxy is shutting down; this write was held by the upgrade write gate and was not executed; retry it');
    this.current = 'open';
  }

  private open(): void {
    this.current = 'open';
    this.lockedAt = null;
    for (const m of [...this.members]) m.releaseHeld();
  }

  private anyWriting(): boolean {
    for (const m of this.members) if (m.writing) return true;
    return false;
  }

  blockers(): Blocker[] {
    const now = Date.now();
    return [...this.members].filter((m) => m.writing).map((m) => ({
      id: m.id,
      user: m.user,
      host: m.clientAddress,
      connectedSeconds: Math.round((now - m.startedAt) / 100) / 10,
      writingSeconds: m.writingSince === null ? null : Math.round((now - m.writingSince) / 100) / 10,
      lastStatement: m.lastStatement,
    }));
  }
}
