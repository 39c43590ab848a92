import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import mysql from 'mysql2/promise';
import { AdminConnection, adminRequest } from '../../src/admin/admin-client.js';
import { parseProxyConfig } from '../../src/config/proxy-config.js';
import { silentLogger } from '../../src/log.js';
import { ByteWriter } from '../../src/protocol/bytes.js';
import { Capability, Command } from '../../src/protocol/constants.js';
import { ProxyServer } from '../../src/proxy/server.js';
import { AdminLines } from '../admin/admin-lines.js';
import { APP_PASSWORD, APP_USER, startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { RawClient } from '../harness/raw-client.js';
import { startProxy, type ProxyFixture } from '../proxy/proxy-fixture.js';
import { FakeUpstream } from '../harness/fake-upstream.js';

// The proxy opens connections to its configured upstream only: nothing a client sends (database
// names, connection attributes, COM_CHANGE_USER, a TLS request) and nothing an unauthenticated
// admin caller sends makes it connect anywhere else. After an operator's `flip` it connects to
// the new server only, also after a restart. Relays in front of the servers count the proxy's
// connections; a trap listener on another port must never be reached.

const TOKEN = 'sec-token-7c1d9e2f4a6b8c0d';
let a: MariaDB;
let b: MariaDB;
let toA: FakeUpstream;
let toB: FakeUpstream;
let trap: FakeUpstream;
let proxy: ProxyFixture;
/** The restart test stops the fixture's server itself. */
let serverStopped = false;
let dir: string;

const trapAddress = () => `127.0.0.1:${trap.port}`;

function connect(port: number, opts: Partial<mysql.ConnectionOptions> = {}) {
  return mysql.createConnection({ host: '127.0.0.1', port, user: APP_USER, password: APP_PASSWORD, ...opts });
}

async function servingPort(port: number): Promise<number> {
  const c = await connect(port);
  try {
    const [rows] = await c.query('SELECT @@port AS p');
    return Number((rows as { p: number }[])[0].p);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  [a, b] = await Promise.all([startMariaDB({ name: 'sec-up-a' }), startMariaDB({ name: 'sec-up-b' })]);
  [toA, toB, trap] = await Promise.all([FakeUpstream.start(a.port), FakeUpstream.start(b.port), FakeUpstream.start()]);
  dir = mkdtempSync('/dev/shm/metamorph-sec-up-');
  proxy = await startProxy(toA.port, {
    switchover: { credentials: { [APP_USER]: APP_PASSWORD } },
    admin: { socket: join(dir, 'admin.sock'), tcp: { host: '127.0.0.1', port: 0, token: TOKEN } },
  });
}, 120_000);

afterAll(async () => {
  if (serverStopped) rmSync(dirname(proxy.journalDir), { recursive: true, force: true });
  else await proxy?.stop();
  await Promise.all([toA, toB, trap].map((l) => l?.close()));
  await Promise.all([a?.stop(), b?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('before any flip', () => {
  it('clients pointing elsewhere in everything they send still reach only the configured upstream', async () => {
    const trapPort = String(trap.port);
    // A database name, and connection attributes naming another server.
    await connect(proxy.port, { database: trapAddress() }).then((c) => c.end(), (e: Error) => expect(e.message).toMatch(/Unknown database/));
    const attrs = await connect(proxy.port, { connectAttributes: { _server_host: '127.0.0.1', _server_port: trapPort, host: '127.0.0.1', port: trapPort } });
    expect(Number(((await attrs.query('SELECT @@port AS p'))[0] as { p: number }[])[0].p)).toBe(a.port);
    // COM_CHANGE_USER to a "user@host:port" and a database that looks like an address.
    await expect(attrs.changeUser({ user: `${APP_USER}@${trapAddress()}`, password: APP_PASSWORD })).rejects.toThrow(/Access denied/);
    await attrs.end();
    const raw = await RawClient.login(proxy.port, { user: APP_USER, password: APP_PASSWORD });
    const changed = await raw.changeUser({ user: APP_USER, password: APP_PASSWORD, database: `mysql://127.0.0.1:${trapPort}/` });
    expect(changed?.payload[0]).toBe(0xff); // unknown database, answered by the real server
    raw.close();
    // A TLS request (none configured): refused by the proxy itself.
    const tls = await RawClient.open(proxy.port);
    await tls.read();
    tls.write(1, new ByteWriter().u32(Capability.PROTOCOL_41 | Capability.SSL | Capability.SECURE_CONNECTION).u32(1 << 24).u8(45).bytes(Buffer.alloc(23)).toBuffer());
    expect((await tls.read())?.payload[0]).toBe(0xff);
    tls.close();
    // Queries naming other servers are the upstream's business, not the proxy's.
    const q = await RawClient.login(proxy.port, { user: APP_USER, password: APP_PASSWORD });
    await q.command(Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(`SELECT '${trapAddress()}'`)]));
    q.close();

    expect(trap.connections).toBe(0);
    expect(toB.connections).toBe(0);
    expect(toA.connections).toBeGreaterThanOrEqual(5);
  });

  it('an admin caller without the token cannot make it connect anywhere; an unlocked flip is refused before any connection', async () => {
    const tcp = { host: '127.0.0.1', port: proxy.server.adminTcpPort! };
    const admin = await AdminLines.open(tcp);
    try {
      for (const line of [`flip ${trapAddress()}`, `auth wrong-${TOKEN}`, `flip ${trapAddress()} 1000`, `lock 1000 lease`]) {
        expect((await admin.send(line)).ok, line).toBe(false);
      }
    } finally {
      admin.close();
    }
    expect(await adminRequest(proxy.adminSocket, `flip ${trapAddress()}`)).toMatchObject({ ok: false, error: expect.stringContaining('locked') });
    expect((await adminRequest(proxy.adminSocket, 'status')).upstream).toBe(`127.0.0.1:${toA.port}`);
    expect(trap.connections).toBe(0);
    expect(toB.connections).toBe(0);
  });
});

describe('after a flip', () => {
  it('connects to the flipped-to server only, and so does the proxy restarted on the same journal', async () => {
    const admin = await AdminConnection.open(proxy.adminSocket);
    try {
      expect(await admin.request('lock 2000 lease')).toMatchObject({ ok: true });
      expect(await admin.request(`flip 127.0.0.1:${toB.port} 3000`)).toMatchObject({ ok: true, upstream: `127.0.0.1:${toB.port}` });
      expect(await admin.request('unlock')).toMatchObject({ ok: true });
    } finally {
      admin.close();
    }
    const beforeA = toA.connections;
    const beforeB = toB.connections;
    for (let i = 0; i < 3; i++) expect(await servingPort(proxy.port)).toBe(b.port);
    expect(toA.connections).toBe(beforeA);
    expect(toB.connections).toBe(beforeB + 3);

    // Restarted with the same config (upstream still A): upstream.json in the journal wins.
    await proxy.server.stop();
    serverStopped = true;
    const config = parseProxyConfig({
      listen: { host: '127.0.0.1', port: 0 },
      upstream: { host: '127.0.0.1', port: toA.port },
      journal: { dir: proxy.journalDir },
      admin: { socket: join(dir, 'restarted.sock') },
      metrics: null,
    });
    const restarted = await ProxyServer.start(config, silentLogger());
    try {
      expect(await servingPort(restarted.address.port)).toBe(b.port);
      expect(toA.connections).toBe(beforeA);
    } finally {
      await restarted.stop();
    }
    expect(trap.connections).toBe(0);
  });
});
