import { isUtf8 } from 'node:buffer';
import { FieldType } from './constants.js';
import { ProtocolError } from './errors.js';
import type { DateParts, ParamValue, TimeParts } from './stmt-execute.js';

export interface LiteralOptions {
  /** The session's sql_mode has NO_BACKSLASH_ESCAPES (ServerStatus.NO_BACKSLASH_ESCAPES). */
  noBackslashEscapes: boolean;
}

/** Types the server binds as binary strings (my_charset_bin); they become hex literals. */
const BINARY_TYPES: ReadonlySet<number> = new Set([
  FieldType.TINY_BLOB,
  FieldType.MEDIUM_BLOB,
  FieldType.LONG_BLOB,
  FieldType.BLOB,
  FieldType.GEOMETRY,
  FieldType.BIT,
]);

const INTEGER_TYPES: ReadonlySet<number> = new Set([FieldType.TINY, FieldType.SHORT, FieldType.LONG, FieldType.LONGLONG]);

/** Decimal literal syntax that MySQL reads back as the same DECIMAL value. */
const DECIMAL_LITERAL = /^-?\d+(\.\d+)?$/;

/**
 * SQL text for a decoded COM_STMT_EXECUTE parameter that the server parses back to the same value
 * and type, so a prepared execution can be journaled and replayed as a plain query. Strings are
 * quoted for a utf8/utf8mb4 connection character set; text that is not valid UTF-8 is sent as a hex
 * literal instead.
 *
 * Where SQL has no literal of the parameter's exact type the value is still exact but the type the
 * server infers for the expression differs: unsigned integers that fit in a signed BIGINT read back
 * as signed, TIMESTAMP parameters as DATETIME, and NULL is untyped (ParamValue null carries no type).
 * Integers stay plain digits because LIMIT/OFFSET accept nothing else.
 */
export function renderLiteral(p: ParamValue, opts: LiteralOptions): Buffer {
  if (p === null) return ascii('NULL');
  const { type, value } = p;
  if (Buffer.isBuffer(value)) {
    return BINARY_TYPES.has(type) ? hexLiteral(value) : stringLiteral(value, opts);
  }
  if (INTEGER_TYPES.has(type) && (typeof value === 'number' || typeof value === 'bigint')) {
    return ascii(String(value));
  }
  if (type === FieldType.DOUBLE && typeof value === 'number') return ascii(doubleLiteral(value));
  // The server keeps a FLOAT parameter's type (a CREATE ... SELECT makes a FLOAT column of it),
  // which no literal has; the cast of the widened value restores exactly the same float.
  if (type === FieldType.FLOAT && typeof value === 'number') return ascii(`CAST(${doubleLiteral(value)} AS FLOAT)`);
  if ((type === FieldType.DECIMAL || type === FieldType.NEWDECIMAL) && typeof value === 'string') {
    return DECIMAL_LITERAL.test(value) ? ascii(decimalLiteral(value)) : stringLiteral(Buffer.from(value, 'latin1'), opts);
  }
  if ((type === FieldType.DATE || type === FieldType.NEWDATE) && isDateParts(value)) {
    return ascii(`DATE'${datePart(value)}'`);
  }
  if ((type === FieldType.DATETIME || type === FieldType.TIMESTAMP) && isDateParts(value)) {
    return ascii(`TIMESTAMP'${datePart(value)} ${clock(value.hour, value.minute, value.second, value.micro)}'`);
  }
  if (type === FieldType.TIME && isTimeParts(value)) return ascii(timeLiteral(value));
  throw new ProtocolError(
    'BAD_PARAM_VALUE',
    `parameter of type ${type} holds a ${typeof value} value that renderLiteral cannot map to SQL`,
  );
}

function ascii(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/** A trailing '.' keeps integer-valued digits a DECIMAL (scale 0) instead of an INT literal. */
function decimalLiteral(digits: string): string {
  return digits.includes('.') ? digits : `${digits}.`;
}

/**
 * Shortest round-trip digits with an exponent, so the server parses an approximate-value (DOUBLE)
 * literal rather than an exact DECIMAL. FLOAT parameters arrive already widened to double, which
 * is also what the server does with them.
 */
function doubleLiteral(x: number): string {
  if (!Number.isFinite(x)) {
    throw new ProtocolError('UNREPRESENTABLE', `${x} has no SQL literal; MySQL has no NaN or infinite DOUBLE values`);
  }
  if (Object.is(x, -0)) return '-0E0';
  const s = String(x);
  return (s.includes('e') ? s : `${s}E0`).toUpperCase();
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function datePart(d: DateParts): string {
  return `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}`;
}

/**
 * The fraction is written only when non-zero, and then with all 6 digits: the server gives a
 * temporal parameter 6 fractional digits exactly when its microseconds are non-zero, and a
 * literal gets as many as it is written with.
 */
function clock(hour: number | string, minute: number, second: number, micro: number): string {
  const base = `${typeof hour === 'number' ? pad(hour, 2) : hour}:${pad(minute, 2)}:${pad(second, 2)}`;
  return micro === 0 ? base : `${base}.${pad(micro, 6)}`;
}

function timeLiteral(t: TimeParts): string {
  const hours = pad(t.days * 24 + t.hour, 2);
  return `TIME'${t.negative ? '-' : ''}${clock(hours, t.minute, t.second, t.micro)}'`;
}

function hexLiteral(b: Buffer): Buffer {
  return ascii(`X'${b.toString('hex')}'`);
}

/** Bytes escaped in the default sql_mode, and their escape letter. */
const BACKSLASH_ESCAPES = new Map<number, number>([
  [0x00, 0x30], // \0
  [0x27, 0x27], // \'
  [0x5c, 0x5c], // \\
  [0x0a, 0x6e], // \n
  [0x0d, 0x72], // \r
  [0x1a, 0x5a], // \Z
]);

const QUOTE = 0x27;
const BACKSLASH = 0x5c;

function stringLiteral(b: Buffer, opts: LiteralOptions): Buffer {
  if (!isUtf8(b)) return hexLiteral(b);
  const out = Buffer.allocUnsafe(b.length * 2 + 2);
  let n = 0;
  out[n++] = QUOTE;
  for (const byte of b) {
    if (opts.noBackslashEscapes) {
      if (byte === QUOTE) out[n++] = QUOTE;
      out[n++] = byte;
      continue;
    }
    const escape = BACKSLASH_ESCAPES.get(byte);
    if (escape === undefined) {
      out[n++] = byte;
    } else {
      out[n++] = BACKSLASH;
      out[n++] = escape;
    }
  }
  out[n++] = QUOTE;
  return out.subarray(0, n);
}

function isDateParts(v: unknown): v is DateParts {
  return typeof v === 'object' && v !== null && 'year' in v;
}

function isTimeParts(v: unknown): v is TimeParts {
  return typeof v === 'object' && v !== null && 'negative' in v;
}
