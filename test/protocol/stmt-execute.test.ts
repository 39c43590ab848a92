import mysql, { type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/protocol/bytes.js';
import { FieldType } from '../../src/protocol/constants.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { decodeStmtExecute, parseStmtExecuteHeader, type ParamType } from '../../src/protocol/stmt-execute.js';
import { startMariaDb, startRelay, type Relay, type TestServer } from './mariadb-fixture.js';
import { captureExecute, PARAM_CASES, type CapturedExecute } from './param-cases.js';
import { codeOf } from './protocol-error-code.js';

let server: TestServer;
let relay: Relay;
let conn: Connection;
const captured = new Map<string, CapturedExecute>();

beforeAll(async () => {
  server = await startMariaDb();
  relay = await startRelay(server.port);
  conn = await mysql.createConnection({ host: '127.0.0.1', port: relay.port, user: 'root' });
  for (const c of PARAM_CASES) {
    const sql = `SELECT ${c.args.map((_, i) => `? AS c${i}`).join(', ')}`;
    captured.set(c.name, await captureExecute(conn, relay.connections[0]!, sql, c.args));
  }
});

afterAll(async () => {
  await conn?.end();
  await relay?.close();
  await server?.stop();
});

/** The same execute with new_params_bound = 0 and no type list, as a client sends on re-execution. */
function withoutTypes(payload: Buffer, numParams: number): Buffer {
  const bitmapEnd = 10 + ((numParams + 7) >> 3);
  return Buffer.concat([payload.subarray(0, bitmapEnd), Buffer.from([0]), payload.subarray(bitmapEnd + 1 + 2 * numParams)]);
}

describe('decodeStmtExecute on COM_STMT_EXECUTE packets captured from mysql2', () => {
  it.each(PARAM_CASES.map((c) => [c.name, c] as const))('%s', (name, c) => {
    const { payload, numParams } = captured.get(name)!;
    expect(numParams).toBe(c.args.length);
    const decoded = decodeStmtExecute(payload, numParams, null, new Map());
    expect(decoded.params).toEqual(c.expected);
    expect(decoded.statementId).toBe(parseStmtExecuteHeader(payload).statementId);
    expect(decoded.flags).toBe(0);
    expect(decoded.types).toHaveLength(numParams);
    decoded.params.forEach((p, i) => p && expect(decoded.types[i]).toEqual({ type: p.type, unsigned: p.unsigned }));
  });

  it('reuses the previous types when new_params_bound is 0', () => {
    const { payload, numParams } = captured.get('signed_ints')!;
    const first = decodeStmtExecute(payload, numParams, null, new Map());
    const again = decodeStmtExecute(withoutTypes(payload, numParams), numParams, first.types, new Map());
    expect(again.params).toEqual(first.params);
    expect(again.types).toBe(first.types);
    expect(codeOf(() => decodeStmtExecute(withoutTypes(payload, numParams), numParams, null, new Map()))).toBe('NO_PARAM_TYPES');
    expect(codeOf(() => decodeStmtExecute(withoutTypes(payload, numParams), numParams, first.types.slice(1), new Map()))).toBe(
      'PARAM_TYPES_MISMATCH',
    );
  });

  it('fails with ProtocolError, never a RangeError, on every prefix of a real packet', () => {
    const wrong: string[] = [];
    for (const [name, c] of captured) {
      for (let len = 0; len < c.payload.length; len++) {
        try {
          decodeStmtExecute(c.payload.subarray(0, len), c.numParams, null, new Map());
          wrong.push(`${name}: prefix of ${len} bytes decoded`);
        } catch (e) {
          if (!(e instanceof ProtocolError)) wrong.push(`${name}: prefix of ${len} bytes threw ${String(e)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('decodeStmtExecute on hand-built packets', () => {
  const types: ParamType[] = [
    { type: FieldType.VAR_STRING, unsigned: false },
    { type: FieldType.LONG, unsigned: true },
    { type: FieldType.BLOB, unsigned: false },
  ];

  function execute(nullBits: number, values: Buffer): Buffer {
    const w = new ByteWriter().u8(0x17).u32(9).u8(0).u32(1).u8(nullBits).u8(1);
    for (const t of types) w.u8(t.type).u8(t.unsigned ? 0x80 : 0);
    return w.bytes(values).toBuffer();
  }

  it('takes long-data parameters from the map, concatenated, even when their NULL bit is set', () => {
    const payload = execute(0b100, new ByteWriter().u32(4_000_000_000).toBuffer());
    const longData = new Map([
      [0, [Buffer.from('hello '), Buffer.from('world')]],
      [2, [Buffer.from([1, 2])]],
    ]);
    const d = decodeStmtExecute(payload, 3, null, longData);
    expect(d.statementId).toBe(9);
    expect(d.params).toEqual([
      { type: FieldType.VAR_STRING, unsigned: false, value: Buffer.from('hello world') },
      { type: FieldType.LONG, unsigned: true, value: 4_000_000_000 },
      { type: FieldType.BLOB, unsigned: false, value: Buffer.from([1, 2]) },
    ]);
  });

  it('rejects bad temporal lengths, a wrong command byte and a bad parameter count', () => {
    const w = new ByteWriter().u8(0x17).u32(1).u8(0).u32(1).u8(0).u8(1).u8(FieldType.DATETIME).u8(0).u8(5);
    expect(codeOf(() => decodeStmtExecute(w.bytes(Buffer.alloc(5)).toBuffer(), 1, null, new Map()))).toBe('BAD_TEMPORAL_LENGTH');
    expect(codeOf(() => decodeStmtExecute(Buffer.from([0x16, 0, 0, 0, 0]), 0, null, new Map()))).toBe('NOT_STMT_EXECUTE');
    expect(codeOf(() => parseStmtExecuteHeader(Buffer.from([0x17, 1])))).toBe('TRUNCATED');
    expect(codeOf(() => decodeStmtExecute(execute(0, Buffer.alloc(0)), 70000, null, new Map()))).toBe('BAD_PARAM_COUNT');
  });

  it('decodes a statement without parameters from its header alone', () => {
    const payload = new ByteWriter().u8(0x17).u32(77).u8(1).u32(1).toBuffer();
    expect(decodeStmtExecute(payload, 0, null, new Map())).toEqual({ statementId: 77, flags: 1, params: [], types: [] });
  });
});
