// Verification while the source keeps being written through the proxy and a replayer keeps the
// target following: pauseAt holds the replayer at a seq, aligned snapshots compare both sides at
// the same journal seq, `metamorph verify --admin-socket` reports only differences that persist,
// and changedScope names what a journal range wrote.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import mysql, { type Connection } from 'mysql2/promise';
import { ReplayEngine } from '../../src/apply/replay-engine.js';
import { identityPack } from '../../src/translate/identity.js';
import { openAlignedSnapshots } from '../../src/verify/aligned-snapshots.js';
import { changedScope } from '../../src/verify/changed-scope.js';
import { verifyData } from '../../src/verify/verify.js';
import { verifyCommand } from '../../src/cli/verify-command.js';
import { startReplayWorld, stopReplayWorld, type ReplayWorld } from '../apply/replay-fixture.js';
import { root, snapshot, url } from './verify-fixture.js';

let world: ReplayWorld;
let engine: ReplayEngine;
/** Ids the writers insert: never reused across writers. */
let nextId = 100_000;

/** Transactions through the proxy (updates of random rows, inserts) until stopped. */
class Writer {
  private stopping = false;
  private readonly running: Promise<void>;
  writes = 0;

  constructor(private readonly conn: Connection) {
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      await this.conn.query('BEGIN');
      await this.conn.query('UPDATE live.w SET v = v + 1 WHERE id = ?', [1 + Math.floor(Math.random() * 200)]);
      await this.conn.query('INSERT INTO live.w VALUES (?, 0)', [nextId++]);
      await this.conn.query('COMMIT');
      this.writes++;
    }
  }

  /** Rejects when the writer failed (never resolves otherwise). */
  failed(): Promise<never> {
    return this.running.then(() => new Promise<never>(() => {}));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }
}

async function storedSeq(): Promise<number> {
  const rows = await world.target.query("SELECT seq FROM metamorph_replay.applied WHERE consumer = 'replay'");
  return Number(rows[0].seq);
}

beforeAll(async () => {
  world = await startReplayWorld('verify-aligned');
  const conn = await mysql.createConnection({ host: '127.0.0.1', port: world.proxy.port, user: 'root' });
  await conn.query('CREATE DATABASE live');
  await conn.query('CREATE TABLE live.w (id INT PRIMARY KEY, v INT NOT NULL)');
  await conn.query('CREATE TABLE live.fixed (id INT PRIMARY KEY, v VARCHAR(20))');
  for (let i = 1; i <= 200; i++) await conn.query('INSERT INTO live.w VALUES (?, 0)', [i]);
  await conn.query("INSERT INTO live.fixed VALUES (1, 'a'), (2, 'b'), (3, 'c')");
  await conn.end();
  engine = new ReplayEngine({ journalDir: world.proxy.journalDir, target: root(world.target), pack: identityPack, follow: true });
  await engine.start();
  await engine.waitFor(world.proxy.server.journal.headSeq, 20_000);
});

afterAll(async () => {
  await engine?.stop().catch(() => {});
  await stopReplayWorld(world ?? {});
});

async function withWriter<T>(run: (w: Writer) => Promise<T>): Promise<T> {
  const conn = await mysql.createConnection({ host: '127.0.0.1', port: world.proxy.port, user: 'root' });
  const writer = new Writer(conn);
  try {
    while (writer.writes < 20) await Promise.race([writer.failed(), new Promise((r) => setTimeout(r, 10))]);
    return await run(writer);
  } finally {
    await writer.stop();
    await conn.end();
  }
}

describe('verification aligned to journal positions', () => {
  it('pauseAt holds the replayer at exactly that seq while the journal grows; resume lets it catch up', async () => {
    await withWriter(async () => {
      const seq = world.proxy.server.journal.headSeq; // the last seq of a committed transaction
      await engine.pauseAt(seq);
      expect(engine.appliedSeq).toBe(seq);
      await new Promise((r) => setTimeout(r, 300));
      expect(world.proxy.server.journal.headSeq).toBeGreaterThan(seq + 10);
      expect(engine.appliedSeq).toBe(seq);
      expect(await storedSeq()).toBe(seq);
      await expect(engine.pauseAt(seq - 1)).rejects.toThrow(/already applied/);
      engine.resume();
      await engine.waitFor(world.proxy.server.journal.headSeq, 10_000);
      expect(engine.appliedSeq).toBeGreaterThan(seq + 10);
    });
  });

  it('aligned snapshots show both sides at the same seq: clean under constant writes, and a real difference is found', async () => {
    await withWriter(async () => {
      for (let round = 0; round < 2; round++) {
        const snaps = await openAlignedSnapshots({ adminSocket: world.proxy.adminSocket, source: root(world.source), target: root(world.target), engine });
        try {
          expect(snaps.targetSeq).toBe(snaps.seq);
          const report = await verifyData({ pack: identityPack, source: snaps.source, target: snaps.target, chunkRows: 64 });
          expect(report.differences).toEqual([]);
          expect(report.checked.rows).toBeGreaterThan(200);
        } finally {
          await snaps.close();
        }
      }
    });
    // The gate is open again and the replayer resumed: it catches up with the writes.
    await engine.waitFor(world.proxy.server.journal.headSeq, 10_000);
    await world.target.query("UPDATE live.fixed SET v = 'z' WHERE id = 2");
    const [s, t] = [await snapshot(world.source), await snapshot(world.target)];
    try {
      const report = await verifyData({ pack: identityPack, source: s, target: t });
      expect(report.differences.map((d) => `${d.item} ${d.field}`)).toEqual(['live.fixed id=2 v']);
    } finally {
      await Promise.all([s.close(), t.close()]);
      await world.target.query("UPDATE live.fixed SET v = 'b' WHERE id = 2");
    }
  });

  it('a failure after the lock leaves the gate open and the replayer running', async () => {
    const stopped = new ReplayEngine({ journalDir: world.proxy.journalDir, target: root(world.target), pack: identityPack, consumer: 'stopped',
      from: world.proxy.server.journal.headSeq + 1, follow: false }); // applies nothing and ends
    await stopped.start();
    await stopped.finished();
    await withWriter(async () => {
      // The journal has grown past where the stopped replayer ended: it can never reach the seq.
      await expect(openAlignedSnapshots({ adminSocket: world.proxy.adminSocket, source: root(world.source), target: root(world.target), engine: stopped }))
        .rejects.toThrow(/replay ended at seq/);
      expect(world.proxy.server.gate.state).toBe('open');
      const before = engine.appliedSeq;
      await engine.waitFor(before + 5, 10_000);
    });
  });

  it('metamorph verify --admin-socket against a target that keeps replaying: exit 0 when equal, only the persistent difference reported', async () => {
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
    try {
      await withWriter(async () => {
        const args = ['--source', url(world.source), '--target', url(world.target), '--pack', 'identity', '--admin-socket', world.proxy.adminSocket, '--chunk-rows', '50'];
        expect(await verifyCommand(args)).toBe(0);
        expect(out.join('\n')).toMatch(/at journal seq \d+ \(target at \d+/);
        await world.target.query("UPDATE live.fixed SET v = 'changed' WHERE id = 3");
        out.length = 0;
        expect(await verifyCommand(args)).toBe(1);
        expect(out.filter((l) => l.includes('[both]') || l.includes('-only]'))).toEqual(['  live.fixed id=3 [both] v: source="c" target="changed"']);
      });
    } finally {
      log.mockRestore();
      await world.target.query("UPDATE live.fixed SET v = 'c' WHERE id = 3");
    }
  });

  it('changedScope: the tables a journal range wrote (identity), or everything when it cannot tell', async () => {
    const from = world.proxy.server.journal.headSeq;
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: world.proxy.port, user: 'root', database: 'live' });
    try {
      await conn.query("UPDATE fixed SET v = 'b2' WHERE id = 2");
      const mid = world.proxy.server.journal.headSeq;
      await conn.query('UPDATE w SET v = v + 1 WHERE id = 1');
      const to = world.proxy.server.journal.headSeq;
      const s = await snapshot(world.source);
      try {
        expect(await changedScope(world.proxy.journalDir, from, mid, identityPack)).toEqual({ tables: ['live.fixed'] });
        expect(await changedScope(world.proxy.journalDir, from, to, identityPack)).toEqual({ tables: ['live.fixed', 'live.w'] });
        // With the source's schema: the rows (keys as hex of their text), see test/verify/row-scope.test.ts.
        expect(await changedScope(world.proxy.journalDir, from, to, identityPack, { source: s }))
          .toEqual({ tables: [], rows: [{ table: 'live.fixed', keys: [['32']] }, { table: 'live.w', keys: [['31']] }] });
        expect(await changedScope(world.proxy.journalDir, to, to, identityPack)).toEqual({ tables: [] });
        await conn.query('CREATE TRIGGER live.tr BEFORE UPDATE ON live.fixed FOR EACH ROW SET NEW.v = NEW.v');
        await conn.query("UPDATE fixed SET v = 'b3' WHERE id = 2");
        const last = world.proxy.server.journal.headSeq;
        const s2 = await snapshot(world.source);
        try {
          expect(await changedScope(world.proxy.journalDir, to, last, identityPack, { source: s2 })).toEqual({});
        } finally {
          await s2.close();
        }
      } finally {
        await s.close();
      }
    } finally {
      await conn.end();
    }
  });
});
