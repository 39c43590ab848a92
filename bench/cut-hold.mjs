#!/usr/bin/env node
// Consistent cut under load: sysbench oltp_read_write through the proxy while `takeCut` (lock the
// write gate, open N snapshot sessions on the source, unlock) runs repeatedly. Prints how long
// writes were held per cut (lock sent -> unlock acknowledged): p50/p99/max, and sysbench's errors.
// Usage: node bench/cut-hold.mjs [--cuts 20] [--threads 8] [--sessions 4]. Run `npm run build` first.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const dist = process.env.METAMORPH_DIST ?? new URL('../dist/', import.meta.url).pathname;
const { startLocalMariaDB, freePort } = await import(join(dist, 'provision/local-mariadb.js'));
const { adminRequest } = await import(join(dist, 'admin/admin-client.js'));
const { takeCut } = await import(join(dist, 'migrate/consistent-cut.js'));

const { values } = parseArgs({ options: {
  cuts: { type: 'string', default: '20' },
  threads: { type: 'string', default: '8' },
  sessions: { type: 'string', default: '4' },
} });
const cuts = Number(values.cuts);
const base = mkdtempSync('/tmp/metamorph-cut-bench-');
const socket = join(base, 'admin.sock');
const db = await startLocalMariaDB({ baseDir: '/dev/shm', name: `cut-bench-${process.pid}`, args: ['--innodb-buffer-pool-size=256M'] });
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
  const run = spawn('sysbench', sb('run', Math.ceil(cuts * 0.5) + 6), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  run.stdout.on('data', (d) => { out += d; });
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
  const code = await new Promise((r) => run.once('exit', r));
  const errors = Number(/ignored errors:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  const tps = Number(/transactions:\s+\d+\s+\(([\d.]+) per sec/.exec(out)?.[1] ?? NaN);
  if (seqs.some((s, i) => i > 0 && s <= seqs[i - 1])) throw new Error(`cut seqs did not advance under load: ${seqs.join(', ')}`);
  holds.sort((a, b) => a - b);
  const q = (p) => holds[Math.min(holds.length - 1, Math.floor(p * holds.length))].toFixed(1);
  console.log(`\nconsistent cut: ${cuts} cuts (${values.sessions} snapshot sessions each) under sysbench oltp_read_write through the proxy (${values.threads} threads)`);
  console.log('| hold p50 ms | p99 ms | max ms | longest single write hold ms | sysbench exit | client errors | TPS over the run |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  console.log(`| ${q(0.5)} | ${q(0.99)} | ${holds[holds.length - 1].toFixed(1)} | ${(status.gate.longestHoldSeconds * 1000).toFixed(1)} | ${code} | ${errors} | ${tps} |`);
} finally {
  proxy.kill('SIGTERM');
  await new Promise((r) => proxy.once('exit', r));
  await db.stop();
  rmSync(db.dir, { recursive: true, force: true });
  rmSync(base, { recursive: true, force: true });
}
