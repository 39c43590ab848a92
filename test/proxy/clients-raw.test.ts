import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Capability, Command, ServerStatus } from '../../src/protocol/constants.js';
import { parseEof } from '../../src/protocol/eof-packet.js';
import { parseOk } from '../../src/protocol/ok-packet.js';
import type { Packet } from '../../src/protocol/packet-reader.js';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { RawClient, errMessage, type LoginOptions } from '../harness/raw-client.js';
import { startProxy, sqlOf, type ProxyFixture } from './proxy-fixture.js';
import { JournalCursor } from './journal-cursor.js';
import {
  LONG_DATA, columnDef, decodeResults, execute, executePayload, prepare, queryResults, rowsOf, sendLongData, stmtPayload,
} from './raw-protocol.js';

// Commands and capability combinations that drivers rarely use, spoken packet by packet.

let db: MariaDB;
let proxy: ProxyFixture;
let journal: JournalCursor;
const clients: RawClient[] = [];

async function login(opts: Partial<LoginOptions> = {}): Promise<RawClient> {
  const c = await RawClient.login(proxy.port, { user: 'root', database: 'r', ...opts });
  clients.push(c);
  return c;
}

function command(byte: number, arg = ''): Buffer {
  return Buffer.concat([Buffer.from([byte]), Buffer.from(arg)]);
}

/** Status flags of the packet that ends a result set, in either EOF style. */
function terminatorStatus(p: Packet, deprecateEof: boolean): number {
  expect(p.payload[0]).toBe(0xfe);
  return deprecateEof ? parseOk(p.payload, Capability.PROTOCOL_41).status : parseEof(p.payload).status;
}

beforeAll(async () => {
  db = await startMariaDB({ name: 'clients-raw' });
  await db.query(`
    CREATE DATABASE r; CREATE DATABASE r2;
    CREATE TABLE r.items (id INT PRIMARY KEY, name VARCHAR(20));
    INSERT INTO r.items VALUES (1, 'a'), (2, 'b'), (3, 'c');
    CREATE TABLE r.files (id INT PRIMARY KEY, body MEDIUMBLOB);
    CREATE TABLE r.w (a INT);
    CREATE TABLE r2.w2 (a INT)`);
  proxy = await startProxy(db.port);
  journal = new JournalCursor(proxy);
});

// Each test asserts on its own writes only, even when an earlier one failed before reading its own.
beforeEach(async () => {
  await journal.fresh();
});

afterAll(async () => {
  for (const c of clients) c.close();
  await proxy?.stop();
  await db?.stop();
});

describe.each([false, true])('CLIENT_DEPRECATE_EOF %s', (deprecateEof) => {
  const eofPackets = deprecateEof ? 0 : 1;

  it('a SELECT with rows, an empty result and a multi-result all complete', async () => {
    const c = await login({ deprecateEof, multiStatements: true });
    const select = await c.query('SELECT id, name FROM items ORDER BY id');
    expect(select).toHaveLength(1 + 2 + eofPackets + 3 + 1);
    expect(terminatorStatus(select.at(-1)!, deprecateEof) & ServerStatus.MORE_RESULTS_EXISTS).toBe(0);
    expect(decodeResults(select, c.caps)).toEqual([{ type: 'rows', columns: ['id', 'name'], rows: [['1', 'a'], ['2', 'b'], ['3', 'c']] }]);
    expect(await queryResults(c, 'SELECT id FROM items WHERE id > 100')).toEqual([{ type: 'rows', columns: ['id'], rows: [] }]);
    const multi = await queryResults(c, "SELECT 1 AS one; UPDATE items SET name = 'b' WHERE id = 2; SELECT name FROM items WHERE id = 3; SELECT id FROM items WHERE 0");
    expect(multi).toEqual([
      { type: 'rows', columns: ['one'], rows: [['1']] },
      expect.objectContaining({ type: 'ok', affectedRows: 0 }),
      { type: 'rows', columns: ['name'], rows: [['c']] },
      { type: 'rows', columns: ['id'], rows: [] },
    ]);
    expect(await rowsOf(c, 'SELECT 42')).toEqual([['42']]);
    // A write that matched a row but changed nothing is still a committed write.
    expect(sqlOf(await journal.fresh())).toEqual(["UPDATE items SET name = 'b' WHERE id = 2"]);
  });

  it('a prepared statement: PREPARE response shape, EXECUTE, a cursor with FETCH, CLOSE', async () => {
    const c = await login({ deprecateEof });
    const ps = await prepare(c, 'SELECT id, name FROM items WHERE id >= ? AND name <> ? ORDER BY id');
    expect(ps.packets).toHaveLength(1 + 2 + eofPackets + 2 + eofPackets);
    expect(ps.params).toHaveLength(2);
    expect(ps.columns.map((col) => [col.table, col.name])).toEqual([['items', 'id'], ['items', 'name']]);
    expect(await execute(c, ps.statementId, [2n, 'zz'])).toEqual([{ type: 'rows', columns: ['id', 'name'], rows: [['2', 'b'], ['3', 'c']] }]);

    const opened = await c.command(executePayload(ps.statementId, [1n, 'zz'], { cursor: true }));
    expect(opened).toHaveLength(1 + 2 + 1);
    expect(terminatorStatus(opened[3]!, deprecateEof) & ServerStatus.CURSOR_EXISTS).toBeTruthy();
    const fetch = Buffer.concat([stmtPayload(Command.STMT_FETCH, ps.statementId), Buffer.from([2, 0, 0, 0])]);
    const first = await c.command(fetch, 'rows');
    expect(first).toHaveLength(3);
    const rest = await c.command(fetch, 'rows');
    expect(rest).toHaveLength(2);
    expect(terminatorStatus(rest[1]!, deprecateEof) & ServerStatus.LAST_ROW_SENT).toBeTruthy();

    c.write(0, stmtPayload(Command.STMT_CLOSE, ps.statementId));
    expect(await execute(c, ps.statementId, [1n, 'zz'])).toEqual([{ type: 'err', code: 1243, message: expect.stringMatching(/Unknown prepared statement handler/) }]);
    expect(await rowsOf(c, 'SELECT 1')).toEqual([['1']]);
  });

  it('COM_FIELD_LIST, COM_PING and COM_STATISTICS', async () => {
    const c = await login({ deprecateEof });
    const fields = await c.command(command(Command.FIELD_LIST, 'items\0'), 'field_list');
    expect(fields.slice(0, -1).map((p) => columnDef(p.payload).name)).toEqual(['id', 'name']);
    expect(fields.at(-1)!.payload[0]).toBe(0xfe);
    const ping = await c.command(command(Command.PING), 'simple');
    expect(decodeResults(ping, c.caps)).toEqual([expect.objectContaining({ type: 'ok' })]);
    const stats = await c.command(command(Command.STATISTICS), 'raw');
    expect(stats[0]!.payload.toString()).toMatch(/^Uptime: \d+ {2}Threads: \d+ {2}Questions: \d+/);
    expect(await rowsOf(c, 'SELECT 2')).toEqual([['2']]);
  });
});

describe('session state', () => {
  it('COM_RESET_CONNECTION forgets user variables and settings, keeps the database; the journal follows', async () => {
    const c = await login({ charset: 8 }); // latin1_swedish_ci
    await c.query('SET NAMES utf8mb4');
    await c.query("SET @v = 5, sql_mode = ''");
    await c.query('INSERT INTO w VALUES (1)');
    expect(decodeResults(await c.command(command(Command.RESET_CONNECTION), 'simple'), c.caps)).toEqual([expect.objectContaining({ type: 'ok' })]);
    // The server goes back to the charset of the handshake.
    expect(await rowsOf(c, 'SELECT @v, DATABASE(), @@character_set_client, @@sql_mode = @@GLOBAL.sql_mode')).toEqual([[null, 'r', 'latin1', '1']]);
    await c.query('INSERT INTO w VALUES (2)');
    const [before, after] = await journal.fresh();
    expect(before.session).toMatchObject({ names: 'NAMES utf8mb4', '@v': expect.any(String), sql_mode: expect.any(String) });
    expect(after).toMatchObject({ sql: Buffer.from('INSERT INTO w VALUES (2)'), db: 'r' });
    expect(after.session).toEqual({ names: 'NAMES latin1 COLLATE latin1_swedish_ci' });
  });

  it('COM_CHANGE_USER switches user, database and charset; the journal follows', async () => {
    const c = await login();
    await c.query('SET @v = 1');
    const reply = await c.changeUser({ user: 'app', password: 'apppass', database: 'r2', charset: 8 });
    expect(reply!.payload[0]).toBe(0x00);
    expect(await rowsOf(c, 'SELECT CURRENT_USER(), DATABASE(), @v, @@character_set_client')).toEqual([['app@%', 'r2', null, 'latin1']]);
    await c.query('INSERT INTO w2 VALUES (10)');
    const [e] = await journal.fresh();
    expect(e).toMatchObject({ sql: Buffer.from('INSERT INTO w2 VALUES (10)'), db: 'r2', session: { names: 'NAMES latin1 COLLATE latin1_swedish_ci' } });
  });

  it('a failed COM_CHANGE_USER leaves the session as it was (MariaDB keeps the connection), and later writes are journaled', async () => {
    const c = await login();
    const reply = await c.changeUser({ user: 'app', password: 'wrong', database: 'r2' });
    expect(reply!.payload[0]).toBe(0xff);
    expect(errMessage(reply!)).toMatch(/Access denied for user 'app'/);
    expect(await rowsOf(c, 'SELECT CURRENT_USER(), DATABASE()')).toEqual([['root@127.0.0.1', 'r']]);
    expect(await queryResults(c, 'INSERT INTO w VALUES (11)')).toEqual([expect.objectContaining({ type: 'ok', affectedRows: 1 })]);
    expect((await journal.fresh()).map((e) => [e.sql.toString(), e.db])).toEqual([['INSERT INTO w VALUES (11)', 'r']]);
  });

  it('CLIENT_SESSION_TRACK: OK packets with session state changes pass through; the journal follows the session', async () => {
    const c = await login({ sessionTrack: true, deprecateEof: true });
    const [use] = await c.query('USE r2');
    expect(parseOk(use!.payload, c.caps).status & ServerStatus.SESSION_STATE_CHANGED).toBeTruthy();
    for (const sql of ['SET autocommit = 0', 'INSERT INTO w2 VALUES (30)', 'INSERT INTO w2 VALUES (31)', 'COMMIT']) {
      expect(await queryResults(c, sql)).toEqual([expect.objectContaining({ type: 'ok' })]);
    }
    const e = await journal.fresh();
    expect(e.map((x) => [x.sql.toString(), x.db, x.txn])).toEqual([['INSERT INTO w2 VALUES (30)', 'r2', e[0].txn], ['INSERT INTO w2 VALUES (31)', 'r2', e[0].txn]]);
  });

  it('COM_INIT_DB changes the journaled database; a failed one does not', async () => {
    const c = await login();
    expect(decodeResults(await c.command(command(Command.INIT_DB, 'r2'), 'simple'), c.caps)).toEqual([expect.objectContaining({ type: 'ok' })]);
    await c.query('INSERT INTO w2 VALUES (1)');
    expect(decodeResults(await c.command(command(Command.INIT_DB, 'nope'), 'simple'), c.caps)).toEqual([
      { type: 'err', code: 1049, message: "Unknown database 'nope'" },
    ]);
    await c.query('INSERT INTO w2 VALUES (2)');
    expect((await journal.fresh()).map((e) => [e.sql.toString(), e.db])).toEqual([['INSERT INTO w2 VALUES (1)', 'r2'], ['INSERT INTO w2 VALUES (2)', 'r2']]);
  });
});

describe('prepared statements with long data', () => {
  it('SEND_LONG_DATA then EXECUTE journals the concatenated chunks; STMT_RESET discards pending chunks; CLOSE frees it', async () => {
    const c = await login();
    const ps = await prepare(c, 'INSERT INTO files VALUES (?, ?)');
    const chunks = [Buffer.from([0, 1, 2, 0xff]), Buffer.from("'\\\""), Buffer.alloc(70_000, 0xab)];
    for (const chunk of chunks) sendLongData(c, ps.statementId, 1, chunk);
    expect(await execute(c, ps.statementId, [1n, LONG_DATA])).toEqual([expect.objectContaining({ type: 'ok', affectedRows: 1 })]);

    sendLongData(c, ps.statementId, 1, Buffer.from('discarded'));
    expect(decodeResults(await c.command(stmtPayload(Command.STMT_RESET, ps.statementId), 'simple'), c.caps)).toEqual([expect.objectContaining({ type: 'ok' })]);
    sendLongData(c, ps.statementId, 1, Buffer.from('kept'));
    expect(await execute(c, ps.statementId, [2n, LONG_DATA])).toEqual([expect.objectContaining({ type: 'ok', affectedRows: 1 })]);

    c.write(0, stmtPayload(Command.STMT_CLOSE, ps.statementId));
    expect(await execute(c, ps.statementId, [3n, 'x'])).toEqual([expect.objectContaining({ type: 'err', code: 1243 })]);

    const stored = await db.query('SELECT id, body FROM r.files ORDER BY id');
    expect(stored).toEqual([{ id: 1, body: Buffer.concat(chunks) }, { id: 2, body: Buffer.from('kept') }]);
    expect(sqlOf(await journal.fresh())).toEqual([
      `INSERT INTO files VALUES (1, X'${Buffer.concat(chunks).toString('hex')}')`,
      `INSERT INTO files VALUES (2, X'${Buffer.from('kept').toString('hex')}')`,
    ]);
  });

  it('EXECUTE of statement id -1 (the statement just prepared, pipelined as MariaDB connectors do) is journaled', async () => {
    const c = await login();
    c.write(0, command(Command.STMT_PREPARE, 'INSERT INTO w VALUES (?)'));
    c.write(0, executePayload(0xffffffff, [77n]));
    expect((await c.response('prepare'))[0]!.payload[0]).toBe(0x00);
    expect(decodeResults(await c.response(), c.caps)).toEqual([expect.objectContaining({ type: 'ok', affectedRows: 1 })]);
    expect(sqlOf(await journal.fresh())).toEqual(['INSERT INTO w VALUES (77)']);
  });
});

describe('commands the proxy answers itself', () => {
  it('an unknown command byte gets an ERR and the session continues', async () => {
    const c = await login();
    expect(decodeResults(await c.command(Buffer.from([0x1d]), 'simple'), c.caps)).toEqual([
      { type: 'err', code: 1047, message: expect.stringMatching(/command 0x1d is not supported/) },
    ]);
    expect(await rowsOf(c, 'SELECT 3')).toEqual([['3']]);
  });

  it('pipelined commands get their answers in order, the proxy’s own answers included', async () => {
    const c = await login();
    c.write(0, command(Command.QUERY, 'SELECT SLEEP(0.2) AS slept'));
    c.write(0, Buffer.from([0x1d]));
    c.write(0, command(Command.QUERY, 'SELECT 7 AS seven'));
    expect(decodeResults(await c.response(), c.caps)).toEqual([{ type: 'rows', columns: ['slept'], rows: [['0']] }]);
    expect(decodeResults(await c.response('simple'), c.caps)).toEqual([expect.objectContaining({ type: 'err', code: 1047 })]);
    expect(decodeResults(await c.response(), c.caps)).toEqual([{ type: 'rows', columns: ['seven'], rows: [['7']] }]);
  });

  it('a pipelined transaction is answered in order and journaled once committed', async () => {
    const c = await login();
    for (const sql of ['BEGIN', 'INSERT INTO w VALUES (20)', 'INSERT INTO w VALUES (21)', 'COMMIT', 'SELECT COUNT(*) FROM w WHERE a BETWEEN 20 AND 29']) {
      c.write(0, command(Command.QUERY, sql));
    }
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(...decodeResults(await c.response(), c.caps));
    expect(answers.map((a) => a.type)).toEqual(['ok', 'ok', 'ok', 'ok', 'rows']);
    expect(answers[4]).toMatchObject({ rows: [['2']] });
    const e = await journal.fresh();
    expect(sqlOf(e)).toEqual(['INSERT INTO w VALUES (20)', 'INSERT INTO w VALUES (21)']);
    expect(e[0].txn).toBe(e[1].txn);
  });

  it.each([
    "LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE w",
    "load data concurrent local infile '/etc/hostname' into table w",
    "LOAD XML LOCAL INFILE '/etc/hostname' INTO TABLE w",
    "INSERT INTO w VALUES (5); LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE w",
  ])('refuses %s with a clear ERR, journals nothing, and goes on', async (sql) => {
    const c = await login({ localFiles: true, multiStatements: true });
    const [result, ...more] = await queryResults(c, sql);
    expect(more).toEqual([]);
    expect(result).toEqual({ type: 'err', code: 1235, message: expect.stringMatching(/LOAD DATA LOCAL INFILE is refused/) });
    expect(await rowsOf(c, 'SELECT COUNT(*) FROM w WHERE a = 5')).toEqual([['0']]);
    expect(await journal.fresh()).toEqual([]);
  });
});
