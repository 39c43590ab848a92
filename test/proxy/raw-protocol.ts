import { ByteReader, ByteWriter } from '../../src/protocol/bytes.js';
import { Capability, Command, FieldType } from '../../src/protocol/constants.js';
import { parseOk } from '../../src/protocol/ok-packet.js';
import { parseErr } from '../../src/protocol/err-packet.js';
import type { Packet } from '../../src/protocol/packet-reader.js';
import type { RawClient } from '../harness/raw-client.js';

/** One statement's result, decoded from raw packets. */
export type RawResult =
  | { type: 'ok'; affectedRows: number; insertId: number; status: number; info: string }
  | { type: 'err'; code: number; message: string }
  | { type: 'rows'; columns: string[]; rows: (string | null)[][] }
  | { type: 'local_infile'; file: string };

export interface ColumnDef {
  schema: string;
  table: string;
  name: string;
  type: number;
}

/** A parameter for COM_STMT_EXECUTE; LONG_DATA means its value went by COM_STMT_SEND_LONG_DATA. */
export type ExecuteParam = null | bigint | string | Buffer | typeof LONG_DATA;
export const LONG_DATA = Symbol('sent as long data');

export interface Prepared {
  statementId: number;
  params: ColumnDef[];
  columns: ColumnDef[];
  /** Packets of the response, to check its shape. */
  packets: Packet[];
}

const CURSOR_TYPE_READ_ONLY = 1;

/** Decodes a whole COM_QUERY / COM_STMT_EXECUTE response; `binary` rows come from an execute. */
export function decodeResults(packets: Packet[], caps: number, binary = false): RawResult[] {
  const out: RawResult[] = [];
  const deprecateEof = (caps & Capability.DEPRECATE_EOF) !== 0;
  let i = 0;
  while (i < packets.length) {
    const p = packets[i++]!.payload;
    if (p[0] === 0x00) out.push(okResult(p));
    else if (p[0] === 0xff) out.push(errResult(p, caps));
    else if (p[0] === 0xfb) out.push({ type: 'local_infile', file: p.subarray(1).toString('utf8') });
    else {
      const columns = packets.slice(i, i + p[0]!).map((c) => columnDef(c.payload));
      i += columns.length + (deprecateEof ? 0 : 1);
      const rows: (string | null)[][] = [];
      for (; packets[i]!.payload[0] !== 0xfe && packets[i]!.payload[0] !== 0xff; i++) {
        rows.push(binary ? binaryRow(packets[i]!.payload, columns) : textRow(packets[i]!.payload, columns.length));
      }
      const end = packets[i++]!.payload;
      out.push(end[0] === 0xff ? errResult(end, caps) : { type: 'rows', columns: columns.map((c) => c.name), rows });
    }
  }
  return out;
}

/** Runs a text query and decodes its results. */
export async function queryResults(c: RawClient, sql: string | Buffer): Promise<RawResult[]> {
  return decodeResults(await c.query(sql), c.caps);
}

/** The rows of a query expected to return one result set. */
export async function rowsOf(c: RawClient, sql: string): Promise<(string | null)[][]> {
  const [r, ...rest] = await queryResults(c, sql);
  if (r?.type !== 'rows' || rest.length > 0) throw new Error(`${sql}: expected one result set, got ${JSON.stringify([r, ...rest])}`);
  return r.rows;
}

export async function prepare(c: RawClient, sql: string): Promise<Prepared> {
  const packets = await c.command(Buffer.concat([Buffer.from([Command.STMT_PREPARE]), Buffer.from(sql)]), 'prepare');
  const head = packets[0]!.payload;
  if (head[0] === 0xff) throw new Error(`prepare failed: ${parseErr(head, c.caps).message}`);
  const numColumns = head.readUInt16LE(5);
  const numParams = head.readUInt16LE(7);
  const eof = (c.caps & Capability.DEPRECATE_EOF) !== 0 ? 0 : 1;
  const params = packets.slice(1, 1 + numParams).map((p) => columnDef(p.payload));
  const colStart = 1 + numParams + (numParams > 0 ? eof : 0);
  const columns = packets.slice(colStart, colStart + numColumns).map((p) => columnDef(p.payload));
  return { statementId: head.readUInt32LE(1), params, columns, packets };
}

export function executePayload(statementId: number, params: ExecuteParam[], opts: { cursor?: boolean } = {}): Buffer {
  const w = new ByteWriter().u8(Command.STMT_EXECUTE).u32(statementId).u8(opts.cursor ? CURSOR_TYPE_READ_ONLY : 0).u32(1);
  if (params.length === 0) return w.toBuffer();
  const nulls = Buffer.alloc((params.length + 7) >> 3);
  params.forEach((v, i) => { if (v === null) nulls[i >> 3]! |= 1 << (i & 7); });
  w.bytes(nulls).u8(1);
  for (const v of params) w.u16(paramType(v));
  for (const v of params) {
    if (typeof v === 'bigint') w.u64(BigInt.asUintN(64, v));
    else if (typeof v === 'string') w.lenencString(v);
    else if (Buffer.isBuffer(v)) w.lenencBytes(v);
  }
  return w.toBuffer();
}

export async function execute(c: RawClient, statementId: number, params: ExecuteParam[] = []): Promise<RawResult[]> {
  return decodeResults(await c.command(executePayload(statementId, params)), c.caps, true);
}

/** COM_STMT_SEND_LONG_DATA: the server sends no answer. */
export function sendLongData(c: RawClient, statementId: number, param: number, data: Buffer): void {
  c.write(0, Buffer.concat([new ByteWriter().u8(Command.STMT_SEND_LONG_DATA).u32(statementId).u16(param).toBuffer(), data]));
}

export function stmtPayload(command: number, statementId: number): Buffer {
  return new ByteWriter().u8(command).u32(statementId).toBuffer();
}

function paramType(v: ExecuteParam): number {
  if (v === null) return FieldType.NULL;
  if (typeof v === 'bigint') return FieldType.LONGLONG;
  if (typeof v === 'string') return FieldType.VAR_STRING;
  return FieldType.BLOB;
}

function okResult(p: Buffer): RawResult {
  const ok = parseOk(p, Capability.PROTOCOL_41);
  return { type: 'ok', affectedRows: Number(ok.affectedRows), insertId: Number(ok.insertId), status: ok.status, info: ok.info.toString('utf8') };
}

function errResult(p: Buffer, caps: number): RawResult {
  const e = parseErr(p, caps);
  return { type: 'err', code: e.code, message: e.message };
}

export function columnDef(p: Buffer): ColumnDef {
  const r = new ByteReader(p);
  r.lenencBytes(); // catalog
  const schema = r.lenencString();
  const table = r.lenencString();
  r.lenencBytes(); // org_table
  const name = r.lenencString();
  r.lenencBytes(); // org_name
  r.lenencInt(); // length of the fixed fields
  r.skip(2 + 4); // charset, column length
  return { schema, table, name, type: r.u8() };
}

function textRow(p: Buffer, n: number): (string | null)[] {
  const r = new ByteReader(p);
  return Array.from({ length: n }, () => {
    if (r.peek() === 0xfb) {
      r.skip(1);
      return null;
    }
    return r.lenencString();
  });
}

/** Binary rows of string-like and integer columns: enough for the statements the tests run. */
function binaryRow(p: Buffer, columns: ColumnDef[]): (string | null)[] {
  const r = new ByteReader(p, 1);
  const nulls = r.bytes((columns.length + 7 + 2) >> 3);
  return columns.map((c, i) => {
    if (nulls[(i + 2) >> 3]! & (1 << ((i + 2) & 7))) return null;
    switch (c.type) {
      case FieldType.LONGLONG: return r.i64().toString();
      case FieldType.LONG: case FieldType.INT24: return String(r.i32());
      case FieldType.SHORT: case FieldType.YEAR: return String(r.i16());
      case FieldType.TINY: return String(r.i8());
      default: return r.lenencString();
    }
  });
}
