import mysql, { type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FieldType as F } from '../../src/protocol/constants.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { renderLiteral } from '../../src/protocol/sql-literal.js';
import { decodeStmtExecute, type ParamValue } from '../../src/protocol/stmt-execute.js';
import { startMariaDb, startRelay, type Relay, type TestServer } from './mariadb-fixture.js';
import { captureExecute, PARAM_CASES } from './param-cases.js';
import { expectSameTables } from './table-compare.js';

const DEFAULT = { noBackslashEscapes: false };
const NO_BACKSLASH = { noBackslashEscapes: true };

const lit = (p: ParamValue, opts = DEFAULT) => renderLiteral(p, opts).toString('utf8');
const v = (type: number, value: Exclude<ParamValue, null>['value'], unsigned = false): ParamValue => ({ type, unsigned, value });
const date = { year: 2024, month: 2, day: 9, hour: 7, minute: 5, second: 3, micro: 0 };

describe('renderLiteral', () => {
  it('renders NULL and integers, unsigned ones as unsigned', () => {
    expect(lit(null)).toBe('NULL');
    expect(lit(v(F.TINY, -128))).toBe('-128');
    expect(lit(v(F.LONGLONG, -(2n ** 63n)))).toBe('-9223372036854775808');
    expect(lit(v(F.LONGLONG, 2n ** 64n - 1n, true))).toBe('18446744073709551615');
    expect(lit(v(F.LONG, 4294967295, true))).toBe('4294967295');
  });

  it('renders doubles as shortest round-trip digits with an exponent', () => {
    expect(lit(v(F.DOUBLE, 1.5))).toBe('1.5E0');
    expect(lit(v(F.DOUBLE, 1e300))).toBe('1E+300');
    expect(lit(v(F.DOUBLE, -2.5e-7))).toBe('-2.5E-7');
    expect(lit(v(F.DOUBLE, 0.1))).toBe('0.1E0');
    expect(lit(v(F.DOUBLE, -0))).toBe('-0E0');
    expect(lit(v(F.FLOAT, Math.fround(0.1)))).toBe('CAST(0.10000000149011612E0 AS FLOAT)');
    for (const x of [NaN, Infinity, -Infinity]) {
      expect(() => renderLiteral(v(F.DOUBLE, x), DEFAULT)).toThrow(expect.objectContaining({ code: 'UNREPRESENTABLE' }));
    }
  });

  it('renders decimals as exact DECIMAL literals, other text as a string', () => {
    expect(lit(v(F.NEWDECIMAL, '-12.50'))).toBe('-12.50');
    expect(lit(v(F.NEWDECIMAL, '5'))).toBe('5.');
    expect(lit(v(F.DECIMAL, '1e5'))).toBe("'1e5'");
    expect(lit(v(F.DECIMAL, "1'; DROP TABLE t; --"))).toBe("'1\\'; DROP TABLE t; --'");
  });

  it('renders temporal values with a fraction only when there are microseconds', () => {
    expect(lit(v(F.DATE, date))).toBe("DATE'2024-02-09'");
    expect(lit(v(F.DATETIME, date))).toBe("TIMESTAMP'2024-02-09 07:05:03'");
    expect(lit(v(F.TIMESTAMP, { ...date, year: 33, micro: 5 }))).toBe("TIMESTAMP'0033-02-09 07:05:03.000005'");
    expect(lit(v(F.TIME, { negative: true, days: 34, hour: 22, minute: 59, second: 59, micro: 500000 }))).toBe(
      "TIME'-838:59:59.500000'",
    );
    expect(lit(v(F.TIME, { negative: false, days: 0, hour: 1, minute: 2, second: 3, micro: 0 }))).toBe("TIME'01:02:03'");
  });

  it('renders binary types as hex literals', () => {
    expect(lit(v(F.BLOB, Buffer.from([0, 0x27, 0xff])))).toBe("X'0027ff'");
    expect(lit(v(F.BLOB, Buffer.alloc(0)))).toBe("X''");
    expect(lit(v(F.GEOMETRY, Buffer.from([1])))).toBe("X'01'");
    expect(lit(v(F.BIT, Buffer.from([5])))).toBe("X'05'");
  });

  it('escapes strings for the default sql_mode and for NO_BACKSLASH_ESCAPES', () => {
    const s = v(F.VAR_STRING, Buffer.from("a'b\\c\0d\ne\rf\x1ag\"h 😀"));
    expect(lit(s)).toBe("'a\\'b\\\\c\\0d\\ne\\rf\\Zg\"h 😀'");
    expect(lit(s, NO_BACKSLASH)).toBe("'a''b\\c\0d\ne\rf\x1ag\"h 😀'");
    expect(lit(v(F.STRING, Buffer.alloc(0)))).toBe("''");
  });

  it('renders text that is not valid UTF-8 as a hex literal', () => {
    expect(lit(v(F.VAR_STRING, Buffer.from([0x61, 0xc3, 0x28])))).toBe("X'61c328'");
  });

  it('refuses a value that does not fit its type', () => {
    expect(() => renderLiteral(v(F.DATE, 5), DEFAULT)).toThrow(ProtocolError);
    expect(() => renderLiteral(v(F.LONG, 'x'), DEFAULT)).toThrow(ProtocolError);
  });
});

describe('renderLiteral against a real MariaDB: literal SQL recreates the prepared parameters', () => {
  let server: TestServer;
  let relay: Relay;
  let conn: Connection;

  beforeAll(async () => {
    server = await startMariaDb();
    const root = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root' });
    await root.query('CREATE DATABASE lit');
    await root.end();
    relay = await startRelay(server.port);
    conn = await mysql.createConnection({ host: '127.0.0.1', port: relay.port, user: 'root', database: 'lit' });
  });

  afterAll(async () => {
    await conn?.end();
    await relay?.close();
    await server?.stop();
  });

  for (const [modeName, sqlMode, opts] of [
    ['default sql_mode', '', DEFAULT],
    ['NO_BACKSLASH_ESCAPES', 'NO_BACKSLASH_ESCAPES', NO_BACKSLASH],
  ] as const) {
    describe(modeName, () => {
      beforeAll(async () => {
        await conn.query(`SET SESSION sql_mode = '${sqlMode}'`);
      });

      it.each(PARAM_CASES.map((c) => [c.name, c] as const))('%s', async (name, c) => {
        const suffix = `${sqlMode ? 'nbe' : 'def'}_${name}`;
        const names = c.args.map((_, i) => `c${i}`);
        const prepared = `CREATE TABLE p_${suffix} AS SELECT ${names.map((n) => `? AS ${n}`).join(', ')}`;
        const exec = await captureExecute(conn, relay.connections[0]!, prepared, c.args);
        const { params } = decodeStmtExecute(exec.payload, exec.numParams, null, new Map());
        const literals = params.map((p) => renderLiteral(p, opts).toString('utf8'));
        await conn.query(`CREATE TABLE l_${suffix} AS SELECT ${literals.map((l, i) => `${l} AS ${names[i]}`).join(', ')}`);

        // A NULL parameter keeps its declared type on the server; a NULL literal has none.
        await expectSameTables(conn, 'lit', `p_${suffix}`, `l_${suffix}`, params.map((p) => p === null));
      });
    });
  }

  it('would catch escaping for the wrong sql_mode', async () => {
    await conn.query("SET SESSION sql_mode = ''");
    const s = v(F.VAR_STRING, Buffer.from("a''b\\n"));
    const [[right]] = (await conn.query({ sql: `SELECT ${lit(s, DEFAULT)}`, rowsAsArray: true })) as unknown as [[string[]]];
    const [[wrong]] = (await conn.query({ sql: `SELECT ${lit(s, NO_BACKSLASH)}`, rowsAsArray: true })) as unknown as [[string[]]];
    expect(right![0]).toBe("a''b\\n");
    expect(wrong![0]).not.toBe("a''b\\n");
  });
});
