// The long fuzz run (the suite's test/fuzz runs a short version of the same): malformed input
// to the protocol codec and to a live proxy (dist/, in this process) in front of a fresh local
// MariaDB, from clients and from a fuzzed upstream, while a healthy client queries through it.
//
//   npm run build && node bench/fuzz.mjs [--inputs 1000000] [--seed N] [--live-share 0.1] [--upstream-share 0.01]
//
// Prints inputs fed, uncaught exceptions (crashes), sessions disturbed, heap before/after, duration.
// Exit code 1 when any of them is not as promised.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import { loadCodec, runCodecFuzz } from '../test/fuzz/codec-fuzz.mjs';
import { fuzzUserSql, heapUsed, runLiveFuzz } from '../test/fuzz/live-fuzz.mjs';
import { runUpstreamFuzz, startFuzzedUpstream } from '../test/fuzz/upstream-fuzz.mjs';

const dist = process.env.METAMORPH_DIST ?? new URL('../dist/', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    inputs: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    'live-share': { type: 'string', default: '0.1' },
    'upstream-share': { type: 'string', default: '0.01' },
    concurrency: { type: 'string', default: '32' },
  },
});
const total = Number(values.inputs);
const seed = Number(values.seed);
const liveInputs = Math.round(total * Number(values['live-share']));
const upstreamInputs = Math.round(total * Number(values['upstream-share']));
const codecInputs = total - liveInputs - upstreamInputs;
const END_WITHIN_MS = 5000;
const HEALTHY_MAX_MS = 1500;
const HEAP_GROWTH_BYTES = 32 * 1024 * 1024;

const { startLocalMariaDB } = await import(join(dist, 'provision/local-mariadb.js'));
const { parseProxyConfig } = await import(join(dist, 'config/proxy-config.js'));
const { ProxyServer } = await import(join(dist, 'proxy/server.js'));
const { silentLogger } = await import(join(dist, 'log.js'));

console.log(`fuzz: seed ${seed}; ${total} inputs: codec ${codecInputs}, live proxy from clients ${liveInputs}, from a fuzzed upstream ${upstreamInputs}`);
const t0 = Date.now();

const lib = await loadCodec((path) => import(join(dist, `${path}.js`)));
const codec = runCodecFuzz(lib, { inputs: codecInputs, seed });
console.log(`codec: ${codec.fed} inputs in ${Date.now() - t0} ms, ${codec.failed} failures`);
for (const f of codec.failures.slice(0, 5)) console.log('  ', JSON.stringify(f));

const base = mkdtempSync('/dev/shm/metamorph-fuzz-');
const db = await startLocalMariaDB({ baseDir: base, name: 'db', args: ['--innodb-lock-wait-timeout=2', '--lock-wait-timeout=2', '--max-connections=1000'] });
const root = await mysql.createConnection({ host: '127.0.0.1', port: db.port, user: 'root', multipleStatements: true });
await root.query(`${fuzzUserSql('fuzz', 'fz')}; CREATE DATABASE healthy`);
const proxy = await startProxy(db.port, 'journal');
const upstream = await startFuzzedUpstream();
const viaFake = await startProxy(upstream.port, 'journal-fake');
const t1 = Date.now();
let live;
let fromUpstream;
let heapBefore;
let heapAfter;
try {
  const options = (runSeed) => ({
    port: proxy.port, seed: runSeed, concurrency: Number(values.concurrency), endWithinMs: END_WITHIN_MS, user: 'fuzz', database: 'fz',
    healthy: { host: '127.0.0.1', port: proxy.port, user: 'root', database: 'healthy' },
    proxySessions: () => proxy.server.sessions.size,
    protocolErrors: () => proxy.server.stats.protocolErrors,
    upstreamConnections: async () => Number((await root.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'fuzz'"))[0][0].n),
  });
  await runLiveFuzz({ ...options(seed ^ 0xffff), sessions: 200 }); // warm-up, not counted
  heapBefore = heapUsed();
  let shown = 0;
  live = await runLiveFuzz({
    ...options(seed), inputs: liveInputs,
    onProgress: (n) => { if (n >= shown + 5000) { shown = n; console.log(`live: ${n} sessions, ${Math.round((Date.now() - t1) / 1000)} s`); } },
  });
  fromUpstream = await runUpstreamFuzz({
    port: viaFake.port, upstream, inputs: upstreamInputs, concurrency: 4, seed, endWithinMs: END_WITHIN_MS,
    proxySessions: () => viaFake.server.sessions.size,
    protocolErrors: () => viaFake.server.stats.protocolErrors,
    healthy: async () => {
      const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: 'healthy' });
      await c.query('SELECT COUNT(*) FROM fuzz_healthy');
      await c.end();
    },
  });
  heapAfter = heapUsed();
} finally {
  await viaFake.stop();
  await upstream.close();
  await proxy.stop();
  await root.end();
  await db.stop();
  rmSync(base, { recursive: true, force: true });
}

const crashes = live.crashCount + fromUpstream.crashCount;
const disturbed = live.failed + fromUpstream.failed + live.healthy.errors.length + (fromUpstream.healthyAfter === 'ok' ? 0 : 1)
  + live.leftover.proxySessions + live.leftover.upstream + fromUpstream.leftoverSessions;
const result = {
  seed,
  inputs: { total: codec.fed + live.inputs + fromUpstream.inputs, codec: codec.fed, liveFromClients: live.inputs, liveFromUpstream: fromUpstream.inputs },
  sessions: { fromClients: live.sessions, fromUpstream: fromUpstream.sessions, endedAsMalformed: live.protocolErrors + fromUpstream.protocolErrors },
  codecFailures: codec.failed,
  crashes,
  sessionsDisturbed: disturbed,
  healthy: { rounds: live.healthy.rounds, errors: live.healthy.errors.length, p50Ms: live.healthy.p50Ms, p99Ms: live.healthy.p99Ms, maxMs: live.healthy.maxMs },
  heap: { beforeMiB: mib(heapBefore), afterMiB: mib(heapAfter), growthMiB: mib(heapAfter - heapBefore) },
  durationSeconds: Math.round((Date.now() - t0) / 1000),
};
console.log(JSON.stringify(result, null, 2));
for (const f of [...live.failures, ...fromUpstream.failures].slice(0, 5)) console.log('session failure:', JSON.stringify(f));
for (const c of [...live.crashes, ...fromUpstream.crashes].slice(0, 3)) console.log('crash:', c);
const ok = codec.failed === 0 && crashes === 0 && disturbed === 0 && live.healthy.maxMs < HEALTHY_MAX_MS && heapAfter - heapBefore < HEAP_GROWTH_BYTES;
console.log(ok ? 'fuzz: all promises held' : 'fuzz: FAILED (see above)');
process.exit(ok ? 0 : 1);

async function startProxy(upstreamPort, journal) {
  const config = parseProxyConfig({
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { host: '127.0.0.1', port: upstreamPort, connectTimeoutMs: 1000 },
    journal: { dir: join(base, journal), fsync: 'always' },
    admin: { socket: join(base, `${journal}.sock`) },
    metrics: null,
    shutdown: { drainMs: 1000 },
  });
  const server = await ProxyServer.start(config, silentLogger());
  return { server, port: server.address.port, stop: () => server.stop() };
}

function mib(bytes) {
  return Math.round((bytes / 1048576) * 10) / 10;
}
