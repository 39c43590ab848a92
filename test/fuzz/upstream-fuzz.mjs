// The other direction: a fake upstream server that answers the proxy with mutated real server
// packets (greeting, auth answers, query results), while clients log in and query through the
// proxy. A server cannot be trusted to be well-formed (a bug, a wrong port, a hostile host): the
// proxy must end that session, never crash, and stay usable.
import net from 'node:net';
import { loadFixtures } from './fixtures.mjs';
import { frameFuzzed, fuzzPayload, mutate } from './mutations.mjs';
import { caseSeed, pick, rng } from './prng.mjs';

const MAX_KEPT_FAILURES = 20;
const MAX_KEPT_CRASHES = 3;
const OK_AFTER_LOGIN = Buffer.from([0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]);

/**
 * A TCP server playing MariaDB from the fixtures. Each connection takes the next case seed from
 * `seeds`: in its handshake or in its answer to the first command, some packets are mutated or
 * framed dishonestly. What it sent is kept by seed, to print with a failure.
 */
export async function startFuzzedUpstream() {
  const fixtures = loadFixtures();
  const greeting = fixtures.server.handshake.find((p) => p[0] === 0x0a);
  const seeds = [];
  const sent = new Map();
  const sockets = new Set();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    const seed = seeds.shift() ?? 0;
    play(s, rng(seed), greeting, fixtures, (what) => sent.set(seed, [...(sent.get(seed) ?? []), what]));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    expect: (seed) => seeds.push(seed),
    sentFor: (seed) => sent.get(seed) ?? [],
    forget: (seed) => sent.delete(seed),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

function play(s, rand, greeting, fixtures, note) {
  const inHandshake = rand() < 0.3;
  const send = (payload, seq, honest) => {
    const wire = honest ? { kind: 'honest', bytes: Buffer.concat([header(payload.length, seq), payload]) } : frameFuzzed(payload, seq, rand);
    note(`${wire.kind}:${wire.bytes.toString('hex').slice(0, 512)}`);
    s.write(wire.bytes);
  };
  send(inHandshake && rand() < 0.5 ? mutate(greeting, rand) : greeting, 0, !inHandshake);
  let packets = 0;
  s.on('data', () => {
    packets++;
    if (packets === 1) {
      // The handshake response: accept any login, or answer with junk.
      if (inHandshake) send(fuzzPayload(fixtures.server.handshake, rand), 2, false);
      else send(OK_AFTER_LOGIN, 2, true);
    } else if (packets === 2 && !inHandshake) {
      const response = pick(rand, fixtures.server.responses);
      response.forEach((p, i) => send(rand() < 0.3 ? mutate(p, rand) : p, 1 + i, rand() < 0.8));
      if (rand() < 0.3) send(fuzzPayload(fixtures.server.replies, rand), 1 + response.length, false);
    }
  });
}

/**
 * options: port (the proxy), upstream (from startFuzzedUpstream), sessions and/or inputs (stop
 * after either), concurrency, seed,
 * endWithinMs, proxySessions(), protocolErrors(), healthy(): one query on a proxy with a real
 * upstream, to show the process still serves. Resolves to what happened. With concurrency above 1
 * the proxy may open upstream connections in another order than the clients connect: a failure
 * lists the seeds in flight, and FUZZ_SEED with concurrency 1 pins it down.
 */
export async function runUpstreamFuzz(o) {
  const stats = { sessions: 0, inputs: 0, failures: [], failed: 0 };
  const crashes = [];
  let crashCount = 0;
  const onCrash = (e) => crashCount++ < MAX_KEPT_CRASHES && crashes.push(`${String(e?.stack ?? e)} (session seeds in flight: ${[...inFlight].join(', ')})`);
  const inFlight = new Set();
  process.on('uncaughtException', onCrash);
  const baseline = o.proxySessions();
  const errorsBefore = o.protocolErrors();
  const t0 = Date.now();
  try {
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < (o.sessions ?? Infinity) && stats.inputs < (o.inputs ?? Infinity); i = next++) {
        const seed = caseSeed(o.seed, i);
        inFlight.add(seed);
        o.upstream.expect(seed);
        const problem = await clientSession(o.port, o.endWithinMs);
        inFlight.delete(seed);
        const sent = o.upstream.sentFor(seed);
        o.upstream.forget(seed);
        stats.sessions++;
        stats.inputs += sent.length;
        if (problem) {
          stats.failed++;
          if (stats.failures.length < MAX_KEPT_FAILURES) stats.failures.push({ seed, problem, sent });
        }
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    await new Promise((r) => setTimeout(r, 200)); // a crash in the last session's close path shows up too
  } finally {
    process.off('uncaughtException', onCrash);
  }
  const deadline = Date.now() + o.endWithinMs;
  while (o.proxySessions() > baseline && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return {
    ...stats, crashes, crashCount, durationMs: Date.now() - t0, leftoverSessions: o.proxySessions() - baseline,
    protocolErrors: o.protocolErrors() - errorsBefore, healthyAfter: await o.healthy().then(() => 'ok', (e) => e.message),
  };
}

/** Logs in through the proxy and sends one query; the proxy must answer or close, never hang. */
async function clientSession(port, withinMs) {
  const s = net.connect({ port, host: '127.0.0.1' });
  s.on('error', () => {});
  let stage = 'greeting';
  const closed = new Promise((resolve) => s.on('close', resolve));
  s.on('data', () => {
    if (stage === 'greeting') {
      stage = 'login';
      const body = Buffer.concat([fixedPart(), Buffer.from('fuzz\0\0mysql_native_password\0')]);
      s.write(Buffer.concat([header(body.length, 1), body]));
    } else if (stage === 'login') {
      stage = 'query';
      s.write(Buffer.concat([header(9, 0), Buffer.from('\x03SELECT 1')]));
    }
  });
  const timer = setTimeout(() => s.end(), 60);
  const ended = await Promise.race([closed.then(() => true), new Promise((r) => setTimeout(() => r(false), withinMs + 200))]);
  clearTimeout(timer);
  s.destroy();
  return ended ? null : `the proxy neither closed the client connection nor let it end within ${withinMs} ms (stage ${stage})`;
}

function fixedPart() {
  const b = Buffer.alloc(32);
  b.writeUInt32LE(0x1 | 0x4 | 0x200 | 0x2000 | 0x8000 | 0x20000 | 0x40000 | 0x80000, 0);
  b.writeUInt32LE(16 * 1024 * 1024, 4);
  b[8] = 45;
  return b;
}

function header(length, seq) {
  const h = Buffer.alloc(4);
  h.writeUIntLE(length, 0, 3);
  h[3] = seq & 0xff;
  return h;
}
