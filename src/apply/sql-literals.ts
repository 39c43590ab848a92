import { inlineParams } from '../sql/inline-params.js';

/*
 * Literals for SQL the replayer itself sends on the target connection. That connection runs with
 * whatever sql_mode and character set the replayed session had (NO_BACKSLASH_ESCAPES, ANSI_QUOTES,
 * NAMES latin1, ...), so strings are written as hex with a charset introducer: one form that
 * means the same under every mode.
 */

export function sqlString(s: string): string {
  return `_utf8mb4 X'${Buffer.from(s, 'utf8').toString('hex')}'`;
}

export function sqlIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

export function sqlValue(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return sqlString(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`cannot write ${v} as an SQL value`);
    return String(v);
  }
  if (Buffer.isBuffer(v)) return `X'${v.toString('hex')}'`;
  throw new TypeError(`cannot write a ${typeof v} as an SQL value: pass strings, numbers, bigints, booleans, Buffers or null`);
}

/** `sql` with each `?` placeholder (outside strings, comments, identifiers) replaced by its value. */
export function withParams(sql: string | Buffer, params: unknown[]): Buffer {
  return inlineParams(Buffer.isBuffer(sql) ? sql : Buffer.from(sql, 'utf8'), params.map((p) => Buffer.from(sqlValue(p), 'utf8')));
}
