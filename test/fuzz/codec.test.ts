import { beforeAll, describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/protocol/errors.js';
import { Capability } from '../../src/protocol/constants.js';
import { ResponseTracker } from '../../src/proxy/response-tracker.js';
import { loadCodec, runCodecFuzz } from './codec-fuzz.mjs';
import { loadFixtures } from './fixtures.mjs';

// The codec, the response tracker and the SQL classifier fed mutated packets captured from
// mysql2, the mariadb CLI and PHP mysqli (test/fuzz/fixtures), random bytes, lying lengths and
// sequence ids. test/protocol/fuzz.test.ts fuzzes the parsers from ten hand-picked packets;
// this one starts from whole real sessions of three clients, in both directions.
// FUZZ_SEED=n replays a run; each failure prints the seed of its single case.

const INPUTS = 200_000;
const SEED = Number(process.env.FUZZ_SEED ?? 0xc0dec);
const TARGETS = [
  'parseOk', 'parseErr', 'parseEof', 'parseGreeting', 'rewriteGreetingCapabilities', 'parseHandshakeResponse',
  'rewriteHandshakeResponseCapabilities', 'parseChangeUser', 'parsePrepareOk', 'parseStmtExecuteHeader',
  'decodeStmtExecute+renderLiteral', 'parseSendLongData', 'predicates', 'ResponseTracker', 'PacketReader',
];
const SQL = 'sql classify/writeFlags/userVarsAssignedByRead/splitStatements';

type Failure = { target: string; seed: number; error: string; input: string };
let run: { fed: number; failed: number; failures: Failure[]; accepted: Record<string, number> };

beforeAll(async () => {
  const lib = await loadCodec((path: string) => import(/* @vite-ignore */ new URL(`../../src/${path}.ts`, import.meta.url).pathname));
  run = runCodecFuzz(lib, { inputs: INPUTS, seed: SEED });
}, 120_000);

describe(`codec fuzz: ${INPUTS} inputs from real client and server packets (seed ${SEED})`, () => {
  it('starts from real sessions of mysql2, the mariadb CLI and PHP mysqli, both directions', () => {
    const f = loadFixtures();
    expect(f.clients).toHaveLength(3);
    for (const pool of [f.client.handshake, f.client.commands, f.server.handshake, f.server.replies]) expect(pool.length).toBeGreaterThan(2);
    expect(run.fed).toBeGreaterThanOrEqual(INPUTS);
  });

  it.each(TARGETS)('%s throws nothing but ProtocolError', (target) => {
    expect(run.failures.filter((f) => f.target === target)).toEqual([]);
    // The mutations reach past the first checks, not only early rejections.
    expect(run.accepted[target] ?? 0).toBeGreaterThan(INPUTS / 1000);
  });

  it('the SQL classifier, which nothing catches in the proxy, never throws on any client text', () => {
    expect(run.failures.filter((f) => f.target === SQL)).toEqual([]);
  });
});

describe('found by the fuzzer', () => {
  // An empty packet where a result set header is expected: columnCount() formats p[0], which is
  // undefined, and throws a TypeError. In the proxy that escapes protocolFailure() (it rethrows
  // anything but ProtocolError) from a socket 'data' handler: the whole proxy process dies.
  it.each(['resultset', 'prepare'] as const)('an empty server packet as the first of a %s response is a ProtocolError', (kind) => {
    const tracker = new ResponseTracker(kind, Capability.PROTOCOL_41);
    let thrown: unknown;
    try {
      tracker.feed(Buffer.alloc(0));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ProtocolError);
  });
});
