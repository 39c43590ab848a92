/**
 * Every failure the journal reports carries a `code`:
 * - JOURNAL_WRITE_FAILED  a write or fsync failed; that batch was rolled back, later appends retry
 * - JOURNAL_CORRUPT       a checksum, framing or sequence check failed where a crash cannot explain it
 * - JOURNAL_LOCKED        another live writer holds the directory
 * - JOURNAL_BAD_TXN       append() was given a transaction that cannot be recorded
 * - JOURNAL_CLOSED        append() after close()
 * - JOURNAL_NOT_FOUND     no journal directory where a reader was pointed
 * - JOURNAL_SEQ_GONE      a reader asked for seqs that retention already removed
 * - JOURNAL_TRUNCATED     a follower had read data that the writer later dropped (its fsync failed)
 * - JOURNAL_BAD_OPTION    a writer option is out of range
 */
export class JournalError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JournalError';
    this.code = code;
  }
}

/** Damage found where a crash cannot explain it: never repaired automatically. */
export function corruptSegment(path: string, offset: number, reason: string): JournalError {
  return new JournalError(
    'JOURNAL_CORRUPT',
    `journal segment ${path} is damaged at offset ${offset}: ${reason}. This is not an unfinished write from a crash, so it is not cut off automatically; check the journal with verify and restore the segment from a copy`,
  );
}
