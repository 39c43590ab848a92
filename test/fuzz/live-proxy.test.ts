import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startProxy, type ProxyFixture } from '../proxy/proxy-fixture.js';
import mysql from 'mysql2/promise';
import { fuzzUserSql, heapUsed, runLiveFuzz } from './live-fuzz.mjs';
import { runUpstreamFuzz, startFuzzedUpstream } from './upstream-fuzz.mjs';

// A live proxy in front of a real MariaDB takes malformed input in the handshake and after login
// (mutated packets captured from mysql2, the mariadb CLI and PHP, random bytes, wrong sequence ids,
// lengths that lie, 16 MiB frame headers with nothing behind them) from thousands of sessions,
// 24 at a time, while a healthy client queries through it. bench/fuzz.mjs runs the same for 1M
// inputs. FUZZ_SEED=n replays a run; a failure prints the seed and the bytes of its session.

const SEED = Number(process.env.FUZZ_SEED ?? 0x11fe);
const SESSIONS = 5000;
const UPSTREAM_SESSIONS = 600;
const WARMUP_SESSIONS = 200;
const END_WITHIN_MS = 5000;
/** A healthy round trip (INSERT + SELECT, fsync'd journal) on a busy test machine. */
const HEALTHY_MAX_MS = 1500;
/** Heap growth after GC across the whole run, proxy and fuzzer in one process. */
const HEAP_GROWTH_BYTES = 24 * 1024 * 1024;

let db: MariaDB;
let proxy: ProxyFixture;

function options(seed: number, sessions: number) {
  return {
    port: proxy.port, sessions, seed, concurrency: 24, endWithinMs: END_WITHIN_MS,
    user: 'fuzz', database: 'fz',
    healthy: { host: '127.0.0.1', port: proxy.port, user: 'root', database: 'healthy' },
    proxySessions: () => proxy.server.sessions.size,
    protocolErrors: () => proxy.server.stats.protocolErrors,
    upstreamConnections: async () => Number((await db.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'fuzz'"))[0].n),
  };
}

beforeAll(async () => {
  db = await startMariaDB({ name: 'fuzz-live', args: ['--innodb-lock-wait-timeout=2', '--lock-wait-timeout=2'] });
  await db.query(`${fuzzUserSql('fuzz', 'fz')}; CREATE DATABASE healthy`);
  proxy = await startProxy(db.port);
});

afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
});

describe(`live proxy fuzz: ${SESSIONS} malformed sessions (seed ${SEED})`, () => {
  let run: Awaited<ReturnType<typeof runLiveFuzz>>;
  let before = 0;
  let after = 0;

  beforeAll(async () => {
    // Warm up first: lazily built state (JIT, pools, buffers) is not growth.
    await runLiveFuzz(options(SEED ^ 0xffff, WARMUP_SESSIONS));
    before = heapUsed();
    run = await runLiveFuzz(options(SEED, SESSIONS));
    after = heapUsed();
    console.log(JSON.stringify({ sessions: run.sessions, inputs: run.inputs, kinds: run.kinds, protocolErrors: run.protocolErrors,
      durationMs: run.durationMs, healthy: { ...run.healthy, errors: run.healthy.errors.length }, heapBefore: before, heapAfter: after }));
  }, 180_000);

  it('fed every session its inputs, in the handshake and after login', () => {
    expect(run.sessions).toBe(SESSIONS);
    expect(run.inputs).toBeGreaterThan(SESSIONS * 2);
    expect(run.kinds.handshake).toBeGreaterThan(SESSIONS / 5);
    expect(run.kinds.command).toBeGreaterThan(SESSIONS / 2);
    // Plenty of the input was malformed enough for the proxy to end the session itself.
    expect(run.protocolErrors).toBeGreaterThan(SESSIONS / 10);
  });

  it('never crashed, and ended every bad session within the bound', () => {
    expect(run.crashes, `${run.crashCount} uncaught exceptions`).toEqual([]);
    expect(run.failures, `${run.failed} sessions failed; replay one with FUZZ_SEED and its seed`).toEqual([]);
  });

  it('left no session and no upstream connection behind', () => {
    expect(run.leftover).toEqual({ proxySessions: 0, upstream: 0 });
  });

  it('never disturbed the healthy client: no error, every round trip within the bound', () => {
    expect(run.healthy.errors).toEqual([]);
    expect(run.healthy.rounds).toBeGreaterThan(100);
    expect(run.healthy.maxMs).toBeLessThan(HEALTHY_MAX_MS);
  });

  it(`kept the heap bounded: growth after GC under ${HEAP_GROWTH_BYTES >> 20} MiB`, () => {
    expect(after - before).toBeLessThan(HEAP_GROWTH_BYTES);
  });
});

describe(`malformed server packets: ${UPSTREAM_SESSIONS} sessions against a fuzzed upstream (seed ${SEED})`, () => {
  let upstream: Awaited<ReturnType<typeof startFuzzedUpstream>>;
  let viaFake: ProxyFixture;
  let run: Awaited<ReturnType<typeof runUpstreamFuzz>>;

  beforeAll(async () => {
    upstream = await startFuzzedUpstream();
    viaFake = await startProxy(upstream.port, { upstream: { host: '127.0.0.1', port: upstream.port, connectTimeoutMs: 1000 } });
    run = await runUpstreamFuzz({
      port: viaFake.port, upstream, sessions: UPSTREAM_SESSIONS, concurrency: 4, seed: SEED, endWithinMs: END_WITHIN_MS,
      proxySessions: () => viaFake.server.sessions.size,
      protocolErrors: () => viaFake.server.stats.protocolErrors,
      // The same process also runs the proxy in front of the real server: it must still answer.
      healthy: async () => {
        const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: 'healthy' });
        try {
          await c.query('SELECT COUNT(*) FROM fuzz_healthy');
        } finally {
          await c.end();
        }
      },
    });
    console.log(JSON.stringify({ sessions: run.sessions, inputs: run.inputs, protocolErrors: run.protocolErrors, durationMs: run.durationMs, crashes: run.crashCount }));
  }, 180_000);

  afterAll(async () => {
    await viaFake?.stop();
    await upstream?.close();
  });

  it('never crashed: nothing the server sends escapes as an exception', () => {
    expect(run.crashes, `${run.crashCount} uncaught exceptions`).toEqual([]);
  });

  it('ended or answered every session within the bound and left none behind; the process still serves', () => {
    expect(run.failures).toEqual([]);
    expect(run.leftoverSessions).toBe(0);
    expect(run.healthyAfter).toBe('ok');
    expect(run.protocolErrors).toBeGreaterThan(UPSTREAM_SESSIONS / 10);
  });
});
