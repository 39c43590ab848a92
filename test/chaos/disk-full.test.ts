import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectSameTables } from '../apply/replay-fixture.js';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { freePort } from '../harness/ports.js';
import { startProxyProcess, type ProxyProcess } from '../harness/proxy-process.js';
import { mountTmpfs, type Tmpfs } from '../harness/tmpfs.js';
import { journaledIdCounts, WriteLoad } from '../harness/write-load.js';
import { AckedSysbench, MYSQL2_FIRST_ID } from './acked-sysbench.js';
import { idsOn, journalVerify, readJournal, replayAll, without, createLoadTable } from './chaos-checks.js';
import { chaosRandom, sleep } from './chaos-random.js';

const FILLS = 3;
/** Room left beside the filler: a few journal records, then the disk is full. */
const LEFT_FREE = 16 * 1024;
/** The server committed it, the journal failed: kept in memory, journaled once space is back. */
const ER_UNKNOWN_ERROR = 1105;
/** Refused before reaching the server while the journal cannot record writes. */
const ER_OPTION_PREVENTS_STATEMENT = 1290;
const rnd = chaosRandom(404);

let source: MariaDB;
let target: MariaDB;
let disk: Tmpfs;
let proxy: ProxyProcess | null = null;

beforeAll(async () => {
  [source, target] = await Promise.all([startMariaDB({ name: 'chaos-df-src' }), startMariaDB({ name: 'chaos-df-dst' })]);
  disk = await mountTmpfs(8 * 1024 * 1024);
});

afterAll(async () => {
  await proxy?.kill9();
  await disk?.unmount();
  await Promise.all([source?.stop(), target?.stop()]);
});

/**
 * A client that only reads, through the proxy, on one connection (text and prepared), until
 * stop(). Every failure is kept: reads must never fail because the journal cannot write.
 */
class ReadLoop {
  reads = 0;
  readonly errors: string[] = [];
  private stopping = false;
  private readonly running: Promise<void>;

  constructor(port: number) {
    this.running = this.loop(port);
  }

  async stop(): Promise<{ reads: number; errors: string[] }> {
    this.stopping = true;
    await this.running;
    return { reads: this.reads, errors: this.errors };
  }

  private async loop(port: number): Promise<void> {
    const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', database: 't' });
    try {
      while (!this.stopping) {
        try {
          await c.query('SELECT COUNT(*) AS n FROM w');
          await c.execute('SELECT id, w FROM w WHERE id = ?', [this.reads]);
          this.reads++;
        } catch (e) {
          this.errors.push((e as Error).message);
        }
        await sleep(10);
      }
    } finally {
      await c.end();
    }
  }
}

it(`journal disk filled ${FILLS} times under concurrent sysbench + mysql2 writers: refused with a clear error, nothing acknowledged unjournaled, reads go on, recovers each time`, async () => {
  const t0 = Date.now();
  const journalDir = join(disk.dir, 'journal');
  mkdirSync(journalDir);
  const filler = join(disk.dir, 'filler');
  const port = await freePort();
  proxy = await startProxyProcess({ port, upstreamPort: source.port, journalDir, readyTimeoutMs: 30_000 });
  const pid = proxy.pid;
  await createLoadTable(port);

  const bench = AckedSysbench.start({ port, database: 't', table: 'w', threads: 2 });
  const load = WriteLoad.start({ port, database: 't', table: 'w', workers: 2, firstId: MYSQL2_FIRST_ID });
  const reader = new ReadLoop(port);
  const fills: Record<string, unknown>[] = [];
  for (let fill = 1; fill <= FILLS; fill++) {
    await bench.untilAcked(30);
    await load.untilAcked(20);
    await sleep(rnd.between(100, 500));
    const errorsBefore = load.errorCount;
    writeFileSync(filler, Buffer.alloc(Math.max(0, disk.freeBytes() - LEFT_FREE)));
    const filledAt = Date.now();
    const deadline = filledAt + 15_000;
    while (load.errorCount < errorsBefore + 10) {
      if (Date.now() > deadline) throw new Error(`fill ${fill}: the disk never filled up (${load.ackedCount} acknowledged)`);
      await sleep(20);
    }
    const refusedAfterMs = Date.now() - filledAt;
    // Full: every write is refused, reads go on.
    const readsBefore = reader.reads;
    const fullMs = rnd.between(300, 1000);
    await sleep(fullMs);
    const readsWhileFull = reader.reads - readsBefore;
    expect(readsWhileFull, 'reads while the journal disk is full').toBeGreaterThan(0);
    unlinkSync(filler);
    const freedAt = Date.now();
    await load.untilAcked(20);
    await bench.untilAcked(20);
    fills.push({ fill, refusedAfterMs, fullMs, readsWhileFull, recoveredAfterMs: Date.now() - freedAt, mysql2Errors: load.errorCount - errorsBefore });
  }
  const sb = await bench.stop();
  const wl = await load.stop();
  const reads = await reader.stop();
  expect(reads.errors, 'reads that failed').toEqual([]);
  expect(proxy.pid).toBe(pid);
  expect(await proxy.stop()).toBe(0);
  proxy = null;
  const loadMs = Date.now() - t0;

  const byErrno = (errno: number) => wl.failed.filter((f) => f.errno === errno).flatMap((f) => f.ids);
  const unjournaled = byErrno(ER_UNKNOWN_ERROR);
  const refused = byErrno(ER_OPTION_PREVENTS_STATEMENT);
  expect(wl.failed.filter((f) => f.errno !== ER_UNKNOWN_ERROR && f.errno !== ER_OPTION_PREVENTS_STATEMENT), 'mysql2: other failures').toEqual([]);
  expect(Object.keys(sb.errnos).filter((n) => Number(n) !== ER_UNKNOWN_ERROR && Number(n) !== ER_OPTION_PREVENTS_STATEMENT), `sysbench: other failures: ${sb.lastFailure}`).toEqual([]);
  expect(refused.length).toBeGreaterThan(0);
  expect(wl.failed.find((f) => f.errno === ER_OPTION_PREVENTS_STATEMENT)?.message).toMatch(new RegExp(`the journal \\(${journalDir}\\) cannot record writes.*no space left on device`, 'is'));

  const verified = await journalVerify(journalDir);
  const entries = await readJournal(journalDir);
  expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
  const counts = journaledIdCounts(entries);
  expect([...counts].filter(([, n]) => n > 1).map(([id]) => id), 'journaled more than once').toEqual([]);
  const acked = [...sb.acked, ...wl.acked];
  expect(without(acked, counts), 'acknowledged but not journaled').toEqual([]);
  expect(without(unjournaled, counts), 'committed, reported unjournaled, never journaled').toEqual([]);
  const onSource = await idsOn(source, 't.w');
  expect(refused.filter((id) => onSource.has(id)), 'refused but committed').toEqual([]);
  // No kill here: everything the server committed reaches the journal, so the source and the
  // replayed target are equal without exception.
  expect(without(onSource, counts), 'committed but never journaled').toEqual([]);
  expect(without(counts.keys(), onSource), 'journaled but not committed').toEqual([]);
  await replayAll(journalDir, target);
  await expectSameTables(source, target, 't');

  console.log(JSON.stringify({
    test: 'disk-full', seed: rnd.seed, fills, ackedSysbench: sb.acked.length, ackedMysql2: wl.acked.length, refusedMysql2: refused.length,
    unjournaledThenJournaled: unjournaled.length, sysbenchRuns: sb.runs, sysbenchErrnos: sb.errnos, reads: reads.reads, readErrors: reads.errors.length,
    journaled: counts.size, lost: 0, loadMs, verify: verified,
  }));
}, 120_000);
