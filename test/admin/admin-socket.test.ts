import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql, { type Connection } from 'mysql2/promise';
import { startMariaDB, APP_USER, APP_PASSWORD, type MariaDB } from '../harness/mariadb.js';
import { freePort } from '../harness/ports.js';
import { runCli, startProxyProcess } from '../harness/proxy-process.js';
import { startProxy, type ProxyFixture } from '../proxy/proxy-fixture.js';
import { ADMIN_COMMANDS } from '../../src/admin/admin-commands.js';
import { parseProxyConfig } from '../../src/config/proxy-config.js';
import { ProxyServer } from '../../src/proxy/server.js';
import { silentLogger } from '../../src/log.js';
import { AdminLines, adminOnce } from './admin-lines.js';

// The operator's admin line protocol on the proxy's Unix socket (and its optional TCP
// listener), raw and through `metamorph admin` (dist/cli.js: `npm run build` first).

const TOKEN = '0123456789abcdef0123';
const EXPECTED_COMMANDS = ['help', 'status', 'lock', 'lock-reject', 'unlock', 'drain', 'flip', 'connections', 'position', 'prune'];

let db: MariaDB;
let proxy: ProxyFixture;
let dir: string;
const clients: Connection[] = [];

async function connect(): Promise<Connection> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: APP_USER, password: APP_PASSWORD, database: 'adm' });
  clients.push(c);
  return c;
}

function localPort(c: Connection): number {
  return (c as unknown as { connection: { stream: { localPort: number } } }).connection.stream.localPort;
}

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A proxy whose journal is under this file's temp dir, for starts that are expected to fail. */
async function startOwnProxy(name: string, socket: string): Promise<ProxyServer> {
  const config = parseProxyConfig({
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { host: '127.0.0.1', port: db.port },
    journal: { dir: join(dir, `${name}-journal`) },
    admin: { socket },
    metrics: null,
  });
  const server = await ProxyServer.start(config, silentLogger());
  await server.stop();
  return server;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'metamorph-admin-'));
  db = await startMariaDB({ name: 'admin' });
  await db.query('CREATE DATABASE adm; CREATE TABLE adm.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))');
  proxy = await startProxy(db.port);
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await proxy?.stop();
  await db?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the admin Unix socket', () => {
  it('is a socket of mode 0600', () => {
    const st = lstatSync(proxy.adminSocket);
    expect(st.isSocket()).toBe(true);
    expect((st.mode & 0o777).toString(8)).toBe('600');
  });

  it('help lists every command with its usage', async () => {
    const r = await adminOnce(proxy.adminSocket, 'help');
    expect(r.ok).toBe(true);
    expect(r.commands.map((c: { usage: string }) => c.usage.split(' ')[0])).toEqual(EXPECTED_COMMANDS);
    for (const c of r.commands) expect(c.help, c.usage).toMatch(/\w{3}/);
    expect(r.commands.find((c: { usage: string }) => c.usage.startsWith('lock ')).usage).toBe('lock [timeout_ms] [lease]');
  });

  it('status has the gate, held writes, connections, journal head, consumers and lag', async () => {
    const c = await connect();
    await c.query("INSERT INTO t (v) VALUES ('status')");
    const r = await adminOnce(proxy.adminSocket, 'status');
    expect(r.ok).toBe(true);
    expect(r.gate).toMatchObject({ state: 'open', heldWrites: 0 });
    expect(r.connections).toBe(proxy.server.sessions.size);
    expect(r.connections).toBeGreaterThanOrEqual(1);
    const entries = await proxy.entries();
    expect(r.journal.headSeq).toBe(entries.at(-1)!.seq);
    expect(r.journal.writable).toBe(true);
    expect(r.journal.dir).toBe(proxy.journalDir);
    expect(r.consumers).toEqual([]);
    expect(r.interceptionLagSeconds).toBe(0);
  });

  it('connections lists a mysql2 client with its id, user, host and last statement', async () => {
    const c = await connect();
    await c.query("SELECT 'who-is-connected' AS marker");
    const r = await adminOnce(proxy.adminSocket, 'connections');
    expect(r.ok).toBe(true);
    const mine = r.connections.find((x: { host: string }) => x.host === `127.0.0.1:${localPort(c)}`);
    expect(mine, JSON.stringify(r.connections)).toBeDefined();
    expect(mine.user).toBe(APP_USER);
    expect(Number.isInteger(mine.id) && mine.id > 0).toBe(true);
    expect(mine.lastStatement).toBe("SELECT 'who-is-connected' AS marker");
    expect(mine).toMatchObject({ writing: false, heldWrites: 0, writingSeconds: null });
    expect(new Set(r.connections.map((x: { id: number }) => x.id)).size).toBe(r.connections.length);
  });

  it('position gives the journal head and the gate state', async () => {
    const c = await connect();
    await c.query("INSERT INTO t (v) VALUES ('position')");
    const r = await adminOnce(proxy.adminSocket, 'position');
    expect(r).toEqual({ ok: true, headSeq: (await proxy.entries()).at(-1)!.seq, gate: 'open' });
  });

  it('an unknown command gets ok:false, the error and the list of commands; the connection stays usable', async () => {
    const a = await AdminLines.open(proxy.adminSocket);
    try {
      const r = await a.send('frobnicate now');
      expect(r).toEqual({ ok: false, error: 'unknown command "frobnicate"', commands: EXPECTED_COMMANDS });
      expect(ADMIN_COMMANDS).toEqual(EXPECTED_COMMANDS);
      expect((await a.send('position')).ok).toBe(true);
    } finally {
      a.close();
    }
  });

  it('answers several commands in one write in order, and a command split across writes once', async () => {
    const a = await AdminLines.open(proxy.adminSocket);
    try {
      a.write('help\nposition\r\nbogus\n');
      const [first, second, third] = await a.next(3);
      expect(first.commands).toHaveLength(EXPECTED_COMMANDS.length);
      expect(second).toMatchObject({ ok: true, gate: 'open' });
      expect(third).toMatchObject({ ok: false, error: 'unknown command "bogus"' });
      a.write('posi');
      await new Promise((r) => setTimeout(r, 100));
      a.write('tion\n');
      const [whole] = await a.next(1);
      expect(whole).toMatchObject({ ok: true, gate: 'open' });
      await expect(a.next(1, 300)).rejects.toThrow(/0 of 1/);
    } finally {
      a.close();
    }
  });

  it('lock holds a write, status and connections show it, unlock releases it, position has advanced', async () => {
    const writer = await connect();
    const a = await AdminLines.open(proxy.adminSocket);
    try {
      const before = await a.send('position');
      const locked = await a.send('lock 2000');
      expect(locked).toMatchObject({ ok: true, state: 'locked', seq: before.headSeq, held: 0 });
      let answered = false;
      const insert = writer.query("INSERT INTO t (v) VALUES ('held')").then((r) => { answered = true; return r; });
      const status = await until('the write to be held', () => a.send('status'), (s) => s.gate.heldWrites === 1);
      expect(status.gate.state).toBe('locked');
      const conns = await a.send('connections');
      expect(conns.connections.find((x: { host: string }) => x.host === `127.0.0.1:${localPort(writer)}`)).toMatchObject({ heldWrites: 1 });
      expect((await a.send('position')).headSeq).toBe(before.headSeq);
      expect(answered).toBe(false);
      const unlocked = await a.send('unlock');
      expect(unlocked).toMatchObject({ ok: true, state: 'open', released: 1 });
      expect(unlocked.lockedMs).toBeGreaterThanOrEqual(0);
      await insert;
      expect((await a.send('status')).gate.longestHoldSeconds).toBeGreaterThan(0);
      const after = await a.send('position');
      expect(after).toEqual({ ok: true, headSeq: before.headSeq + 1, gate: 'open' });
      expect((await proxy.entries()).at(-1)!.sql.toString()).toBe("INSERT INTO t (v) VALUES ('held')");
    } finally {
      a.close();
    }
  });

  it('lock gives up after its timeout, naming the transaction that is still writing, and the gate reopens', async () => {
    const busy = await connect();
    await busy.query('BEGIN');
    await busy.query("INSERT INTO t (v) VALUES ('open txn')");
    try {
      const r = await adminOnce(proxy.adminSocket, 'lock 300');
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/not quiesced within 300 ms/);
      expect(r.blockers).toHaveLength(1);
      expect(r.blockers[0]).toMatchObject({ user: APP_USER, host: `127.0.0.1:${localPort(busy)}`, lastStatement: "INSERT INTO t (v) VALUES ('open txn')" });
      expect((await adminOnce(proxy.adminSocket, 'status')).gate.state).toBe('open');
      expect(await adminOnce(proxy.adminSocket, 'lock x')).toEqual({ ok: false, error: 'lock: timeout_ms must be a positive integer, got x' });
    } finally {
      await busy.query('ROLLBACK');
    }
  });
});

describe('metamorph admin (the CLI)', () => {
  it('status prints readable text and exits 0', async () => {
    const r = await runCli(['admin', 'status', '--socket', proxy.adminSocket]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: true$/m);
    expect(r.stdout).toMatch(/^gate:\n\s+state: open\n\s+heldWrites: 0$/m);
    expect(r.stdout).toMatch(/^\s+headSeq: \d+$/m);
    expect(r.stdout).toMatch(/^interceptionLagSeconds: 0$/m);
    expect(() => JSON.parse(r.stdout)).toThrow();
  });

  it('--json prints the reply as JSON', async () => {
    const r = await runCli(['admin', 'position', '--socket', proxy.adminSocket, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, headSeq: (await proxy.entries()).at(-1)!.seq, gate: 'open' });
  });

  it('an unknown command exits 1 with the error', async () => {
    const r = await runCli(['admin', 'bogus', '--socket', proxy.adminSocket]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ok: false$/m);
    expect(r.stdout).toContain('error: unknown command "bogus"');
  });

  it('a socket nobody listens on exits non-zero with a message naming it', async () => {
    const r = await runCli(['admin', 'status', '--socket', '/nonexistent/metamorph-admin.sock']);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/cannot reach the admin socket \/nonexistent\/metamorph-admin\.sock \(ENOENT\): is the proxy running/);
  });
});

describe('the optional admin TCP listener', () => {
  let tcpProxy: ProxyFixture;
  let where: { host: string; port: number };

  beforeAll(async () => {
    tcpProxy = await startProxy(db.port, {
      // No port: any free one (an explicit 0 is tested below).
      admin: { socket: join(dir, 'tcp-proxy.sock'), tcp: { host: '127.0.0.1', port: 0, token: TOKEN } },
    });
    where = { host: '127.0.0.1', port: tcpProxy.server.adminTcpPort! };
  });

  afterAll(async () => {
    await tcpProxy?.stop();
  });

  it('listens on a loopback port', () => {
    expect(where.port).toBeGreaterThan(0);
  });

  it('accepts an explicit port 0 (any free port), as listen.port and metrics.port do', () => {
    const config = parseProxyConfig({ admin: { socket: join(dir, 'never.sock'), tcp: { host: '127.0.0.1', port: 0, token: TOKEN } } });
    expect(config.admin.tcp).toEqual({ host: '127.0.0.1', port: 0, token: TOKEN });
  });

  it('answers every command with unauthorized until `auth TOKEN`', async () => {
    const a = await AdminLines.open(where);
    try {
      for (const line of ['status', 'help', 'unlock', `status ${TOKEN}`, TOKEN]) {
        expect(await a.send(line), line).toEqual({ ok: false, error: 'unauthorized: send `auth TOKEN` first' });
      }
    } finally {
      a.close();
    }
  });

  it('refuses a wrong token, a prefix of the token and the token with extra text', async () => {
    const a = await AdminLines.open(where);
    try {
      for (const line of ['auth 0123456789abcdef0124', `auth ${TOKEN.slice(0, -1)}`, `auth ${TOKEN}x`, `auth ${TOKEN} extra`, 'auth']) {
        expect(await a.send(line), line).toEqual({ ok: false, error: 'unauthorized: send `auth TOKEN` first' });
      }
      expect((await a.send('status')).ok).toBe(false);
    } finally {
      a.close();
    }
  });

  it('after `auth TOKEN` status works on that connection only', async () => {
    const a = await AdminLines.open(where);
    try {
      expect(await a.send(`auth ${TOKEN}`)).toEqual({ ok: true });
      const r = await a.send('status');
      expect(r).toMatchObject({ ok: true, gate: { state: 'open', heldWrites: 0 }, connections: 0, interceptionLagSeconds: 0 });
      expect(r.journal.dir).toBe(tcpProxy.journalDir);
    } finally {
      a.close();
    }
    expect(await adminOnce(where, 'status')).toMatchObject({ ok: false, error: expect.stringMatching(/^unauthorized/) });
  });

  it.each([
    ['a non-loopback host', { host: '0.0.0.0', token: TOKEN }, 'admin.tcp.host', /must be a loopback address/],
    ['a LAN host', { host: '192.168.1.10', token: TOKEN }, 'admin.tcp.host', /must be a loopback address/],
    ['a short token', { host: '127.0.0.1', token: '0123456789abcde' }, 'admin.tcp.token', /at least 16 characters/],
    ['no token', { host: '127.0.0.1' }, 'admin.tcp.token', /non-empty string|at least 16/],
  ])('config with %s fails naming %s', (_name, tcp, key, message) => {
    let err: unknown;
    try {
      parseProxyConfig({ admin: { socket: join(dir, 'never.sock'), tcp } });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', key });
    expect((err as Error).message).toMatch(new RegExp(`^config: ${key.replace(/\./g, '\\.')}: `));
    expect((err as Error).message).toMatch(message);
  });
});

describe('the socket path at start', () => {
  it('a stale socket file left by a kill -9 does not stop a restart', async () => {
    const socket = join(dir, 'stale.sock');
    const journalDir = join(dir, 'stale-journal');
    const opts = { upstreamPort: db.port, journalDir, config: { admin: { socket }, shutdown: { drainMs: 1000 } } };
    const first = await startProxyProcess({ ...opts, port: await freePort() });
    expect((await adminOnce(socket, 'position')).ok).toBe(true);
    await first.kill9();
    expect(lstatSync(socket).isSocket()).toBe(true);
    const second = await startProxyProcess({ ...opts, port: await freePort() });
    try {
      expect(await adminOnce(socket, 'status')).toMatchObject({ ok: true, gate: { state: 'open' } });
      expect((statSync(socket).mode & 0o777).toString(8)).toBe('600');
      // A live proxy's socket is not taken over, and a refused start leaves it in place.
      await expect(startOwnProxy('in-use', socket)).rejects.toMatchObject({ code: 'CONFIG_INVALID', key: 'admin.socket', message: expect.stringMatching(/is in use by a running process/) });
      expect((await adminOnce(socket, 'position')).ok).toBe(true);
    } finally {
      expect(await second.stop()).toBe(0);
    }
    expect(existsSync(socket)).toBe(false);
  });

  it('a path that exists and is not a socket fails naming admin.socket and is left alone', async () => {
    const file = join(dir, 'not-a-socket');
    writeFileSync(file, 'operator notes\n');
    await expect(startOwnProxy('not-a-socket', file)).rejects.toMatchObject({
      code: 'CONFIG_INVALID', key: 'admin.socket', message: expect.stringMatching(/^config: admin\.socket: .*not-a-socket exists and is not a socket/),
    });
    expect(readFileSync(file, 'utf8')).toBe('operator notes\n');
  });
});
