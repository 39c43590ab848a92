/**
 * Every failure the replayer reports carries a `code`:
 * - REPLAY_HALTED          an entry failed on the target or could not be translated (--on-error=halt)
 * - REPLAY_FROM_CONFLICTS  --from disagrees with the position stored in the target
 * - REPLAY_CONSUMER_BUSY   another replayer with the same consumer name is connected to the target
 * - REPLAY_TARGET_FAILED   the target connection failed (not an error of one statement)
 * - REPLAY_BAD_OPTION      an option is out of range or malformed
 * - REPLAY_UNKNOWN_PACK    no pack by that name
 * - REPLAY_JOURNAL_ENDED   the journal ended inside a transaction (it was closed or changed under the reader)
 * - REPLAY_STOPPED         waitFor() asked for a seq the replay ended before reaching
 */
export class ReplayError extends Error {
  override readonly name = 'ReplayError';

  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Where replay stopped on an entry it could not apply, and why. */
export class ReplayHalt extends ReplayError {
  constructor(
    readonly seq: number,
    readonly txn: number,
    readonly statement: string,
    readonly reason: string,
    readonly appliedSeq: number,
  ) {
    super(
      'REPLAY_HALTED',
      `replay halted at seq ${seq} (txn ${txn}): ${reason}\n` +
        `  statement: ${statement}\n` +
        `  the target holds everything up to seq ${appliedSeq}; fix the cause and run replay again ` +
        '(it resumes there), or run with --on-error=repair to queue the affected items and go on',
    );
  }
}

const STATEMENT_SHOWN_CHARS = 500;

/** The start of a statement for messages and logs. */
export function statementExcerpt(sql: Buffer): string {
  const text = sql.subarray(0, STATEMENT_SHOWN_CHARS * 4).toString('utf8');
  return text.length > STATEMENT_SHOWN_CHARS ? `${text.slice(0, STATEMENT_SHOWN_CHARS)}...` : text;
}
