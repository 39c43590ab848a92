/**
 * Failures of `metamorph upgrade` carry a `code`:
 * - UPGRADE_BAD_OPTION        an option or path cannot be used (the message names it)
 * - UPGRADE_ALREADY_RUNNING   another orchestrator holds this state directory's admin socket
 * - UPGRADE_NOT_NOW           a command that the current phase does not allow (the message says when it is)
 * - UPGRADE_PROXY_FAILED      the proxy's admin socket refused or failed a request
 * - UPGRADE_REPLICA_FAILED    the recorded replica cannot be reused on resume
 * - UPGRADE_REPLAY_FAILED     the running replay halted (the cause says which entry)
 */
export class UpgradeError extends Error {
  override readonly name = 'UpgradeError';

  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
