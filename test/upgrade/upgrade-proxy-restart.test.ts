import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../src/log.js';
import { ProxyServer } from '../../src/proxy/server.js';
import { Upgrade } from '../../src/upgrade/orchestrator.js';
import { parseUpgradeConfig } from '../../src/upgrade/upgrade-config.js';
import { startUpgradeWorld, until, type UpgradeWorld } from './upgrade-fixture.js';

// A proxy that dies between a server's commit and its journal append leaves that write on the
// source only; a check scoped by the journal cannot see it. So after a proxy restart the
// switchover waits for a clean full verification pass.

let w: UpgradeWorld;
let restarted: ProxyServer | null = null;

beforeAll(async () => {
  w = await startUpgradeWorld('up-restart');
}, 60_000);

afterAll(async () => {
  await restarted?.stop();
  await w?.stop();
});

it('after a proxy restart, a switchover is refused until a full pass is clean, then goes through', async () => {
  const u = new Upgrade({ config: parseUpgradeConfig(w.config()), log: createLogger({ level: process.env.METAMORPH_TEST_LOG ?? 'silent', name: 'upgrade' }) });
  const running = u.run();
  running.catch(() => {});
  type Status = { phase: string; lastVerification: { clean: boolean } | null; lastCleanFullPassAt: string | null };
  const status = () => u.status() as unknown as Status;
  await until('a clean full pass', () => status().phase === 'waiting' && status().lastVerification?.clean === true, 30_000, () => JSON.stringify(status()));

  const config = w.proxy.server.config;
  await w.proxy.server.stop();
  restarted = await ProxyServer.start(config, silentLogger());
  const restartedAt = new Date().toISOString();
  await expect(u.switchover()).rejects.toMatchObject({ message: expect.stringMatching(/proxy \(re\)started at .* after the last clean full verification/) });
  expect(status().phase).toBe('waiting');
  expect((await restarted.status()).upstream).toBe(`127.0.0.1:${w.source.port}`);

  // A pass that began after the restart (one running across it does not count).
  await until('a clean full pass after the restart', () => (status().lastCleanFullPassAt ?? '') > restartedAt, 30_000, () => JSON.stringify(status()));
  expect(await u.switchover()).toMatchObject({ ok: true, flipped: true });
  expect((await restarted.status()).upstream).toBe(`127.0.0.1:${w.target.port}`);
  await u.finish();
  await running;
});
