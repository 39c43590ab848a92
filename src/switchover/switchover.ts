import { performance } from 'node:perf_hooks';
import type { VerifyReport } from '../verify/verify.js';
import { GateClient } from './gate-client.js';
import { StepTimer } from './step-timer.js';
import { asStepError, SwitchoverError } from './switchover-error.js';
import type { Flip, SwitchoverPlan, SwitchoverReport } from './switchover-plan.js';

export { hookFromCommand, type HookCommand } from './flip-hook.js';
export type { Flip, Standby, SwitchoverBudgets, SwitchoverPlan, SwitchoverReport, SwitchoverStep } from './switchover-plan.js';

/** After the flip hook: how long no old-app write may be held before the old side is made read-only. */
const OLD_APP_QUIET_MS = 300;
const DRAIN_POLL_MS = 25;
/** The proxy's reply to a drain or flip may come this much after the timeout it was given. */
const PROXY_GRACE_MS = 1_000;

/**
 * Moves the application from the old side to the standby: preconditions -> lock -> catch-up ->
 * verify -> flip -> release, each step timed and within its budget. Any failure before the flip
 * unlocks the gate and leaves the old side serving and the standby running; the report says why.
 * Never throws for a failed step: the report carries it.
 */
export function runSwitchover(plan: SwitchoverPlan): Promise<SwitchoverReport> {
  return new SwitchoverRun(plan).run();
}

type HookFlip = Extract<Flip, { kind: 'hook' }>;

class SwitchoverRun {
  private readonly timer: StepTimer;
  private readonly gate: GateClient;
  private readonly startedAt = performance.now();
  private readonly startSeq: number;
  private lockedAt: number | null = null;
  private holdMs = 0;
  private lockedSeq: number | null = null;
  private finalSeq: number | null = null;
  private verification: VerifyReport | null = null;
  private standbyStopped = false;
  private flipped = false;
  /** The lock request got no reply in time: the proxy may still take it, so an abort unlocks anyway. */
  private lockUnanswered = false;

  constructor(private readonly plan: SwitchoverPlan) {
    this.timer = new StepTimer(plan.budgets.totalMs, plan.log);
    this.gate = new GateClient(plan.admin);
    this.startSeq = plan.standby.appliedSeq;
  }

  async run(): Promise<SwitchoverReport> {
    const { plan } = this;
    plan.log.info({ flip: plan.flip.kind === 'upstream' ? `${plan.flip.host}:${plan.flip.port}` : plan.flip.describe, rehearse: plan.rehearse ?? false, budgets: plan.budgets }, 'switchover starting');
    try {
      await this.timer.run('preconditions', { budgetMs: plan.budgets.totalMs, detail: (r) => r }, async () => this.checkPreconditions());
      await this.lock();
      await this.catchUp('catch-up', this.lockedSeq as number);
      await this.verify();
      if (plan.flip.kind === 'hook') await this.drainOnce();
      if (plan.rehearse) {
        await this.release('unlock');
        return this.report(null);
      }
      if (plan.flip.kind === 'upstream') await this.flipUpstream(plan.flip.host, plan.flip.port);
      else await this.flipHook(plan.flip);
      return this.report(null);
    } catch (err) {
      const failure = asStepError('switchover', err);
      if ((this.lockedAt !== null || this.lockUnanswered) && !this.flipped) await this.abortUnlock(failure);
      else if (this.lockedAt !== null && this.holdMs === 0) this.holdMs = this.sinceLock();
      plan.log.warn({ step: failure.step, code: failure.code, reason: failure.message, flipped: this.flipped }, 'switchover aborted');
      return this.report(failure);
    }
  }

  private checkPreconditions(): Record<string, unknown> {
    const { maxLagSeconds, lastVerification } = this.plan.preconditions;
    const lag = this.plan.standby.lagSeconds();
    if (lag > maxLagSeconds) {
      throw new SwitchoverError('SWITCHOVER_PRECONDITION', `the standby is ${lag.toFixed(1)} s behind, more than the allowed ${maxLagSeconds} s: wait for replay to catch up`);
    }
    if (lastVerification === null) {
      throw new SwitchoverError('SWITCHOVER_PRECONDITION', 'the standby has never been verified: run a verification pass first, a switchover needs a clean one');
    }
    if (!lastVerification.clean) {
      throw new SwitchoverError('SWITCHOVER_PRECONDITION', `the last verification found ${lastVerification.differences.length}${lastVerification.truncated ? '+' : ''} difference(s): repair them and verify again`);
    }
    return { lagSeconds: lag };
  }

  private async lock(): Promise<void> {
    const reply = await this.timer.run('lock', { budgetMs: this.plan.budgets.lockMs, graceMs: PROXY_GRACE_MS, detail: (r) => ({ seq: r.seq, held: r.held, waitedMs: r.waitedMs }) },
      (limit: number) => this.gate.lock(limit)).catch((err: SwitchoverError) => {
      // A refusal means the proxy holds nothing; anything else (no reply in time) may end in a lock.
      this.lockUnanswered = err.code !== 'SWITCHOVER_GATE_REFUSED';
      throw err;
    });
    this.lockedAt = performance.now();
    this.lockedSeq = reply.seq;
  }

  private async catchUp(step: string, seq: number): Promise<void> {
    await this.timer.run(step, { budgetMs: this.plan.budgets.catchUpMs, afterFlip: this.flipped, detail: () => ({ seq, applied: this.plan.standby.appliedSeq }) },
      (limit) => this.plan.standby.waitFor(seq, limit));
    this.finalSeq = seq;
  }

  private async verify(): Promise<void> {
    const report = await this.timer.run('verify', { budgetMs: this.plan.budgets.verifyMs, detail: (r) => ({ clean: r.clean, differences: r.differences.length, checked: r.checked }) },
      () => this.plan.verify(this.startSeq, this.lockedSeq as number));
    this.verification = report;
    if (!report.clean) {
      throw asStepError('verify', new SwitchoverError('SWITCHOVER_VERIFY_FAILED',
        `the final verification found ${report.differences.length}${report.truncated ? '+' : ''} difference(s) at seq ${this.lockedSeq} (first: ${describeDifference(report)}): the switchover was abandoned before the flip; repair them and try again`));
    }
  }

  /** Identity: the standby stops at the locked seq (later writes go to the new server itself), then the proxy repoints. */
  private async flipUpstream(host: string, port: number): Promise<void> {
    this.standbyStopped = true;
    const summary = await this.timer.run('stop-standby', { budgetMs: this.plan.budgets.catchUpMs, detail: (s) => ({ appliedSeq: s.appliedSeq }) },
      () => this.plan.standby.stop());
    this.finalSeq = summary.appliedSeq;
    await this.timer.run('flip', { budgetMs: this.plan.budgets.flipMs, graceMs: PROXY_GRACE_MS, detail: (r) => pick(r, ['upstream', 'previous', 'seq', 'moved', 'closed', 'pending', 'ms']) },
      (limit: number) => this.gate.flip(host, port, limit)).catch(async (err: SwitchoverError) => {
      // A refusal means nothing moved; a reply that never came may hide a flip that happened.
      if (err.code === 'SWITCHOVER_GATE_REFUSED' || !(await this.gate.upstreamIs(host, port).catch(() => false))) throw err;
      this.plan.log.warn({ error: err.message }, 'no timely reply to flip, but the proxy did repoint: going on');
    });
    this.flipped = true;
    await this.release('unlock');
  }

  /**
   * Translated: the app tier switches; the old side ends in reject mode.
   *
   * Writes held at the gate were sent by the old app version against the old schema. They are
   * drained (run on the old side, journaled, translated into the new side by the standby) rather
   * than rejected: their clients see only the hold's delay, never an error, and none is lost;
   * each was acknowledged by the old side and is on the new side before the switchover ends.
   * Drains repeat after the hook until one releases nothing, so writes that old app instances
   * sent while the hook ran are kept the same way. What gets rejected, with a read-only error
   * naming the upgrade, is what old app instances send after that: the gate goes to reject mode,
   * and such an instance is out of date (its user retries through the new app tier).
   */
  private async flipHook(flip: HookFlip): Promise<void> {
    const flipBudget = this.plan.budgets.flipMs;
    const hookStarted = performance.now();
    await this.timer.run('flip-hook', { budgetMs: flipBudget, detail: () => ({ hook: flip.describe }) }, async (limit) => {
      const abort = AbortSignal.timeout(limit);
      await flip.run(abort);
    });
    this.flipped = true;
    const leftMs = Math.max(0, Math.round(flipBudget - (performance.now() - hookStarted)));
    await this.drainAfterFlip(leftMs);
    // The old side must stop taking writes even if the standby failed to catch up.
    const caughtUp = await this.catchUp('catch-up-final', this.finalSeq as number).then(() => null, (err: unknown) => err);
    await this.timer.run('lock-reject', { budgetMs: null, detail: (r) => ({ rejected: r.rejected }) }, () => this.gate.reject());
    this.holdMs = this.sinceLock();
    if (caughtUp !== null) throw caughtUp;
    await this.catchUpAfterReject();
    this.standbyStopped = true;
    await this.timer.run('stop-standby', { budgetMs: this.plan.budgets.catchUpMs, afterFlip: true, detail: (s) => ({ appliedSeq: s.appliedSeq }) },
      () => this.plan.standby.stop());
  }

  /** Held writes run on the old side; the standby applies them. */
  private async drainOnce(): Promise<void> {
    const reply = await this.timer.run('drain', { budgetMs: this.plan.budgets.lockMs, graceMs: PROXY_GRACE_MS, detail: (r) => ({ seq: r.seq, released: r.released, waitedMs: r.waitedMs }) },
      (limit: number) => this.gate.drain(limit));
    await this.catchUp('catch-up-drained', reply.seq);
  }

  /**
   * After the hook, drains until nothing has been held for OLD_APP_QUIET_MS (an old app request
   * in flight reads between its writes: one empty drain does not mean it is done), within what
   * is left of the flip budget.
   * The flip cannot be undone, so running out of budget does not abort: what is still held is
   * rejected by lock-reject, as writes from old app instances after the hook are.
   */
  private async drainAfterFlip(budgetMs: number): Promise<void> {
    const deadline = performance.now() + budgetMs;
    let rounds = 0;
    let released = 0;
    let settled = false;
    let quietSince: number | null = null;
    const work = async () => {
      for (;;) {
        const left = Math.round(deadline - performance.now());
        if (left <= 0) return;
        const reply = await this.gate.drain(left);
        rounds++;
        released += reply.released;
        this.finalSeq = reply.seq;
        if (reply.released > 0) quietSince = null;
        else quietSince ??= performance.now();
        if (quietSince !== null && performance.now() - quietSince >= OLD_APP_QUIET_MS) {
          settled = true;
          return;
        }
        await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
      }
    };
    try {
      await this.timer.run('drain-after-flip', { budgetMs, afterFlip: true, graceMs: PROXY_GRACE_MS, detail: () => ({ rounds, released, settled, seq: this.finalSeq }) }, work);
    } catch (err) {
      this.plan.log.warn({ error: (err as Error).message, released }, 'drains after the flip hook did not settle: writes still held are rejected');
    }
    if (!settled) this.plan.log.warn({ rounds, released }, 'old app writes kept arriving after the flip hook: the rest are rejected');
  }

  /** Reject mode ends the old side's writes; anything committed past the last drain is applied too. */
  private async catchUpAfterReject(): Promise<void> {
    const head = await this.timer.run('position', { budgetMs: null, detail: (seq) => ({ headSeq: seq }) }, () => this.gate.headSeq());
    if (head > (this.finalSeq as number)) await this.catchUp('catch-up-rejected', head);
  }

  private async release(step: 'unlock'): Promise<void> {
    await this.timer.run(step, { budgetMs: null, detail: (r) => ({ released: r.released, lockedMs: r.lockedMs }) }, () => this.gate.unlock());
    this.holdMs = this.sinceLock();
  }

  /** Before the flip: unlock, so the old side goes on serving. The standby is left as it is. */
  private async abortUnlock(failure: SwitchoverError): Promise<void> {
    try {
      await this.release('unlock');
    } catch (err) {
      this.holdMs = this.sinceLock();
      this.plan.log.error({ error: (err as Error).message, step: failure.step }, 'unlock after an aborted switchover failed');
    }
  }

  private sinceLock(): number {
    return this.lockedAt === null ? 0 : Math.round(performance.now() - this.lockedAt);
  }

  private report(failure: SwitchoverError | null): SwitchoverReport {
    const report: SwitchoverReport = {
      ok: failure === null,
      rehearsal: this.plan.rehearse ?? false,
      aborted: failure === null ? null : { step: failure.step ?? 'switchover', reason: failure.message, ...(failure.blockers ? { blockers: failure.blockers } : {}) },
      steps: this.timer.steps,
      holdMs: this.holdMs,
      lockedSeq: this.lockedSeq,
      finalSeq: this.finalSeq,
      verification: this.verification,
      totalMs: Math.round(performance.now() - this.startedAt),
      standbyStopped: this.standbyStopped,
      flipped: this.flipped,
    };
    this.plan.log.info({ ok: report.ok, rehearsal: report.rehearsal, holdMs: report.holdMs, totalMs: report.totalMs, lockedSeq: report.lockedSeq, finalSeq: report.finalSeq, aborted: report.aborted }, 'switchover finished');
    return report;
  }
}

function describeDifference(report: VerifyReport): string {
  const d = report.differences[0];
  return d ? `${d.item} ${d.field} (${d.side})` : 'none listed';
}

function pick(r: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in r).map((k) => [k, r[k]]));
}
