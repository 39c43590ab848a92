import mysql, { type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/protocol/bytes.js';
import { Capability } from '../../src/protocol/constants.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { parseChangeUser } from '../../src/protocol/change-user.js';
import { parseGreeting, parseHandshakeResponse } from '../../src/protocol/handshake.js';
import { nativePasswordToken, packetsOf, startMariaDb, startRelay, type Relay, type TestServer } from './mariadb-fixture.js';

const USER = 'cu_user';
const PASSWORD = 'cu-pässword';

let server: TestServer;
let relay: Relay;
let conn: Connection;

beforeAll(async () => {
  server = await startMariaDb();
  relay = await startRelay(server.port);
  conn = await mysql.createConnection({ host: '127.0.0.1', port: relay.port, user: 'root' });
  await conn.query('CREATE DATABASE db2');
  await conn.query(`CREATE USER '${USER}'@'%' IDENTIFIED BY '${PASSWORD}'`);
  await conn.query(`GRANT ALL ON *.* TO '${USER}'@'%'`);
});

afterAll(async () => {
  await conn?.end();
  await relay?.close();
  await server?.stop();
});

/** The COM_CHANGE_USER packets mysql2 sent, with the capabilities negotiated on that connection. */
function recordedChangeUsers(connection: number): { payload: Buffer; caps: number; scramble: Buffer }[] {
  const rec = relay.connections[connection]!;
  const fromClient = packetsOf(rec.fromClient);
  const greeting = parseGreeting(packetsOf(rec.fromServer)[0]!.payload);
  const caps = (parseHandshakeResponse(fromClient[0]!.payload).capabilities & greeting.capabilities) >>> 0;
  return fromClient
    .filter((p) => p.seq === 0 && p.payload[0] === 0x11)
    .map((p) => ({ payload: p.payload, caps, scramble: greeting.scramble }));
}

describe('parseChangeUser on COM_CHANGE_USER captured from mysql2', () => {
  it('reads user, auth response, database, charset and plugin of a change the server accepted', async () => {
    await conn.changeUser({ user: USER, password: PASSWORD, database: 'db2' });
    const [[row]] = (await conn.query('SELECT CURRENT_USER() AS who, DATABASE() AS db')) as unknown as [[{ who: string; db: string }]];
    expect(row).toEqual({ who: `${USER}@%`, db: 'db2' });

    const [change] = recordedChangeUsers(0);
    const parsed = parseChangeUser(change!.payload, change!.caps);
    expect(parsed).toMatchObject({ user: USER, database: 'db2', charset: 224, authPluginName: 'mysql_native_password' });
    expect(parsed.authResponse).toEqual(nativePasswordToken(PASSWORD, change!.scramble));
  });

  it('reports no database when the change selects none', async () => {
    const second = await mysql.createConnection({ host: '127.0.0.1', port: relay.port, user: 'root' });
    await second.changeUser({ user: USER, password: PASSWORD });
    const [[row]] = (await second.query('SELECT DATABASE() AS db')) as unknown as [[{ db: string | null }]];
    await second.end();
    expect(row.db).toBeNull();
    const [change] = recordedChangeUsers(1);
    expect(parseChangeUser(change!.payload, change!.caps)).toMatchObject({ user: USER, database: null, charset: 224 });
  });
});

describe('parseChangeUser on hand-built packets', () => {
  it('reads the old layout: NUL-terminated auth data and no charset', () => {
    const payload = new ByteWriter().u8(0x11).nulString('bob').nulString('scrambled').nulString('shop').toBuffer();
    expect(parseChangeUser(payload, Capability.PROTOCOL_41)).toMatchObject({
      user: 'bob',
      authResponse: Buffer.from('scrambled'),
      database: 'shop',
      charset: null,
      authPluginName: null,
    });
  });

  it('reads connection attributes when CLIENT_CONNECT_ATTRS is negotiated', () => {
    const attrs = new ByteWriter().lenencString('_client_name').lenencString('x').toBuffer();
    const payload = new ByteWriter()
      .u8(0x11)
      .nulString('bob')
      .u8(0)
      .nulString('')
      .u16(45)
      .nulString('mysql_native_password')
      .lenencBytes(attrs)
      .toBuffer();
    const caps = Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH | Capability.CONNECT_ATTRS;
    expect(parseChangeUser(payload, caps)).toMatchObject({ charset: 45, attrs: { _client_name: 'x' } });
  });

  it('rejects another command and truncated auth data', () => {
    expect(() => parseChangeUser(Buffer.from([0x03, 0x61, 0]), 0)).toThrow(ProtocolError);
    const truncated = new ByteWriter().u8(0x11).nulString('bob').u8(20).bytes(Buffer.alloc(5)).toBuffer();
    expect(() => parseChangeUser(truncated, Capability.SECURE_CONNECTION)).toThrow(/truncated/);
  });
});
