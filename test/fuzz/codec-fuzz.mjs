// Feeds the protocol codec, the proxy's response tracker and its SQL classifier mutated real
// packets and random bytes. The codec may only throw ProtocolError (the proxy ends that session);
// the SQL functions run on any client text and may not throw at all (nothing catches them).
import { loadFixtures } from './fixtures.mjs';
import { frameFuzzed, fuzzPayload, mutate } from './mutations.mjs';
import { caseSeed, int, pick, rng } from './prng.mjs';

/** Where each function lives, relative to src/ (tests) or dist/ (the benchmark), without extension. */
const MODULES = {
  'protocol/errors': ['ProtocolError'],
  'protocol/packet-reader': ['PacketReader'],
  'protocol/ok-packet': ['parseOk', 'isOkPacket'],
  'protocol/err-packet': ['parseErr', 'isErrPacket', 'isProgressReport'],
  'protocol/eof-packet': ['parseEof', 'isEofPacket'],
  'protocol/handshake': ['parseGreeting', 'rewriteGreetingCapabilities', 'parseHandshakeResponse', 'rewriteHandshakeResponseCapabilities', 'isSslRequest'],
  'protocol/change-user': ['parseChangeUser'],
  'protocol/stmt-prepare-ok': ['parsePrepareOk'],
  'protocol/stmt-execute': ['parseStmtExecuteHeader', 'decodeStmtExecute'],
  'protocol/stmt-long-data': ['parseSendLongData'],
  'protocol/sql-literal': ['renderLiteral'],
  'proxy/response-tracker': ['ResponseTracker'],
  'sql/classify': ['classify', 'writeFlags', 'userVarsAssignedByRead'],
  'sql/split': ['splitStatements'],
};

/** The functions under test; `load(path)` imports one module by its MODULES path. */
export async function loadCodec(load) {
  const lib = {};
  for (const [path, names] of Object.entries(MODULES)) {
    const mod = await load(path);
    for (const n of names) {
      if (mod[n] === undefined) throw new Error(`${path} has no export ${n}`);
      lib[n] = mod[n];
    }
  }
  return lib;
}

const RESPONSE_KINDS = ['resultset', 'prepare', 'rows', 'field_list', 'simple', 'raw'];
const MAX_FAILURES = 10;
const EXECUTE = 0x17;

/**
 * Runs cases from `seed` until `inputs` inputs were fed. Returns how many were fed, how many
 * failed and the first failures of each target (each with the seed that reproduces it alone:
 * runCodecCase(lib, codecPools(loadFixtures()), seed, stats)), and how often each target
 * accepted an input (mutations must also reach past the first checks).
 */
export function runCodecFuzz(lib, { inputs, seed }) {
  const fixtures = loadFixtures();
  const pools = codecPools(fixtures);
  const stats = { fed: 0, failed: 0, failures: [], accepted: {} };
  const limit = Error.stackTraceLimit;
  // Most inputs make most parsers throw; a stack trace per throw would dominate the cost.
  Error.stackTraceLimit = 0;
  try {
    for (let i = 0; stats.fed < inputs; i++) {
      runCodecCase(lib, pools, caseSeed(seed, i), stats);
    }
  } finally {
    Error.stackTraceLimit = limit;
  }
  return stats;
}

export function codecPools(fixtures) {
  return {
    all: [...fixtures.client.handshake, ...fixtures.client.commands, ...fixtures.server.handshake, ...fixtures.server.replies],
    replies: [...fixtures.server.replies, ...fixtures.server.handshake],
    executes: fixtures.client.commands.filter((p) => p[0] === EXECUTE),
  };
}

/** One case: a payload through every parser; every 8th case also a framed stream and a response. */
export function runCodecCase(lib, pools, seed, stats) {
  const rand = rng(seed);
  const p = fuzzPayload(rand() < 0.3 && pools.executes.length > 0 ? pools.executes : pools.all, rand);
  stats.fed++;
  const caps = (rand() < 0.5 ? 0xffffffff : int(rand, 2 ** 32)) >>> 0;
  const numParams = rand() < 0.5 ? int(rand, 8) : int(rand, 0x10000);
  const longData = new Map(rand() < 0.2 ? [[int(rand, 8), [p.subarray(0, 3)]]] : []);
  const previous = rand() < 0.5 ? null : [{ type: 253, unsigned: false }, { type: 8, unsigned: true }, { type: 12, unsigned: false }];
  const checks = [
    ['parseOk', () => lib.parseOk(p, caps)],
    ['parseErr', () => lib.parseErr(p, caps)],
    ['parseEof', () => lib.parseEof(p)],
    ['parseGreeting', () => lib.parseGreeting(p)],
    ['rewriteGreetingCapabilities', () => lib.rewriteGreetingCapabilities(p, { capabilities: caps, mariadb: caps }, { capabilities: caps >>> 3 })],
    ['parseHandshakeResponse', () => lib.parseHandshakeResponse(p)],
    ['rewriteHandshakeResponseCapabilities', () => lib.rewriteHandshakeResponseCapabilities(p, { capabilities: caps }, { mariadb: caps })],
    ['parseChangeUser', () => lib.parseChangeUser(p, caps)],
    ['parsePrepareOk', () => lib.parsePrepareOk(p)],
    ['parseStmtExecuteHeader', () => lib.parseStmtExecuteHeader(p)],
    ['decodeStmtExecute+renderLiteral', () => {
      const d = lib.decodeStmtExecute(p, numParams, previous && previous.length === numParams ? previous : null, longData);
      for (const param of d.params) lib.renderLiteral(param, { noBackslashEscapes: (caps & 1) === 1 });
    }],
    ['parseSendLongData', () => lib.parseSendLongData(p)],
    ['predicates', () => [lib.isOkPacket(p), lib.isErrPacket(p), lib.isProgressReport(p), lib.isEofPacket(p), lib.isSslRequest(p)]],
  ];
  for (const [name, fn] of checks) codecOnly(lib, stats, name, fn, seed, p);
  sqlNeverThrows(lib, stats, p.subarray(1), seed, caps);
  if (seed % 8 === 0) {
    responseSequence(lib, stats, pools.replies, rand, seed, caps);
    framedStream(lib, stats, pools.all, rand, seed);
  }
}

function codecOnly(lib, stats, name, fn, seed, input) {
  try {
    fn();
    stats.accepted[name] = (stats.accepted[name] ?? 0) + 1;
  } catch (e) {
    if (e instanceof lib.ProtocolError && typeof e.code === 'string' && e.code.length > 0) return;
    fail(stats, name, seed, input, e);
  }
}

function sqlNeverThrows(lib, stats, sql, seed, caps) {
  const opts = { noBackslashEscapes: (caps & 2) === 2 };
  try {
    lib.classify(sql, opts);
    lib.writeFlags(sql, new Set(['v']), opts);
    lib.userVarsAssignedByRead(sql, opts);
    lib.splitStatements(sql, opts);
    stats.accepted.sql = (stats.accepted.sql ?? 0) + 1;
  } catch (e) {
    fail(stats, 'sql classify/writeFlags/userVarsAssignedByRead/splitStatements', seed, sql, e);
  }
}

/** Mutated server packets fed in order to one response tracker, as the proxy does. */
function responseSequence(lib, stats, replies, rand, seed, caps) {
  const tracker = new lib.ResponseTracker(pick(rand, RESPONSE_KINDS), caps);
  const fed = [];
  try {
    for (let n = 1 + int(rand, 12); n > 0; n--) {
      const p = rand() < 0.5 ? Buffer.from(pick(rand, replies)) : mutate(pick(rand, replies), rand);
      fed.push(p);
      stats.fed++;
      if (tracker.feed(p).done) break;
    }
    stats.accepted.ResponseTracker = (stats.accepted.ResponseTracker ?? 0) + 1;
  } catch (e) {
    if (e instanceof lib.ProtocolError) return;
    fail(stats, 'ResponseTracker', seed, Buffer.concat(fed), e);
  }
}

/** Several packets framed honestly or not, pushed to one PacketReader in random chunks. */
function framedStream(lib, stats, pool, rand, seed) {
  const wires = [];
  for (let n = 1 + int(rand, 6); n > 0; n--) {
    wires.push(frameFuzzed(fuzzPayload(pool, rand), int(rand, 256), rand).bytes);
    stats.fed++;
  }
  const stream = Buffer.concat(wires);
  const reader = new lib.PacketReader({ maxPacketBytes: rand() < 0.5 ? 1 << 20 : 64 });
  try {
    for (let off = 0; off < stream.length;) {
      const n = 1 + int(rand, 64);
      reader.push(stream.subarray(off, off + n));
      off += n;
      while (reader.next() !== null);
    }
    stats.accepted.PacketReader = (stats.accepted.PacketReader ?? 0) + 1;
  } catch (e) {
    if (e instanceof lib.ProtocolError) return;
    fail(stats, 'PacketReader', seed, stream, e);
  }
}

/** Counts every failure; keeps the first few of each target to print. */
function fail(stats, target, seed, input, e) {
  stats.failed++;
  if (stats.failures.filter((f) => f.target === target).length < MAX_FAILURES) stats.failures.push(failure(target, seed, input, e));
}

function failure(target, seed, input, e) {
  const hex = input.toString('hex');
  return {
    target, seed,
    error: `${e?.constructor?.name ?? typeof e}: ${e?.message ?? String(e)}`,
    input: hex.length > 4096 ? `${hex.slice(0, 4096)}... (${input.length} bytes)` : hex,
  };
}
