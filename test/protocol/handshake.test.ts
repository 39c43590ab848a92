import net from 'node:net';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/protocol/bytes.js';
import { Capability, MariaDbCapability, ServerStatus } from '../../src/protocol/constants.js';
import { parseErr } from '../../src/protocol/err-packet.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { frame } from '../../src/protocol/frame.js';
import {
  isSslRequest,
  parseGreeting,
  parseHandshakeResponse,
  rewriteGreetingCapabilities,
  rewriteHandshakeResponseCapabilities,
} from '../../src/protocol/handshake.js';
import { isOkPacket, parseOk } from '../../src/protocol/ok-packet.js';
import { PacketReader, type Packet } from '../../src/protocol/packet-reader.js';
import { nativePasswordToken, packetsOf, readGreeting, startMariaDb, startRelay, type TestServer } from './mariadb-fixture.js';

const USER = 'proto_user';
const PASSWORD = 'pröto-pw';
/** mysql2's default connection collation, utf8mb4_unicode_ci. */
const MYSQL2_CHARSET = 224;

let server: TestServer;
let greeting: Packet;

beforeAll(async () => {
  server = await startMariaDb();
  greeting = await readGreeting(server.port);
  const root = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root' });
  await root.query(`CREATE USER '${USER}'@'%' IDENTIFIED BY '${PASSWORD}'`);
  await root.query(`GRANT ALL ON *.* TO '${USER}'@'%'`);
  await root.end();
});

afterAll(async () => {
  await server?.stop();
});

/** Byte positions where two equally long buffers differ. */
function diffPositions(a: Buffer, b: Buffer): number[] {
  expect(a.length).toBe(b.length);
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

/** Sends `greetingPayload` to whatever connects and resolves with the client's first packet. */
async function captureClientReply(
  greetingPayload: Buffer,
  connect: (port: number) => Promise<unknown>,
): Promise<Packet> {
  let resolveReply!: (p: Packet) => void;
  const reply = new Promise<Packet>((r) => (resolveReply = r));
  const fake = net.createServer((socket) => {
    const reader = new PacketReader();
    socket.on('data', (c: Buffer) => {
      reader.push(c);
      const p = reader.next();
      if (p === null) return;
      resolveReply(p);
      socket.destroy();
    });
    socket.on('error', () => undefined);
    for (const b of frame(0, greetingPayload).buffers) socket.write(b);
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  const { port } = fake.address() as net.AddressInfo;
  // The fake server hangs up after the reply, so the client's connect attempt fails by design.
  const attempt = connect(port).catch(() => undefined);
  const p = await reply;
  await attempt;
  await new Promise<void>((r) => fake.close(() => r()));
  return p;
}

function mysql2Connect(extra: mysql.ConnectionOptions) {
  return async (port: number) => {
    const conn = await mysql.createConnection({ host: '127.0.0.1', port, user: USER, password: PASSWORD, ...extra });
    await conn.end();
  };
}

describe('parseGreeting on a real MariaDB greeting', () => {
  it('reads every field, matching what the server reports about itself', async () => {
    const g = parseGreeting(greeting.payload);
    expect(greeting.seq).toBe(0);
    expect(g.protocolVersion).toBe(10);

    const relay = await startRelay(server.port);
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: relay.port, user: 'root' });
    const [[row]] = (await conn.query(
      'SELECT CONNECTION_ID() AS id, @@version AS version, ' +
        '(SELECT ID FROM information_schema.COLLATIONS WHERE COLLATION_NAME = @@collation_server) AS collation',
    )) as unknown as [[{ id: number; version: string; collation: number }]];
    await conn.end();
    await relay.close();
    const relayed = parseGreeting(packetsOf(relay.connections[0]!.fromServer)[0]!.payload);

    expect(relayed.connectionId).toBe(row.id);
    expect(g.serverVersion.endsWith(row.version)).toBe(true);
    expect(g.serverVersion).toMatch(/MariaDB/);
    expect(g.charset).toBe(row.collation & 0xff);
    expect(g.status & ServerStatus.AUTOCOMMIT).toBeTruthy();
    for (const cap of [Capability.PROTOCOL_41, Capability.SECURE_CONNECTION, Capability.PLUGIN_AUTH, Capability.TRANSACTIONS]) {
      expect(g.capabilities & cap).toBe(cap);
    }
    // MariaDB clears CLIENT_MYSQL and announces its extensions in the reserved bytes.
    expect(g.capabilities & Capability.CLIENT_MYSQL).toBe(0);
    for (const cap of [MariaDbCapability.PROGRESS, MariaDbCapability.STMT_BULK_OPERATIONS, MariaDbCapability.EXTENDED_TYPE_INFO]) {
      expect(g.mariadbCapabilities & cap).toBe(cap);
    }
    expect(g.authPluginName).toBe('mysql_native_password');
    expect(g.scramble).toHaveLength(20);
  });

  it('yields the scramble that authenticates a hand-built handshake response', async () => {
    const socket = net.connect(server.port, '127.0.0.1');
    const reader = new PacketReader();
    const packets: Packet[] = [];
    let wake: () => void = () => undefined;
    socket.on('data', (c: Buffer) => {
      reader.push(c);
      for (let p = reader.next(); p; p = reader.next()) packets.push(p);
      wake();
    });
    const nextPacket = async (): Promise<Packet> => {
      while (packets.length === 0) await new Promise<void>((r) => (wake = r));
      return packets.shift()!;
    };
    const g = parseGreeting((await nextPacket()).payload);
    const caps =
      Capability.CLIENT_LONG_PASSWORD |
      Capability.PROTOCOL_41 |
      Capability.SECURE_CONNECTION |
      Capability.PLUGIN_AUTH |
      Capability.TRANSACTIONS;
    const response = new ByteWriter()
      .u32(caps)
      .u32(1 << 24)
      .u8(45)
      .bytes(Buffer.alloc(23))
      .nulString(USER)
      .u8(20)
      .bytes(nativePasswordToken(PASSWORD, g.scramble))
      .nulString('mysql_native_password')
      .toBuffer();
    for (const b of frame(1, response).buffers) socket.write(b);
    const answer = await nextPacket();
    socket.destroy();
    if (!isOkPacket(answer.payload)) throw new Error(parseErr(answer.payload, caps).message);
    expect(answer.seq).toBe(2);
    expect(parseOk(answer.payload, caps).status & ServerStatus.AUTOCOMMIT).toBeTruthy();
  });

  it('tolerates a pre-4.1 greeting that stops after the lower capabilities', () => {
    const g = parseGreeting(greeting.payload);
    const cut = greeting.payload.subarray(0, 1 + Buffer.byteLength(g.serverVersion) + 1 + 4 + 8 + 1 + 2);
    const old = parseGreeting(cut);
    expect(old.capabilities).toBe(g.capabilities & 0xffff);
    expect(old).toMatchObject({ serverVersion: g.serverVersion, connectionId: g.connectionId, charset: 0, authPluginName: null });
    expect(old.scramble).toEqual(g.scramble.subarray(0, 8));
  });

  it('rejects an ERR packet or another protocol version with ProtocolError', () => {
    expect(() => parseGreeting(Buffer.from('ff6a04486f7374', 'hex'))).toThrow(/parseErr/);
    const v9 = Buffer.from(greeting.payload);
    v9[0] = 9;
    expect(() => parseGreeting(v9)).toThrow(ProtocolError);
  });
});

describe('rewriteGreetingCapabilities', () => {
  it('changes only the capability bytes of a real greeting', () => {
    const before = parseGreeting(greeting.payload);
    const clear = Capability.FOUND_ROWS | Capability.SESSION_TRACK | Capability.CONNECT_ATTRS;
    const out = rewriteGreetingCapabilities(
      greeting.payload,
      { capabilities: clear, mariadb: 0xffffffff },
      { capabilities: Capability.SSL },
    );
    const after = parseGreeting(out);
    expect(after.capabilities).toBe(((before.capabilities & ~clear) | Capability.SSL) >>> 0);
    expect(after.mariadbCapabilities).toBe(0);
    expect({ ...after, capabilities: 0, mariadbCapabilities: 0 }).toEqual({ ...before, capabilities: 0, mariadbCapabilities: 0 });

    const lower = 1 + Buffer.byteLength(before.serverVersion) + 1 + 4 + 8 + 1;
    const upper = lower + 2 + 1 + 2;
    const mariadb = upper + 2 + 1 + 6;
    const allowed = [lower, lower + 1, upper, upper + 1, mariadb, mariadb + 1, mariadb + 2, mariadb + 3];
    const changed = diffPositions(greeting.payload, out);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every((i) => allowed.includes(i))).toBe(true);
    expect(greeting.payload.equals(rewriteGreetingCapabilities(greeting.payload, {}))).toBe(true);
  });

  it('keeps MySQL greetings (CLIENT_MYSQL set) free of MariaDB capabilities', () => {
    const mysqlStyle = rewriteGreetingCapabilities(greeting.payload, {}, { capabilities: Capability.CLIENT_MYSQL });
    expect(parseGreeting(mysqlStyle).mariadbCapabilities).toBe(0);
    expect(rewriteGreetingCapabilities(mysqlStyle, { mariadb: 0xffffffff }).equals(mysqlStyle)).toBe(true);
  });

  it('produces a greeting a real client accepts, and the client sees the cleared bits', async () => {
    const seen: number[] = [];
    for (const clearMariaDb of [false, true]) {
      const relay = await startRelay(server.port, (payload) =>
        clearMariaDb ? rewriteGreetingCapabilities(payload, { mariadb: 0xffffffff }) : payload,
      );
      const conn = await mysql.createConnection({ host: '127.0.0.1', port: relay.port, user: USER, password: PASSWORD });
      const [rows] = await conn.query('SELECT 1 + 1 AS two');
      expect(rows).toEqual([{ two: 2 }]);
      await conn.end();
      await relay.close();
      const response = parseHandshakeResponse(packetsOf(relay.connections[0]!.fromClient)[0]!.payload);
      seen.push(response.mariadbCapabilities);
      // mysql2 opts into MariaDB extended metadata only when the server offers it.
      expect(response.capabilities & Capability.CLIENT_MYSQL).toBe(clearMariaDb ? Capability.CLIENT_MYSQL : 0);
    }
    expect(seen).toEqual([MariaDbCapability.EXTENDED_TYPE_INFO, 0]);
  });
});

describe('HandshakeResponse41 captured from mysql2', () => {
  let reply: Packet;

  beforeAll(async () => {
    reply = await captureClientReply(
      greeting.payload,
      mysql2Connect({ database: 'shop', connectAttributes: { program_name: 'metamorph-test', 'ключ': 'значение' } }),
    );
  });

  it('parses every field mysql2 sent', () => {
    const r = parseHandshakeResponse(reply.payload);
    expect(reply.seq).toBe(1);
    expect(isSslRequest(reply.payload)).toBe(false);
    expect(r.user).toBe(USER);
    expect(r.database).toBe('shop');
    expect(r.authPluginName).toBe('mysql_native_password');
    expect(r.charset).toBe(MYSQL2_CHARSET);
    expect(r.maxPacket).toBe(0);
    expect(r.attrs).toMatchObject({ _client_name: 'Node-MySQL-2', program_name: 'metamorph-test', 'ключ': 'значение' });
    expect(Object.keys(r.attrs)).toContain('_client_version');
    for (const cap of [Capability.PROTOCOL_41, Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA, Capability.CONNECT_WITH_DB, Capability.CONNECT_ATTRS]) {
      expect(r.capabilities & cap).toBe(cap);
    }
    expect(r.capabilities & Capability.CLIENT_MYSQL).toBe(0);
    expect(r.mariadbCapabilities).toBe(MariaDbCapability.EXTENDED_TYPE_INFO);
    expect(r.authResponse).toEqual(nativePasswordToken(PASSWORD, parseGreeting(greeting.payload).scramble));
  });

  it('reports no database when mysql2 connects without one', async () => {
    const noDb = await captureClientReply(greeting.payload, mysql2Connect({}));
    expect(parseHandshakeResponse(noDb.payload).database).toBeNull();
  });

  it('tolerates a response cut after the auth data', () => {
    const full = parseHandshakeResponse(reply.payload);
    const authEnd = 32 + Buffer.byteLength(USER) + 1 + 1 + full.authResponse.length;
    const cut = parseHandshakeResponse(reply.payload.subarray(0, authEnd));
    expect(cut).toMatchObject({ user: USER, database: null, authPluginName: null, attrs: {} });
    expect(cut.authResponse).toEqual(full.authResponse);
  });

  it('rejects a response that claims more auth data than it has', () => {
    const authEnd = 32 + Buffer.byteLength(USER) + 1;
    const broken = Buffer.from(reply.payload.subarray(0, authEnd + 5));
    broken[authEnd] = 200;
    expect(() => parseHandshakeResponse(broken)).toThrow(ProtocolError);
  });

  it('rewriteHandshakeResponseCapabilities changes only bytes 0..3 and the MariaDB bytes 28..31', () => {
    const before = parseHandshakeResponse(reply.payload);
    const out = rewriteHandshakeResponseCapabilities(reply.payload, {
      capabilities: Capability.MULTI_RESULTS | Capability.SESSION_TRACK,
      mariadb: 0xffffffff,
    });
    const after = parseHandshakeResponse(out);
    expect(after.capabilities).toBe((before.capabilities & ~(Capability.MULTI_RESULTS | Capability.SESSION_TRACK)) >>> 0);
    expect(after.mariadbCapabilities).toBe(0);
    expect({ ...after, capabilities: 0, mariadbCapabilities: 0 }).toEqual({ ...before, capabilities: 0, mariadbCapabilities: 0 });
    expect(diffPositions(reply.payload, out).every((i) => i < 4 || (i >= 28 && i < 32))).toBe(true);
    expect(() => rewriteHandshakeResponseCapabilities(reply.payload.subarray(0, 31), {})).toThrow(ProtocolError);
  });

  it('recognises the SSLRequest mysql2 sends when the greeting offers TLS', async () => {
    const withSsl = rewriteGreetingCapabilities(greeting.payload, {}, { capabilities: Capability.SSL });
    const sslRequest = await captureClientReply(withSsl, mysql2Connect({ ssl: { rejectUnauthorized: false } }));
    expect(sslRequest.payload).toHaveLength(32);
    expect(isSslRequest(sslRequest.payload)).toBe(true);
    const cleared = rewriteHandshakeResponseCapabilities(sslRequest.payload, { capabilities: Capability.SSL });
    expect(isSslRequest(cleared)).toBe(false);
  });
});
