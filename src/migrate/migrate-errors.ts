/**
 * Every failure `metamorph migrate` reports carries a `code`:
 * - MIGRATE_BAD_OPTION         an option is missing, out of range or malformed
 * - MIGRATE_LOCK_FAILED        the proxy's write gate could not be locked (the reply names the blockers)
 * - MIGRATE_UNLOCK_FAILED      the gate was locked for the cut and unlocking it failed: unlock it by hand
 * - MIGRATE_SOURCE_FAILED      the source could not be read (connection, snapshot, a table changed under the copy)
 * - MIGRATE_TARGET_FAILED      the target refused a write or the bookkeeping
 * - MIGRATE_CONVERT_FAILED     a pack's convertItem failed on an item (the error names it)
 * - MIGRATE_UPGRADE_FAILED     the upgrade command (local or over ssh) failed: names the command, exit code, stderr tail
 * - MIGRATE_TARGET_NOT_EMPTY   the target already has a table this migration did not create
 * - MIGRATE_SCHEMA_UNSTABLE    DDL kept running between reading the schema and taking the cut
 * - MIGRATE_UNSUPPORTED_PACK   the pack can neither be copied table by table (identity) nor item by item
 */
export class MigrateError extends Error {
  override readonly name = 'MigrateError';

  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The message of anything thrown, for wrapping into a MigrateError. */
export function causeText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
