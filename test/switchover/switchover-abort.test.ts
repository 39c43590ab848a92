import { afterAll, beforeAll, expect, it } from 'vitest';
import { WriteLoad } from '../harness/write-load.js';
import { runSwitchover } from '../../src/switchover/switchover.js';
import { DB, LOAD_TABLE, startSwitchoverWorld, within, type SwitchoverWorld } from './switchover-fixture.js';

let w: SwitchoverWorld;
let sourceAddress: string;

beforeAll(async () => {
  w = await startSwitchoverWorld('sw-abort');
  sourceAddress = (await w.status()).upstream;
});

afterAll(async () => {
  await w?.stop();
});

/** The old side serves: a write through the proxy lands on the old server, and the standby still applies it. */
async function expectOldSideServingAndStandbyRunning(id: number): Promise<void> {
  const client = await w.connect();
  await within(3000, 'a write after the switchover', client.query(`INSERT INTO ${DB}.item VALUES (${id}, 0)`));
  await client.end();
  expect((await w.source.query(`SELECT COUNT(*) AS n FROM ${DB}.item WHERE id = ${id}`))[0].n).toBe(1);
  await w.standby.waitFor(await w.headSeq(), 5000);
  expect((await w.target.query(`SELECT COUNT(*) AS n FROM ${DB}.item WHERE id = ${id}`))[0].n).toBe(1);
  const status = await w.status();
  expect(status.gate.state).toBe('open');
  expect(status.upstream).toBe(sourceAddress);
}

it('refuses before locking when the standby was never verified, or not clean', async () => {
  const never = await runSwitchover(w.plan({ preconditions: { maxLagSeconds: 5, lastVerification: null } }));
  expect(never.ok).toBe(false);
  expect(never.aborted?.step).toBe('preconditions');
  expect(never.aborted?.reason).toMatch(/never been verified/);
  expect(never.steps.map((s) => s.name)).toEqual(['preconditions']);
  expect(never.lockedSeq).toBeNull();

  const dirty = { ...w.plan().preconditions.lastVerification!, clean: false, differences: [{ item: 'sw.item id=1', side: 'both' as const, field: 'v' }] };
  const refused = await runSwitchover(w.plan({ preconditions: { maxLagSeconds: 5, lastVerification: dirty } }));
  expect(refused.aborted?.reason).toMatch(/found 1 difference/);
  expect(refused.holdMs).toBe(0);
  await expectOldSideServingAndStandbyRunning(100);
});

it('aborts within the lock budget when a transaction is held open, naming the blocking connection', async () => {
  const blocker = await w.connect('app');
  await blocker.query('BEGIN');
  await blocker.query(`UPDATE ${DB}.item SET v = v + 1 WHERE id = 1`);
  const lockMs = 800;
  const started = Date.now();
  const report = await runSwitchover(w.plan({ budgets: { lockMs, catchUpMs: 5000, verifyMs: 10_000, flipMs: 5000, totalMs: 30_000 } }));
  const elapsed = Date.now() - started;

  expect(report.ok).toBe(false);
  expect(elapsed).toBeLessThan(lockMs + 1500);
  expect(report.aborted?.step).toBe('lock');
  expect(report.aborted?.blockers).toHaveLength(1);
  expect(report.aborted?.blockers?.[0]).toMatchObject({ user: 'app', lastStatement: expect.stringContaining('UPDATE') });
  expect(report.aborted?.reason).toMatch(/blocked by connection \d+ \(app@/);
  expect(report.flipped).toBe(false);
  expect(report.standbyStopped).toBe(false);
  expect(report.holdMs).toBe(0);

  await blocker.query('ROLLBACK');
  await blocker.end();
  await expectOldSideServingAndStandbyRunning(101);
});

it('aborts and unlocks when the final verification finds a difference', async () => {
  // A row changed on the new server only: the standby cannot know, the verification must.
  await w.target.query(`UPDATE ${DB}.item SET v = v + 1000 WHERE id = 2`);
  try {
    const report = await runSwitchover(w.plan());
    expect(report.ok).toBe(false);
    expect(report.aborted?.step).toBe('verify');
    expect(report.aborted?.reason).toMatch(/found 1 difference/);
    expect(report.verification?.clean).toBe(false);
    expect(report.verification?.differences[0].item).toBe('item');
    expect(report.steps.map((s) => s.name)).toEqual(['preconditions', 'lock', 'catch-up', 'verify', 'unlock']);
    expect(report.holdMs).toBeGreaterThan(0);
    expect(report.lockedSeq).toBe(report.finalSeq);
    expect(report.standbyStopped).toBe(false);
    await expectOldSideServingAndStandbyRunning(102);
  } finally {
    await w.target.query(`UPDATE ${DB}.item SET v = v - 1000 WHERE id = 2`);
  }
});

it('rehearses under a write load: ok, the hold measured, writes go on on the old server', async () => {
  const load = WriteLoad.start({ port: w.proxy.port, database: DB, table: LOAD_TABLE, workers: 4 });
  try {
    await load.untilAcked(50);
    const report = await runSwitchover(w.plan({ rehearse: true }));
    expect(report.aborted).toBeNull();
    expect(report).toMatchObject({ ok: true, rehearsal: true, flipped: false, standbyStopped: false });
    expect(report.steps.map((s) => s.name)).toEqual(['preconditions', 'lock', 'catch-up', 'verify', 'unlock']);
    expect(report.verification?.clean).toBe(true);
    expect(report.holdMs).toBeGreaterThan(0);
    expect(report.holdMs).toBeLessThan(report.totalMs);
    expect(report.lockedSeq).toBeGreaterThan(0);
    await load.untilAcked(50);
  } finally {
    const result = await load.stop();
    expect(result.errors).toEqual([]);
  }
  await expectOldSideServingAndStandbyRunning(103);
  const sourceRows = (await w.source.query(`SELECT COUNT(*) AS n FROM ${LOAD_TABLE}`))[0].n;
  expect((await w.target.query(`SELECT COUNT(*) AS n FROM ${LOAD_TABLE}`))[0].n).toBe(sourceRows);
});

it('a verification over its budget, or over what is left of the total, aborts and unlocks', async () => {
  const slowVerify = () => new Promise<never>(() => {}); // never answers: only the budget ends it
  const budgets = { lockMs: 2000, catchUpMs: 5000, verifyMs: 300, flipMs: 5000, totalMs: 30_000 };
  const started = Date.now();
  const report = await runSwitchover(w.plan({ budgets, verify: slowVerify }));
  expect(Date.now() - started).toBeLessThan(1500);
  expect(report.aborted).toMatchObject({ step: 'verify', reason: 'verify did not finish within its budget (300 ms)' });
  expect(report.steps.map((s) => s.name)).toEqual(['preconditions', 'lock', 'catch-up', 'verify', 'unlock']);

  const total = await runSwitchover(w.plan({ budgets: { ...budgets, verifyMs: 10_000, totalMs: 400 }, verify: slowVerify }));
  expect(total.aborted?.step).toBe('verify');
  expect(total.aborted?.reason).toMatch(/within what was left of the total budget \(\d+ ms\)/);
  expect(total.totalMs).toBeLessThan(1500);
  await expectOldSideServingAndStandbyRunning(104);
});

it('a flip the proxy refuses aborts with nothing moved: unlocked, the old server serves, the standby reported stopped', async () => {
  // A connected client: the proxy checks that its user can log in at the new address, and nothing listens there.
  const client = await w.connect();
  const report = await runSwitchover(w.plan({ flip: { kind: 'upstream', host: '127.0.0.1', port: 1 } }));
  expect(report.ok).toBe(false);
  expect(report.aborted?.step).toBe('flip');
  expect(report.aborted?.reason).toMatch(/the proxy refused flip: .*nothing was moved/);
  expect(report).toMatchObject({ flipped: false, standbyStopped: true });
  expect(report.steps.map((s) => s.name)).toEqual(['preconditions', 'lock', 'catch-up', 'verify', 'stop-standby', 'flip', 'unlock']);
  await within(3000, 'a write after the refused flip', client.query(`INSERT INTO ${DB}.item VALUES (105, 0)`));
  await client.end();
  expect((await w.source.query(`SELECT COUNT(*) AS n FROM ${DB}.item WHERE id = 105`))[0].n).toBe(1);
  expect((await w.status()).upstream).toBe(sourceAddress);
});
