#!/usr/bin/env node
// Write gate under load: sysbench oltp_read_write through the proxy while the admin socket
// runs lock/unlock cycles. Prints time from `lock` to locked (p50/p99/max), the longest time any
// single write was held, and sysbench's error count.
// Usage: node bench/gate-cycles.mjs [--cycles 20] [--threads 8] [--locked-ms 50]. Run `npm run build` first.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const dist = process.env.METAMORPH_DIST ?? new URL('../dist/', import.meta.url).pathname;
const { startLocalMariaDB, freePort } = await import(join(dist, 'provision/local-mariadb.js'));
const { adminRequest } = await import(join(dist, 'admin/admin-client.js'));

const { values } = parseArgs({ options: {
  cycles: { type: 'string', default: '20' },
  threads: { type: 'string', default: '8' },
  'locked-ms': { type: 'string', default: '50' },
} });
const cycles = Number(values.cycles);
const base = mkdtempSync('/tmp/metamorph-gate-bench-');
const socket = join(base, 'admin.sock');
const db = await startLocalMariaDB({ baseDir: '/dev/shm', name: `gate-bench-${process.pid}`, args: ['--innodb-buffer-pool-size=256M'] });
const port = await freePort();
const proxy = spawn('node', [join(dist, 'cli.js'), 'proxy', '--listen', `127.0.0.1:${port}`, '--upstream', `127.0.0.1:${db.port}`,
  '--journal-dir', join(base, 'journal'), '--admin-socket', socket, '--metrics', '127.0.0.1:0'],
{ stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, METAMORPH_LOG_LEVEL: 'warn' } });

const sb = (cmd, time) => ['oltp_read_write', '--db-driver=mysql', '--mysql-host=127.0.0.1', `--mysql-port=${port}`, '--mysql-user=root',
  '--mysql-db=sbtest', '--tables=4', '--table-size=10000', `--threads=${values.threads}`, `--time=${time}`, cmd];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

try {
  for (let i = 0; i < 200 && spawnSync('mariadb-admin', ['--no-defaults', '-h127.0.0.1', `-P${port}`, '-uroot', 'ping']).status !== 0; i++) await sleep(50);
  spawnSync('mariadb', ['--no-defaults', '-h127.0.0.1', `-P${port}`, '-uroot', '-e', 'CREATE DATABASE sbtest']);
  if (spawnSync('sysbench', sb('prepare', 10)).status !== 0) throw new Error('sysbench prepare failed');
  const runSeconds = Math.ceil(cycles * 0.5) + 6;
  const run = spawn('sysbench', sb('run', runSeconds), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  run.stdout.on('data', (d) => { out += d; });
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
  const code = await new Promise((r) => run.once('exit', r));
  const errors = Number(/ignored errors:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  const tps = Number(/transactions:\s+\d+\s+\(([\d.]+) per sec/.exec(out)?.[1] ?? NaN);
  toLocked.sort((a, b) => a - b);
  const q = (p) => toLocked[Math.min(toLocked.length - 1, Math.floor(p * toLocked.length))].toFixed(1);
  console.log(`\nwrite gate: ${cycles} lock/unlock cycles under sysbench oltp_read_write (${values.threads} threads, prepared statements), locked ${values['locked-ms']} ms each`);
  console.log('| lock -> locked p50 ms | p99 ms | max ms | longest single write hold ms | sysbench exit | client errors (ignored deadlocks) | TPS over the run |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  console.log(`| ${q(0.5)} | ${q(0.99)} | ${toLocked[toLocked.length - 1].toFixed(1)} | ${(status.gate.longestHoldSeconds * 1000).toFixed(1)} | ${code} | ${errors} | ${tps} |`);
} finally {
  proxy.kill('SIGTERM');
  await new Promise((r) => proxy.once('exit', r));
  await db.stop();
  rmSync(db.dir, { recursive: true, force: true });
  rmSync(base, { recursive: true, force: true });
}
