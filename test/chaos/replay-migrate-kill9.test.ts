import mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminRequest } from '../../src/admin/admin-client.js';
import { appliedRow, expectSameTables, startReplay, startReplayWorld, stopReplayWorld } from '../apply/replay-fixture.js';
import { sysbench } from '../harness/clients.js';
import type { MariaDB } from '../harness/mariadb.js';
import { cliArgs, startMigrate, transferRows, until, type MigrateChild, type TransferRow } from '../migrate/migrate-fixture.js';
import type { ProxyFixture } from '../proxy/proxy-fixture.js';
import { chaosRandom, sleep } from './chaos-random.js';

const MIN_KILLS = 9;
/** Kills during the copy; then a run completes it (a complete copy is never run again). */
const COPY_KILLS = 3;
const LOAD_SECONDS = 18;
const rnd = chaosRandom(7);

let source: MariaDB;
let target: MariaDB;
let proxy: ProxyFixture;
const children: MigrateChild[] = [];

beforeAll(async () => {
  ({ source, target, proxy } = await startReplayWorld('chaos-rm'));
});

afterAll(async () => {
  for (const c of children) await c.kill9().catch(() => {});
  await adminRequest(proxy.adminSocket, 'unlock').catch(() => {});
  await stopReplayWorld({ source, target, proxy });
});

/** Both kinds of child expose their output; a JSON log line's `msg` tells where it was. */
type Child = Pick<MigrateChild, 'exited' | 'output' | 'kill9'>;
type Kind = 'migrate in copy' | 'migrate in replay' | 'replayer';

const logged = (c: Child, msg: string) => c.output().includes(`"msg":${JSON.stringify(msg)}`);
function lastMsg(c: Child): string {
  const lines = c.output().trimEnd().split('\n').filter((l) => l.startsWith('{'));
  return lines.length ? String((JSON.parse(lines.at(-1)!) as { msg?: unknown }).msg) : '(no log yet)';
}

/** Chunks done at `cutSeq` (NaN: at any cut). */
const doneChunks = (rows: TransferRow[], cutSeq: number) => rows.filter((r) => r.doneAt !== null && (Number.isNaN(cutSeq) || r.cutSeq === cutSeq)).length;

function migrateArgs(): string[] {
  // ~17,000 rows at 8,000 rows/s: a copy of about 2 s, for kills to land in.
  return [...cliArgs(source, target, proxy, ['--databases', 'quiet,sbtest', '--workers', '2', '--chunk-rows', '500', '--max-rows-per-sec', '8000']), '--replay'];
}

/** The moment each kind of kill waits for before its random delay. */
const READY: Record<Kind, string> = {
  'migrate in copy': 'consistent cut taken',
  'migrate in replay': 'replaying the journal from the cut (follow); SIGTERM or SIGINT to stop',
  replayer: 'replay started',
};

it('kill -9 of `metamorph migrate --replay` (in copy and in replay) and of `metamorph replay --follow` at seeded random moments under sysbench: the target ends exactly equal', async () => {
  const t0 = Date.now();
  const setup = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', multipleStatements: true });
  // `quiet` is never written after the first cut: its chunks copied before a kill are kept.
  await setup.query('CREATE DATABASE quiet; CREATE TABLE quiet.blobs (id INT PRIMARY KEY, b VARBINARY(64)); CREATE DATABASE sbtest');
  const rows = Array.from({ length: 5000 }, (_, k) => `(${k}, UNHEX(SHA2(${k}, 256)))`);
  await setup.query(`INSERT INTO quiet.blobs VALUES ${rows.join(',')}`);
  await setup.end();
  const common = { host: '127.0.0.1', port: proxy.port, user: 'app', password: 'apppass', db: 'sbtest', tables: 4, tableSize: 3000 } as const;
  const prep = await sysbench({ ...common, test: 'oltp_write_only', threads: 2, time: 10, command: 'prepare' });
  expect(prep.code, prep.stderr).toBe(0);

  // Prepared statements (sysbench's default --db-ps-mode=auto).
  let loadRunning = true;
  const load = sysbench({ ...common, test: 'oltp_write_only', threads: 2, time: LOAD_SECONDS, command: 'run' }).finally(() => { loadRunning = false; });

  const kills: { kill: number; kind: Kind; chunkTarget: number | null; delayMs: number; lastLog: string; chunksDone: string }[] = [];
  let copyDone = false;
  while (loadRunning || kills.length < MIN_KILLS) {
    const positioned = (await appliedRow(target).catch(() => null)) !== null;
    // Once complete, the copy is never run again; until a replay position exists, only migrate
    // knows the seq replay starts from.
    const copyKills = kills.filter((k) => k.kind === 'migrate in copy').length;
    const kind: Kind = !copyDone && copyKills < COPY_KILLS ? 'migrate in copy'
      : !positioned ? 'migrate in replay' : (['migrate in replay', 'replayer'] as const)[rnd.between(0, 1)];
    const child: Child = kind === 'replayer' ? startReplay(proxy.journalDir, target, ['--follow']) : startMigrate(migrateArgs());
    if (kind !== 'replayer') children.push(child as MigrateChild);
    await until(`${kind}: "${READY[kind]}"`, () => logged(child, READY[kind]), 30_000, () => child.output().slice(-3000));
    // In the copy: a random number of chunks done at this run's cut (of 39), then a random delay.
    const chunkTarget = kind === 'migrate in copy' ? rnd.between(0, 30) : null;
    const cut = Number((child as MigrateChild).logs?.find((l) => l.msg === READY['migrate in copy'])?.seq);
    if (chunkTarget !== null) {
      await until(`${chunkTarget} chunks copied`, async () => doneChunks(await transferRows(target), cut) >= chunkTarget || logged(child, 'copy complete'), 30_000, () => child.output().slice(-3000));
    }
    const delayMs = kind === 'migrate in copy' ? rnd.between(0, 200) : rnd.between(0, 1500);
    await sleep(delayMs);
    const exitedEarly = await Promise.race([child.exited.then(() => true), sleep(0).then(() => false)]);
    expect(exitedEarly, `${kind} exited on its own:\n${child.output().slice(-3000)}`).toBe(false);
    const lastLog = lastMsg(child);
    await child.kill9();
    const chunks = await transferRows(target);
    const chunksDone = `${doneChunks(chunks, cut)}/${chunks.length}`;
    copyDone ||= logged(child, 'copy complete') || logged(child, 'the copy was already complete; nothing to do');
    kills.push({ kill: kills.length + 1, kind, chunkTarget, delayMs, lastLog, chunksDone });
  }
  const run = await load;
  expect(run.code, run.stderr + run.stdout).toBe(0);
  const loadMs = Date.now() - t0;

  // A last run, not killed: it catches up with the journal, which no longer moves.
  const head = proxy.server.journal.headSeq;
  const final = startMigrate(migrateArgs());
  children.push(final);
  const catchUp = Date.now();
  // Its SIGTERM handler is installed once it replays; the position may be at the head already.
  await until('the last run replays', () => logged(final, READY['migrate in replay']), 30_000, () => final.output().slice(-3000));
  await until('the last run reaches the journal head', async () => Number((await appliedRow(target).catch(() => null))?.seq ?? 0) >= head, 60_000, () => final.output().slice(-3000));
  const catchUpMs = Date.now() - catchUp;
  expect(await final.stop()).toBe(0);
  expect(await expectSameTables(source, target, 'sbtest')).toEqual(['sbtest1', 'sbtest2', 'sbtest3', 'sbtest4']);
  expect(await expectSameTables(source, target, 'quiet')).toEqual(['blobs']);

  const byKind = (k: Kind) => kills.filter((x) => x.kind === k).length;
  console.log(JSON.stringify({
    test: 'replay-migrate-kill9', seed: rnd.seed, kills: kills.length, byKind: { copy: byKind('migrate in copy'), migrateReplay: byKind('migrate in replay'), replayer: byKind('replayer') },
    journalHead: head, sysbenchTps: run.tps, loadMs, catchUpMs, killLog: kills,
  }));
  expect(byKind('migrate in copy')).toBe(COPY_KILLS);
  const midCopy = kills.filter((k) => k.kind === 'migrate in copy' && !/^(\d+)\/\1$/.test(k.chunksDone));
  expect(midCopy.length, 'no kill landed before the copy was complete').toBeGreaterThan(0);
  expect(byKind('migrate in replay')).toBeGreaterThan(0);
  expect(byKind('replayer')).toBeGreaterThan(0);
}, 150_000);
