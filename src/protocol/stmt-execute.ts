import { ByteReader } from './bytes.js';
import { Command, FieldType } from './constants.js';
import { ProtocolError } from './errors.js';

/** Parameter type as sent in COM_STMT_EXECUTE: low byte the MYSQL_TYPE_*, high bit 0x80 unsigned. */
export interface ParamType {
  type: number;
  unsigned: boolean;
}

export interface DateParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  micro: number;
}

export interface TimeParts {
  negative: boolean;
  days: number;
  hour: number;
  minute: number;
  second: number;
  micro: number;
}

/**
 * A decoded parameter. `value` is bigint for LONGLONG, number for TINY/SHORT/LONG and for
 * FLOAT/DOUBLE, string for DECIMAL/NEWDECIMAL (the bytes read as latin1, so one char per byte),
 * DateParts/TimeParts for temporal types, and Buffer for everything else and for any parameter
 * whose value came from COM_STMT_SEND_LONG_DATA.
 */
export type ParamValue = null | {
  type: number;
  unsigned: boolean;
  value: bigint | number | string | Buffer | DateParts | TimeParts;
};

export interface StmtExecute {
  statementId: number;
  flags: number;
  params: ParamValue[];
  /** The types in force for this execution; keep them for a later execute with new_params_bound 0. */
  types: ParamType[];
}

const UNSIGNED_BIT = 0x80;
const MAX_PARAMS = 0xffff;

/**
 * Type codes that carry no bytes: MariaDB 10.11 binds INT24, YEAR, BIT and GEOMETRY as NULL
 * without reading any (MySQL refuses these codes), and refuses a NULL-typed parameter whose NULL
 * bit is clear. Decoding them as the server does keeps the following parameters aligned.
 */
const VALUELESS_TYPES: ReadonlySet<number> = new Set([FieldType.NULL, FieldType.INT24, FieldType.YEAR, FieldType.BIT, FieldType.GEOMETRY]);

/** Just the statement id, to look up the prepared statement before a full decode. */
export function parseStmtExecuteHeader(payload: Buffer): { statementId: number } {
  const r = new ByteReader(payload);
  expectExecute(r.u8());
  return { statementId: r.u32() };
}

/**
 * Decodes COM_STMT_EXECUTE. `numParams` comes from the statement's PREPARE_OK, `previousTypes`
 * from its last execute, `longData` holds COM_STMT_SEND_LONG_DATA chunks per parameter index
 * received since then. As in the server, a parameter with long data takes it even when its NULL
 * bit is set, and has no bytes in this packet. Types MariaDB binds as NULL without data (NULL,
 * INT24, YEAR, BIT, GEOMETRY) decode to null and take no bytes either.
 */
export function decodeStmtExecute(
  payload: Buffer,
  numParams: number,
  previousTypes: ParamType[] | null,
  longData: Map<number, Buffer[]>,
): StmtExecute {
  if (!Number.isInteger(numParams) || numParams < 0 || numParams > MAX_PARAMS) {
    throw new ProtocolError('BAD_PARAM_COUNT', `parameter count ${numParams} is not an integer in 0..${MAX_PARAMS}`);
  }
  const r = new ByteReader(payload);
  expectExecute(r.u8());
  const statementId = r.u32();
  const flags = r.u8();
  r.u32(); // iteration count, always 1
  if (numParams === 0) return { statementId, flags, params: [], types: [] };

  const nullBitmap = r.bytes((numParams + 7) >> 3);
  const types = r.u8() !== 0 ? readTypes(r, numParams) : reuseTypes(previousTypes, numParams);
  const params: ParamValue[] = [];
  for (let i = 0; i < numParams; i++) {
    const { type, unsigned } = types[i]!;
    const chunks = longData.get(i);
    if (chunks !== undefined) {
      params.push({ type, unsigned, value: Buffer.concat(chunks) });
    } else if (nullBitmap[i >> 3]! & (1 << (i & 7)) || VALUELESS_TYPES.has(type)) {
      params.push(null);
    } else {
      params.push({ type, unsigned, value: readValue(r, type, unsigned) });
    }
  }
  return { statementId, flags, params, types };
}

function expectExecute(command: number): void {
  if (command !== Command.STMT_EXECUTE) {
    throw new ProtocolError(
      'NOT_STMT_EXECUTE',
      `command byte 0x${command.toString(16)} is not COM_STMT_EXECUTE (0x17)`,
    );
  }
}

function readTypes(r: ByteReader, n: number): ParamType[] {
  const raw = r.bytes(n * 2);
  const types: ParamType[] = [];
  for (let i = 0; i < n; i++) {
    types.push({ type: raw[2 * i]!, unsigned: (raw[2 * i + 1]! & UNSIGNED_BIT) !== 0 });
  }
  return types;
}

function reuseTypes(previous: ParamType[] | null, n: number): ParamType[] {
  if (previous === null) {
    throw new ProtocolError(
      'NO_PARAM_TYPES',
      'execute reuses parameter types (new_params_bound = 0) but no earlier execute of this statement sent them',
    );
  }
  if (previous.length !== n) {
    throw new ProtocolError(
      'PARAM_TYPES_MISMATCH',
      `execute reuses ${previous.length} earlier parameter types for a statement with ${n} parameters`,
    );
  }
  return previous;
}

function readValue(r: ByteReader, type: number, unsigned: boolean): Exclude<ParamValue, null>['value'] {
  switch (type) {
    case FieldType.TINY:
      return unsigned ? r.u8() : r.i8();
    case FieldType.SHORT:
      return unsigned ? r.u16() : r.i16();
    case FieldType.LONG:
      return unsigned ? r.u32() : r.i32();
    case FieldType.LONGLONG:
      return unsigned ? r.u64() : r.i64();
    case FieldType.FLOAT:
      return r.f32();
    case FieldType.DOUBLE:
      return r.f64();
    case FieldType.DECIMAL:
    case FieldType.NEWDECIMAL:
      return r.lenencBytes().toString('latin1');
    case FieldType.DATE:
    case FieldType.NEWDATE:
    case FieldType.DATETIME:
    case FieldType.TIMESTAMP:
      return readDate(r);
    case FieldType.TIME:
      return readTime(r);
    default:
      return r.lenencBytes();
  }
}

function readDate(r: ByteReader): DateParts {
  const length = r.u8();
  if (length !== 0 && length !== 4 && length !== 7 && length !== 11) {
    throw badTemporalLength('date/datetime', length, '0, 4, 7 or 11');
  }
  const d: DateParts = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, micro: 0 };
  if (length >= 4) {
    d.year = r.u16();
    d.month = r.u8();
    d.day = r.u8();
  }
  if (length >= 7) {
    d.hour = r.u8();
    d.minute = r.u8();
    d.second = r.u8();
  }
  if (length === 11) d.micro = r.u32();
  return d;
}

function readTime(r: ByteReader): TimeParts {
  const length = r.u8();
  if (length !== 0 && length !== 8 && length !== 12) {
    throw badTemporalLength('time', length, '0, 8 or 12');
  }
  const t: TimeParts = { negative: false, days: 0, hour: 0, minute: 0, second: 0, micro: 0 };
  if (length >= 8) {
    t.negative = r.u8() !== 0;
    t.days = r.u32();
    t.hour = r.u8();
    t.minute = r.u8();
    t.second = r.u8();
  }
  if (length === 12) t.micro = r.u32();
  return t;
}

function badTemporalLength(what: string, length: number, allowed: string): ProtocolError {
  return new ProtocolError('BAD_TEMPORAL_LENGTH', `${what} parameter has length ${length}; only ${allowed} are valid`);
}
