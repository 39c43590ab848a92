import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import type { MariaDB } from '../harness/mariadb.js';
import { sysbench } from '../harness/clients.js';
import { freePort } from '../harness/ports.js';
import type { ProxyFixture } from '../proxy/proxy-fixture.js';
import { appliedRow, checkpointSeq, expectSameTables, startReplay, untilApplied, untilLogged, type ReplayChild, startReplayWorld, stopReplayWorld } from './replay-fixture.js';

let source: MariaDB;
let target: MariaDB;
let proxy: ProxyFixture;

beforeAll(async () => {
  ({ source, target, proxy } = await startReplayWorld('rp-k9'));
});

afterAll(async () => {
  await stopReplayWorld({ source, target, proxy });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** DDL through the proxy while sysbench runs: new tables, altered, filled, so kills land near DDLs too. */
async function ddlWhile(running: () => boolean): Promise<number> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: 'sbtest' });
  let n = 0;
  try {
    while (running()) {
      n++;
      await c.query(`CREATE TABLE side${n} (id INT PRIMARY KEY, v INT)`);
      await c.query(`INSERT INTO side${n} VALUES (1, ${n}), (2, ${n})`);
      await c.query(`ALTER TABLE side${n} ADD COLUMN w VARCHAR(10) DEFAULT 'x', ADD INDEX (v)`);
      await c.query(`UPDATE side${n} SET w = 'y' WHERE id = 2`);
      await sleep(150);
    }
  } finally {
    await c.end();
  }
  return n;
}

it('kill -9 of a following replayer every 1-2 s while sysbench writes through the proxy: no duplicate, no gap', async () => {
  const setup = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root' });
  await setup.query('CREATE DATABASE sbtest');
  await setup.end();
  const common = { host: '127.0.0.1', port: proxy.port, user: 'app', password: 'apppass', db: 'sbtest', tables: 4, tableSize: 1000 } as const;
  const prep = await sysbench({ ...common, test: 'oltp_read_write', threads: 2, time: 5, command: 'prepare' });
  expect(prep.code, prep.stderr).toBe(0);

  let loadRunning = true;
  const load = sysbench({ ...common, test: 'oltp_read_write', threads: 4, time: 14, command: 'run' }).finally(() => { loadRunning = false; });
  const ddl = ddlWhile(() => loadRunning);

  let kills = 0;
  let replayer: ReplayChild | null = null;
  while (loadRunning) {
    replayer = startReplay(proxy.journalDir, target, ['--follow']); // never --from: the target says where to resume
    await sleep(1000 + Math.random() * 1000);
    const early = await Promise.race([replayer.exited, sleep(0).then(() => null)]);
    expect(early, `replayer exited on its own:\n${replayer.output().slice(-3000)}`).toBeNull();
    await replayer.kill9();
    kills++;
  }
  const run = await load;
  expect(run.code, run.stderr + run.stdout).toBe(0);
  const sideTables = await ddl;
  expect(kills).toBeGreaterThanOrEqual(6);
  expect(sideTables).toBeGreaterThan(5);

  const metricsPort = await freePort();
  replayer = startReplay(proxy.journalDir, target, ['--follow', '--metrics', `127.0.0.1:${metricsPort}`]);
  const head = proxy.server.journal.headSeq;
  await untilLogged(replayer, 'metrics listening');
  await untilApplied(target, head, 30_000, replayer);
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  expect(metrics).toContain(`metamorph_replay_applied_seq ${head}\n`);
  expect(metrics).toContain('metamorph_replay_lag_seconds 0\n');
  expect(await replayer.stop()).toBe(0); // SIGTERM while following: commit, exit 0

  expect(await appliedRow(target)).toEqual({ seq: head, txn: expect.any(Number), ddlSeq: null });
  expect(checkpointSeq(proxy.journalDir)).toBe(head);
  const tables = await expectSameTables(source, target, 'sbtest');
  expect(tables).toHaveLength(4 + sideTables);
}, 60_000);
