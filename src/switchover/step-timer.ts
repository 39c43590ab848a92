import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import { asStepError, SwitchoverError } from './switchover-error.js';
import type { SwitchoverStep } from './switchover-plan.js';

export interface StepOptions<T> {
  /** The step's own budget; null: a release step (unlock, reject), which runs whatever the total says. */
  budgetMs: number | null;
  /**
   * The proxy times this step itself (lock, drain, flip) and its late reply says more than our
   * timer would (the blockers): give it this much longer before giving up on the reply.
   */
  graceMs?: number;
  /** A step after the flip: there is no going back, so the total budget no longer cuts it short. */
  afterFlip?: boolean;
  detail?: (result: NoInfer<T>) => Record<string, unknown>;
}

/** Limit for a release step: it must run even when the budgets are spent, but not hang forever. */
export const RELEASE_LIMIT_MS = 10_000;

/** Runs the steps of a switchover one at a time, each within its budget and what is left of the total. */
export class StepTimer {
  readonly steps: SwitchoverStep[] = [];
  private readonly startedAt = performance.now();

  constructor(private readonly totalBudgetMs: number, private readonly log: Logger) {}

  get elapsedMs(): number {
    return Math.round(performance.now() - this.startedAt);
  }

  /**
   * Runs `work` with its time limit (the step's budget, cut to what is left of the total);
   * records and logs the step. Throws a SwitchoverError naming the step when `work` fails or
   * does not finish in time (the work itself is then left to finish on its own).
   */
  async run<T>(name: string, opts: StepOptions<T>, work: (limitMs: number) => Promise<T>): Promise<T> {
    const limitMs = this.limit(name, opts.budgetMs, opts.afterFlip ?? false);
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.overBudget(name, limitMs, opts.budgetMs)), limitMs + (opts.graceMs ?? 0));
    });
    try {
      const result = await Promise.race([work(limitMs), overrun]);
      this.record(name, started, opts.detail?.(result));
      return result;
    } catch (err) {
      const e = asStepError(name, err);
      this.record(name, started, { error: e.message });
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private limit(name: string, budgetMs: number | null, afterFlip: boolean): number {
    if (budgetMs === null) return RELEASE_LIMIT_MS;
    if (afterFlip) return budgetMs;
    const left = this.totalBudgetMs - this.elapsedMs;
    if (left <= 0) {
      throw asStepError(name, new SwitchoverError('SWITCHOVER_OVER_BUDGET', `the total budget of ${this.totalBudgetMs} ms was spent before this step began`));
    }
    return Math.min(budgetMs, left);
  }

  private overBudget(name: string, limitMs: number, budgetMs: number | null): SwitchoverError {
    const which = budgetMs === null ? 'the release limit' : limitMs < budgetMs ? 'what was left of the total budget' : 'its budget';
    return new SwitchoverError('SWITCHOVER_OVER_BUDGET', `${name} did not finish within ${which} (${limitMs} ms)`);
  }

  private record(name: string, started: number, detail?: Record<string, unknown>): void {
    const ms = Math.round((performance.now() - started) * 10) / 10;
    this.steps.push(detail ? { name, ms, detail } : { name, ms });
    this.log.info({ step: name, ms, ...detail }, 'switchover step');
  }
}
