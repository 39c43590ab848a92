/**
 * Every failure `metamorph verify` reports carries a `code`:
 * - VERIFY_BAD_OPTION       an option is missing, out of range or malformed
 * - VERIFY_UNSUPPORTED_PACK the pack can neither be compared table by table (identity) nor item by item
 * - VERIFY_CONNECT_FAILED   a side could not be connected to
 * - VERIFY_LOCK_FAILED      the proxy's write gate could not be locked for aligned snapshots
 * - VERIFY_UNLOCK_FAILED    the gate was locked and unlocking it failed: unlock it by hand
 * - VERIFY_NOT_ALIGNED      the target did not reach the source snapshot's journal seq in time
 */
export class VerifyError extends Error {
  override readonly name = 'VerifyError';

  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
