#!/usr/bin/env node
// Switchover under load: sysbench oltp_read_write (prepared statements, connections kept open)
// through the proxy while `metamorph upgrade` (identity, in this process) switches the proxy to
// the new server and rolls it back, alternately. Prints the write-hold window of each switchover
// (lock reply -> unlock reply: p50/p99/max), sysbench's error count, and how many sessions moved.
// Usage: node bench/switchover-cycles.mjs [--cycles 20] [--threads 8]. Run `npm run build` first.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rmSync } from 'node:fs';
import { dist, sleep, startProxiedSysbench } from './proxied-sysbench.mjs';

const { startLocalMariaDB } = await import(join(dist, 'provision/local-mariadb.js'));
const { Upgrade } = await import(join(dist, 'upgrade/orchestrator.js'));
const { parseUpgradeConfig } = await import(join(dist, 'upgrade/upgrade-config.js'));

const { values } = parseArgs({ options: {
  cycles: { type: 'string', default: '20' },
  threads: { type: 'string', default: '8' },
} });
const cycles = Number(values.cycles);
const bench = await startProxiedSysbench({
  name: 'switchover-bench', threads: values.threads,
  proxyConfig: { switchover: { credentials: { root: '' } } },
});
const target = await startLocalMariaDB({ baseDir: '/dev/shm', name: `switchover-bench-new-${process.pid}`, args: ['--innodb-buffer-pool-size=256M'] });
const upgrade = new Upgrade({ config: parseUpgradeConfig({
  pack: 'identity',
  source: `mysql://root@127.0.0.1:${bench.db.port}/`,
  proxy: { adminSocket: bench.socket, journalDir: bench.journalDir },
  provision: { provider: 'existing', dsn: `mysql://root@127.0.0.1:${target.port}/` },
  stateDir: join(bench.base, 'upgrade'),
  migrate: { databases: ['sbtest'] },
  verify: { intervalSeconds: 2 },
}) });

const status = () => upgrade.status();
async function until(what, ok, ms = 120_000) {
  const end = Date.now() + ms;
  while (!ok(status())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(status())}`);
    await sleep(200);
  }
}

const running = upgrade.run();
try {
  await until('the first clean verification', (s) => s.phase === 'waiting' && s.lastVerification?.clean);
  const run = bench.runSysbench(cycles * 3 + 10);
  await sleep(3000);
  const holds = [];
  const stepMs = {};
  let moved = 0;
  for (let i = 0; i < cycles; i++) {
    await until('a caught-up standby', (s) => (s.replay?.lagSeconds ?? 99) < 1 && !s.busy);
    const r = i % 2 === 0 ? await upgrade.switchover() : await upgrade.rollback();
    if (!r.ok) throw new Error(`${i % 2 === 0 ? 'switchover' : 'rollback'} ${i} failed: ${JSON.stringify(r)}`);
    holds.push(r.holdMs);
    for (const st of r.steps ?? []) (stepMs[st.name] ??= []).push(st.ms);
    moved += Number(r.steps?.find((x) => x.name === 'flip')?.detail?.moved ?? 0);
    await sleep(1500);
  }
  const { code, errors, tps } = await run;
  holds.sort((a, b) => a - b);
  const q = (p) => holds[Math.min(holds.length - 1, Math.floor(p * holds.length))].toFixed(1);
  console.log(`\nswitchover: ${cycles} identity switchovers (alternating forward and rollback) under sysbench oltp_read_write (${values.threads} threads, prepared statements, connections kept open)`);
  console.log('| write-hold p50 ms | p99 ms | max ms | sessions moved (total) | sysbench exit | client errors (ignored deadlocks) | TPS over the run |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`median ms per step: ${Object.entries(stepMs).map(([k, v]) => `${k} ${median(v).toFixed(1)}`).join(', ')}`);
  console.log(`| ${q(0.5)} | ${q(0.99)} | ${holds[holds.length - 1].toFixed(1)} | ${moved} | ${code} | ${errors} | ${tps} |`);
} finally {
  await upgrade.finish().catch(() => {});
  await running.catch((e) => console.error(`upgrade: ${e.message}`));
  await bench.stop();
  await target.stop();
  rmSync(target.dir, { recursive: true, force: true });
}
