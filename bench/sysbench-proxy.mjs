#!/usr/bin/env node
// sysbench direct vs through the proxy, in one run, on one fresh local MariaDB.
// Usage: node bench/sysbench-proxy.mjs [--time 30] [--threads 8] [--tables 4] [--table-size 10000] [--fsync always|none]
// Prints TPS/QPS/p95 for each mode and the proxy/direct ratios. Run `npm run build` first.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const dist = process.env.METAMORPH_DIST ?? new URL('../dist/', import.meta.url).pathname;
const { startLocalMariaDB, freePort } = await import(join(dist, 'provision/local-mariadb.js'));

const { values } = parseArgs({
  options: {
    time: { type: 'string', default: '30' },
    threads: { type: 'string', default: '8' },
    tables: { type: 'string', default: '4' },
    'table-size': { type: 'string', default: '10000' },
    fsync: { type: 'string', default: 'always' },
  },
});

const base = mkdtempSync('/tmp/metamorph-bench-'); // the journal on a real disk: fsync costs what it costs
const db = await startLocalMariaDB({ baseDir: '/dev/shm', name: `bench-db-${process.pid}`, args: ['--innodb-buffer-pool-size=256M', '--max-connections=200'] });
const proxyPort = await freePort();
const proxy = spawn('node', [join(dist, 'cli.js'), 'proxy', '--listen', `127.0.0.1:${proxyPort}`, '--upstream', `127.0.0.1:${db.port}`,
  '--journal-dir', join(base, 'journal')], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, METAMORPH_LOG_LEVEL: 'warn' } });
if (values.fsync !== 'always') throw new Error('only fsync=always is benchmarked from the CLI flags; edit proxy.config.json for none');

function sql(port, q) {
  const r = spawnSync('mariadb', ['--no-defaults', '-h127.0.0.1', `-P${port}`, '-uroot', '-e', q], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

function sysbench(port, test, command, time) {
  const args = [test, '--db-driver=mysql', '--mysql-host=127.0.0.1', `--mysql-port=${port}`, '--mysql-user=root',
    '--mysql-db=sbtest', `--tables=${values.tables}`, `--table-size=${values['table-size']}`, `--threads=${values.threads}`,
    `--time=${time}`, '--report-interval=0', command];
  const r = spawnSync('sysbench', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`sysbench ${test} ${command} on ${port} failed:\n${r.stdout}\n${r.stderr}`);
  const num = (re) => Number(re.exec(r.stdout)?.[1]);
  return {
    tps: num(/transactions:\s+\d+\s+\(([\d.]+) per sec/),
    qps: num(/queries:\s+\d+\s+\(([\d.]+) per sec/),
    p95: num(/95th percentile:\s+([\d.]+)/),
    errors: num(/ignored errors:\s+(\d+)/),
  };
}

async function waitForPort(port) {
  for (let i = 0; i < 200; i++) {
    const r = spawnSync('mariadb-admin', ['--no-defaults', '-h127.0.0.1', `-P${port}`, '-uroot', 'ping'], { encoding: 'utf8' });
    if (r.status === 0) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`port ${port} never answered`);
}

try {
  await waitForPort(proxyPort);
  sql(db.port, 'CREATE DATABASE sbtest');
  sysbench(db.port, 'oltp_read_write', 'prepare', 10);
  const time = Number(values.time);
  const rows = [];
  for (const test of ['oltp_read_only', 'oltp_read_write']) {
    sysbench(db.port, test, 'run', Math.min(5, time)); // warm the buffer pool
    const direct = sysbench(db.port, test, 'run', time);
    const proxied = sysbench(proxyPort, test, 'run', time);
    rows.push({ test, direct, proxied });
  }
  console.log(`\nsysbench ${values.threads} threads, ${time}s per run, ${values.tables}x${values['table-size']} rows, prepared statements (--db-ps-mode=auto), journal fsync=always on ${base}`);
  console.log('| test | direct TPS | proxy TPS | TPS ratio | direct QPS | proxy QPS | QPS ratio | direct p95 ms | proxy p95 ms |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const { test, direct: d, proxied: p } of rows) {
    console.log(`| ${test} | ${d.tps.toFixed(0)} | ${p.tps.toFixed(0)} | **${(p.tps / d.tps).toFixed(2)}** | ${d.qps.toFixed(0)} | ${p.qps.toFixed(0)} | **${(p.qps / d.qps).toFixed(2)}** | ${d.p95} | ${p.p95} |`);
  }
  const journal = spawnSync('node', [join(dist, 'cli.js'), 'journal', 'verify', '--dir', join(base, 'journal')], { encoding: 'utf8' });
  console.log(`\njournal verify: ${journal.stdout.trim().split('\n').join(' | ')}`);
} finally {
  proxy.kill('SIGTERM');
  await new Promise((r) => proxy.once('exit', r));
  await db.stop();
  rmSync(db.dir, { recursive: true, force: true });
  rmSync(base, { recursive: true, force: true });
}
