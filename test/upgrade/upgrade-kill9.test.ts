import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminRequest } from '../../src/admin/admin-client.js';
import { createProvider } from '../../src/provision/provider.js';
import type { UpgradePhase, UpgradeState } from '../../src/upgrade/upgrade-state.js';
import { AdminConnection } from '../../src/admin/admin-client.js';
import { ReplayEngine } from '../../src/apply/replay-engine.js';
import { identityPack } from '../../src/translate/identity.js';
import { runCli } from '../harness/proxy-process.js';
import { startMigrate, type MigrateChild } from '../migrate/migrate-fixture.js';
import { expectCleanLoad, expectSameData, startUpgradeWorld, until, type UpgradeWorld } from './upgrade-fixture.js';

let w: UpgradeWorld;
let provision: Record<string, unknown>;
const children: MigrateChild[] = [];

beforeAll(async () => {
  w = await startUpgradeWorld('up-k9');
  provision = { provider: 'local', baseDir: join(w.dir, 'replicas'), name: 'new' };
});

afterAll(async () => {
  for (const c of children) await c.kill9().catch(() => {});
  const replica = existsSync(join(w.dir, 'state', 'state.json')) ? w.state().replica : null;
  if (replica) await createProvider(provision).teardown(replica).catch(() => {});
  await w?.stop();
});

const processesOn = (dataDir: string) => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
  try {
    return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(`--datadir=${dataDir}`);
  } catch {
    return false;
  }
}).map(Number);
const logged = (c: MigrateChild, msg: string) => c.logs.some((l) => l.msg === msg);

it('SIGTERM stops with exit 3 and the state kept; killed mid-switchover after the flip, a re-run records the flip from the proxy; rollback and finish by CLI', async () => {
  // The target is the harness's second server; the other test, after this one, provisions a local one.
  const file = w.configFile({ stateDir: join(w.dir, 'sw-state') });
  const socket = join(w.dir, 'sw-state', 'upgrade.sock');
  const load = w.load(15, ['--db-ps-mode=disable']);
  const state = () => JSON.parse(readFileSync(join(w.dir, 'sw-state', 'state.json'), 'utf8')) as UpgradeState;

  const first = startMigrate(['upgrade', '--config', file]);
  children.push(first);
  await until('ready for a switchover', () => logged(first, 'upgrade phase: waiting'), 30_000, () => first.output().slice(-3000));
  expect(await first.stop()).toBe(3);
  expect(state()).toMatchObject({ phase: 'waiting', active: 'old' });

  // What a run killed between `flip` and recording it leaves: the proxy flipped (the standby had
  // caught up under the lock), state.json still says the switchover is pending, the lease released.
  const admin = await AdminConnection.open(w.proxy.adminSocket);
  const lock = await admin.request('lock 5000 lease');
  expect(lock).toMatchObject({ ok: true });
  const standby = new ReplayEngine({ journalDir: w.proxy.journalDir, target: { host: '127.0.0.1', port: w.target.port, user: 'root' }, pack: identityPack, consumer: `up-${state().id}-forward-0`, follow: true });
  await standby.start();
  await standby.waitFor(lock.seq as number, 10_000);
  await standby.stop();
  expect(await admin.request(`flip 127.0.0.1:${w.target.port}`)).toMatchObject({ ok: true });
  writeFileSync(join(w.dir, 'sw-state', 'state.json'), JSON.stringify({
    ...state(), phase: 'switchover', pendingSwitchover: { direction: 'forward', target: { host: '127.0.0.1', port: w.target.port }, at: new Date().toISOString() },
  }));
  admin.close();

  const second = startMigrate(['upgrade', '--config', file]);
  children.push(second);
  await until('the re-run records the flip', () => logged(second, 'replay following the journal'), 30_000, () => second.output().slice(-3000));
  expect(state()).toMatchObject({ phase: 'switched', active: 'new', pendingSwitchover: null, flips: [{ direction: 'forward', seq: lock.seq }] });
  expect(await w.servingPort()).toBe(w.target.port);

  const back = await runCli(['rollback', '--socket', socket]);
  expect(back.code, back.stdout + back.stderr).toBe(0);
  expect(JSON.parse(back.stdout)).toMatchObject({ ok: true, flipped: true });
  expect(await w.servingPort()).toBe(w.source.port);
  expectCleanLoad(await load);
  const head = await w.headSeq();
  await until('the forward replay reaches the journal head', async () => {
    const s = await adminRequest(socket, 'status') as { replay: { appliedSeq: number } | null };
    return (s.replay?.appliedSeq ?? 0) >= head;
  }, 20_000);
  await expectSameData(w.source, w.target);
  expect((await runCli(['finish', '--socket', socket])).code).toBe(0);
  expect(await second.exited).toBe(0);
  expect(state()).toMatchObject({ phase: 'finished', active: 'old' });
  expect(state().flips.map((f) => f.direction)).toEqual(['forward', 'reverse']);
  // Retired stretches, and the last one once finished, leave no checkpoint to hold the proxy's lag and pruning back.
  const id = state().id;
  expect(readdirSync(join(w.proxy.journalDir, 'consumers')).filter((f) => f.includes(id))).toEqual([]);
});

it('kill -9 of `metamorph upgrade` in provision, migrate, replay/verify and waiting, re-run each time: it completes with the same result', async () => {
  // A local provider: provisioning takes long enough (mariadb-install-db) to be killed in it.
  // The copy is throttled to ~5 s so that a kill lands inside it. Text protocol: prepared
  // statements across the flip are upgrade-identity's subject; this one is about resuming.
  const file = w.configFile({ provision, migrate: { databases: ['sbtest'], chunkRows: 1000, workers: 2, maxRowsPerSec: 4000 } });
  const args = ['upgrade', '--config', file];
  const load = w.load(25, ['--db-ps-mode=disable']);
  const killedIn: UpgradePhase[] = [];
  const runUntil = async (what: string, ready: (c: MigrateChild) => boolean | Promise<boolean>) => {
    const child = startMigrate(args);
    children.push(child);
    await until(what, () => ready(child), 30_000, () => child.output().slice(-3000));
    await child.kill9();
    killedIn.push(w.state().phase);
  };

  const replicaDir = join(w.dir, 'replicas', 'new');
  await runUntil('provision starts the local server', () => existsSync(join(replicaDir, 'stdout.log')));
  expect(w.state()).toMatchObject({ phase: 'provision', provisionStarted: true, replica: null });

  let cutAt = 0;
  await runUntil('the copy is under way', (c) => {
    if (cutAt === 0 && logged(c, 'consistent cut taken')) cutAt = Date.now();
    return cutAt > 0 && Date.now() - cutAt > 1000;
  });
  const replica = w.state().replica;
  expect(replica?.provider).toBe('local');
  expect(processesOn(join(replicaDir, 'data'))).toEqual([replica?.details.pid]); // the first run's server is gone
  expect(w.state().accountsCopied).toEqual(['app@%']);

  await runUntil('replay starts', (c) => logged(c, 'upgrade phase: replay') || logged(c, 'replay following the journal'));
  await runUntil('verification runs', (c) => logged(c, 'replay following the journal'));
  await runUntil('ready for a switchover', (c) => logged(c, 'upgrade phase: waiting'));
  expect(killedIn[0]).toBe('provision');
  expect(killedIn[1]).toBe('migrate');
  expect(killedIn.slice(2).every((p) => ['replay', 'verify', 'waiting'].includes(p))).toBe(true);
  expect(killedIn.at(-1)).toBe('waiting');
  expect(w.state().replica).toEqual(replica); // resumed runs reuse the recorded server

  const final = startMigrate([...args, '--auto-switchover']);
  children.push(final);
  await until('the final run switches over', () => existsSync(join(w.dir, 'state', 'state.json')) && w.state().phase === 'switched', 30_000, () => final.output().slice(-3000));
  const newPort = (replica as { port: number }).port;
  expect((await w.proxyStatus()).upstream).toBe(`127.0.0.1:${newPort}`);
  expect(await w.servingPort()).toBe(newPort);
  expectCleanLoad(await load);

  const socket = join(w.dir, 'state', 'upgrade.sock');
  const head = await w.headSeq();
  await until('the reverse replay reaches the journal head', async () => {
    const s = await adminRequest(socket, 'status') as { replay: { appliedSeq: number } | null };
    return (s.replay?.appliedSeq ?? 0) >= head;
  }, 20_000);
  await expectSameData(w.source, { port: newPort });

  const finish = await runCli(['finish', '--socket', socket]);
  expect(finish.code, finish.stderr).toBe(0);
  expect(await final.exited).toBe(0);
  expect(final.output()).toContain('upgrade finished: phase finished, the proxy serves from the new server');
  const end = w.state();
  expect(end).toMatchObject({ phase: 'finished', active: 'new', pendingSwitchover: null });
  expect(end.flips.map((f) => f.direction)).toEqual(['forward']);
  expect(end.copy.rows).toBeGreaterThanOrEqual(20_000);
  for (const phase of ['provision', 'migrate', 'verify', 'waiting', 'switched']) expect(end.phaseMs[phase], phase).toBeGreaterThan(0);

  // Run again after the end: nothing to do, the same report.
  const again = await runCli(['upgrade', '--config', file]);
  expect(again.code, again.stderr).toBe(0);
  expect(again.stdout).toContain('upgrade finished: phase finished');
});
