import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { mariadbCli, type MariadbCliOptions } from '../harness/clients.js';
import { RawClient, errMessage } from '../harness/raw-client.js';
import { Capability } from '../../src/protocol/constants.js';
import { startProxy, sqlOf, type ProxyFixture } from './proxy-fixture.js';
import { JournalCursor } from './journal-cursor.js';
import { selfSignedCert, type CertFiles } from './self-signed-cert.js';

// The mariadb command-line client through the proxy: scripts, TLS, authentication plugins.

let db: MariaDB;
let proxy: ProxyFixture;
let tlsProxy: ProxyFixture;
let cert: CertFiles;
let journal: JournalCursor;
let tlsJournal: JournalCursor;

const FAST_FAIL_MS = 5000;

function cli(opts: Partial<MariadbCliOptions> & { sql: string | Buffer }) {
  return mariadbCli({ host: '127.0.0.1', port: proxy.port, user: 'root', ...opts });
}

beforeAll(async () => {
  cert = selfSignedCert();
  db = await startMariaDB({ name: 'clients-cli' });
  proxy = await startProxy(db.port);
  tlsProxy = await startProxy(db.port, { tls: { cert: cert.cert, key: cert.key } });
  journal = new JournalCursor(proxy);
  tlsJournal = new JournalCursor(tlsProxy);
});

afterAll(async () => {
  await tlsProxy?.stop();
  await proxy?.stop();
  await db?.stop();
  cert?.remove();
});

describe('a mariadb CLI script', () => {
  it('runs DDL, transactions, USE and multi-statements; the journal holds exactly the committed writes in order', async () => {
    const script = [
      'CREATE DATABASE cli;',
      'USE cli;',
      'CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20));',
      "INSERT INTO t VALUES (1, 'one');",
      'BEGIN;',
      "INSERT INTO t VALUES (2, 'two');",
      "UPDATE t SET v = 'uno' WHERE id = 1;",
      'COMMIT;',
      'START TRANSACTION;',
      "INSERT INTO t VALUES (3, 'never');",
      'ROLLBACK;',
      // The CLI splits this line itself: two COM_QUERY packets.
      "INSERT INTO t VALUES (4, 'four'); INSERT INTO t VALUES (5, 'five');",
      // With another delimiter the CLI sends both statements in one COM_QUERY.
      'DELIMITER //',
      "INSERT INTO t VALUES (6, 'six'); INSERT INTO t VALUES (7, 'seven')//",
      'DELIMITER ;',
      'SELECT id, v FROM t ORDER BY id;',
    ].join('\n');
    const r = await cli({ sql: script });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('1\tuno\n2\ttwo\n4\tfour\n5\tfive\n6\tsix\n7\tseven\n');

    const e = await journal.fresh();
    expect(sqlOf(e)).toEqual([
      'CREATE DATABASE cli',
      'CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))',
      "INSERT INTO t VALUES (1, 'one')",
      "INSERT INTO t VALUES (2, 'two')",
      "UPDATE t SET v = 'uno' WHERE id = 1",
      "INSERT INTO t VALUES (4, 'four')",
      "INSERT INTO t VALUES (5, 'five')",
      "INSERT INTO t VALUES (6, 'six')",
      "INSERT INTO t VALUES (7, 'seven')",
    ]);
    expect(e.map((x) => x.db)).toEqual([null, 'cli', 'cli', 'cli', 'cli', 'cli', 'cli', 'cli', 'cli']);
    // The explicit transaction is one journal transaction; everything else commits on its own.
    expect(e[3].txn).toBe(e[4].txn);
    expect(new Set(e.map((x) => x.txn)).size).toBe(8);
    expect(e.map((x) => x.kind)).toEqual(['ddl', 'ddl', 'insert', 'insert', 'update', 'insert', 'insert', 'insert', 'insert']);
  });

  it('gets a clear error for LOAD DATA LOCAL INFILE (--local-infile=1), journals nothing, and the session goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metamorph-infile-'));
    try {
      const file = join(dir, 'rows.tsv');
      writeFileSync(file, '100\tfrom file\n');
      const r = await cli({
        database: 'cli',
        args: ['--local-infile=1', '--force'],
        sql: `LOAD DATA LOCAL INFILE '${file}' INTO TABLE t;\nSELECT 'still here';\nSELECT COUNT(*) FROM t WHERE id = 100;\n`,
      });
      expect(r.stderr).toMatch(/^ERROR 1235 \(HY000\) at line 1: metamorph proxy: LOAD DATA LOCAL INFILE is refused/m);
      expect(r.stdout).toBe('still here\n0\n');
      expect(await journal.fresh()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TLS', () => {
  it('without tls configured, --ssl falls back to plain text (the 10.11 client only prefers TLS) and works', async () => {
    const r = await cli({ args: ['--ssl'], sql: 'status\nSELECT 42;\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^SSL:\s+Not in use$/m);
    expect(r.stdout).toMatch(/^42$/m);
  });

  it('without tls configured, --ssl-verify-server-cert fails fast with a clear message', async () => {
    const start = Date.now();
    const r = await cli({ args: ['--ssl-verify-server-cert'], sql: 'SELECT 1;\n' });
    expect(Date.now() - start).toBeLessThan(FAST_FAIL_MS);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ERROR 2026 \(HY000\): TLS\/SSL error: SSL is required, but the server does not support it/);
    expect(r.stdout).toBe('');
  });

  it('a client that asks for TLS anyway gets an error that says how to fix it, and the connection closes', async () => {
    const c = await RawClient.open(proxy.port);
    const greeting = await c.read();
    expect(greeting!.payload[0]).toBe(10);
    const sslRequest = Buffer.alloc(32);
    sslRequest.writeUInt32LE(Capability.SSL | Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH, 0);
    sslRequest.writeUInt32LE(16 << 20, 4);
    sslRequest[8] = 45;
    c.write(1, sslRequest);
    const err = await c.read();
    expect(err!.payload[0]).toBe(0xff);
    expect(errMessage(err!)).toMatch(/asked for TLS but the proxy has no certificate configured \(tls\.cert, tls\.key\)/);
    expect(await c.closed()).toBe(true);
  });

  it('with tls configured, the CLI session is encrypted up to the proxy only, and works', async () => {
    const r = await mariadbCli({
      host: '127.0.0.1', port: tlsProxy.port, user: 'root', args: ['--ssl'],
      sql: "status\nSHOW STATUS LIKE 'Ssl_cipher';\nCREATE DATABASE tls_db;\nCREATE TABLE tls_db.t (a INT);\nINSERT INTO tls_db.t VALUES (7);\nSELECT a FROM tls_db.t;\n",
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^SSL:\s+Cipher in use is TLS_/m);
    // The server sees a plain connection from the proxy.
    expect(r.stdout).toMatch(/^Ssl_cipher\t$/m);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('7');
    expect(sqlOf(await tlsJournal.fresh())).toEqual(['CREATE DATABASE tls_db', 'CREATE TABLE tls_db.t (a INT)', 'INSERT INTO tls_db.t VALUES (7)']);
  });

  it('with tls configured, an ed25519 login with its auth switch works inside TLS', async () => {
    const r = await mariadbCli({ host: '127.0.0.1', port: tlsProxy.port, user: 'app_ed', password: 'edpass', args: ['--ssl'], sql: 'status\nSELECT CURRENT_USER();\n' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^SSL:\s+Cipher in use is TLS_/m);
    expect(r.stdout).toMatch(/^app_ed@%$/m);
  });

  it('with tls configured, the CLI verifies the configured certificate', async () => {
    const r = await mariadbCli({
      host: 'localhost', port: tlsProxy.port, user: 'root',
      args: ['--ssl-verify-server-cert', `--ssl-ca=${cert.cert}`], sql: 'status\n',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^SSL:\s+Cipher in use is TLS_/m);
  });

  it('mysql2 connects through TLS (rejectUnauthorized false, and verifying against the certificate)', async () => {
    for (const ssl of [{ rejectUnauthorized: false }, { ca: [readFileSync(cert.cert)], rejectUnauthorized: true }]) {
      const c = await mysql.createConnection({ host: 'localhost', port: tlsProxy.port, user: 'root', ssl });
      const [rows] = await c.query("SHOW STATUS LIKE 'Ssl_cipher'");
      expect(rows).toEqual([{ Variable_name: 'Ssl_cipher', Value: '' }]);
      const [big] = await c.query("SELECT REPEAT('x', 300000) AS v");
      expect((big as { v: string }[])[0].v.length).toBe(300000);
      await c.end();
    }
  });

  it('mysql2 with ssl against a proxy without tls fails quickly with a clear error', async () => {
    const start = Date.now();
    const attempt = mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', ssl: { rejectUnauthorized: false } });
    await expect(attempt).rejects.toMatchObject({ code: 'HANDSHAKE_NO_SSL_SUPPORT', message: expect.stringMatching(/does not support secure connection/) });
    expect(Date.now() - start).toBeLessThan(FAST_FAIL_MS);
  });
});

describe('compression', () => {
  it('--compress works: the proxy does not offer compression, so the CLI runs uncompressed', async () => {
    const r = await cli({ args: ['--compress'], sql: "SHOW SESSION STATUS LIKE 'Compression';\nSELECT REPEAT('c', 100000) = REPEAT('c', 100000);\n" });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Compression\tOFF\n1\n');
  });
});

describe('authentication', () => {
  it('mysql_native_password (app) through mysql2 and the CLI', async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'app', password: 'apppass' });
    const [rows] = await c.query('SELECT CURRENT_USER() AS u');
    expect(rows).toEqual([{ u: 'app@%' }]);
    await c.end();
    const r = await cli({ user: 'app', password: 'apppass', sql: 'SELECT CURRENT_USER();\n' });
    expect(r.stdout).toBe('app@%\n');
  });

  it('ed25519 (app_ed): the CLI starts with mysql_native_password, the server switches it to client_ed25519', async () => {
    const r = await cli({ user: 'app_ed', password: 'edpass', sql: 'SELECT CURRENT_USER();\n' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('app_ed@%\n');
    const direct = await cli({ user: 'app_ed', password: 'edpass', args: ['--default-auth=client_ed25519'], sql: 'SELECT CURRENT_USER();\n' });
    expect(direct.stdout).toBe('app_ed@%\n');
  });

  it('relays the auth switch request itself', async () => {
    const { client, reply } = await RawClient.startLogin(proxy.port, { user: 'app_ed', password: 'edpass' });
    expect(reply!.payload[0]).toBe(0xfe);
    expect(reply!.payload.subarray(1, reply!.payload.indexOf(0, 1)).toString()).toBe('client_ed25519');
    client.close();
  });

  it('a wrong password gets ERROR 1045 from the server, for both plugins', async () => {
    for (const user of ['app', 'app_ed']) {
      const r = await cli({ user, password: 'wrong', sql: 'SELECT 1;\n' });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`ERROR 1045 (28000): Access denied for user '${user}'@'127.0.0.1' (using password: YES)\n`);
    }
    const attempt = mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'app', password: 'wrong' });
    await expect(attempt).rejects.toMatchObject({ errno: 1045, sqlState: '28000' });
  });

  it('a database that does not exist gets ERROR 1049', async () => {
    const r = await cli({ user: 'app', password: 'apppass', database: 'nosuchdb', sql: 'SELECT 1;\n' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("ERROR 1049 (42000): Unknown database 'nosuchdb'\n");
  });
});
