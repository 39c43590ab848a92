#!/usr/bin/env node
// Identity replay rate vs the source write rate, in one run on this machine:
//   1. a source MariaDB behind the proxy (journal fsync=always on /tmp), sysbench oltp_write_only
//      `prepare` through the proxy, replayed into a fresh target (so both start equal);
//   2. sysbench oltp_write_only `run` through the proxy for --time s: journal records/s committed;
//   3. `metamorph replay --pack identity` of those records into the target: records/s applied
//      (measured between the replayer's "replay started" and "replay finished" log lines);
//   4. CHECKSUM TABLE of every table on both sides must be equal.
// Usage: node bench/replay-rate.mjs [--time 30] [--threads 8] [--tables 4] [--table-size 10000] [--batch 100]
// Run `npm run build` first.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const dist = process.env.METAMORPH_DIST ?? new URL('../dist/', import.meta.url).pathname;
const { startLocalMariaDB, freePort } = await import(join(dist, 'provision/local-mariadb.js'));
const { journalHead } = await import(join(dist, 'apply/journal-head.js'));

const { values } = parseArgs({
  options: {
    time: { type: 'string', default: '30' },
    threads: { type: 'string', default: '8' },
    tables: { type: 'string', default: '4' },
    'table-size': { type: 'string', default: '10000' },
    batch: { type: 'string', default: '100' },
  },
});

const base = mkdtempSync('/tmp/metamorph-bench-'); // the journal on a real disk: fsync costs what it costs
const journalDir = join(base, 'journal');
const dbArgs = ['--innodb-buffer-pool-size=256M', '--max-connections=200'];
const source = await startLocalMariaDB({ baseDir: '/dev/shm', name: `bench-replay-src-${process.pid}`, args: dbArgs });
const target = await startLocalMariaDB({ baseDir: '/dev/shm', name: `bench-replay-dst-${process.pid}`, args: dbArgs });
const proxyPort = await freePort();
const proxy = spawn('node', [join(dist, 'cli.js'), 'proxy', '--listen', `127.0.0.1:${proxyPort}`, '--upstream', `127.0.0.1:${source.port}`,
  '--journal-dir', journalDir, '--metrics', '127.0.0.1:0', '--admin-socket', join(base, 'admin.sock')],
{ stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, METAMORPH_LOG_LEVEL: 'warn' } });

function sql(port, q) {
  const r = spawnSync('mariadb', ['--no-defaults', '-h127.0.0.1', `-P${port}`, '-uroot', '-e', q], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

function sysbench(command, time) {
  const args = ['oltp_write_only', '--db-driver=mysql', '--mysql-host=127.0.0.1', `--mysql-port=${proxyPort}`, '--mysql-user=root',
    '--mysql-db=sbtest', `--tables=${values.tables}`, `--table-size=${values['table-size']}`, `--threads=${values.threads}`,
    `--time=${time}`, '--report-interval=0', command];
  const r = spawnSync('sysbench', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`sysbench oltp_write_only ${command} failed:\n${r.stdout}\n${r.stderr}`);
  return { tps: Number(/transactions:\s+\d+\s+\(([\d.]+) per sec/.exec(r.stdout)?.[1]) };
}

/** `metamorph replay` to the end of the journal; the seconds between its start and finish log lines. */
function replay() {
  const started = Date.now();
  const r = spawnSync('node', [join(dist, 'cli.js'), 'replay', '--journal', journalDir, '--target', `mysql://root@127.0.0.1:${target.port}/`,
    '--pack', 'identity', '--batch', values.batch], { encoding: 'utf8', maxBuffer: 256 << 20, env: { ...process.env, METAMORPH_LOG_JSON: '1' } });
  const wall = (Date.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`replay failed (exit ${r.status}):\n${r.stderr}\n${r.stdout.slice(-3000)}`);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const t0 = lines.find((l) => l.msg === 'replay started').time;
  const done = lines.find((l) => l.msg === 'replay finished');
  return { seconds: (done.time - t0) / 1000, wall, statements: done.statements, transactions: done.transactions };
}

async function waitForPort(port) {
  for (let i = 0; i < 200; i++) {
    if (spawnSync('mariadb-admin', ['--no-defaults', '-h127.0.0.1', `-P${port}`, '-uroot', 'ping']).status === 0) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`port ${port} never answered`);
}

function checksums(port) {
  const tables = sql(port, "SELECT GROUP_CONCAT(CONCAT('sbtest.', TABLE_NAME)) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'sbtest'").trim().split('\n').pop();
  return sql(port, `CHECKSUM TABLE ${tables} EXTENDED`);
}

try {
  await waitForPort(proxyPort);
  sql(proxyPort, 'CREATE DATABASE sbtest');
  sysbench('prepare', 10);
  const prepared = replay(); // the target starts equal to the source
  const time = Number(values.time);
  const before = await journalHead(journalDir);
  const run = sysbench('run', time);
  const after = await journalHead(journalDir);
  const records = after - before;
  const sourceRate = records / time;
  const replayed = replay();
  if (replayed.statements !== records) throw new Error(`replay applied ${replayed.statements} records, the run journaled ${records}`);
  const replayRate = records / replayed.seconds;
  const same = checksums(source.port) === checksums(target.port);
  if (!same) throw new Error('CHECKSUM TABLE differs between source and target after replay');

  console.log(`\nsysbench oltp_write_only through the proxy, ${values.threads} threads, ${time} s, ${values.tables}x${values['table-size']} rows, journal fsync=always on ${base}; replay --batch ${values.batch}`);
  console.log('| source TPS | source records/s (journaled) | records replayed | replay s | replay records/s | replay txns/s | ratio replay/source |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  console.log(`| ${run.tps.toFixed(0)} | ${sourceRate.toFixed(0)} | ${records} | ${replayed.seconds.toFixed(2)} | ${replayRate.toFixed(0)} | ${(replayed.transactions / replayed.seconds).toFixed(0)} | **${(replayRate / sourceRate).toFixed(2)}** |`);
  console.log(`\nprepare (${prepared.statements} records, bulk inserts) replayed in ${prepared.seconds.toFixed(2)} s; run replay wall time incl. process start ${replayed.wall.toFixed(2)} s; CHECKSUM TABLE equal on all tables: ${same}`);
} finally {
  proxy.kill('SIGTERM');
  await new Promise((r) => proxy.once('exit', r));
  await Promise.all([source.stop(), target.stop()]);
  rmSync(source.dir, { recursive: true, force: true });
  rmSync(target.dir, { recursive: true, force: true });
  rmSync(base, { recursive: true, force: true });
}
