#!/usr/bin/env node
// Write gate under load: sysbench oltp_read_write through the proxy while the admin socket
// runs lock/unlock cycles. Prints time from `lock` to locked (p50/p99/max), the longest time any
// single write was held, and sysbench's error count.
// Usage: node bench/gate-cycles.mjs [--cycles 20] [--threads 8] [--locked-ms 50]. Run `npm run build` first.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dist, sleep, startProxiedSysbench } from './proxied-sysbench.mjs';

const { adminRequest } = await import(join(dist, 'admin/admin-client.js'));

const { values } = parseArgs({ options: {
  cycles: { type: 'string', default: '20' },
  threads: { type: 'string', default: '8' },
  'locked-ms': { type: 'string', default: '50' },
} });
const cycles = Number(values.cycles);
const bench = await startProxiedSysbench({ name: 'gate-bench', threads: values.threads });
const socket = bench.socket;

try {
  const run = bench.runSysbench(Math.ceil(cycles * 0.5) + 6);
  await sleep(3000);
  const toLocked = [];
  for (let i = 0; i < cycles; i++) {
    const t = performance.now();
    const r = await adminRequest(socket, 'lock 5000');
    if (!r.ok) throw new Error(`lock ${i} failed: ${JSON.stringify(r)}`);
    toLocked.push(performance.now() - t);
    await sleep(Number(values['locked-ms']));
    await adminRequest(socket, 'unlock');
    await sleep(400);
  }
  const status = await adminRequest(socket, 'status');
  const { code, errors, tps } = await run;
  toLocked.sort((a, b) => a - b);
  const q = (p) => toLocked[Math.min(toLocked.length - 1, Math.floor(p * toLocked.length))].toFixed(1);
  console.log(`\nwrite gate: ${cycles} lock/unlock cycles under sysbench oltp_read_write (${values.threads} threads, prepared statements), locked ${values['locked-ms']} ms each`);
  console.log('| lock -> locked p50 ms | p99 ms | max ms | longest single write hold ms | sysbench exit | client errors (ignored deadlocks) | TPS over the run |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  console.log(`| ${q(0.5)} | ${q(0.99)} | ${toLocked[toLocked.length - 1].toFixed(1)} | ${(status.gate.longestHoldSeconds * 1000).toFixed(1)} | ${code} | ${errors} | ${tps} |`);
} finally {
  await bench.stop();
}
