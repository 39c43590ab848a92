import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { adminRequest } from '../../src/admin/admin-client.js';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { freePort } from '../harness/ports.js';
import { CLI, startProxyProcess, type ProxyProcess } from '../harness/proxy-process.js';

// No password or token reaches a log, at the most verbose level, in the places
// test/admin/redaction.test.ts does not cover: the proxy's switchover.credentials (in its config,
// and used by a flip that moves a logged-in session), and `metamorph upgrade` with passwords in
// its source and target DSNs, in a run that switches over and in one that fails on a wrong
// password. Everything the proxy and the upgrade print (stdout and stderr) is searched.
// Runs the CLI from dist/ (`npm run build` first).

const CRED = 'CredSecret4e7a1b9c';
const MIG = 'MigSecret2d8f6a0e';
const TGT = 'TgtSecret9b3c5e7d';
const TGT_WRONG = 'TgtWrong1a2b3c4d';
const TOKEN = 'TokSecret0f1e2d3c4b5a';
const SECRETS = [CRED, MIG, TGT, TGT_WRONG, TOKEN];

let source: MariaDB;
let target: MariaDB;
let proxy: ProxyProcess;
let dir: string;
const outputs: { name: string; text: string }[] = [];

/** `metamorph upgrade` as a child with trace-level JSON logs; resolves once it exits. */
function upgrade(configPath: string, args: string[]): { done: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, [CLI, 'upgrade', '--config', configPath, ...args], {
    env: { ...process.env, METAMORPH_LOG_LEVEL: 'trace', METAMORPH_LOG_JSON: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (d) => { text += d; });
  child.stderr.on('data', (d) => { text += d; });
  return { done: new Promise((r) => child.once('exit', (code) => r(code))), output: () => text };
}

function upgradeConfig(name: string, targetPassword: string): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({
    pack: 'identity',
    source: `mysql://mig:${MIG}@127.0.0.1:${source.port}/`,
    proxy: { adminSocket: join(dir, 'admin.sock'), journalDir: join(dir, 'journal') },
    provision: { provider: 'existing', dsn: `mysql://tgt:${targetPassword}@127.0.0.1:${target.port}/` },
    stateDir: join(dir, `${name}-state`),
    accounts: ['appsec'],
    migrate: { databases: ['shop'], workers: 1 },
    verify: { intervalSeconds: 1 },
    switchover: { maxLagSeconds: 5, lockMs: 3000, catchUpMs: 5000, verifyMs: 10_000, flipMs: 5000, totalMs: 30_000 },
  }), { mode: 0o600 });
  return path;
}

async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  dir = mkdtempSync('/dev/shm/metamorph-sec-logs-');
  [source, target] = await Promise.all([startMariaDB({ name: 'sec-logs-src' }), startMariaDB({ name: 'sec-logs-dst' })]);
  await source.query(`
    CREATE USER mig@'%' IDENTIFIED BY '${MIG}'; GRANT ALL ON *.* TO mig@'%' WITH GRANT OPTION;
    CREATE USER appsec@'%' IDENTIFIED BY '${CRED}'; GRANT ALL ON shop.* TO appsec@'%';
    CREATE DATABASE shop; CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(40));`);
  await target.query(`CREATE USER tgt@'%' IDENTIFIED BY '${TGT}'; GRANT ALL ON *.* TO tgt@'%' WITH GRANT OPTION;`);
  const level = process.env.METAMORPH_LOG_LEVEL;
  process.env.METAMORPH_LOG_LEVEL = 'trace';
  try {
    proxy = await startProxyProcess({
      port: await freePort(), upstreamPort: source.port, journalDir: join(dir, 'journal'),
      config: {
        admin: { socket: join(dir, 'admin.sock'), tcp: { host: '127.0.0.1', port: 0, token: TOKEN } },
        switchover: { credentials: { appsec: CRED } },
        shutdown: { drainMs: 1000 },
      },
    });
  } finally {
    if (level === undefined) delete process.env.METAMORPH_LOG_LEVEL;
    else process.env.METAMORPH_LOG_LEVEL = level;
  }

  // A session that stays open through the switchover: the flip logs it in on the new server
  // with switchover.credentials.
  const app = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'appsec', password: CRED, database: 'shop' });
  try {
    for (let i = 0; i < 20; i++) await app.query('INSERT INTO orders (item) VALUES (?)', [`item ${i}`]);

    const failing = upgrade(upgradeConfig('wrong-target', TGT_WRONG), ['--json']);
    const failedWith = await failing.done;
    outputs.push({ name: 'upgrade with a wrong target password', text: failing.output() });
    expect(failedWith, failing.output()).not.toBe(0);
    expect(failing.output()).toMatch(/Access denied/);

    const good = upgrade(upgradeConfig('good', TGT), ['--auto-switchover', '--json']);
    const socket = join(dir, 'good-state', 'upgrade.sock');
    await until('the upgrade switched over', async () => (await adminRequest(socket, 'status')).phase === 'switched', 90_000)
      .catch((e: Error) => { throw new Error(`${e.message}\n${good.output().slice(-4000)}`); });
    await app.query("INSERT INTO orders (item) VALUES ('after the switchover')");
    const [rows] = await app.query('SELECT @@port AS p');
    expect(Number((rows as { p: number }[])[0].p)).toBe(target.port);
    expect(await adminRequest(socket, 'finish')).toMatchObject({ ok: true });
    expect(await good.done).toBe(0);
    outputs.push({ name: 'upgrade that switched over', text: good.output() });
  } finally {
    await app.end().catch(() => undefined);
    const code = await proxy.stop();
    outputs.push({ name: 'proxy', text: `${proxy.logs.map((l) => JSON.stringify(l)).join('\n')}\n${proxy.stderr()}` });
    expect(code).toBe(0);
  }
}, 180_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('secrets in logs', () => {
  it('the runs logged what happened: a flip moving the logged-in session, a provisioning failure, the DSNs', () => {
    const proxyLog = outputs.find((o) => o.name === 'proxy')!.text;
    expect(proxyLog).toContain('flipped to a new upstream');
    expect(proxyLog).toContain('client authenticated');
    expect(outputs.map((o) => o.name)).toEqual(['upgrade with a wrong target password', 'upgrade that switched over', 'proxy']);
    for (const o of outputs) expect(o.text.length, o.name).toBeGreaterThan(200);
    // The DSNs were printed, with the password masked: the search below has something to find.
    for (const o of outputs.slice(0, 2)) expect(o.text, o.name).toContain(`mysql://tgt:***@127.0.0.1:${target.port}/`);
  });

  it('no password, credential or token appears in any output line', () => {
    const leaks = outputs.flatMap((o) => o.text.split('\n')
      .filter((line) => SECRETS.some((s) => line.includes(s)))
      .map((line) => `${o.name}: ${line.slice(0, 400)}`));
    expect(leaks).toEqual([]);
  });
});
