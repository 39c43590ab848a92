import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProvider } from '../../src/provision/provider.js';
import { APP_PASSWORD, APP_USER, startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { freePort } from '../harness/ports.js';

let db: MariaDB;

beforeAll(async () => {
  db = await startMariaDB({ name: 'existing' });
  await db.query('CREATE DATABASE wikidb');
});

afterAll(async () => {
  await db?.stop();
});

const dsn = (password = APP_PASSWORD, port = db.port, database = 'wikidb') =>
  `mysql://${APP_USER}:${password}@127.0.0.1:${port}/${database}`;

describe('existing provider', () => {
  it('checks the DSN logs in and reports it with the server version', async () => {
    const replica = await createProvider({ provider: 'existing', dsn: dsn() }).provision();
    expect(replica).toEqual({
      dsn: dsn(), host: '127.0.0.1', port: db.port, provider: 'existing',
      details: { version: expect.stringMatching(/^10\.11\.\d+-MariaDB/) },
    });
  });

  it('teardown leaves the database alone', async () => {
    const provider = createProvider({ provider: 'existing', dsn: dsn() });
    const replica = await provider.provision();
    await provider.teardown(replica);
    const conn = await mysql.createConnection(replica.dsn);
    const [rows] = await conn.query('SELECT DATABASE() AS db');
    await conn.end();
    expect(rows).toEqual([{ db: 'wikidb' }]);
  });

  it.each([
    ['nothing listening', async () => dsn(APP_PASSWORD, await freePort()), 'ECONNREFUSED', 'is mysqld running'],
    ['a wrong password', async () => dsn('wrong-secret'), 'ER_ACCESS_DENIED_ERROR', 'check the user and password'],
    ['a missing database', async () => dsn(APP_PASSWORD, db.port, 'nodb'), 'ER_BAD_DB_ERROR', 'create the database first'],
  ])('%s is REPLICA_UNREACHABLE with the cause, a hint and no password', async (_case, makeDsn, cause, hint) => {
    const text = await makeDsn();
    const err = await createProvider({ provider: 'existing', dsn: text, connectTimeoutMs: 3000 }).provision().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'REPLICA_UNREACHABLE' });
    const { message } = err as Error;
    expect(message).toContain(cause);
    expect(message).toContain(hint);
    expect(message).toContain(`${APP_USER}:***@127.0.0.1`);
    expect(message).not.toMatch(/apppass|wrong-secret/);
  });
});
