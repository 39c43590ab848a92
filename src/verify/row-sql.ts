// SQL that reads a table's rows in a form both sides produce byte for byte alike, whatever the
// connection's character set: values as their binary text (CAST AS BINARY, HEX to carry them).
import type { ColumnInfo } from '../migrate/column-literals.js';
import { boundLiteral } from '../migrate/column-literals.js';
import { quoteIdent } from '../migrate/sql-names.js';

/**
 * A column's value as bytes. TIMESTAMP as seconds since the epoch: its text depends on the
 * session's time zone, which may differ between the two sides.
 */
export function valueSql(c: ColumnInfo): string {
  const col = quoteIdent(c.name);
  return c.dataType === 'timestamp' ? `UNIX_TIMESTAMP(${col})` : `CAST(${col} AS BINARY)`;
}

/**
 * One row as one byte string: per column its NULL flag, then length and bytes when not NULL
 * (CONCAT_WS skips NULLs), so NULL, '' and shifted boundaries all hash differently.
 */
export function rowBytesSql(columns: ColumnInfo[]): string {
  const parts = columns.map((c) => {
    const v = valueSql(c);
    return `ISNULL(${quoteIdent(c.name)}), OCTET_LENGTH(${v}), ${v}`;
  });
  return `CONCAT_WS(',', ${parts.join(', ')})`;
}

/** `HEX(value) AS alias` for each column: binary-safe through any client decoding. */
export function hexColumnsSql(columns: ColumnInfo[], prefix: string): string {
  return columns.map((c, i) => `HEX(${valueSql(c)}) AS ${prefix}${i}`).join(', ');
}

/** The raw text-protocol bytes of each column (as migrate's copy reads them), for INSERT literals. */
export function rawColumnsSql(columns: ColumnInfo[]): string {
  return columns.map((c, i) => `HEX(CAST(${quoteIdent(c.name)} AS BINARY)) AS v${i}`).join(', ');
}

/** Hex strings (null for NULL) of one result row's `prefix<i>` fields. */
export function hexValues(row: Record<string, unknown>, prefix: string, n: number): (string | null)[] {
  const out: (string | null)[] = [];
  for (let i = 0; i < n; i++) {
    const v = row[`${prefix}${i}`];
    out.push(v === null || v === undefined ? null : Buffer.isBuffer(v) ? v.toString('latin1') : String(v));
  }
  return out;
}

/** `pk1 = v1 AND pk2 = v2` for one key given as hex strings of the raw bytes. */
export function keyCondition(pk: ColumnInfo[], key: string[]): string {
  return pk.map((c, i) => `${quoteIdent(c.name)} = ${boundLiteral(Buffer.from(key[i], 'hex'), c)}`).join(' AND ');
}

/** Rows with any of these keys (hex strings of the raw bytes): `pk IN (...)`, or an OR of key conditions. */
export function keysCondition(pk: ColumnInfo[], keys: string[][]): string {
  if (pk.length === 1) return `${quoteIdent(pk[0].name)} IN (${keys.map((k) => boundLiteral(Buffer.from(k[0], 'hex'), pk[0])).join(', ')})`;
  return keys.map((k) => `(${keyCondition(pk, k)})`).join(' OR ');
}

/** A value for people: the text when it is UTF-8, else 0x-hex; long ones cut. */
export function displayHex(hex: string | null, max = 60): string | null {
  if (hex === null) return null;
  const b = Buffer.from(hex, 'hex');
  const text = b.toString('utf8');
  const shown = Buffer.from(text, 'utf8').equals(b) && !/[\x00-\x08\x0e-\x1f]/.test(text) ? text : `0x${hex.toLowerCase()}`;
  return abbreviate(shown, max);
}

export function abbreviate(s: string, max = 60): string {
  return s.length <= max ? s : `${s.slice(0, max - 3)}...(${s.length} chars)`;
}
