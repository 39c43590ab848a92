import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { hookFromCommand, runSwitchover } from '../../src/switchover/switchover.js';
import { checksumVerify, DB, startSwitchoverWorld, within, type SwitchoverWorld } from './switchover-fixture.js';

let w: SwitchoverWorld;
let dir: string;

beforeAll(async () => {
  w = await startSwitchoverWorld('sw-hook');
  dir = mkdtempSync('/dev/shm/metamorph-hook-');
});

afterAll(async () => {
  await w?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const count = async (server: 'source' | 'target', where: string): Promise<number> => Number((await w[server].query(`SELECT COUNT(*) AS n FROM ${DB}.item WHERE ${where}`))[0].n);

it('a failing hook aborts before the flip: unlocked, the standby still running, nothing rejected', async () => {
  const report = await runSwitchover(w.plan({ flip: hookFromCommand({ command: 'echo no app tier here >&2; exit 3' }, silentLogger()) }));
  expect(report.ok).toBe(false);
  expect(report.aborted?.step).toBe('flip-hook');
  expect(report.aborted?.reason).toMatch(/exit code 3[\s\S]*no app tier here/);
  expect(report.steps.map((s) => s.name)).toEqual(['preconditions', 'lock', 'catch-up', 'verify', 'drain', 'catch-up-drained', 'flip-hook', 'unlock']);
  expect(report).toMatchObject({ flipped: false, standbyStopped: false });
  expect((await w.status()).gate.state).toBe('open');
  const client = await w.connect();
  await within(3000, 'a write after the abort', client.query(`INSERT INTO ${DB}.item VALUES (50, 0)`));
  await client.end();
  await w.standby.waitFor(await w.headSeq(), 5000);
  expect(await count('target', 'id = 50')).toBe(1);
});

it('a hook over the flip budget is killed and the switchover aborts before the flip', async () => {
  const late = join(dir, 'late');
  const budgets = { lockMs: 2000, catchUpMs: 5000, verifyMs: 10_000, flipMs: 300, totalMs: 30_000 };
  const started = Date.now();
  const report = await runSwitchover(w.plan({ budgets, flip: hookFromCommand({ command: `sleep 1; touch '${late}'` }, silentLogger()) }));
  expect(Date.now() - started).toBeLessThan(1000);
  expect(report.aborted).toMatchObject({ step: 'flip-hook', reason: 'flip-hook did not finish within its budget (300 ms)' });
  expect(report).toMatchObject({ flipped: false, standbyStopped: false });
  expect((await w.status()).gate.state).toBe('open');
  await new Promise((r) => setTimeout(r, 1200));
  expect(existsSync(late)).toBe(false); // killed, not left to switch the app tier after the abort
});

it('hook flip: held writes are drained to the old side and applied to the new one, then the old side rejects', async () => {
  const file = join(dir, 'flipped');
  const clients: Connection[] = [];
  for (let i = 0; i < 6; i++) clients.push(await w.connect());
  const writes: Promise<unknown>[] = [];
  const write = (i: number) => writes.push(clients[i].query(`INSERT INTO ${DB}.item VALUES (${200 + i}, ${i})`));
  const report = await runSwitchover(w.plan({
    // The hook takes a while, as a real app-tier switch does: writes sent meanwhile are held too.
    flip: hookFromCommand({ command: `sleep 0.4; touch '${file}'` }, silentLogger()),
    async verify() {
      // Runs with the gate locked: these writes are held, three now and three while the hook runs.
      for (let i = 0; i < 3; i++) write(i);
      setTimeout(() => { for (let i = 3; i < 6; i++) write(i); }, 150);
      return checksumVerify(w.source, w.target);
    },
  }));

  expect(report.aborted).toBeNull();
  expect(report).toMatchObject({ ok: true, rehearsal: false, flipped: true, standbyStopped: true });
  expect(existsSync(file)).toBe(true);
  expect(report.steps.map((s) => s.name)).toEqual(expect.arrayContaining(['drain', 'flip-hook', 'drain-after-flip', 'catch-up-final', 'lock-reject', 'stop-standby']));
  const detail = (name: string) => report.steps.find((s) => s.name === name)?.detail ?? {};
  expect(Number(detail('drain').released) + Number(detail('drain-after-flip').released)).toBe(6);
  expect(detail('drain-after-flip').settled).toBe(true);
  expect(detail('lock-reject').rejected).toBe(0);

  // Every held write got its OK (none an error), ran on the old side and reached the new one.
  await within(3000, 'the held writes', Promise.all(writes));
  expect(await count('source', 'id BETWEEN 200 AND 205')).toBe(6);
  expect(await count('target', 'id BETWEEN 200 AND 205')).toBe(6);
  expect(report.finalSeq).toBe(w.standby.appliedSeq);
  expect(report.finalSeq).toBe(await w.headSeq());
  expect(report.holdMs).toBeGreaterThanOrEqual(400);

  // An old app instance writing after the flip gets the clear read-only error.
  expect((await w.status()).gate.state).toBe('rejecting');
  await expect(clients[0].query(`INSERT INTO ${DB}.item VALUES (300, 0)`)).rejects.toThrow(/read-only while it is being upgraded/);
  expect(await count('source', 'id = 300')).toBe(0);
  for (const c of clients) await c.end();
});
