import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMariaDB } from '../harness/mariadb.js';
import { freePort } from '../harness/ports.js';
import { createLogger } from '../../src/log.js';
import { Upgrade, type UpgradeOutcome } from '../../src/upgrade/orchestrator.js';
import { parseUpgradeConfig } from '../../src/upgrade/upgrade-config.js';
import { adminRequest } from '../../src/admin/admin-client.js';
import { expectCleanLoad, expectSameData, startUpgradeWorld, until, type UpgradeWorld } from './upgrade-fixture.js';

let w: UpgradeWorld;
let upgrade: Upgrade | undefined;
let running: Promise<UpgradeOutcome> | undefined;

beforeAll(async () => {
  w = await startUpgradeWorld('up-id');
});

afterAll(async () => {
  upgrade?.stop(); // a failed test leaves it running; it would write its state into the removed dir
  await running?.catch(() => {});
  await w?.stop();
});

const quiet = () => createLogger({ level: process.env.METAMORPH_TEST_LOG ?? 'silent', name: 'upgrade' });

it('rehearsal: everything but the flip, reports the hold window, the old server keeps serving', async () => {
  const spare = await startMariaDB({ name: 'up-id-rehearse' });
  const config = parseUpgradeConfig(w.config({
    stateDir: `${w.dir}/rehearse-state`, adminSocket: `${w.dir}/rehearse.sock`,
    provision: { provider: 'existing', dsn: `mysql://root@127.0.0.1:${spare.port}/` },
  }));
  const load = w.load(6);
  let outcome: UpgradeOutcome;
  let again: Promise<UpgradeOutcome> | undefined;
  let real: Upgrade | undefined;
  try {
    outcome = await new Upgrade({ config, rehearse: true, log: quiet() }).run();

    // The same state run again for real resumes at `waiting`; abort ends it with the old side serving.
    real = new Upgrade({ config, log: quiet() });
    const r = real;
    again = r.run();
    again.catch(() => {});
    await until('the resumed upgrade replays again', () => r.status().phase === 'waiting' && r.status().replay !== null, 20_000, () => JSON.stringify(r.status()));
    expect(await adminRequest(config.adminSocket, 'rollback')).toMatchObject({ ok: false, code: 'UPGRADE_NOT_NOW', error: expect.stringContaining('the old server serves') });
    expect(await adminRequest(config.adminSocket, 'abort')).toMatchObject({ ok: true, phase: 'aborted', active: 'old' });
    expect((await again).result).toBe('aborted');
  } finally {
    real?.stop(); // no-op once it ended
    await again?.catch(() => {});
    await spare.stop();
  }
  expectCleanLoad(await load);
  expect(outcome.result).toBe('rehearsed');
  const [rehearsal] = outcome.report.switchovers;
  expect(rehearsal).toMatchObject({ ok: true, rehearsal: true, direction: 'forward', aborted: null });
  expect(rehearsal.holdMs).toBeGreaterThan(0);
  expect(rehearsal.lockedSeq).toBeGreaterThan(0);
  expect(rehearsal.steps.map((s) => s.name)).toContain('verify');
  expect(outcome.report.flips).toEqual([]);
  expect(outcome.report.active).toBe('old');
  expect(outcome.report.verification).toMatchObject({ clean: true });
  const saved = JSON.parse(readFileSync(`${w.dir}/rehearse-state/state.json`, 'utf8'));
  expect(saved).toMatchObject({ phase: 'aborted', active: 'old', flips: [] });
  expect(saved.switchovers.map((x: { rehearsal: boolean }) => x.rehearsal)).toEqual([true]);
  expect(saved.phaseMs.waiting).toBeGreaterThan(0);
  expect((await w.proxyStatus()).upstream).toBe(`127.0.0.1:${w.source.port}`);
  expect(await w.servingPort()).toBe(w.source.port);
});

it('identity upgrade under sysbench: switchover, the new server serves, equal; rollback flips back with the writes made on the new one', async () => {
  const metricsPort = await freePort();
  const config = parseUpgradeConfig(w.config({ metrics: `127.0.0.1:${metricsPort}` }));
  const u = new Upgrade({ config, log: quiet() });
  upgrade = u;
  running = u.run();
  running.catch(() => {});
  const status = () => u.status() as Record<string, unknown> & { phase: string; replay: { appliedSeq: number } | null };

  // 1. Forward switchover in the middle of a sysbench run on kept-open connections.
  const first = w.load(12);
  await until('the upgrade is ready for a switchover', () => status().phase === 'waiting', 30_000, () => JSON.stringify(status()));
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  expect(metrics).toContain('metamorph_upgrade_phase{phase="waiting"} 1');
  expect(metrics).toContain('metamorph_upgrade_phase{phase="migrate"} 0');
  expect(metrics).toContain('metamorph_upgrade_copy_progress_ratio 1');
  expect(metrics).toContain('metamorph_upgrade_verify_differences 0');
  await new Promise((r) => setTimeout(r, 1000));
  const forward = await adminRequest(config.adminSocket, 'switchover');
  expect(forward).toMatchObject({ ok: true, flipped: true, aborted: null });
  expect(forward.holdMs as number).toBeGreaterThan(0);
  expect((forward.verification as { clean: boolean }).clean).toBe(true);
  expect(status()).toMatchObject({ phase: 'switched', active: 'new' });
  expectCleanLoad(await first);
  expect((await w.proxyStatus()).upstream).toBe(`127.0.0.1:${w.target.port}`);
  expect(await w.servingPort()).toBe(w.target.port);

  // The reverse replay brought every write made on the new server back to the old one.
  const head = await w.headSeq();
  expect(head).toBeGreaterThan(forward.lockedSeq as number);
  await until('the reverse replay reaches the journal head', () => (status().replay?.appliedSeq ?? 0) >= head, 20_000, () => JSON.stringify(status()));
  await expectSameData(w.source, w.target);

  // 2. Rollback in the middle of another run.
  const second = w.load(8);
  await new Promise((r) => setTimeout(r, 2500));
  const back = await u.rollback();
  expect(back).toMatchObject({ ok: true, flipped: true, aborted: null });
  expect(status()).toMatchObject({ active: 'old' });
  expectCleanLoad(await second);
  expect((await w.proxyStatus()).upstream).toBe(`127.0.0.1:${w.source.port}`);
  expect(await w.servingPort()).toBe(w.source.port);
  const head2 = await w.headSeq();
  await until('the forward replay reaches the journal head', () => (status().replay?.appliedSeq ?? 0) >= head2, 20_000, () => JSON.stringify(status()));
  await expectSameData(w.source, w.target);

  // 3. finish: the orchestrator ends, the state says so, the report has both flips.
  expect(await adminRequest(config.adminSocket, 'finish')).toMatchObject({ ok: true, phase: 'finished', active: 'old' });
  const outcome = await running;
  expect(outcome.result).toBe('finished');
  upgrade = undefined;
  expect(outcome.report.flips.map((f) => f.direction)).toEqual(['forward', 'reverse']);
  expect(outcome.report.flips[0].seq).toBe(forward.lockedSeq);
  expect(outcome.report.accounts).toEqual(['app@%']);
  expect(outcome.report.statementsReplayed).toBeGreaterThan(0);
  expect(outcome.report.cutSeq).toBeGreaterThan(0);
  expect(w.state()).toMatchObject({ phase: 'finished', active: 'old', pendingSwitchover: null });
});
