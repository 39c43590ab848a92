import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectSameTables } from '../apply/replay-fixture.js';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { freePort } from '../harness/ports.js';
import { startProxyProcess, type ProxyProcess } from '../harness/proxy-process.js';
import { journaledIdCounts, WriteLoad } from '../harness/write-load.js';
import { AckedSysbench, MYSQL2_FIRST_ID } from './acked-sysbench.js';
import { idsOn, journalVerify, readJournal, replayAll, verifyIdentity, without, createLoadTable } from './chaos-checks.js';
import { chaosRandom, sleep } from './chaos-random.js';

/** CHAOS_KILLS=200 for a longer soak. */
const KILLS = Number(process.env.CHAOS_KILLS ?? 20);
/** Generous: a proxy start on a loaded 2-core machine can take seconds. */
const READY_MS = 30_000;
const rnd = chaosRandom(20261121);

let source: MariaDB;
let target: MariaDB;
let dir: string;
let proxy: ProxyProcess | null = null;

beforeAll(async () => {
  [source, target] = await Promise.all([startMariaDB({ name: 'chaos-k9-src' }), startMariaDB({ name: 'chaos-k9-dst' })]);
  dir = mkdtempSync('/dev/shm/metamorph-chaos-k9-');
});

afterAll(async () => {
  await proxy?.kill9();
  await Promise.all([source?.stop(), target?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it(`kill -9 of the proxy ${KILLS} times under sysbench + mysql2 write load: every acknowledged write is journaled once, on the source and on a target replayed from the journal`, async () => {
  const t0 = Date.now();
  const journalDir = join(dir, 'journal');
  const port = await freePort();
  // Small segments: kills also land around segment rolls.
  const start = () => startProxyProcess({ port, upstreamPort: source.port, journalDir, config: { journal: { segmentBytes: 64 * 1024 } }, readyTimeoutMs: READY_MS });
  proxy = await start();
  // The schema goes through the proxy too: the replayed target is built from the journal alone.
  await createLoadTable(port);

  const bench = AckedSysbench.start({ port, database: 't', table: 'w', threads: 4 });
  const load = WriteLoad.start({ port, database: 't', table: 'w', workers: 2, firstId: MYSQL2_FIRST_ID });
  const kills: { kill: number; afterMs: number; restartMs: number }[] = [];
  for (let kill = 1; kill <= KILLS; kill++) {
    await bench.untilAcked(10); // the load flows through this proxy process
    await load.untilAcked(3);
    const afterMs = rnd.between(50, 700);
    await sleep(afterMs);
    await proxy.kill9();
    const down = Date.now();
    proxy = await start();
    kills.push({ kill, afterMs, restartMs: Date.now() - down });
  }
  await bench.untilAcked(50);
  await load.untilAcked(20);
  const sb = await bench.stop();
  const wl = await load.stop();
  expect(await proxy.stop()).toBe(0);
  proxy = null;
  const loadMs = Date.now() - t0;

  const verified = await journalVerify(journalDir);
  const entries = await readJournal(journalDir);
  const counts = journaledIdCounts(entries);
  const acked = [...sb.acked, ...wl.acked];
  expect(without(acked, counts), 'acknowledged but not journaled').toEqual([]);
  expect([...counts].filter(([, n]) => n > 1).map(([id]) => id), 'journaled more than once').toEqual([]);

  const onSource = await idsOn(source, 't.w');
  expect(without(counts.keys(), onSource), 'journaled but not committed on the source').toEqual([]);
  // Committed on the source, but the proxy died before journaling it: its client got an error
  // (every acknowledged id is journaled, checked above).
  const inDoubt = without(onSource, counts);

  const replayStart = Date.now();
  const replay = await replayAll(journalDir, target);
  expect(replay.appliedSeq).toBe(entries.at(-1)?.seq);
  const onTarget = await idsOn(target, 't.w');
  expect(without(acked, onTarget), 'acknowledged but not on the replayed target').toEqual([]);
  expect(without(counts.keys(), onTarget)).toEqual([]);
  expect(without(onTarget, counts)).toEqual([]);
  // The in-doubt writes are the only difference: verify finds exactly them, and without them the
  // tables are identical.
  const report = await verifyIdentity(source, target, ['t']);
  expect(report.differences.map((d) => d.side)).toEqual(inDoubt.map(() => 'source-only'));
  expect(report.differences.map((d) => Number(/^t\.w id=(\d+)$/.exec(d.item)?.[1])).sort((a, b) => a - b)).toEqual(inDoubt);
  if (inDoubt.length > 0) await source.query('DELETE FROM t.w WHERE id IN (?)', [inDoubt]);
  await expectSameTables(source, target, 't');

  expect(kills).toHaveLength(KILLS);
  expect(sb.runs, 'sysbench never lost its connection: the kills missed it').toBeGreaterThan(KILLS);
  console.log(JSON.stringify({
    test: 'proxy-kill9', seed: rnd.seed, kills: KILLS, killDelaysMs: kills.map((k) => k.afterMs), restartMs: kills.map((k) => k.restartMs),
    ackedSysbench: sb.acked.length, ackedMysql2: wl.acked.length, failedMysql2: wl.failed.length, sysbenchRuns: sb.runs, sysbenchExits: sb.exits,
    journaled: counts.size, entries: entries.length, inDoubt: inDoubt.length, verifyDifferences: report.differences.length, verifyExample: report.differences[0] ?? null, lost: 0, loadMs, replayMs: Date.now() - replayStart, verify: verified,
  }));
}, 150_000);
