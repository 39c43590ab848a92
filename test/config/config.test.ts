import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseProxyConfig } from '../../src/config/proxy-config.js';
import { ProxyServer } from '../../src/proxy/server.js';
import { silentLogger } from '../../src/log.js';
import { freePort } from '../harness/ports.js';
import { runCli } from '../harness/proxy-process.js';

// Bad configs are refused naming the key, by parseProxyConfig and by `metamorph proxy --config`
// (dist/cli.js: `npm run build` first); a start that fails leaves nothing listening.

let dir: string;
let serial = 0;

function configFile(config: unknown): string {
  const file = join(dir, `config-${++serial}.json`);
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
  return file;
}

function parseError(raw: unknown): ConfigError {
  try {
    parseProxyConfig(raw, dir);
  } catch (e) {
    return e as ConfigError;
  }
  throw new Error(`parseProxyConfig accepted ${JSON.stringify(raw)}`);
}

/** Resolves to the error code of connecting to 127.0.0.1:port or a socket path ('connected' if something answers). */
function probe(where: number | string): Promise<string> {
  return new Promise((resolve) => {
    const s = typeof where === 'number' ? net.connect(where, '127.0.0.1') : net.connect(where);
    s.once('connect', () => { s.destroy(); resolve('connected'); });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/** A complete config whose every listener is somewhere this test can check afterwards. */
async function fullConfig(name: string, over: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  return {
    listen: { host: '127.0.0.1', port: await freePort() },
    upstream: { host: '127.0.0.1', port: 1 },
    journal: { dir: join(dir, `${name}-journal`) },
    admin: { socket: join(dir, `${name}.sock`) },
    metrics: { host: '127.0.0.1', port: await freePort() },
    shutdown: { drainMs: 500 },
    ...over,
  };
}

type Listeners = { listen: { port: number }; admin: { socket: string }; metrics: { port: number } | null };

async function expectNothingListening(c: Listeners): Promise<void> {
  expect(await probe(c.listen.port), 'listen.port').toBe('ECONNREFUSED');
  if (c.metrics) expect(await probe(c.metrics.port), 'metrics.port').toBe('ECONNREFUSED');
  expect(existsSync(c.admin.socket), `admin socket ${c.admin.socket} left behind`).toBe(false);
}

async function startFails(raw: Record<string, unknown>): Promise<Error & { code?: string; key?: string }> {
  let server: ProxyServer | null = null;
  try {
    server = await ProxyServer.start(parseProxyConfig(raw, dir), silentLogger());
  } catch (e) {
    return e as Error;
  }
  await server.stop();
  throw new Error(`ProxyServer.start accepted ${JSON.stringify(raw)}`);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'metamorph-config-'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const BAD: [string, unknown, string, RegExp][] = [
  ['a string port', { listen: { port: 'x' } }, 'listen.port', /must be an integer between 0 and 65535 \(got "x"\)/],
  ['a fractional port', { upstream: { port: 3306.5 } }, 'upstream.port', /must be an integer between 1 and 65535/],
  ['an unknown top-level key', { lisen: { port: 3307 } }, 'lisen', /unknown key \(known: listen, upstream, journal/],
  ['an unknown nested key', { journal: { fsynk: 'always' } }, 'journal.fsynk', /unknown key \(known: dir, fsync, segmentBytes\)/],
  ['an unknown key two levels down', { admin: { tcp: { host: '127.0.0.1', token: '0123456789abcdef', tokn: 'x' } } }, 'admin.tcp.tokn', /unknown key/],
  ['a bad journal.fsync', { journal: { fsync: 'sometimes' } }, 'journal.fsync', /must be "always" .* or "none" .*got "sometimes"/],
  ['a boolean journal.fsync', { journal: { fsync: true } }, 'journal.fsync', /got true/],
  ['gate.maxHoldMs 0', { gate: { maxHoldMs: 0 } }, 'gate.maxHoldMs', /must be an integer between 1 and 86400000 \(got 0\)/],
  ['a negative gate.lockTimeoutMs', { gate: { lockTimeoutMs: -5 } }, 'gate.lockTimeoutMs', /got -5/],
  ['a section that is not an object', { listen: 3307 }, 'listen', /must be an object/],
  ['an empty admin.socket', { admin: { socket: '' } }, 'admin.socket', /must be a non-empty string/],
  ['a non-boolean metrics.enabled', { metrics: { enabled: 'yes' } }, 'metrics.enabled', /must be true or false/],
  ['a config that is not an object', [1, 2], '(root)', /must be a JSON object/],
];

describe('parseProxyConfig rejects bad configs naming the key', () => {
  it.each(BAD)('%s', (_name, raw, key, message) => {
    const e = parseError(raw);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.key).toBe(key);
    expect(e.message.startsWith(`config: ${key}: `), e.message).toBe(true);
    expect(e.message).toMatch(message);
  });

  it('accepts the defaults and a full valid config', () => {
    expect(parseProxyConfig({}, dir).journal.fsync).toBe('always');
    const c = parseProxyConfig({ listen: { port: 0 }, journal: { dir: 'j', fsync: 'none' }, gate: { maxHoldMs: 1 }, metrics: { enabled: false } }, dir);
    expect(c.journal).toMatchObject({ dir: join(dir, 'j'), fsync: 'none' });
    expect(c.gate.maxHoldMs).toBe(1);
    expect(c.metrics).toBeNull();
  });
});

describe('metamorph proxy --config rejects them too, exit 2 naming the key', () => {
  it.each(BAD)('%s', async (_name, raw, key, message) => {
    const r = await runCli(['proxy', '--config', configFile(raw)], 15_000);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`metamorph: config: ${key}: `);
    expect(r.stderr).toMatch(message);
  });

  it('a file that is not JSON', async () => {
    const file = configFile('{ "listen": { "port": 3307 }, }');
    const r = await runCli(['proxy', '--config', file], 15_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`metamorph: config: (file): ${file}: it is not valid JSON`);
  });
});

describe('a start that cannot take its resources fails naming the key and leaves nothing listening', () => {
  let busy: net.Server;
  let busyPort: number;

  beforeAll(async () => {
    busy = net.createServer((s) => {
      s.on('error', () => undefined); // probes hang up at once
      s.end();
    });
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    busyPort = (busy.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((r) => busy?.close(r));
  });

  it('metrics port in use: ProxyServer.start fails with metrics.port, and the journal is free again', async () => {
    const raw = await fullConfig('metrics-busy', { metrics: { host: '127.0.0.1', port: busyPort } });
    const e = await startFails(raw);
    expect(e).toMatchObject({ code: 'CONFIG_INVALID', key: 'metrics.port' });
    expect(e.message).toMatch(new RegExp(`^config: metrics\\.port: cannot listen on 127\\.0\\.0\\.1:${busyPort}: EADDRINUSE`));
    await expectNothingListening({ ...(raw as unknown as Listeners), metrics: null });
    expect(await probe(busyPort)).toBe('connected');
    // The failed start closed its journal writer: a proxy can start on the same directory.
    const again = await ProxyServer.start(parseProxyConfig({ ...raw, metrics: { host: '127.0.0.1', port: 0 } }, dir), silentLogger());
    await again.stop();
  });

  it('metrics port in use: the CLI exits 2 naming metrics.port', async () => {
    const raw = await fullConfig('metrics-busy-cli', { metrics: { host: '127.0.0.1', port: busyPort } });
    const r = await runCli(['proxy', '--config', configFile(raw)], 15_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`metamorph: config: metrics\\.port: cannot listen on 127\\.0\\.0\\.1:${busyPort}: EADDRINUSE`));
    expect(r.stdout).not.toContain('proxy listening');
    await expectNothingListening({ ...(raw as unknown as Listeners), metrics: null });
  });

  it.each([
    ['under a directory that does not exist', '/nonexistent-metamorph-dir/admin.sock'],
    ['in /proc', '/proc/metamorph-admin.sock'],
  ])('an admin socket %s: ProxyServer.start and the CLI fail naming admin.socket', async (_name, socket) => {
    const raw = await fullConfig(`socket-${++serial}`, { admin: { socket } });
    const e = await startFails(raw);
    expect(e).toMatchObject({ code: 'CONFIG_INVALID', key: 'admin.socket' });
    expect(e.message).toContain(`config: admin.socket: cannot listen on ${socket}`);
    await expectNothingListening(raw as unknown as Listeners);

    const r = await runCli(['proxy', '--config', configFile(raw)], 15_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`metamorph: config: admin.socket: cannot listen on ${socket}`);
    expect(r.stdout).not.toContain('proxy listening');
    await expectNothingListening(raw as unknown as Listeners);
  });

  it.each([
    ['a file where the journal directory should be', (f: string) => f],
    ['a journal directory under a file', (f: string) => join(f, 'journal')],
  ])('%s: start fails with a message naming journal.dir and the path', async (_name, journalOf) => {
    const file = join(dir, `plain-file-${++serial}`);
    writeFileSync(file, 'not a journal\n');
    const journalDir = journalOf(file);
    const raw = await fullConfig(`journal-file-${serial}`, { journal: { dir: journalDir } });
    const e = await startFails(raw);
    expect(e.message).toContain(journalDir);
    expect(e.message).toMatch(/journal\.dir/);
    expect(e.message).toMatch(/not a directory/i);
    await expectNothingListening(raw as unknown as Listeners);

    const r = await runCli(['proxy', '--config', configFile(raw)], 15_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(journalDir);
    expect(r.stderr).toMatch(/journal\.dir/);
    expect(r.stdout).not.toContain('proxy listening');
    await expectNothingListening(raw as unknown as Listeners);
    expect(readFileSync(file, 'utf8')).toBe('not a journal\n');
  });
});
