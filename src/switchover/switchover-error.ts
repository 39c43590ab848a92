export type SwitchoverErrorCode =
  | 'SWITCHOVER_PRECONDITION'
  | 'SWITCHOVER_OVER_BUDGET'
  | 'SWITCHOVER_GATE_REFUSED'
  | 'SWITCHOVER_VERIFY_FAILED'
  | 'SWITCHOVER_HOOK_FAILED'
  | 'SWITCHOVER_STEP_FAILED';

/** Why a switchover step failed; `step` is filled in by the step that ran it. */
export class SwitchoverError extends Error {
  step: string | null = null;

  constructor(readonly code: SwitchoverErrorCode, message: string, readonly blockers?: unknown[], options?: ErrorOptions) {
    super(message, options);
    this.name = 'SwitchoverError';
  }
}

/** Anything thrown by a step, as a SwitchoverError naming that step. */
export function asStepError(step: string, err: unknown): SwitchoverError {
  const e = err instanceof SwitchoverError ? err : new SwitchoverError('SWITCHOVER_STEP_FAILED', (err as Error)?.message ?? String(err), undefined, { cause: err });
  e.step ??= step;
  return e;
}
