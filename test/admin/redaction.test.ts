import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import mysql from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { freePort } from '../harness/ports.js';
import { mariadbCli } from '../harness/clients.js';
import { CLI, startProxyProcess, type ProxyProcess } from '../harness/proxy-process.js';
import { AdminLines } from './admin-lines.js';

// Passwords and the admin token never reach the proxy's logs, whatever the clients and the
// operator do. The proxy runs as the CLI child process (dist/cli.js: `npm run build` first),
// logging JSON on stdout at the most verbose level.

const TOKEN = 'Tok-4f9c2e71b8d35a60';
const WRONG_TOKEN = 'Tok-wrong-77d1e0c3a9b2';
const PASSWORD = 'Pw-Correct-8kQ2xZ7m';
const WRONG_PASSWORD = 'Pw-Wrong-3vN6tB1c';
const ED_PASSWORD = 'Pw-Ed25519-5hJ9rW4p';
const SQL_PASSWORD = 'Pw-InSql-2mX8qL6d';
const SECRETS = [TOKEN, WRONG_TOKEN, PASSWORD, WRONG_PASSWORD, ED_PASSWORD, SQL_PASSWORD];

let db: MariaDB;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'metamorph-redact-'));
  db = await startMariaDB({ name: 'redaction' });
  await db.query(`
    CREATE DATABASE r; CREATE TABLE r.t (id INT PRIMARY KEY);
    CREATE USER 'redact_u'@'%' IDENTIFIED BY '${PASSWORD}'; GRANT ALL ON *.* TO 'redact_u'@'%' WITH GRANT OPTION;
    CREATE USER 'redact_ed'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('${ED_PASSWORD}'); GRANT ALL ON r.* TO 'redact_ed'@'%';`);
});

afterAll(async () => {
  await db?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the CLI proxy with an admin TCP token', () => {
  let proxy: ProxyProcess;
  let stdout = '';
  let stderr = '';

  beforeAll(async () => {
    const level = process.env.METAMORPH_LOG_LEVEL;
    process.env.METAMORPH_LOG_LEVEL = 'trace';
    try {
      proxy = await startProxyProcess({
        port: await freePort(),
        upstreamPort: db.port,
        journalDir: join(dir, 'journal'),
        config: { admin: { socket: join(dir, 'admin.sock'), tcp: { host: '127.0.0.1', port: 0, token: TOKEN } }, shutdown: { drainMs: 1000 } },
      });
    } finally {
      if (level === undefined) delete process.env.METAMORPH_LOG_LEVEL;
      else process.env.METAMORPH_LOG_LEVEL = level;
    }
    try {
      await exercise(proxy);
    } finally {
      expect(await proxy.stop()).toBe(0);
      stdout = proxy.logs.map((l) => JSON.stringify(l)).join('\n');
      stderr = proxy.stderr();
    }
  });

  it('logged what happened (JSON lines, trace level)', () => {
    expect(proxy.logs.every((l) => l.unparsed !== true)).toBe(true);
    const msgs = proxy.logs.map((l) => l.msg);
    expect(msgs).toContain('client authenticated');
    expect(msgs).toContain('admin TCP request without a valid token');
    expect(msgs).toContain('admin command');
    expect(msgs).toContain('session ended');
    expect(msgs).toContain('proxy stopped');
  });

  it('never logs a password, the token or a wrong token, on stdout or stderr', () => {
    const leaks = SECRETS.flatMap((secret) => [...stdout.split('\n'), ...stderr.split('\n')].filter((l) => l.includes(secret)).map((l) => `${secret}: ${l}`));
    expect(leaks).toEqual([]);
  });
});

/** Logins with right and wrong passwords, a change of user, errors, and admin TCP use with wrong and right tokens. */
async function exercise(proxy: ProxyProcess): Promise<void> {
  const at = { host: '127.0.0.1', port: proxy.port };
  const good = await mysql.createConnection({ ...at, user: 'redact_u', password: PASSWORD, database: 'r' });
  await good.query('INSERT INTO t VALUES (1)');
  await expect(good.query('INSERT INTO t VALUES (1)')).rejects.toThrow(/Duplicate entry/);
  await expect(good.query('SELECT * FROM no_such_table')).rejects.toThrow(/doesn't exist/);
  await good.query(`CREATE USER 'made_here'@'%' IDENTIFIED BY '${SQL_PASSWORD}'`);
  await expect(good.query(`CREATE USER 'made_here'@'%' IDENTIFIED BY '${SQL_PASSWORD}'`)).rejects.toThrow(/Operation CREATE USER failed/);
  await good.changeUser({ user: 'redact_u', password: PASSWORD, database: 'r' });
  await expect(good.changeUser({ user: 'redact_u', password: WRONG_PASSWORD })).rejects.toThrow(/Access denied/);
  good.destroy();

  await expect(mysql.createConnection({ ...at, user: 'redact_u', password: WRONG_PASSWORD })).rejects.toThrow(/Access denied/);
  // mysql2 has no ed25519 plugin; the mariadb client does.
  for (const [user, password, ok] of [['redact_u', PASSWORD, true], ['redact_u', WRONG_PASSWORD, false], ['redact_ed', ED_PASSWORD, true], ['redact_ed', WRONG_PASSWORD, false]] as const) {
    const r = await mariadbCli({ ...at, user, password, sql: 'SELECT 1' });
    expect(r.code, `${user}: ${r.stderr}`).toBe(ok ? 0 : 1);
    if (!ok) expect(r.stderr).toMatch(/Access denied/);
  }
  await sendGarbage(proxy.port);

  const tcpPort = proxy.logs.find((l) => l.msg === 'admin TCP listener on loopback (token required)')?.port as number;
  expect(tcpPort).toBeGreaterThan(0);
  const admin = await AdminLines.open({ host: '127.0.0.1', port: tcpPort });
  try {
    for (const line of [`auth ${WRONG_TOKEN}`, WRONG_TOKEN, TOKEN, `status ${TOKEN}`]) expect((await admin.send(line)).ok, line).toBe(false);
    expect(await admin.send(`auth ${TOKEN}`)).toEqual({ ok: true });
    // Once in, an operator's slip: the token again, alone or as an argument.
    for (const line of [TOKEN, `auth ${TOKEN}`, `lock ${TOKEN}`]) expect((await admin.send(line)).ok, line).toBe(false);
    expect((await admin.send('status')).ok).toBe(true);
  } finally {
    admin.close();
  }
}

/** A client that sends a packet the proxy cannot make sense of before authenticating. */
async function sendGarbage(port: number): Promise<void> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  await new Promise((r) => s.once('data', r)); // the greeting
  s.write(Buffer.from([0x05, 0x00, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff]));
  await new Promise((r) => { s.once('close', r); setTimeout(r, 2000); });
  s.destroy();
}

describe('createLogger redaction', () => {
  it('replaces passwords and tokens at any depth the proxy logs them, including config.admin.tcp.token', async () => {
    const lines = await logInChild(`
      log.info({ password: 'pw-unit-top', config: { admin: { tcp: { token: 'tok-unit-config' } } } }, 'config');
      log.info({ user: { password: 'pw-unit-user' }, a: { b: { password: 'pw-unit-deep' } }, clients: [{ password: 'pw-unit-array' }] }, 'nested');
      log.warn({ token: 'tok-unit-top', admin: { token: 'tok-unit-admin' }, authData: 'auth-unit-top', session: { authData: 'auth-unit-session' } }, 'tokens');`);
    expect(lines.map((l) => l.msg)).toEqual(['config', 'nested', 'tokens']);
    const [config, nested, tokens] = lines;
    expect(config.password).toBe('[redacted]');
    expect(config.config).toEqual({ admin: { tcp: { token: '[redacted]' } } });
    expect(nested).toMatchObject({ user: { password: '[redacted]' }, a: { b: { password: '[redacted]' } }, clients: [{ password: '[redacted]' }] });
    expect(tokens).toMatchObject({ token: '[redacted]', admin: { token: '[redacted]' }, authData: '[redacted]', session: { authData: '[redacted]' } });
    expect(JSON.stringify(lines)).not.toMatch(/pw-unit|tok-unit|auth-unit/);
  });

  it('leaves other fields alone', async () => {
    const [line] = await logInChild(`log.info({ user: 'app', socket: '/run/m.sock', passwordless: true }, 'plain');`);
    expect(line).toMatchObject({ user: 'app', socket: '/run/m.sock', passwordless: true, msg: 'plain', name: 'metamorph' });
  });
});

/**
 * createLogger writes to fd 1 and takes no destination: the statements run in a child node
 * with `log = createLogger()` from dist, and its stdout lines come back parsed.
 */
function logInChild(statements: string): Promise<Record<string, any>[]> {
  const logModule = join(CLI, '..', 'log.js');
  const code = `import { createLogger } from ${JSON.stringify(logModule)};\nconst log = createLogger();\n${statements}`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', code], { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      try {
        resolve(stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>));
      } catch (e) {
        reject(new Error(`not JSON lines (${(e as Error).message}): ${stdout}`));
      }
    });
  });
}
