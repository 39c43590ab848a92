import mysql, { type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/protocol/bytes.js';
import { FieldType as F } from '../../src/protocol/constants.js';
import { isEofPacket } from '../../src/protocol/eof-packet.js';
import { parseErr } from '../../src/protocol/err-packet.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { isOkPacket, parseOk } from '../../src/protocol/ok-packet.js';
import { renderLiteral } from '../../src/protocol/sql-literal.js';
import { decodeStmtExecute, type ParamType } from '../../src/protocol/stmt-execute.js';
import { parseSendLongData } from '../../src/protocol/stmt-long-data.js';
import { parsePrepareOk, type PrepareOk } from '../../src/protocol/stmt-prepare-ok.js';
import { RAW_CLIENT_CAPS, RawConnection, startMariaDb, type TestServer } from './mariadb-fixture.js';
import { expectSameTables } from './table-compare.js';

let server: TestServer;
let raw: RawConnection;
let conn: Connection;

beforeAll(async () => {
  server = await startMariaDb();
  conn = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root' });
  await conn.query('CREATE DATABASE ld');
  await conn.query("SET SESSION sql_mode = ''");
  raw = await RawConnection.open(server.port);
});

afterAll(async () => {
  raw?.close();
  await conn?.end();
  await server?.stop();
});

async function prepare(sql: string): Promise<PrepareOk> {
  raw.send(Buffer.concat([Buffer.from([0x16]), Buffer.from(sql)]));
  const first = await raw.next();
  if (first.payload[0] !== 0x00) throw new Error(parseErr(first.payload, RAW_CLIENT_CAPS).message);
  const ok = parsePrepareOk(first.payload);
  // Parameter and then column definitions, each list closed by an EOF (this client did not ask
  // for CLIENT_DEPRECATE_EOF).
  for (const count of [ok.numParams, ok.numColumns]) {
    for (let i = 0; i < count; i++) expect(isEofPacket((await raw.next()).payload)).toBe(false);
    if (count > 0) expect(isEofPacket((await raw.next()).payload)).toBe(true);
  }
  return ok;
}

function longDataPacket(statementId: number, paramId: number, data: Buffer): Buffer {
  return new ByteWriter().u8(0x18).u32(statementId).u16(paramId).bytes(data).toBuffer();
}

function execute(statementId: number, nullBitmap: number[], types: ParamType[], values: Buffer): Buffer {
  const w = new ByteWriter().u8(0x17).u32(statementId).u8(0).u32(1).bytes(Buffer.from(nullBitmap)).u8(1);
  for (const t of types) w.u8(t.type).u8(t.unsigned ? 0x80 : 0);
  return w.bytes(values).toBuffer();
}

async function expectOk(): Promise<void> {
  const answer = await raw.next();
  if (!isOkPacket(answer.payload)) throw new Error(parseErr(answer.payload, RAW_CLIENT_CAPS).message);
  expect(parseOk(answer.payload, RAW_CLIENT_CAPS).affectedRows).toBe(1);
}

/**
 * Runs a hand-built execute of `CREATE TABLE ld.p_<name> AS SELECT ?...` on the raw connection,
 * decodes the same bytes, renders the parameters as literals into ld.l_<name>, and checks both
 * tables agree. Returns the decoded parameters.
 */
async function roundTrip(name: string, types: ParamType[], nullBitmap: number[], values: Buffer, chunks: Map<number, Buffer[]>) {
  const cols = types.map((_, i) => `? AS c${i}`).join(', ');
  const ok = await prepare(`CREATE TABLE ld.p_${name} AS SELECT ${cols}`);
  expect(ok).toMatchObject({ numColumns: 0, numParams: types.length, warnings: 0 });
  const longData = new Map<number, Buffer[]>();
  for (const [paramId, parts] of chunks) {
    for (const part of parts) {
      const packet = longDataPacket(ok.statementId, paramId, part);
      raw.send(packet);
      const parsed = parseSendLongData(packet);
      expect(parsed).toEqual({ statementId: ok.statementId, paramId, data: part });
      longData.set(paramId, [...(longData.get(paramId) ?? []), Buffer.from(parsed.data)]);
    }
  }
  const payload = execute(ok.statementId, nullBitmap, types, values);
  raw.send(payload);
  await expectOk();
  const { params } = decodeStmtExecute(payload, ok.numParams, null, longData);
  const literals = params.map((p, i) => `${renderLiteral(p, { noBackslashEscapes: false }).toString('utf8')} AS c${i}`);
  await conn.query(`CREATE TABLE ld.l_${name} AS SELECT ${literals.join(', ')}`);
  await expectSameTables(conn, 'ld', `p_${name}`, `l_${name}`, params.map((p) => p === null));
  return params;
}

describe('COM_STMT_SEND_LONG_DATA against a real MariaDB', () => {
  it('long data is concatenated, wins over the NULL bit, and its parameters take no bytes in the execute', async () => {
    const emoji = Buffer.from('wörld 😀');
    const params = await roundTrip(
      'chunks',
      [
        { type: F.VAR_STRING, unsigned: false },
        { type: F.LONGLONG, unsigned: true },
        { type: F.BLOB, unsigned: false },
      ],
      [0b100],
      new ByteWriter().u64(2n ** 64n - 1n).toBuffer(),
      new Map([
        // The emoji is split across two packets: only the concatenation is valid UTF-8.
        [0, [Buffer.from('héllo '), emoji.subarray(0, emoji.length - 2), emoji.subarray(emoji.length - 2)]],
        [2, [Buffer.from([0, 1, 2, 0xff]), Buffer.alloc(0), Buffer.from([0x27])]],
      ]),
    );
    expect(params).toEqual([
      { type: F.VAR_STRING, unsigned: false, value: Buffer.from('héllo wörld 😀') },
      { type: F.LONGLONG, unsigned: true, value: 2n ** 64n - 1n },
      { type: F.BLOB, unsigned: false, value: Buffer.from([0, 1, 2, 0xff, 0x27]) },
    ]);
  });

  it('a parameter of type NULL without its NULL bit is refused by the server and decodes as NULL', async () => {
    const types = [
      { type: F.NULL, unsigned: false },
      { type: F.LONG, unsigned: false },
    ];
    const ok = await prepare('SELECT ? AS c0, ? AS c1');
    const payload = execute(ok.statementId, [0], types, new ByteWriter().u32(7).toBuffer());
    raw.send(payload);
    const answer = await raw.next();
    expect(parseErr(answer.payload, RAW_CLIENT_CAPS)).toMatchObject({ code: 1210, sqlState: 'HY000' });
    expect(decodeStmtExecute(payload, 2, null, new Map()).params).toEqual([null, { type: F.LONG, unsigned: false, value: 7 }]);
  });

  it('INT24, YEAR, BIT and GEOMETRY take no bytes and bind as NULL, NEWDATE reads as a date', async () => {
    const t = (type: number) => ({ type, unsigned: false });
    const params = await roundTrip(
      'valueless',
      [t(F.GEOMETRY), t(F.LONG), t(F.BIT), t(F.INT24), t(F.YEAR), t(F.NEWDATE), t(F.LONG)],
      [0],
      Buffer.concat([new ByteWriter().u32(7).toBuffer(), Buffer.from([4, 0xe8, 0x07, 12, 31]), new ByteWriter().u32(8).toBuffer()]),
      new Map(),
    );
    expect(params).toEqual([
      null,
      { type: F.LONG, unsigned: false, value: 7 },
      null,
      null,
      null,
      { type: F.NEWDATE, unsigned: false, value: { year: 2024, month: 12, day: 31, hour: 0, minute: 0, second: 0, micro: 0 } },
      { type: F.LONG, unsigned: false, value: 8 },
    ]);
  });

  it('zero-length temporal values render as zero dates and times', async () => {
    const params = await roundTrip(
      'zero_dates',
      [
        { type: F.DATETIME, unsigned: false },
        { type: F.DATE, unsigned: false },
        { type: F.TIME, unsigned: false },
        { type: F.DATETIME, unsigned: false },
      ],
      [0],
      Buffer.from([0, 0, 0, 4, 0xe8, 0x07, 2, 29]),
      new Map(),
    );
    expect(params[3]).toEqual({
      type: F.DATETIME,
      unsigned: false,
      value: { year: 2024, month: 2, day: 29, hour: 0, minute: 0, second: 0, micro: 0 },
    });
  });
});

describe('parseSendLongData', () => {
  it('reads statement id, parameter index and the data to the end', () => {
    expect(parseSendLongData(longDataPacket(0x01020304, 65535, Buffer.from('abc')))).toEqual({
      statementId: 0x01020304,
      paramId: 65535,
      data: Buffer.from('abc'),
    });
    expect(parseSendLongData(longDataPacket(1, 0, Buffer.alloc(0))).data).toHaveLength(0);
  });

  it('rejects another command or a truncated header', () => {
    expect(() => parseSendLongData(Buffer.from([0x17, 1, 0, 0, 0, 0, 0]))).toThrow(ProtocolError);
    expect(() => parseSendLongData(Buffer.from([0x18, 1, 0, 0, 0, 0]))).toThrow(/truncated/);
  });
});
