import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectSameTables } from '../apply/replay-fixture.js';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { freePort } from '../harness/ports.js';
import { startProxyProcess, type ProxyProcess } from '../harness/proxy-process.js';
import { journaledIdCounts, WriteLoad } from '../harness/write-load.js';
import { AckedSysbench, MYSQL2_FIRST_ID } from './acked-sysbench.js';
import { idsOn, journalVerify, partialTransactions, readJournal, replayAll, without, createLoadTable } from './chaos-checks.js';
import { chaosRandom, sleep } from './chaos-random.js';

/** How the upstream goes away in each cycle. */
const CYCLES: ('SIGKILL' | 'SIGTERM')[] = ['SIGKILL', 'SIGTERM', 'SIGKILL', 'SIGTERM'];
const rnd = chaosRandom(33);

let source: MariaDB;
let target: MariaDB;
let dir: string;
let proxy: ProxyProcess | null = null;

beforeAll(async () => {
  [source, target] = await Promise.all([startMariaDB({ name: 'chaos-up-src' }), startMariaDB({ name: 'chaos-up-dst' })]);
  dir = mkdtempSync('/dev/shm/metamorph-chaos-up-');
});

afterAll(async () => {
  await proxy?.kill9();
  await Promise.all([source?.stop(), target?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const connect = (port: number) => mysql.createConnection({ host: '127.0.0.1', port, user: 'root', database: 't', connectTimeout: 5000 });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops the server with `signal` and waits until it is gone (the harness's restart() then starts it again). */
async function takeDown(server: MariaDB, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  if (signal === 'SIGKILL') return server.kill9();
  const pid = server.pid;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 20_000;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`mariadbd ${pid} still running 20 s after SIGTERM`);
    await sleep(20);
  }
}

/** How long until a new connection through the proxy runs a query. */
async function untilServing(port: number, timeoutMs = 15_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    try {
      const c = await connect(port);
      await c.query('SELECT COUNT(*) FROM w');
      await c.end();
      return Date.now() - t0;
    } catch (e) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`no new connection through the proxy within ${timeoutMs} ms of the upstream's restart: ${(e as Error).message}`);
      await sleep(20);
    }
  }
}

it('upstream MariaDB killed (-9) and stopped (SIGTERM) mid-load, twice each: clients get errors, the proxy process stays up and serves again, nothing half-journaled', async () => {
  const t0 = Date.now();
  const journalDir = join(dir, 'journal');
  const port = await freePort();
  proxy = await startProxyProcess({ port, upstreamPort: source.port, journalDir, readyTimeoutMs: 30_000 });
  const pid = proxy.pid;
  await createLoadTable(port);

  const bench = AckedSysbench.start({ port, database: 't', table: 'w', threads: 3 });
  const load = WriteLoad.start({ port, database: 't', table: 'w', workers: 2, firstId: MYSQL2_FIRST_ID });
  const cycles: Record<string, unknown>[] = [];
  for (const signal of CYCLES) {
    await bench.untilAcked(50);
    await load.untilAcked(20);
    const afterMs = rnd.between(100, 800);
    await sleep(afterMs);
    const errorsBefore = load.errorCount;
    await takeDown(source, signal);
    const downMs = rnd.between(300, 1500);
    await sleep(downMs);
    // While it is down: the proxy answers new clients with an error naming the upstream.
    const refused = await connect(port).then((c) => { c.destroy(); return null; }, (e: Error) => e);
    expect(refused?.message, 'a connection while the upstream is down').toMatch(/upstream/);
    expect(load.errorCount, 'no client noticed the upstream was gone').toBeGreaterThan(errorsBefore);
    expect(alive(pid), 'the proxy process died with its upstream').toBe(true);
    await source.restart();
    const servingMs = await untilServing(port);
    cycles.push({ signal, afterMs, downMs, servingMs, mysql2Errors: load.errorCount - errorsBefore });
  }
  await bench.untilAcked(50);
  await load.untilAcked(20);
  const sb = await bench.stop();
  const wl = await load.stop();
  expect(proxy.pid).toBe(pid);
  expect(await proxy.stop()).toBe(0); // the same process, still able to stop cleanly
  proxy = null;
  const loadMs = Date.now() - t0;

  const verified = await journalVerify(journalDir);
  const entries = await readJournal(journalDir);
  expect(partialTransactions(entries), 'half-journaled transactions').toEqual([]);
  const counts = journaledIdCounts(entries);
  expect([...counts].filter(([, n]) => n > 1).map(([id]) => id), 'journaled more than once').toEqual([]);
  const acked = [...sb.acked, ...wl.acked];
  expect(without(acked, counts), 'acknowledged but not journaled').toEqual([]);
  const onSource = await idsOn(source, 't.w');
  expect(without(counts.keys(), onSource), 'journaled but not on the server (after its crash recovery)').toEqual([]);
  expect(without(acked, onSource), 'acknowledged but not on the server').toEqual([]);
  // Committed by the server, but its OK never reached the proxy: the client got an error.
  const inDoubt = without(onSource, counts);

  await replayAll(journalDir, target);
  expect(without(acked, await idsOn(target, 't.w')), 'acknowledged but not on the replayed target').toEqual([]);
  if (inDoubt.length > 0) await source.query('DELETE FROM t.w WHERE id IN (?)', [inDoubt]);
  await expectSameTables(source, target, 't');

  console.log(JSON.stringify({
    test: 'upstream-restart', seed: rnd.seed, cycles, ackedSysbench: sb.acked.length, ackedMysql2: wl.acked.length, failedMysql2: wl.failed.length,
    sysbenchRuns: sb.runs, sysbenchErrnos: sb.errnos, journaled: counts.size, inDoubt: inDoubt.length, lost: 0, loadMs, verify: verified,
  }));
}, 150_000);
