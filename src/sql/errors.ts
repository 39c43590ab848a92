export type SqlTextErrorCode =
  /** inlineParams got a different number of literals than the statement has placeholders. */
  | 'SQL_PARAM_COUNT'
  /** The statement has bytes that are not UTF-8 outside string literals, so no text form is exact. */
  | 'SQL_NOT_UTF8';

export class SqlTextError extends Error {
  override readonly name = 'SqlTextError';

  constructor(
    readonly code: SqlTextErrorCode,
    message: string,
  ) {
    super(message);
  }
}
