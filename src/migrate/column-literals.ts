/**
 * How a column's value travels from the source to the target as SQL text. Values are read as the
 * server's raw text-protocol bytes (no client-side decoding, `character_set_results = binary`), and
 * written as literals that give back exactly those bytes whatever the connection character set:
 * - number:   the digits as they are (integers, DECIMAL, FLOAT/DOUBLE print round-trip exact)
 * - temporal: quoted; the text is ASCII ('2024-01-31 12:00:00.000000'); both sides use time_zone +00:00
 * - text:     printable ASCII without quote or backslash stays a quoted literal (same bytes in every
 *             ASCII-compatible charset); anything else becomes X'..', which a character column takes
 *             as bytes of its own charset, unconverted
 * - hex:      always X'..': BIT, spatial values (internal binary form) and strings of UCS-2/UTF-16/UTF-32
 *             columns (their bytes can look like ASCII and mean something else)
 */
export type LiteralKind = 'number' | 'temporal' | 'text' | 'hex';

export interface ColumnInfo {
  name: string;
  /** information_schema.COLUMNS.DATA_TYPE, lower case. */
  dataType: string;
  /** null for binary strings and non-string types. */
  charset: string | null;
  collation: string | null;
  kind: LiteralKind;
}

const NUMBER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'decimal', 'numeric', 'float', 'double', 'real', 'year']);
const TEMPORAL_TYPES = new Set(['date', 'datetime', 'timestamp', 'time']);
const HEX_TYPES = new Set(['bit', 'geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection']);
const WIDE_CHARSETS = new Set(['ucs2', 'utf16', 'utf16le', 'utf32']);
/** PK types whose ORDER BY order and `>` comparisons with the literals above agree (ENUM, SET, BIT, INET6... do not, or not surely). */
const RANGE_TYPES = new Set([...NUMBER_TYPES, ...TEMPORAL_TYPES, 'char', 'varchar', 'binary', 'varbinary', 'tinytext', 'text', 'mediumtext', 'longtext', 'tinyblob', 'blob', 'mediumblob', 'longblob']);

export function literalKind(dataType: string, charset: string | null): LiteralKind {
  const t = dataType.toLowerCase();
  if (NUMBER_TYPES.has(t)) return 'number';
  if (TEMPORAL_TYPES.has(t)) return 'temporal';
  if (HEX_TYPES.has(t) || (charset !== null && WIDE_CHARSETS.has(charset.toLowerCase()))) return 'hex';
  return 'text';
}

/** Can a primary key column bound PK-range chunks? */
export function isRangeType(dataType: string): boolean {
  return RANGE_TYPES.has(dataType.toLowerCase());
}

const QUOTE = 0x27;
const BACKSLASH = 0x5c;

function isPlainAscii(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) return false;
  }
  return true;
}

function hex(b: Buffer): string {
  return `X'${b.toString('hex')}'`;
}

/** One value for an INSERT. */
function valueLiteral(v: Buffer | null, kind: LiteralKind): string {
  if (v === null) return 'NULL';
  switch (kind) {
    case 'number':
      return v.toString('latin1');
    case 'temporal':
      return `'${v.toString('latin1')}'`;
    case 'text':
      return isPlainAscii(v) ? `'${v.toString('latin1')}'` : hex(v);
    case 'hex':
      return hex(v);
  }
}

/** `(v1,v2,...)` of one row. */
export function rowLiteral(row: (Buffer | null)[], kinds: LiteralKind[]): string {
  let s = '(';
  for (let i = 0; i < row.length; i++) {
    if (i > 0) s += ',';
    s += valueLiteral(row[i], kinds[i]);
  }
  return `${s})`;
}

/**
 * A PK value for a range condition: compared under the column's own collation, as ORDER BY
 * sorted it when the chunk bounds were chosen (a bare X'..' would compare as binary).
 */
export function boundLiteral(v: Buffer, col: ColumnInfo): string {
  if (col.kind === 'number' || col.kind === 'temporal') return valueLiteral(v, col.kind);
  if (col.charset === null || col.collation === null) return hex(v);
  return `_${col.charset} ${hex(v)} COLLATE ${col.collation}`;
}
