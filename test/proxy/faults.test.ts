import type net from 'node:net';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/protocol/bytes.js';
import { Capability, Command } from '../../src/protocol/constants.js';
import { frame } from '../../src/protocol/frame.js';
import { JournalReader } from '../../src/journal/journal-reader.js';
import type { JournalEntry } from '../../src/journal/record.js';
import { mariadbCli } from '../harness/clients.js';
import { FakeUpstream } from '../harness/fake-upstream.js';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { freePort } from '../harness/ports.js';
import { errMessage, isErr, isOk, RawClient, type ResponseKind } from '../harness/raw-client.js';
import { insertedId, journaledIdCounts, WriteLoad, writeLoadTableSql } from '../harness/write-load.js';
import { startProxy, sqlOf, type ProxyFixture } from './proxy-fixture.js';

/** How long a misbehaving peer may take to be dealt with. */
const END_WITHIN_MS = 3000;

let db: MariaDB;
let proxy: ProxyFixture;
let loads = 0;

beforeAll(async () => {
  db = await startMariaDB({ name: 'faults' });
  await db.query(`
    CREATE DATABASE t; ${writeLoadTableSql('t.w')};
    CREATE TABLE t.k (id INT PRIMARY KEY, v VARCHAR(50)) ENGINE=InnoDB;
    INSERT INTO t.k VALUES (1, 'one');
    CREATE USER fuzz@'%'; GRANT SELECT ON t.* TO fuzz@'%';`);
  proxy = await startProxy(db.port);
});

afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
});

function connect(port: number, opts: Partial<mysql.ConnectionOptions> = {}) {
  return mysql.createConnection({ host: '127.0.0.1', port, user: 'root', database: 't', connectTimeout: 10_000, ...opts });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Deterministic bytes, so a failure can be replayed. */
function pseudoRandom(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return out;
}

function command(cmd: number, body: Buffer | string = Buffer.alloc(0)): Buffer {
  return Buffer.concat([Buffer.from([cmd]), Buffer.from(body)]);
}

/**
 * Runs `body` while a healthy client writes through `port`, which must not see a single error,
 * before, during or after it.
 */
async function whileHealthy(port: number, body: () => Promise<void>): Promise<void> {
  const load = WriteLoad.start({ port, database: 't', table: 'w', workers: 1, firstId: ++loads * 1_000_000 });
  let errors: string[];
  try {
    await load.untilAcked(5);
    await body();
    await load.untilAcked(5);
  } finally {
    errors = (await load.stop()).errors;
  }
  expect(errors, 'the healthy client saw errors').toEqual([]);
}

/** How the proxy dealt with a misbehaving client: 'closed', or the ERR it answered with. */
async function proxyEnds(c: RawClient): Promise<string> {
  const deadline = Date.now() + END_WITHIN_MS;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`the proxy neither closed the connection nor answered with an ERR within ${END_WITHIN_MS} ms`);
    const p = await c.read(left).catch(() => undefined);
    if (p === null) return 'closed';
    if (p && isErr(p)) return `ERR ${errMessage(p)}`;
  }
}

/** Sessions (and with them their upstream connections) go away once their client is gone. */
async function untilSessions(p: ProxyFixture, count: number): Promise<void> {
  const deadline = Date.now() + END_WITHIN_MS;
  while (p.server.sessions.size !== count) {
    if (Date.now() > deadline) throw new Error(`the proxy still has ${p.server.sessions.size} sessions, expected ${count}`);
    await sleep(20);
  }
}

async function greeted(port: number): Promise<RawClient> {
  const c = await RawClient.open(port);
  const g = await c.read();
  if (!g || isErr(g)) throw new Error('no greeting from the proxy');
  return c;
}

const login = (user = 'root') => RawClient.login(proxy.port, { user, database: 't' });

/** A handshake response up to the user name; the caller appends the rest. */
function handshakeHead(user: string): ByteWriter {
  const caps = Capability.LONG_FLAG | Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH;
  return new ByteWriter().u32(caps).u32(16 * 1024 * 1024).u8(45).bytes(Buffer.alloc(23)).nulString(user);
}

interface Misbehaviour {
  name: string;
  /** Misbehaves on a fresh connection and returns it. */
  act: () => Promise<RawClient>;
  /**
   * How the proxy must react: 'malformed': it closes the connection and counts a protocol error;
   * 'closed': it closes the connection once the client is gone.
   */
  outcome: 'malformed' | 'closed';
}

const MISBEHAVIOURS: Misbehaviour[] = [
  {
    name: 'a truncated packet header, then close',
    outcome: 'closed',
    act: async () => {
      const c = await greeted(proxy.port);
      c.writeRaw(Buffer.from([0x20, 0x00]));
      await sleep(50);
      c.close();
      return c;
    },
  },
  {
    name: 'a header announcing 16 MiB, 10 bytes of it, then close',
    outcome: 'closed',
    act: async () => {
      const c = await greeted(proxy.port);
      c.writeRaw(Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0x01]), Buffer.alloc(10, 0x61)]));
      await sleep(50);
      c.close();
      return c;
    },
  },
  {
    name: 'text instead of the handshake response',
    outcome: 'malformed',
    act: async () => {
      const c = await greeted(proxy.port);
      c.write(1, Buffer.from('this is not a handshake response, just some text sent by a confused client'));
      return c;
    },
  },
  {
    name: 'random bytes instead of the handshake response',
    outcome: 'malformed',
    act: async () => {
      const c = await greeted(proxy.port);
      c.write(1, pseudoRandom(300, 1));
      return c;
    },
  },
  {
    name: 'an HTTP request instead of the handshake response, then end of input',
    outcome: 'closed',
    act: async () => {
      const c = await greeted(proxy.port);
      c.writeRaw(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
      c.socket.end();
      return c;
    },
  },
  {
    name: 'a handshake response whose auth data length runs past the packet',
    outcome: 'malformed',
    act: async () => {
      const c = await greeted(proxy.port);
      c.write(1, handshakeHead('root').u8(200).bytes(Buffer.alloc(5)).toBuffer());
      return c;
    },
  },
  {
    name: 'a command with sequence id 5 after login',
    outcome: 'malformed',
    act: async () => {
      const c = await login();
      c.write(5, command(Command.QUERY, 'SELECT 1'));
      return c;
    },
  },
  {
    name: 'COM_STMT_EXECUTE shorter than its statement id',
    outcome: 'malformed',
    act: async () => {
      const c = await login();
      c.write(0, Buffer.from([Command.STMT_EXECUTE, 0x01, 0x00]));
      return c;
    },
  },
  {
    name: 'COM_STMT_SEND_LONG_DATA shorter than its header',
    outcome: 'malformed',
    act: async () => {
      const c = await login();
      c.write(0, Buffer.from([Command.STMT_SEND_LONG_DATA, 0x01, 0x00, 0x00, 0x00]));
      return c;
    },
  },
  {
    name: 'COM_CHANGE_USER whose auth data length runs past the packet',
    outcome: 'malformed',
    act: async () => {
      const c = await login();
      c.write(0, new ByteWriter().u8(Command.CHANGE_USER).nulString('root').u8(200).bytes(Buffer.alloc(3)).toBuffer());
      return c;
    },
  },
  {
    name: 'an empty command packet',
    outcome: 'malformed',
    act: async () => {
      const c = await login();
      c.write(0, Buffer.alloc(0));
      return c;
    },
  },
  {
    name: '1 MiB of random bytes after the greeting, then end of input',
    outcome: 'closed',
    act: async () => {
      const c = await greeted(proxy.port);
      c.writeRaw(pseudoRandom(1024 * 1024, 2));
      c.socket.end();
      return c;
    },
  },
  {
    name: '1 MiB of random bytes after login, then end of input',
    outcome: 'closed',
    act: async () => {
      const c = await login();
      c.writeRaw(pseudoRandom(1024 * 1024, 3));
      c.socket.end();
      return c;
    },
  },
];

describe('malformed input from clients', () => {
  it.each(MISBEHAVIOURS)('$name: the proxy ends it and goes on serving others', async ({ act, outcome }) => {
    await whileHealthy(proxy.port, async () => {
      const before = proxy.server.sessions.size;
      const errorsBefore = proxy.server.stats.protocolErrors;
      const c = await act();
      expect(await proxyEnds(c)).toBe('closed');
      expect(proxy.server.stats.protocolErrors - errorsBefore).toBe(outcome === 'malformed' ? 1 : 0);
      c.close();
      await untilSessions(proxy, before);
    });
    const fresh = await connect(proxy.port);
    const [rows] = await fresh.query('SELECT v FROM k WHERE id = 1');
    expect(rows).toEqual([{ v: 'one' }]);
    await fresh.end();
  });

  it('answers COM_STMT_EXECUTE of an unknown statement id with the server\'s ERR and keeps the connection', async () => {
    await whileHealthy(proxy.port, async () => {
      const c = await login();
      const exec = new ByteWriter().u8(Command.STMT_EXECUTE).u32(987_654).u8(0).u32(1).toBuffer();
      const [answer] = await c.command(exec);
      expect(isErr(answer)).toBe(true);
      expect(errMessage(answer)).toMatch(/Unknown prepared statement handler/);
      const rows = await c.query('SELECT 1');
      expect(isErr(rows[0])).toBe(false);
      c.close();
    });
  });

  it('answers COM_QUERY with no SQL with the server\'s ERR and keeps the connection', async () => {
    await whileHealthy(proxy.port, async () => {
      const c = await login();
      const [answer] = await c.command(command(Command.QUERY));
      expect(isErr(answer)).toBe(true);
      expect(errMessage(answer)).toMatch(/Query was empty/);
      const rows = await c.query('SELECT 1');
      expect(isErr(rows[0])).toBe(false);
      c.close();
    });
  });
});

/** Commands a read-only user may send with any payload, and the shape of their answer (null: none). */
const FUZZED: [number, ResponseKind | null][] = [
  [Command.QUERY, 'resultset'], [Command.INIT_DB, 'simple'], [Command.FIELD_LIST, 'field_list'],
  [Command.STATISTICS, 'raw'], [Command.PROCESS_INFO, 'resultset'], [Command.PING, 'simple'],
  [Command.STMT_PREPARE, 'prepare'], [Command.STMT_EXECUTE, 'resultset'], [Command.STMT_SEND_LONG_DATA, null],
  [Command.STMT_CLOSE, null], [Command.STMT_RESET, 'simple'], [Command.SET_OPTION, 'simple'],
  [Command.STMT_FETCH, 'rows'], [Command.RESET_CONNECTION, 'simple'],
];

describe('random commands', () => {
  it.each([4, 5, 6, 7])('relays 1 MiB of pipelined commands with random payloads (seed %i), every answer whole and in order', async (seed) => {
    await whileHealthy(proxy.port, async () => {
      const errorsBefore = proxy.server.stats.protocolErrors;
      // A user that may only read: random commands can't flush, kill or write anything.
      const c = await login('fuzz');
      const junk = pseudoRandom(1024 * 1024, seed);
      const answers: ResponseKind[] = [];
      for (let off = 0; off < junk.length; off += 16 * 1024) {
        const payload = Buffer.from(junk.subarray(off, off + 16 + (junk.readUInt16LE(off) % (16 * 1024 - 16))));
        const [cmd, answer] = FUZZED[payload[1] % FUZZED.length];
        payload[0] = cmd;
        c.write(0, payload);
        if (answer) answers.push(answer);
      }
      for (const kind of answers) await c.response(kind);
      const [pong] = await c.command(Buffer.from([Command.PING]), 'simple');
      expect(isOk(pong)).toBe(true);
      expect(proxy.server.stats.protocolErrors).toBe(errorsBefore);
      c.close();
    });
  });
});

describe('a failed COM_CHANGE_USER', () => {
  // The server keeps the connection, logged in as before, but resets it as for a successful one:
  // the open transaction is rolled back and session variables are back to their defaults.
  it('is followed like the server does: later writes are journaled, without the dropped transaction and settings', async () => {
    const c = await connect(proxy.port);
    await c.query("SET time_zone = '+03:00'");
    await c.query('BEGIN');
    await c.query("INSERT INTO k VALUES (199, 'rolled back by the failed change')");
    await expect(c.changeUser({ user: 'nobody', password: 'wrong' })).rejects.toThrow(/Access denied/);
    await c.query("INSERT INTO k VALUES (200, 'after a failed change')");
    await c.query("INSERT INTO k VALUES (201, 'after a failed change')");
    c.destroy();

    const rows = (await db.query('SELECT id FROM t.k WHERE id BETWEEN 199 AND 201 ORDER BY id')) as { id: number }[];
    expect(rows.map((r) => r.id)).toEqual([200, 201]);
    const journaled = (await proxy.entries()).filter((e) => /failed change/.test(e.sql.toString()));
    expect(sqlOf(journaled)).toEqual([
      "INSERT INTO k VALUES (200, 'after a failed change')",
      "INSERT INTO k VALUES (201, 'after a failed change')",
    ]);
    expect(journaled[0].session.time_zone).toBeUndefined();
  });
});

describe('a malicious upstream server', () => {
  let fake: FakeUpstream;
  let viaFake: ProxyFixture;
  let greeting: Buffer;

  beforeAll(async () => {
    fake = await FakeUpstream.start(db.port);
    viaFake = await startProxy(fake.port, { limits: { maxPacketBytes: 1024 * 1024 } });
    const real = await RawClient.open(db.port);
    greeting = Buffer.concat((await real.read())!.wire);
    real.close();
  });

  afterAll(async () => {
    await viaFake?.stop();
    await fake?.close();
  });

  /** Plays the server: the greeting, then `answers[i]` to the i-th packet the proxy sends. */
  function serverSaying(first: Buffer, answers: Buffer[]): (s: net.Socket) => void {
    return (s) => {
      s.write(first);
      let i = 0;
      s.on('data', () => {
        if (i < answers.length) s.write(answers[i++]);
      });
    };
  }

  const authOk = () => Buffer.concat(frame(2, Buffer.from([0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00])).buffers);
  const cases: { name: string; script: () => (s: net.Socket) => void; at: 'connect' | 'query' }[] = [
    { name: 'a greeting cut short', at: 'connect', script: () => serverSaying(Buffer.concat(frame(0, Buffer.from('\x0a5.5.5-no-terminator')).buffers), []) },
    { name: 'random bytes as the greeting', at: 'connect', script: () => serverSaying(Buffer.concat(frame(0, pseudoRandom(90, 5)).buffers), []) },
    { name: 'a 16 MiB frame header after the handshake', at: 'connect', script: () => serverSaying(greeting, [Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0x02]), pseudoRandom(64, 6)])]) },
    { name: 'an impossible column count as a query result', at: 'query', script: () => serverSaying(greeting, [authOk(), Buffer.concat(frame(1, Buffer.from([0xfe, 0x01])).buffers)]) },
    { name: 'an OK packet cut short as a query result', at: 'query', script: () => serverSaying(greeting, [authOk(), Buffer.concat(frame(1, Buffer.from([0x00])).buffers)]) },
  ];

  it.each(cases)('$name: the proxy ends that session with an error, others go on', async ({ script, at }) => {
    await whileHealthy(viaFake.port, async () => {
      const before = viaFake.server.sessions.size;
      const errorsBefore = viaFake.server.stats.protocolErrors;
      fake.next(script());
      const t0 = Date.now();
      const attempt = (async () => {
        const c = await connect(viaFake.port);
        try {
          if (at === 'query') await c.query('SELECT 1');
        } finally {
          c.destroy();
        }
      })();
      await expect(attempt).rejects.toThrow();
      expect(Date.now() - t0).toBeLessThan(END_WITHIN_MS);
      expect(viaFake.server.stats.protocolErrors).toBe(errorsBefore + 1);
      await untilSessions(viaFake, before);
    });
    const fresh = await connect(viaFake.port);
    const [rows] = await fresh.query('SELECT v FROM k WHERE id = 1');
    expect(rows).toEqual([{ v: 'one' }]);
    await fresh.end();
  });
});

describe('upstream unreachable', () => {
  it('answers mysql2 and the mariadb CLI at once with an error naming the upstream, when nothing listens there', async () => {
    const port = await freePort();
    const p = await startProxy(port);
    try {
      const where = `127.0.0.1:${port}`;
      let t0 = Date.now();
      const e = await connect(p.port).then(() => null, (err: Error) => err);
      expect(Date.now() - t0).toBeLessThan(6000);
      expect(e?.message).toMatch(/upstream/);
      expect(e?.message).toContain(where);

      t0 = Date.now();
      const cli = await mariadbCli({ host: '127.0.0.1', port: p.port, user: 'root', sql: 'SELECT 1' });
      expect(Date.now() - t0).toBeLessThan(6000);
      expect(cli.code).not.toBe(0);
      expect(cli.stderr).toMatch(/upstream/);
      expect(cli.stderr).toContain(where);
    } finally {
      await p.stop();
    }
  });

  it('answers with an error naming the upstream within connectTimeoutMs when the upstream accepts but never greets', async () => {
    const fake = await FakeUpstream.start(db.port);
    const p = await startProxy(fake.port, { upstream: { host: '127.0.0.1', port: fake.port, connectTimeoutMs: 1000 } });
    try {
      fake.next(() => {}); // accepts the connection, says nothing
      const t0 = Date.now();
      const e = await connect(p.port, { connectTimeout: 1000 + END_WITHIN_MS + 1000 }).then(() => null, (err: Error) => err);
      expect(e?.message).toMatch(/upstream/);
      expect(e?.message).toContain(`127.0.0.1:${fake.port}`);
      expect(Date.now() - t0).toBeLessThan(1000 + END_WITHIN_MS);
    } finally {
      await p.stop();
      await fake.close();
    }
  });
});

describe('upstream stops and restarts under load', () => {
  let up: MariaDB;
  let p: ProxyFixture;

  beforeAll(async () => {
    up = await startMariaDB({ name: 'faults-restart' });
    await up.query(`CREATE DATABASE t; ${writeLoadTableSql('t.w')}`);
    p = await startProxy(up.port);
  });

  afterAll(async () => {
    await p?.stop();
    await up?.stop();
  });

  async function journal(): Promise<JournalEntry[]> {
    const out: JournalEntry[] = [];
    for await (const e of new JournalReader(p.journalDir).entries()) out.push(e);
    return out;
  }

  it('after kill -9 and after a clean stop: clients get errors, the proxy stays up, the journal holds only whole, committed transactions', async () => {
    const load = WriteLoad.start({ port: p.port, database: 't', table: 'w', workers: 4 });
    await load.untilAcked(300);
    const errorsBefore = load.errorCount;

    await up.kill9();
    await sleep(300);
    expect(load.errorCount, 'no client noticed the server was gone').toBeGreaterThan(errorsBefore);
    const down = await connect(p.port).then(() => null, (err: Error) => err);
    expect(down?.message).toMatch(/upstream/);
    await up.restart();
    await load.untilAcked(300);

    const errorsBeforeStop = load.errorCount;
    await up.restart(); // SIGTERM: a clean shutdown, then start again
    await load.untilAcked(300);
    expect(load.errorCount).toBeGreaterThan(errorsBeforeStop);
    const result = await load.stop();

    const c = await connect(p.port);
    await c.query('SELECT COUNT(*) FROM w');
    await c.end();

    expect((await new JournalReader(p.journalDir).verify()).errors).toEqual([]);
    const entries = await journal();
    const txns = new Map<number, JournalEntry[]>();
    for (const e of entries) txns.set(e.txn, [...(txns.get(e.txn) ?? []), e]);
    for (const statements of txns.values()) {
      // The load's transactions insert two consecutive ids; everything else is one autocommit insert.
      const ids = statements.map(insertedId);
      expect([[ids[0]], [ids[0], ids[0]! + 1]], `txn ${statements[0].txn}: ${sqlOf(statements).join('; ')}`).toContainEqual(ids);
      expect(statements.map((s) => s.last)).toEqual(statements.map((_, i) => i === statements.length - 1));
    }
    const counts = journaledIdCounts(entries);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const onServer = new Set(((await up.query('SELECT id FROM t.w')) as { id: number }[]).map((r) => Number(r.id)));
    expect([...counts.keys()].filter((id) => !onServer.has(id)), 'journaled but not committed').toEqual([]);
    expect(result.acked.filter((id) => !counts.has(id)), 'acknowledged but not journaled').toEqual([]);
  });
});

describe('graceful stop', () => {
  /**
   * Opens a transaction with `opening`, begins a stop, then writes `id` and commits during the
   * drain. Returns the journaled transaction holding that write.
   */
  async function commitDuringDrain(opening: (c: mysql.Connection) => Promise<void>, id: number): Promise<string[]> {
    const p = await startProxy(db.port, { shutdown: { drainMs: 3000 } });
    const busy = await connect(p.port);
    const idle = await connect(p.port);
    try {
      await opening(busy);
      const t0 = Date.now();
      const stopped = p.server.stop();
      await sleep(200);
      await expect(connect(p.port), 'a new connection after stop began').rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await expect(idle.query('SELECT 1'), 'an idle session during the drain').rejects.toThrow();

      await busy.query(`INSERT INTO k VALUES (${id}, 'during drain')`);
      await busy.query('COMMIT');
      await stopped;
      expect(Date.now() - t0, 'the stop waited for the drain timeout').toBeLessThan(3000);

      const rows = (await db.query('SELECT id FROM t.k WHERE id = ?', [id])) as { id: number }[];
      expect(rows.map((r) => r.id)).toEqual([id]);
      const entries = await p.entries();
      const txn = entries.find((e) => e.sql.toString().includes(`(${id}, 'during drain')`))?.txn;
      return sqlOf(entries.filter((e) => e.txn === txn));
    } finally {
      busy.destroy();
      idle.destroy();
      await p.stop();
    }
  }

  it('lets a transaction that has written commit during the drain, journals it, refuses new connections', async () => {
    const txn = await commitDuringDrain(async (c) => {
      await c.query('BEGIN');
      await c.query("INSERT INTO k VALUES (100, 'before stop')");
    }, 101);
    expect(txn).toEqual(["INSERT INTO k VALUES (100, 'before stop')", "INSERT INTO k VALUES (101, 'during drain')"]);
  });

  it('lets a transaction that has only read so far (SELECT ... FOR UPDATE) write and commit during the drain', async () => {
    const txn = await commitDuringDrain(async (c) => {
      await c.query('BEGIN');
      await c.query('SELECT v FROM k WHERE id = 1 FOR UPDATE');
    }, 102);
    expect(txn).toEqual(["INSERT INTO k VALUES (102, 'during drain')"]);
  });
});
