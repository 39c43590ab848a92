import type { AdminConnection } from '../admin/admin-client.js';
import type { ReplayEngine } from '../apply/replay-engine.js';
import type { Logger } from '../log.js';
import type { VerifyReport } from '../verify/verify.js';

export interface SwitchoverStep { name: string; ms: number; detail?: Record<string, unknown> }

export interface SwitchoverReport {
  ok: boolean;
  rehearsal: boolean;
  /** Why it stopped short; null when it completed. Before the flip, an abort leaves the old side serving. */
  aborted: { step: string; reason: string; blockers?: unknown[] } | null;
  steps: SwitchoverStep[];
  /** From the lock reply to the unlock (or lock-reject) reply: how long writes were held. */
  holdMs: number;
  lockedSeq: number | null;
  /** The last seq of the old side the standby applied before it was stopped (or, if it was not, at the end). */
  finalSeq: number | null;
  verification: VerifyReport | null;
  totalMs: number;
  /** stop() was called on the standby: the caller starts a new one to keep replaying. */
  standbyStopped: boolean;
  /** The flip took place (the proxy repointed, or the hook ran): the new side is the one serving. */
  flipped: boolean;
}

/**
 * identity: the proxy repoints its upstream. hook: the app tier switches (a command); `run` may be
 * given a signal that aborts when the flip budget is spent.
 */
export type Flip =
  | { kind: 'upstream'; host: string; port: number }
  | { kind: 'hook'; run: (signal?: AbortSignal) => Promise<void>; describe: string };

/** What the switchover uses of the replay into the new side. */
export type Standby = Pick<ReplayEngine, 'lagSeconds' | 'waitFor' | 'stop' | 'appliedSeq'>;

export interface SwitchoverBudgets {
  /** Waiting for quiescence: the lock, and each drain. */
  lockMs: number;
  /** The standby applying up to a locked or drained seq (and finishing its batch when stopped). */
  catchUpMs: number;
  verifyMs: number;
  /** The flip: `flip` on the proxy, or the hook plus the drains after it. */
  flipMs: number;
  /** The whole switchover, preconditions to release. */
  totalMs: number;
}

export interface SwitchoverPlan {
  /** Kept open from lock to unlock: the lock is leased to it, so losing it unlocks the gate. */
  admin: AdminConnection;
  standby: Standby;
  preconditions: { maxLagSeconds: number; lastVerification: VerifyReport | null };
  budgets: SwitchoverBudgets;
  /**
   * The final verification, run with the gate locked and the standby at `toSeq`, so neither side
   * moves. `fromSeq` is what the standby had applied when the switchover began; the caller widens
   * it to its last verified seq when it scopes the check to what changed.
   */
  verify(fromSeq: number, toSeq: number): Promise<VerifyReport>;
  flip: Flip;
  /** Everything up to (not including) stopping the standby and flipping, then unlock. */
  rehearse?: boolean;
  log: Logger;
}
