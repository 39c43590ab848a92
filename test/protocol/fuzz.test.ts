import { describe, expect, it } from 'vitest';
import { Capability } from '../../src/protocol/constants.js';
import { parseChangeUser } from '../../src/protocol/change-user.js';
import { isEofPacket, parseEof } from '../../src/protocol/eof-packet.js';
import { isErrPacket, isProgressReport, parseErr } from '../../src/protocol/err-packet.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import {
  isSslRequest,
  parseGreeting,
  parseHandshakeResponse,
  rewriteGreetingCapabilities,
  rewriteHandshakeResponseCapabilities,
} from '../../src/protocol/handshake.js';
import { isOkPacket, parseOk } from '../../src/protocol/ok-packet.js';
import { PacketReader } from '../../src/protocol/packet-reader.js';
import { renderLiteral } from '../../src/protocol/sql-literal.js';
import { decodeStmtExecute, parseStmtExecuteHeader, type ParamType } from '../../src/protocol/stmt-execute.js';
import { parseSendLongData } from '../../src/protocol/stmt-long-data.js';
import { parsePrepareOk } from '../../src/protocol/stmt-prepare-ok.js';

const ITERATIONS = 200_000;
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
/** Generous: millions of parse attempts, and CI machines may be busy. */
const FUZZ_TIMEOUT_MS = 300_000;

/**
 * Real packets captured between mysql2 3.24.6 and MariaDB 10.11, the starting points for mutation:
 * greeting, handshake response, COM_STMT_EXECUTE with 9 parameters of 9 types, COM_CHANGE_USER,
 * OK with session-state data, OK with lenenc info, ERR, EOF, PREPARE_OK.
 */
const SEEDS = [
  '0a352e352e352d31302e31312e31392d4d6172696144422d302b646562313275310004000000274c2b2f4c71726a00fef72d0200ff81150000000000001d0000003c2c67455f3276213b452b47006d7973716c5f6e61746976655f70617373776f726400',
  'cef3ba0800000000e00000000000000000000000000000000000000008000000726f6f7400006d7973716c006d7973716c5f6e61746976655f70617373776f726400310c5f636c69656e745f6e616d650c4e6f64652d4d7953514c2d320f5f636c69656e745f76657273696f6e06332e32342e36',
  '170100000000010000000400010500fd000600fc000c000b00f60008800100000000000000f83f04697427730200ff0be8070102030405701700000c010000000001020320a1070004312e3235050000000000000001',
  '11750014c0490ba865be84044f2721bf199c9d093da652c26d7973716c00e0006d7973716c5f6e61746976655f70617373776f72640000',
  '0000000240000000080106056d7973716c',
  '00020102000000265265636f7264733a203220204475706c6963617465733a203020205761726e696e67733a2030',
  'ff7a042334325330325461626c6520276d7973716c2e6e6f70652720646f65736e2774206578697374',
  'fe00000200',
  '000100000009000900000000',
  '1801000000020068656c6c6f',
].map((hex) => Buffer.from(hex, 'hex'));

/** mulberry32: small, seedable, good enough to spread mutations. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff];

function mutate(seed: Buffer, rand: () => number): Buffer {
  const pick = (n: number) => Math.floor(rand() * n);
  let b = Buffer.from(seed);
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds; r++) {
    const at = pick(b.length + 1);
    switch (pick(6)) {
      case 0:
        if (b.length > 0) b[Math.min(at, b.length - 1)]! ^= 1 << pick(8);
        break;
      case 1:
        if (b.length > 0) b[Math.min(at, b.length - 1)] = INTERESTING[pick(INTERESTING.length)]!;
        break;
      case 2:
        b = b.subarray(0, at);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), Buffer.from([pick(256)]), b.subarray(at)]);
        break;
      case 4:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + pick(8)))]);
        break;
      default:
        b = Buffer.concat([b, b.subarray(at, at + pick(16))]);
    }
  }
  return b;
}

function randomPayload(rand: () => number): Buffer {
  if (rand() < 0.8) return mutate(SEEDS[Math.floor(rand() * SEEDS.length)]!, rand);
  const b = Buffer.alloc(Math.floor(rand() * 64));
  for (let i = 0; i < b.length; i++) b[i] = rand() < 0.3 ? INTERESTING[Math.floor(rand() * INTERESTING.length)]! : Math.floor(rand() * 256);
  return b;
}

function randomCaps(rand: () => number): number {
  return Math.floor(rand() * 2 ** 32) >>> 0;
}

/** Runs fn; anything thrown must be a ProtocolError with a code. */
function onlyProtocolErrors(fn: () => unknown, input: Buffer, name: string): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProtocolError && typeof e.code === 'string' && e.code.length > 0) return;
    throw new Error(`${name} threw ${String(e)} on payload ${input.toString('hex')} (seed ${SEED})`, { cause: e });
  }
}

/**
 * Most inputs make most parsers throw, and capturing a stack trace dominates the cost of a throw;
 * the fuzzer only looks at the error's class and code.
 */
function withoutStackTraces(fn: () => void): void {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    fn();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function fuzzParsers(): void {
  const rand = rng(SEED);
  const previous: ParamType[] = [
    { type: 253, unsigned: false },
    { type: 8, unsigned: true },
  ];
  let decoded = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const p = randomPayload(rand);
    const caps = randomCaps(rand);
    const numParams = Math.floor(rand() * 12);
    const longData = new Map(rand() < 0.2 ? [[Math.floor(rand() * 12), [p.subarray(0, 3)]]] : []);
    const checks: [string, () => unknown][] = [
      ['parseOk', () => parseOk(p, caps)],
      ['parseErr', () => parseErr(p, caps)],
      ['parseEof', () => parseEof(p)],
      ['parseGreeting', () => parseGreeting(p)],
      ['rewriteGreetingCapabilities', () => rewriteGreetingCapabilities(p, { capabilities: caps, mariadb: caps }, { capabilities: caps >>> 3 })],
      ['parseHandshakeResponse', () => parseHandshakeResponse(p)],
      ['rewriteHandshakeResponseCapabilities', () => rewriteHandshakeResponseCapabilities(p, { capabilities: caps }, { mariadb: caps })],
      ['parseChangeUser', () => parseChangeUser(p, caps)],
      ['parsePrepareOk', () => parsePrepareOk(p)],
      ['parseStmtExecuteHeader', () => parseStmtExecuteHeader(p)],
      [
        'decodeStmtExecute + renderLiteral',
        () => {
          const d = decodeStmtExecute(p, numParams, numParams === 2 ? previous : null, longData);
          decoded++;
          for (const param of d.params) renderLiteral(param, { noBackslashEscapes: (caps & 1) === 1 });
        },
      ],
      ['parseSendLongData', () => parseSendLongData(p)],
      ['predicates', () => [isOkPacket(p), isErrPacket(p), isProgressReport(p), isEofPacket(p), isSslRequest(p)]],
    ];
    for (const [name, fn] of checks) onlyProtocolErrors(fn, p, name);
  }
  // The mutations must also reach the paths past the checks, not only early rejections.
  expect(decoded).toBeGreaterThan(ITERATIONS / 100);
}

function fuzzPacketReader(): void {
  const rand = rng(SEED + 1);
  for (let i = 0; i < 2_000; i++) {
    const reader = new PacketReader({ maxPacketBytes: 1 << 16 });
    const stream = Buffer.concat(Array.from({ length: 1 + Math.floor(rand() * 8) }, () => randomPayload(rand)));
    onlyProtocolErrors(
      () => {
        for (let off = 0; off < stream.length; ) {
          const n = 1 + Math.floor(rand() * 40);
          reader.push(stream.subarray(off, off + n));
          off += n;
          while (reader.next() !== null);
        }
      },
      stream,
      'PacketReader',
    );
  }
}

describe('fuzz smoke: random and mutated payloads', () => {
  it(`every parser throws nothing but ProtocolError over ${ITERATIONS} inputs`, () => withoutStackTraces(fuzzParsers), FUZZ_TIMEOUT_MS);

  it('PacketReader throws nothing but ProtocolError on random streams in random chunks', () =>
    withoutStackTraces(fuzzPacketReader), FUZZ_TIMEOUT_MS);

  it('seeds parse cleanly before mutation (the fuzzer starts from valid packets)', () => {
    const [greeting, response, execute, changeUser, okTracked, okInfo, err, eof, prepareOk, longData] = SEEDS as [
      Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer,
    ];
    const g = parseGreeting(greeting);
    const r = parseHandshakeResponse(response);
    const caps = (g.capabilities & r.capabilities) >>> 0;
    expect(r.user).toBe('root');
    expect(decodeStmtExecute(execute, 9, null, new Map()).params).toHaveLength(9);
    expect(parseChangeUser(changeUser, caps).user).toBe('u');
    expect(parseOk(okTracked, caps).status).toBe(0x4002);
    expect(parseOk(okInfo, caps).info.toString()).toBe('Records: 2  Duplicates: 0  Warnings: 0');
    expect(parseErr(err, caps).code).toBe(1146);
    expect(parseEof(eof).status).toBe(2);
    expect(parsePrepareOk(prepareOk).numParams).toBe(9);
    expect(parseSendLongData(longData).data.toString()).toBe('hello');
    expect(caps & Capability.SESSION_TRACK).toBeTruthy();
  });
});
