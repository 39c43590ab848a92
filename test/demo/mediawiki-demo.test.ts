import { afterAll, beforeAll, expect, it } from 'vitest';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { silentLogger } from '../../src/log.js';
import { runMediawikiDemo, type DemoSummary } from '../../src/demo/mediawiki-demo.js';
import { requireBinary } from '../harness/require-binaries.js';

// The demo's path is the acceptance of the whole mission: a MediaWiki 1.4 wiki busy with 1.4
// traffic through the proxy, upgraded online to 1.5 by `metamorph upgrade` with a switchover,
// then compared with the independent oracle (the 1.5 updater's conversion of the old wiki).

let dir: string;
let summary: DemoSummary;
const lines: string[] = [];

beforeAll(async () => {
  requireBinary('mariadbd');
  dir = mkdtempSync('/dev/shm/metamorph-demo-test-');
  summary = await runMediawikiDemo({
    dir, clients: 3, pages: 80, warmupSeconds: 3, thinkMs: 50, metricsPort: 0, log: silentLogger(), say: (l) => lines.push(l),
  });
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('upgrades the busy 1.4 wiki to 1.5 with a switchover: nothing lost, no client error, identical to the oracle', () => {
  const r = summary.report;
  expect(r.result).toBe('finished');
  expect(r.active).toBe('new');
  expect(summary.oracleDifferences).toEqual([]);
  expect(summary.writesLost).toBe(0);
  expect(summary.clientErrors).toBe(0);
  expect(summary.workload.edits + summary.workload.creates).toBeGreaterThan(10);
  expect(r.copied.items).toBeGreaterThan(80);
  expect(r.statementsReplayed).toBeGreaterThan(50);
  const sw = r.switchovers.filter((s) => s.ok && !s.rehearsal);
  expect(sw).toHaveLength(1);
  expect(sw[0].holdMs).toBeGreaterThan(0);
  expect(r.verification?.clean).toBe(true);
});

it('stops the servers and the proxy it started', async () => {
  const ports = [...lines.join('\n').matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
  expect(ports.length).toBeGreaterThanOrEqual(4); // old, new, proxy, metrics
  for (const port of ports) {
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(false); });
      s.once('error', () => resolve(true));
    });
    expect(refused, `port ${port} still answers`).toBe(true);
  }
});
