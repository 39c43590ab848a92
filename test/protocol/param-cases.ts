import mysql2, { type ExecuteValues } from 'mysql2';
import type { Connection } from 'mysql2/promise';
import { FieldType as F } from '../../src/protocol/constants.js';
import { parsePrepareOk } from '../../src/protocol/stmt-prepare-ok.js';
import type { ParamValue } from '../../src/protocol/stmt-execute.js';
import type { Packet } from '../../src/protocol/packet-reader.js';
import { packetsOf, type RecordedConnection } from './mariadb-fixture.js';

const T = mysql2.TypedParameter;

/** Bind arguments for mysql2 execute() and the parameters its COM_STMT_EXECUTE must decode to. */
export interface ParamCase {
  name: string;
  args: ExecuteValues[];
  expected: ParamValue[];
}

const v = (type: number, value: Exclude<ParamValue, null>['value'], unsigned = false): ParamValue => ({ type, unsigned, value });
const str = (s: string): ParamValue => v(F.VAR_STRING, Buffer.from(s, 'utf8'));
const dt = (year: number, month: number, day: number, hour = 0, minute = 0, second = 0, micro = 0) => ({
  year,
  month,
  day,
  hour,
  minute,
  second,
  micro,
});
const time = (negative: boolean, days: number, hour: number, minute: number, second: number, micro = 0) => ({
  negative,
  days,
  hour,
  minute,
  second,
  micro,
});

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const bigBlob = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff));
const DECIMAL_65 = '-99999999999999999999999999999999999.999999999999999999999999999999';

export const PARAM_CASES: ParamCase[] = [
  {
    name: 'signed_ints',
    args: [T.TINY(-128), T.SHORT(-32768), T.LONG(-2147483648), T.INT24(-8388608), T.LONGLONG(-(2n ** 63n)), T.LONGLONG(2n ** 63n - 1n), T.YEAR(2024)],
    expected: [
      v(F.TINY, -128),
      v(F.SHORT, -32768),
      v(F.LONG, -2147483648),
      v(F.LONG, -8388608),
      v(F.LONGLONG, -(2n ** 63n)),
      v(F.LONGLONG, 2n ** 63n - 1n),
      v(F.SHORT, 2024),
    ],
  },
  {
    name: 'unsigned_ints',
    args: [T.TINY.unsigned(255), T.SHORT.unsigned(65535), T.LONG.unsigned(4294967295), T.LONGLONG.unsigned(2n ** 64n - 1n), T.LONGLONG.unsigned(0)],
    expected: [
      v(F.TINY, 255, true),
      v(F.SHORT, 65535, true),
      v(F.LONG, 4294967295, true),
      v(F.LONGLONG, 2n ** 64n - 1n, true),
      v(F.LONGLONG, 0n, true),
    ],
  },
  {
    name: 'ints_as_mysql2_infers_them',
    // mysql2 sends JS numbers as DOUBLE, booleans as TINY, and BigInt or numeric strings as text.
    args: [-42, true, 2n ** 63n - 1n, '18446744073709551615', -(2n ** 63n)],
    expected: [v(F.DOUBLE, -42), v(F.TINY, 1), str('9223372036854775807'), str('18446744073709551615'), str('-9223372036854775808')],
  },
  {
    name: 'doubles',
    args: [0.1, -1e-300, 1.7976931348623157e308, 5e-324, 1.5, 123456789012345680000, -2.5e-7, 0],
    expected: [0.1, -1e-300, 1.7976931348623157e308, 5e-324, 1.5, 123456789012345680000, -2.5e-7, 0].map((x) => v(F.DOUBLE, x)),
  },
  {
    name: 'floats',
    args: [T.FLOAT(0.1), T.FLOAT(-3.4028234663852886e38), T.FLOAT(16777217), T.FLOAT(1e-45)],
    expected: [0.1, -3.4028234663852886e38, 16777217, 1e-45].map((x) => v(F.FLOAT, Math.fround(x))),
  },
  {
    name: 'decimals',
    args: [T.DECIMAL('12345.678'), T.NEWDECIMAL('-0.001'), T.NEWDECIMAL('5'), T.NEWDECIMAL(DECIMAL_65), T.NEWDECIMAL('1.50'), '12345.678'],
    expected: [
      v(F.DECIMAL, '12345.678'),
      v(F.NEWDECIMAL, '-0.001'),
      v(F.NEWDECIMAL, '5'),
      v(F.NEWDECIMAL, DECIMAL_65),
      v(F.NEWDECIMAL, '1.50'),
      str('12345.678'),
    ],
  },
  {
    name: 'dates',
    args: [
      new Date(2024, 0, 2, 3, 4, 5, 678),
      new Date(1999, 11, 31, 23, 59, 59, 0),
      T.DATE(new Date(2024, 1, 29)),
      T.TIMESTAMP(new Date(2038, 0, 19, 3, 14, 7, 1)),
      T.DATETIME(new Date(1000, 0, 1, 0, 0, 0, 0)),
    ],
    expected: [
      v(F.DATETIME, dt(2024, 1, 2, 3, 4, 5, 678_000)),
      v(F.DATETIME, dt(1999, 12, 31, 23, 59, 59, 0)),
      v(F.DATE, dt(2024, 2, 29)),
      v(F.TIMESTAMP, dt(2038, 1, 19, 3, 14, 7, 1_000)),
      v(F.DATETIME, dt(1000, 1, 1)),
    ],
  },
  {
    name: 'times',
    args: [T.TIME('-838:59:59.5'), T.TIME('12:34:56'), T.TIME('00:00:00'), T.TIME('100:00:00.000001'), T.TIME('-00:00:01')],
    expected: [
      v(F.TIME, time(true, 34, 22, 59, 59, 500_000)),
      v(F.TIME, time(false, 0, 12, 34, 56)),
      v(F.TIME, time(false, 0, 0, 0, 0)),
      v(F.TIME, time(false, 4, 4, 0, 0, 1)),
      v(F.TIME, time(true, 0, 0, 0, 1)),
    ],
  },
  {
    name: 'buffers',
    args: [allBytes, Buffer.alloc(0), bigBlob, T.TINY_BLOB(Buffer.from('x')), T.LONG_BLOB(Buffer.from([0, 0x27, 0x5c]))],
    expected: [
      v(F.BLOB, allBytes),
      v(F.BLOB, Buffer.alloc(0)),
      v(F.BLOB, bigBlob),
      v(F.TINY_BLOB, Buffer.from('x')),
      v(F.LONG_BLOB, Buffer.from([0, 0x27, 0x5c])),
    ],
  },
  {
    name: 'nulls',
    args: [null, T.NULL(), T.LONG(null), 'after'],
    expected: [null, null, null, str('after')],
  },
  {
    name: 'strings',
    args: [
      "it's",
      'back\\slash \\\' \\0',
      'emoji 😀 üñí',
      '\0\n\r\x1a"\t%_',
      '',
      'x'.repeat(300),
      T.STRING('abc'),
      T.VARCHAR("v'"),
      T.ENUM('e'),
      T.SET('a,b'),
      "''''\\\\",
    ],
    expected: [
      str("it's"),
      str('back\\slash \\\' \\0'),
      str('emoji 😀 üñí'),
      str('\0\n\r\x1a"\t%_'),
      str(''),
      str('x'.repeat(300)),
      v(F.STRING, Buffer.from('abc')),
      v(F.VARCHAR, Buffer.from("v'")),
      v(F.STRING, Buffer.from('e')),
      v(F.STRING, Buffer.from('a,b')),
      str("''''\\\\"),
    ],
  },
  {
    name: 'edge_values',
    // On MariaDB mysql2 sends JSON as plain text.
    args: [-0, T.JSON({ a: [1, 'x'] }), T.MEDIUM_BLOB(Buffer.from('\\0')), T.VARBINARY('ü')],
    expected: [v(F.DOUBLE, -0), str('{"a":[1,"x"]}'), v(F.MEDIUM_BLOB, Buffer.from('\\0')), str('ü')],
  },
  {
    name: 'many_params',
    // 20 parameters: a 3-byte NULL bitmap with NULLs in each byte.
    args: Array.from({ length: 20 }, (_, i) => ([0, 8, 9, 17].includes(i) ? null : T.LONG(i * 1000 - 7000))),
    expected: Array.from({ length: 20 }, (_, i) => ([0, 8, 9, 17].includes(i) ? null : v(F.LONG, i * 1000 - 7000))),
  },
];

/** A command packet (sequence id 0) and the packets of the server's reply to it. */
export interface Exchange {
  command: Packet;
  response: Packet[];
}

/**
 * Pairs commands with responses in a recorded connection on which each command waited for its
 * answer: commands start at sequence id 0, responses at 1 (greeting and auth packets never do).
 */
export function exchangesOf(rec: RecordedConnection): Exchange[] {
  const commands = packetsOf(rec.fromClient).filter((p) => p.seq === 0);
  const responses: Packet[][] = [];
  for (const p of packetsOf(rec.fromServer)) {
    if (p.seq === 1) responses.push([p]);
    else responses[responses.length - 1]?.push(p);
  }
  return commands.slice(0, responses.length).map((command, i) => ({ command, response: responses[i]! }));
}

export interface CapturedExecute {
  sql: string;
  numParams: number;
  payload: Buffer;
}

/**
 * Runs `sql` with `args` through mysql2 execute() on `conn` (connected via a recording relay) and
 * returns the COM_STMT_EXECUTE packet it sent, with the parameter count from the server's
 * PREPARE_OK.
 */
export async function captureExecute(
  conn: Connection,
  rec: RecordedConnection,
  sql: string,
  args: ExecuteValues[],
): Promise<CapturedExecute> {
  await conn.execute(sql, args);
  const exchanges = exchangesOf(rec).reverse(); // newest first: the statement may run more than once
  const prepare = exchanges.find((e) => e.command.payload[0] === 0x16 && e.command.payload.subarray(1).toString() === sql);
  if (!prepare) throw new Error(`no COM_STMT_PREPARE recorded for ${sql}`);
  const ok = parsePrepareOk(prepare.response[0]!.payload);
  const execute = exchanges.find((e) => e.command.payload[0] === 0x17 && e.command.payload.readUInt32LE(1) === ok.statementId);
  if (!execute) throw new Error(`no COM_STMT_EXECUTE recorded for ${sql}`);
  return { sql, numParams: ok.numParams, payload: execute.command.payload };
}
