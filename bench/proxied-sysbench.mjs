// Shared by the benchmarks that run sysbench through a proxy: a fresh local MariaDB, the CLI
// proxy in front of it (journal on a real disk, admin socket), sysbench against the proxy.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const dist = process.env.METAMORPH_DIST ?? new URL('../dist/', import.meta.url).pathname;
const { startLocalMariaDB, freePort } = await import(join(dist, 'provision/local-mariadb.js'));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts MariaDB + proxy, creates `sbtest` and runs sysbench `prepare` through the proxy.
 * `proxyConfig`: extra proxy config keys (a config file is written for them).
 */
export async function startProxiedSysbench({ name, threads, tables = 4, tableSize = 10000, proxyConfig = {} }) {
  const base = mkdtempSync(`/tmp/metamorph-${name}-`);
  const socket = join(base, 'admin.sock');
  const configFile = join(base, 'proxy.json');
  writeFileSync(configFile, JSON.stringify(proxyConfig), { mode: 0o600 });
  const db = await startLocalMariaDB({ baseDir: '/dev/shm', name: `${name}-${process.pid}`, args: ['--innodb-buffer-pool-size=256M'] });
  const port = await freePort();
  const proxy = spawn('node', [join(dist, 'cli.js'), 'proxy', '--config', configFile, '--listen', `127.0.0.1:${port}`, '--upstream', `127.0.0.1:${db.port}`,
    '--journal-dir', join(base, 'journal'), '--admin-socket', socket, '--metrics', '127.0.0.1:0'],
  { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, METAMORPH_LOG_LEVEL: 'warn' } });
  const sbArgs = (cmd, time) => ['oltp_read_write', '--db-driver=mysql', '--mysql-host=127.0.0.1', `--mysql-port=${port}`, '--mysql-user=root',
    '--mysql-db=sbtest', `--tables=${tables}`, `--table-size=${tableSize}`, `--threads=${threads}`, `--time=${time}`, cmd];
  for (let i = 0; i < 200 && spawnSync('mariadb-admin', ['--no-defaults', '-h127.0.0.1', `-P${port}`, '-uroot', 'ping']).status !== 0; i++) await sleep(50);
  spawnSync('mariadb', ['--no-defaults', '-h127.0.0.1', `-P${port}`, '-uroot', '-e', 'CREATE DATABASE sbtest']);
  if (spawnSync('sysbench', sbArgs('prepare', 10)).status !== 0) throw new Error('sysbench prepare failed');
  return {
    db, port, socket, base, journalDir: join(base, 'journal'),
    /** sysbench oltp_read_write `run` for `seconds` in the background; resolves to its summary. */
    runSysbench(seconds) {
      const run = spawn('sysbench', sbArgs('run', seconds), { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      run.stdout.on('data', (d) => { out += d; });
      return new Promise((resolve) => run.once('exit', (code) => resolve({
        code,
        errors: Number(/ignored errors:\s+(\d+)/.exec(out)?.[1] ?? NaN),
        tps: Number(/transactions:\s+\d+\s+\(([\d.]+) per sec/.exec(out)?.[1] ?? NaN),
      })));
    },
    async stop() {
      proxy.kill('SIGTERM');
      await new Promise((r) => proxy.once('exit', r));
      await db.stop();
      rmSync(db.dir, { recursive: true, force: true });
      rmSync(base, { recursive: true, force: true });
    },
  };
}
