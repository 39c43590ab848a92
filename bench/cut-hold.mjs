#!/usr/bin/env node
// Consistent cut under load: sysbench oltp_read_write through the proxy while `takeCut` (lock the
// write gate, open N snapshot sessions on the source, unlock) runs repeatedly. Prints how long
// writes were held per cut (lock sent -> unlock acknowledged): p50/p99/max, and sysbench's errors.
// Usage: node bench/cut-hold.mjs [--cuts 20] [--threads 8] [--sessions 4]. Run `npm run build` first.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dist, sleep, startProxiedSysbench } from './proxied-sysbench.mjs';

const { adminRequest } = await import(join(dist, 'admin/admin-client.js'));
const { takeCut } = await import(join(dist, 'migrate/consistent-cut.js'));

const { values } = parseArgs({ options: {
  cuts: { type: 'string', default: '20' },
  threads: { type: 'string', default: '8' },
  sessions: { type: 'string', default: '4' },
} });
const cuts = Number(values.cuts);
const bench = await startProxiedSysbench({ name: 'cut-bench', threads: values.threads });
const { socket, db } = bench;

try {
  const run = bench.runSysbench(Math.ceil(cuts * 0.5) + 6);
  await sleep(3000);
  const holds = [];
  const seqs = [];
  for (let i = 0; i < cuts; i++) {
    const cut = await takeCut({ adminSocket: socket, source: { host: '127.0.0.1', port: db.port, user: 'root' }, sessions: Number(values.sessions), lockTimeoutMs: 5000 });
    holds.push(cut.holdMs);
    seqs.push(cut.seq);
    await Promise.all(cut.sessions.map((s) => s.close()));
    await sleep(400);
  }
  const status = await adminRequest(socket, 'status');
  const { code, errors, tps } = await run;
  if (seqs.some((s, i) => i > 0 && s <= seqs[i - 1])) throw new Error(`cut seqs did not advance under load: ${seqs.join(', ')}`);
  holds.sort((a, b) => a - b);
  const q = (p) => holds[Math.min(holds.length - 1, Math.floor(p * holds.length))].toFixed(1);
  console.log(`\nconsistent cut: ${cuts} cuts (${values.sessions} snapshot sessions each) under sysbench oltp_read_write through the proxy (${values.threads} threads)`);
  console.log('| hold p50 ms | p99 ms | max ms | longest single write hold ms | sysbench exit | client errors | TPS over the run |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  console.log(`| ${q(0.5)} | ${q(0.99)} | ${holds[holds.length - 1].toFixed(1)} | ${(status.gate.longestHoldSeconds * 1000).toFixed(1)} | ${code} | ${errors} | ${tps} |`);
} finally {
  await bench.stop();
}
