// Fuzzes a running proxy over TCP: many short sessions, each sending malformed input in the
// handshake or after logging in, while one healthy client keeps querying through the same proxy.
// Used by test/fuzz/live-proxy.test.ts (src, in vitest) and bench/fuzz.mjs (dist, the long run).
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import mysql from 'mysql2/promise';
import { loadFixtures } from './fixtures.mjs';
import { frameFuzzed, fuzzPayload, randomBytes } from './mutations.mjs';
import { caseSeed, int, pick, rng } from './prng.mjs';

const CAPS = {
  LONG_PASSWORD: 0x1, LONG_FLAG: 0x4, CONNECT_WITH_DB: 0x8, PROTOCOL_41: 0x200, TRANSACTIONS: 0x2000,
  SECURE_CONNECTION: 0x8000, MULTI_STATEMENTS: 0x10000, MULTI_RESULTS: 0x20000, PS_MULTI_RESULTS: 0x40000,
  PLUGIN_AUTH: 0x80000, DEPRECATE_EOF: 0x1000000,
};
const COM_PING = 0x0e;
const MAX_KEPT_FAILURES = 20;
const MAX_KEPT_CRASHES = 3;

/** Grants for the user the fuzzed sessions log in as: it can do nothing outside its sandbox database. */
export function fuzzUserSql(user, database) {
  return `CREATE DATABASE ${database}; CREATE USER '${user}'@'%';
    GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, CREATE TEMPORARY TABLES ON ${database}.* TO '${user}'@'%';
    CREATE TABLE ${database}.t2 (id INT PRIMARY KEY, s VARCHAR(40), d DATETIME(6), x DOUBLE, b BLOB, n BIGINT UNSIGNED)`;
}

/** A real full GC: vitest cannot pass --expose-gc, so the flag is set at run time. */
export function collectGarbage() {
  setFlagsFromString('--expose-gc');
  runInNewContext('gc')();
}

export function heapUsed() {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/**
 * options: port (the proxy), sessions and/or inputs (stop after either), concurrency, seed, user + database (the fuzz account),
 * healthy (mysql2 options of a well-behaved client, through the proxy), endWithinMs,
 * proxySessions() (the proxy's open session count), upstreamConnections() (the fuzz account's
 * connections on the server), protocolErrors() (the proxy's counter), onProgress(done).
 * Resolves to what happened; the caller asserts.
 */
export async function runLiveFuzz(o) {
  const fixtures = loadFixtures();
  const stats = { sessions: 0, inputs: 0, failures: [], failed: 0, kinds: {} };
  const crashes = [];
  let crashCount = 0;
  const onCrash = (e) => crashCount++ < MAX_KEPT_CRASHES && crashes.push(String(e?.stack ?? e));
  process.on('uncaughtException', onCrash);
  const baseline = o.proxySessions();
  const errorsBefore = o.protocolErrors();
  const healthy = await HealthyClient.start(o.healthy);
  const t0 = Date.now();
  try {
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < (o.sessions ?? Infinity) && stats.inputs < (o.inputs ?? Infinity); i = next++) {
        const seed = caseSeed(o.seed, i);
        const r = await fuzzSession(o, fixtures, seed).catch((e) => ({ inputs: 0, kind: 'harness', problem: `the fuzzer itself failed: ${e.stack ?? e}`, sent: [] }));
        stats.sessions++;
        stats.inputs += r.inputs;
        stats.kinds[r.kind] = (stats.kinds[r.kind] ?? 0) + 1;
        if (r.problem) {
          stats.failed++;
          if (stats.failures.length < MAX_KEPT_FAILURES) stats.failures.push({ seed, kind: r.kind, problem: r.problem, sent: r.sent });
        }
        o.onProgress?.(stats.sessions);
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
  } finally {
    process.off('uncaughtException', onCrash);
  }
  const durationMs = Date.now() - t0;
  const leftover = await settle(o.endWithinMs, async () => ({ proxySessions: o.proxySessions() - baseline, upstream: await o.upstreamConnections() }),
    (v) => v.proxySessions === 0 && v.upstream === 0);
  const healthyResult = await healthy.stop();
  return { ...stats, crashes, crashCount, durationMs, leftover, healthy: healthyResult, protocolErrors: o.protocolErrors() - errorsBefore };
}

async function settle(ms, read, done) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > deadline) return v;
    await sleep(50);
  }
}

/** One session: malformed input in the handshake or after login, then an end chosen at random. */
async function fuzzSession(o, fixtures, seed) {
  const rand = rng(seed);
  const kind = rand() < 0.35 ? 'handshake' : 'command';
  const sent = [];
  const c = await WireClient.open(o.port);
  try {
    const greeting = await c.read(o.endWithinMs);
    if (!greeting || greeting.payload[0] !== 0x0a) return { kind, inputs: 0, sent, problem: `no greeting from the proxy (got ${greeting ? greeting.payload.toString('hex') : 'a close'})` };
    if (kind === 'command') {
      const login = await c.login(greeting, o.user, o.database, rand, o.endWithinMs);
      if (login !== 'ok') return { kind, inputs: 0, sent, problem: `a valid login failed: ${login}` };
    }
    const pool = kind === 'handshake' ? fixtures.client.handshake : fixtures.client.commands;
    for (let n = 1 + int(rand, kind === 'handshake' ? 3 : 8); n > 0; n--) {
      const payload = rand() < 0.05 ? randomBytes(rand, 4096) : fuzzPayload(pool, rand);
      const seq = kind === 'handshake' ? (sent.length === 0 ? 1 : int(rand, 256)) : (rand() < 0.9 ? 0 : int(rand, 256));
      const wire = frameFuzzed(payload, seq, rand);
      sent.push(`${wire.kind}:${wire.bytes.toString('hex').slice(0, 512)}`);
      c.write(wire.bytes);
      if (c.closed) break;
      if (rand() < 0.3) await sleep(int(rand, 5));
    }
    return { kind, inputs: sent.length, sent, problem: await finish(c, rand, o.endWithinMs) };
  } finally {
    c.destroy();
  }
}

/**
 * Ends the session one of three ways: 'end' (half-close), 'ping' (a well-formed COM_PING after
 * the junk, then half-close), 'reset' (the client vanishes). After an end the connection must be
 * closed within the bound; whether the proxy also dropped the session and its upstream
 * connection is checked once for the whole run (runLiveFuzz's leftover).
 */
async function finish(c, rand, withinMs) {
  const how = pick(rand, ['end', 'end', 'ping', 'reset']);
  if (how === 'reset') return null;
  if (how === 'ping') c.write(Buffer.from([1, 0, 0, 0, COM_PING]));
  c.end();
  return (await c.closedWithin(withinMs)) ? null : `the proxy did not end the session within ${withinMs} ms after the client's ${how}`;
}

/** A raw MySQL client socket: reads packets with a minimal framer of its own, writes any bytes. */
class WireClient {
  closed = false;
  #buf = Buffer.alloc(0);
  #packets = [];
  #wake = null;

  constructor(socket) {
    this.socket = socket;
    socket.on('data', (d) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      while (this.#buf.length >= 4 && this.#buf.length >= 4 + this.#buf.readUIntLE(0, 3)) {
        const len = this.#buf.readUIntLE(0, 3);
        this.#packets.push({ seq: this.#buf[3], payload: this.#buf.subarray(4, 4 + len) });
        this.#buf = this.#buf.subarray(4 + len);
      }
      this.#wake?.();
    });
    socket.on('error', () => {});
    socket.on('close', () => { this.closed = true; this.#wake?.(); });
  }

  static open(port) {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
      s.once('connect', () => { s.off('error', reject); resolve(new WireClient(s)); });
      s.once('error', reject);
    });
  }

  /** The next packet, or null when the connection closed or nothing came within ms. */
  async read(ms) {
    const deadline = Date.now() + ms;
    while (this.#packets.length === 0 && !this.closed && Date.now() < deadline) {
      await new Promise((r) => {
        const t = setTimeout(r, deadline - Date.now());
        this.#wake = () => { clearTimeout(t); r(); };
      });
      this.#wake = null;
    }
    return this.#packets.shift() ?? null;
  }

  /** Logs in with an empty password (following a switch to mysql_native_password): 'ok' or why not. */
  async login(greeting, user, database, rand, ms) {
    const offered = greeting.payload.readUInt16LE(greeting.payload.indexOf(0, 1) + 1 + 4 + 8 + 1);
    const upper = greeting.payload.readUInt16LE(greeting.payload.indexOf(0, 1) + 1 + 4 + 8 + 1 + 2 + 1 + 2);
    let caps = CAPS.LONG_PASSWORD | CAPS.LONG_FLAG | CAPS.CONNECT_WITH_DB | CAPS.PROTOCOL_41 | CAPS.TRANSACTIONS
      | CAPS.SECURE_CONNECTION | CAPS.MULTI_RESULTS | CAPS.PS_MULTI_RESULTS | CAPS.PLUGIN_AUTH;
    if (rand() < 0.5) caps |= CAPS.DEPRECATE_EOF;
    if (rand() < 0.5) caps |= CAPS.MULTI_STATEMENTS;
    caps = (caps & (offered | (upper << 16))) >>> 0;
    const fixed = Buffer.alloc(32);
    fixed.writeUInt32LE(caps, 0);
    fixed.writeUInt32LE(16 * 1024 * 1024, 4);
    fixed[8] = 45;
    const body = Buffer.concat([fixed, Buffer.from(`${user}\0`), Buffer.from([0]), Buffer.from(`${database}\0mysql_native_password\0`)]);
    this.write(Buffer.concat([header(body.length, 1), body]));
    let reply = await this.read(ms);
    if (reply?.payload[0] === 0xfe) {
      this.write(header(0, reply.seq + 1));
      reply = await this.read(ms);
    }
    if (reply?.payload[0] === 0x00) return 'ok';
    return reply ? `answer ${reply.payload.subarray(0, 80).toString('latin1')}` : 'closed or no answer';
  }

  write(bytes) {
    if (!this.closed) this.socket.write(bytes);
  }

  end() {
    if (!this.closed) this.socket.end();
  }

  async closedWithin(ms) {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await this.read(deadline - Date.now());
    return this.closed;
  }

  destroy() {
    this.socket.destroy();
  }
}

function header(length, seq) {
  const h = Buffer.alloc(4);
  h.writeUIntLE(length, 0, 3);
  h[3] = seq & 0xff;
  return h;
}

/**
 * A well-behaved client through the same proxy during the whole run: writes a row and reads it
 * back, over and over. Every error and every slow round trip is a disturbance.
 */
class HealthyClient {
  #stop = false;
  #loop;
  latencies = [];
  errors = [];

  static async start(opts) {
    const h = new HealthyClient();
    const conn = await mysql.createConnection(opts);
    await conn.query('CREATE TABLE IF NOT EXISTS fuzz_healthy (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40))');
    h.#loop = h.run(conn);
    return h;
  }

  async run(conn) {
    for (let i = 0; !this.#stop; i++) {
      const t = performance.now();
      try {
        const [ins] = await conn.query('INSERT INTO fuzz_healthy (v) VALUES (?)', [`v${i}`]);
        const [rows] = await conn.execute('SELECT v FROM fuzz_healthy WHERE id = ?', [ins.insertId]);
        if (rows[0]?.v !== `v${i}`) this.errors.push(`round ${i}: read back ${JSON.stringify(rows)}`);
      } catch (e) {
        this.errors.push(`round ${i}: ${e.message}`);
        if (this.errors.length > 20) break;
      }
      this.latencies.push(performance.now() - t);
    }
    await conn.end().catch(() => undefined);
  }

  async stop() {
    this.#stop = true;
    await this.#loop;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
    return { rounds: sorted.length, errors: this.errors, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
  }
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
