// Proves against a real MariaDB that the text rewrites are exact: toExecutableText stores the same
// bytes as the original binary statement, and SET fragments re-apply the same session state.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../../src/sql/classify.js';
import { isValidUtf8, toExecutableText } from '../../src/sql/executable-text.js';

interface Server {
  port: number;
  dir: string;
  process: ChildProcess;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function run(command: string, args: string[], input?: Buffer): string {
  const result = spawnSync(command, args, { input, encoding: 'buffer' });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr?.toString()}`);
  }
  return result.stdout.toString();
}

async function startMariaDb(): Promise<Server> {
  const dir = mkdtempSync('/dev/shm/metamorph-sql-');
  const port = await freePort();
  run('mariadb-install-db', [
    '--no-defaults',
    '--user=root',
    `--datadir=${dir}/data`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
  ]);
  const server = spawn(
    'mariadbd',
    [
      '--no-defaults',
      '--user=root',
      `--datadir=${dir}/data`,
      `--socket=${dir}/s.sock`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--skip-networking=0',
      '--character-set-server=utf8mb4',
      `--log-error=${dir}/err.log`,
    ],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 30_000;
  while (spawnSync('mariadb-admin', ['--no-defaults', '-h127.0.0.1', `-P${port}`, '-uroot', 'ping']).status !== 0) {
    if (Date.now() > deadline || server.exitCode !== null) {
      server.kill('SIGKILL');
      throw new Error(`mariadbd did not start: ${readFileSync(join(dir, 'err.log'), 'utf8')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, dir, process: server };
}

async function stopMariaDb(server: Server): Promise<void> {
  const exited = new Promise((r) => server.process.once('exit', r));
  if (server.process.pid !== undefined && server.process.exitCode === null) process.kill(server.process.pid, 'SIGTERM');
  await exited;
  rmSync(server.dir, { recursive: true, force: true });
}

let server: Server;

function cli(statements: Buffer): void {
  run(
    'mariadb',
    ['--no-defaults', '-h127.0.0.1', `-P${server.port}`, '-uroot', '--binary-mode', '--default-character-set=utf8mb4', 'sqltest'],
    statements,
  );
}

function connect(): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root', database: 'sqltest', charset: 'UTF8MB4_GENERAL_CI' });
}

beforeAll(async () => {
  server = await startMariaDb();
  run('mariadb', ['--no-defaults', '-h127.0.0.1', `-P${server.port}`, '-uroot', '-e',
    'CREATE DATABASE sqltest; CREATE TABLE sqltest.blobs (id INT PRIMARY KEY, b LONGBLOB NOT NULL)']);
});

afterAll(async () => {
  if (server) await stopMariaDb(server);
});

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** ALL_BYTES as the body of a quoted literal: backslash-escaped, or with doubled quotes only. */
function escapeLiteral(value: Buffer, quote: number, backslashEscapes: boolean): Buffer {
  const out: number[] = [];
  for (const byte of value) {
    if (byte === quote) out.push(backslashEscapes ? 0x5c : quote, byte);
    else if (byte === 0x5c && backslashEscapes) out.push(0x5c, 0x5c);
    else out.push(byte);
  }
  return Buffer.from(out);
}

const text = (s: string): Buffer => Buffer.from(s, 'utf8');

interface BlobCase {
  name: string;
  statement: (id: number) => Buffer;
  expected: Buffer;
  noBackslashEscapes?: boolean;
}

const blobCases: BlobCase[] = [
  {
    name: 'every byte, backslash-escaped',
    statement: (id) => Buffer.concat([text(`INSERT INTO blobs VALUES (${id}, '`), escapeLiteral(ALL_BYTES, 0x27, true), text("')")]),
    expected: ALL_BYTES,
  },
  {
    name: 'every byte in double quotes after an attached _binary introducer',
    statement: (id) => Buffer.concat([text(`INSERT INTO blobs VALUES (${id}, _binary"`), escapeLiteral(ALL_BYTES, 0x22, true), text('")')]),
    expected: ALL_BYTES,
  },
  {
    name: 'escape sequences, doubled quotes and concatenated literals',
    statement: (id) =>
      Buffer.concat([
        text(`INSERT INTO blobs VALUES (${id}, '`),
        Buffer.from([0xff, 0x80]),
        text("\\0\\b\\n\\r\\t\\Z\\\\\\'\\\"\\%\\_\\q''x' /* glue */ 'tail"),
        Buffer.from([0xfe]),
        text("')"),
      ]),
    expected: Buffer.concat([Buffer.from([0xff, 0x80, 0x00, 0x08, 0x0a, 0x0d, 0x09, 0x1a, 0x5c, 0x27, 0x22]), text("\\%\\_q'xtail"), Buffer.from([0xfe])]),
  },
  {
    name: 'every byte under NO_BACKSLASH_ESCAPES',
    statement: (id) => Buffer.concat([text(`INSERT INTO blobs VALUES (${id}, '`), escapeLiteral(ALL_BYTES, 0x27, false), text("')")]),
    expected: ALL_BYTES,
    noBackslashEscapes: true,
  },
];

describe('toExecutableText against MariaDB', () => {
  it('stores exactly the bytes the binary statement stores', async () => {
    const originals: Buffer[] = [];
    const conn = await connect();
    try {
      for (const [index, c] of blobCases.entries()) {
        const original = c.statement(index + 1);
        expect(isValidUtf8(original), c.name).toBe(false);
        const mode = c.noBackslashEscapes ? "SET sql_mode = 'NO_BACKSLASH_ESCAPES'" : "SET sql_mode = DEFAULT";
        originals.push(text(`${mode};\n`), original, text(';\n'));

        const rewritten = toExecutableText(c.statement(index + 101), { noBackslashEscapes: c.noBackslashEscapes });
        expect(rewritten, c.name).toContain("X'");
        await conn.query(mode);
        await conn.query(rewritten);
      }
      cli(Buffer.concat(originals));

      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT id, HEX(b) AS hex FROM blobs ORDER BY id');
      const stored = new Map(rows.map((r) => [Number(r.id), String(r.hex)]));
      blobCases.forEach((c, index) => {
        const hex = c.expected.toString('hex').toUpperCase();
        expect(stored.get(index + 1), `${c.name}: original`).toBe(hex);
        expect(stored.get(index + 101), `${c.name}: rewritten`).toBe(hex);
      });
    } finally {
      await conn.end();
    }
  });
});

interface SetCase {
  statement: string;
  probe: string;
  reset?: string;
}

const setCases: SetCase[] = [
  {
    statement: "SET /* Wikimedia\\Rdbms\\DatabaseMysqlBase::open */ group_concat_max_len = 262144, sql_mode = ''",
    probe: 'SELECT @@group_concat_max_len AS a, @@sql_mode AS b',
  },
  { statement: 'SET NAMES utf8mb4 COLLATE utf8mb4_bin', probe: 'SELECT @@character_set_client AS a, @@collation_connection AS b' },
  { statement: 'SET CHARACTER SET latin1', probe: 'SELECT @@character_set_client AS a, @@character_set_results AS b, @@collation_connection AS c' },
  { statement: "SET @`u v` := CONCAT('a', 'b'), @n = -5, @@local.wait_timeout = 777", probe: 'SELECT @`u v` AS a, @n AS b, @@session.wait_timeout AS c' },
  { statement: "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */", probe: 'SELECT @OLD_SQL_MODE AS a, @@sql_mode AS b' },
  {
    // The GLOBAL keyword also covers net_read_timeout: its fragment must not set the session value.
    statement: 'SET GLOBAL max_connections = 321, net_read_timeout = 77',
    probe: 'SELECT @@global.max_connections AS a, @@global.net_read_timeout AS b, @@session.net_read_timeout AS c',
    reset: 'SET GLOBAL max_connections = DEFAULT, net_read_timeout = DEFAULT',
  },
];

describe('SET fragments against MariaDB', () => {
  it.each(setCases)('$statement', async ({ statement, probe, reset }) => {
    const classified = classify(Buffer.from(statement));
    expect(classified.kind).toBe('set');

    const original = await connect();
    await original.query(statement);
    const [want] = await original.query(probe);
    if (reset) await original.query(reset);
    await original.end();

    const replay = await connect();
    for (const a of classified.assignments ?? []) await replay.query(`SET ${a.fragment}`);
    const [got] = await replay.query(probe);
    await replay.end();
    expect(got).toEqual(want);
  });
});
