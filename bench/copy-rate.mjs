#!/usr/bin/env node
// Bulk copy rate: `metamorph migrate` (identity, in-process) of sysbench tables from one local
// MariaDB to another with 1, 2 and 4 workers, against `mariadb-dump --single-transaction | mariadb`
// of the same data into a fresh database, in the same run. The proxy in front of the source only
// takes the cut (its write gate); the data is prepared directly on the source.
// Usage: node bench/copy-rate.mjs [--tables 4] [--table-size 250000] [--workers 1,2,4]. Run `npm run build` first.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const dist = process.env.METAMORPH_DIST ?? new URL('../dist/', import.meta.url).pathname;
const { startLocalMariaDB, freePort } = await import(join(dist, 'provision/local-mariadb.js'));
const { Migration } = await import(join(dist, 'migrate/migrate.js'));
const { identityPack } = await import(join(dist, 'translate/identity.js'));

const { values } = parseArgs({ options: {
  tables: { type: 'string', default: '4' },
  'table-size': { type: 'string', default: '250000' },
  workers: { type: 'string', default: '1,2,4' },
} });
const rows = Number(values.tables) * Number(values['table-size']);
const base = mkdtempSync('/tmp/metamorph-copy-bench-');
const serverArgs = ['--innodb-buffer-pool-size=1G', '--innodb-log-file-size=256M', '--max-allowed-packet=64M'];
const [source, target] = await Promise.all([
  startLocalMariaDB({ baseDir: '/dev/shm', name: `copy-bench-src-${process.pid}`, args: serverArgs }),
  startLocalMariaDB({ baseDir: '/dev/shm', name: `copy-bench-dst-${process.pid}`, args: serverArgs }),
]);
const socket = join(base, 'admin.sock');
const proxyPort = await freePort();
const proxy = spawn('node', [join(dist, 'cli.js'), 'proxy', '--listen', `127.0.0.1:${proxyPort}`, '--upstream', `127.0.0.1:${source.port}`,
  '--journal-dir', join(base, 'journal'), '--admin-socket', socket, '--metrics', '127.0.0.1:0'],
{ stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, METAMORPH_LOG_LEVEL: 'warn' } });

const sql = (port, text) => {
  const r = spawnSync('mariadb', ['--no-defaults', '-h127.0.0.1', `-P${port}`, '-uroot', '-e', text], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mariadb -e ${text}: ${r.stderr}`);
  return r.stdout;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (n) => Math.round(n).toLocaleString('en-US').replace(/,/g, ' ');

try {
  for (let i = 0; i < 200 && spawnSync('mariadb-admin', ['--no-defaults', '-h127.0.0.1', `-P${proxyPort}`, '-uroot', 'ping']).status !== 0; i++) await sleep(50);
  sql(source.port, 'CREATE DATABASE sbtest');
  const prep = spawnSync('sysbench', ['oltp_read_write', '--db-driver=mysql', '--mysql-host=127.0.0.1', `--mysql-port=${source.port}`, '--mysql-user=root',
    '--mysql-db=sbtest', `--tables=${values.tables}`, `--table-size=${values['table-size']}`, '--threads=4', 'prepare'], { encoding: 'utf8' });
  if (prep.status !== 0) throw new Error(`sysbench prepare failed: ${prep.stderr}`);
  const checksum = `CHECKSUM TABLE ${Array.from({ length: Number(values.tables) }, (_, i) => `sbtest.sbtest${i + 1}`).join(', ')}`;
  const sourceSums = sql(source.port, checksum);

  const results = [];
  for (const workers of values.workers.split(',').map(Number)) {
    sql(target.port, 'DROP DATABASE IF EXISTS sbtest; DROP DATABASE IF EXISTS metamorph_migrate');
    const migration = new Migration({
      source: { host: '127.0.0.1', port: source.port, user: 'root' }, target: { host: '127.0.0.1', port: target.port, user: 'root' },
      pack: identityPack, adminSocket: socket, journalDir: join(base, 'journal'), databases: ['sbtest'], workers,
    });
    const t = performance.now();
    const r = await migration.run();
    const seconds = (performance.now() - t) / 1000;
    if (!r.complete || r.copiedRows !== rows) throw new Error(`migrate copied ${r.copiedRows} of ${rows} rows`);
    if (sql(target.port, checksum) !== sourceSums) throw new Error('checksums differ after migrate');
    results.push({ how: `metamorph migrate, ${workers} worker${workers > 1 ? 's' : ''}`, seconds, hold: r.holdMs });
    console.error(`migrate ${workers} workers: ${seconds.toFixed(2)} s, ${fmt(rows / seconds)} rows/s, cut hold ${r.holdMs.toFixed(1)} ms`);
  }

  sql(target.port, 'DROP DATABASE IF EXISTS sbtest');
  const t = performance.now();
  const pipe = spawnSync('bash', ['-o', 'pipefail', '-c',
    `mariadb-dump --no-defaults -h127.0.0.1 -P${source.port} -uroot --single-transaction --databases sbtest | mariadb --no-defaults -h127.0.0.1 -P${target.port} -uroot`], { encoding: 'utf8' });
  const seconds = (performance.now() - t) / 1000;
  if (pipe.status !== 0) throw new Error(`dump | restore failed: ${pipe.stderr}`);
  results.push({ how: '`mariadb-dump --single-transaction \\| mariadb`', seconds, hold: null });
  console.error(`dump | restore: ${seconds.toFixed(2)} s, ${fmt(rows / seconds)} rows/s`);

  console.log(`\nidentity copy of ${fmt(rows)} sbtest rows (${values.tables} tables x ${fmt(Number(values['table-size']))}), local MariaDB -> local MariaDB`);
  console.log('| method | seconds | rows/s | cut hold ms |');
  console.log('| --- | --- | --- | --- |');
  for (const r of results) console.log(`| ${r.how} | ${r.seconds.toFixed(2)} | ${fmt(rows / r.seconds)} | ${r.hold === null ? '-' : r.hold.toFixed(1)} |`);
} finally {
  proxy.kill('SIGTERM');
  await new Promise((r) => proxy.once('exit', r));
  await Promise.all([source.stop(), target.stop()]);
  rmSync(source.dir, { recursive: true, force: true });
  rmSync(target.dir, { recursive: true, force: true });
  rmSync(base, { recursive: true, force: true });
}
