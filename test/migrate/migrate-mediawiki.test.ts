// `metamorph migrate` with the MediaWiki 1.4 -> 1.5 pack: a live 1.4 wiki converted item by item
// at a consistent cut while it keeps being written, then the journal after the cut replayed, must
// give the wiki the 1.5 updater makes of the source's final state; and a stopped conversion
// resumes without redoing items when nothing was written since, from nothing when something was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startProxy, type ProxyFixture } from '../proxy/proxy-fixture.js';
import { TargetSession } from '../../src/apply/target-session.js';
import { ReplayEngine } from '../../src/apply/replay-engine.js';
import { Migration, type MigrateOptions, type MigrateResult } from '../../src/migrate/migrate.js';
import type { Pack } from '../../src/translate/pack.js';
import { loadPack } from '../../src/translate/registry.js';
import { runOracleUpgrade } from '../../src/translate/mediawiki/oracle-updater.js';
import { diffProjections, projectWiki15 } from '../../src/translate/mediawiki/projection.js';
import { generateWiki14 } from '../../src/translate/mediawiki/generate-wiki-1.4.js';
import { CONNECT_OPTIONS_14, MARIADB_ARGS_14, loadSchema14, runWorkload14, type WorkloadOptions14 } from '../../src/translate/mediawiki/workload-1.4.js';

let server: MariaDB;
let pack: Pack;

beforeAll(async () => {
  server = await startMariaDB({ name: 'mg-mediawiki', args: MARIADB_ARGS_14 });
  pack = await loadPack('mediawiki-1.4-to-1.5');
});

afterAll(async () => {
  await server?.stop();
});

const root = () => ({ host: '127.0.0.1', port: server.port, user: 'root', password: '' });

/** A 1.4 database, empty or holding a generated wiki of `wiki`'s size. */
async function createSource(db: string, wiki?: Parameters<typeof generateWiki14>[1]): Promise<void> {
  const setup = await mysql.createConnection({ ...root(), ...CONNECT_OPTIONS_14 });
  try {
    await loadSchema14(setup, db);
    if (wiki) await generateWiki14(setup, wiki);
    // Each case is a migration of its own: the bookkeeping of the one before is not its.
    await setup.query('DROP DATABASE IF EXISTS metamorph_migrate');
  } finally {
    await setup.end();
  }
}

/** Wiki traffic through the proxy; hit counts go to cur (the MEMORY hitcounter has no snapshot). */
function workload(proxy: ProxyFixture, db: string): Omit<WorkloadOptions14, 'clients' | 'actions'> {
  const conn = () => mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: db, ...CONNECT_OPTIONS_14 });
  return { conn, hitcounterUpdateFreq: 1, compressRevisions: true };
}

function options(proxy: ProxyFixture, sourceDb: string, targetDb: string, extra: Partial<MigrateOptions> = {}): MigrateOptions {
  return { source: root(), target: root(), pack, adminSocket: proxy.adminSocket, journalDir: proxy.journalDir, sourceDb, targetDb, ...extra };
}

/** Replays the journal from `from` to its head into `targetDb`; returns the seq applied. */
async function replay(proxy: ProxyFixture, targetDb: string, from: number, consumer: string): Promise<number> {
  const head = proxy.server.journal.headSeq;
  const engine = new ReplayEngine({ journalDir: proxy.journalDir, target: root(), targetDb, pack, consumer, from });
  await engine.start();
  const summary = await engine.finished();
  expect(summary.flagged).toBe(0);
  expect(summary.appliedSeq).toBe(head);
  return summary.appliedSeq;
}

/** Differences between `converted` and the updater's conversion of `source` as it is now. */
async function diffFromOracle(source: string, converted: string, oracle: string): Promise<string[]> {
  const session = await TargetSession.open(root());
  try {
    await runOracleUpgrade(session, source, oracle);
    return diffProjections(await projectWiki15(session, converted), await projectWiki15(session, oracle), ['converted', 'oracle']);
  } finally {
    await session.close();
  }
}

async function doneItems(): Promise<Map<string, string>> {
  const rows = await server.query("SELECT item_type, item_key, CAST(done_at AS CHAR(26)) AS done_at FROM metamorph_migrate.items WHERE item_type <> 'target-database' AND done_at IS NOT NULL");
  return new Map((rows as { item_type: string; item_key: string; done_at: string }[]).map((r) => [`${r.item_type} ${r.item_key}`, r.done_at]));
}

/** Runs a migration and stops it once it has converted `items` items in this run. */
async function runAndStopAfter(m: Migration, items: number): Promise<MigrateResult> {
  const watch = setInterval(() => { if (m.status().chunksDone >= items) m.stop(); }, 5);
  try {
    return await m.run();
  } finally {
    clearInterval(watch);
  }
}

describe('migrate with the mediawiki-1.4-to-1.5 pack', () => {
  it('a generated wiki of thousands of pages written during the conversion: converted at the cut, replayed from cut + 1, the same wiki as the 1.5 updater makes', async () => {
    await createSource('live_14', { pages: 3000, revisionsPerPage: 3, users: 100, archivedPages: 50, seed: 40 });
    const proxy = await startProxy(server.port);
    try {
      const traffic = workload(proxy, 'live_14');
      const before = await runWorkload14({ ...traffic, clients: 4, actions: 1500, seed: 41 });
      expect(before.moves + before.deletes).toBeGreaterThan(0);
      const concurrent = runWorkload14({ ...traffic, clients: 3, actions: 600, seed: 42 });
      const result = await new Migration(options(proxy, 'live_14', 'live_15')).run();
      const headAtEnd = proxy.server.journal.headSeq;
      const later = await concurrent;
      expect(result).toMatchObject({ complete: true, replayFrom: result.cutSeq + 1, keptItems: 0 });
      expect(result.convertedItems).toBeGreaterThan(100);
      // The wiki was written while it was converted, and after.
      expect(headAtEnd).toBeGreaterThan(result.cutSeq);
      expect(later.edits + later.creates).toBeGreaterThan(0);
      const items = await doneItems();
      expect(items.size).toBe(result.convertedItems);
      expect([...items.keys()].filter((k) => k.startsWith('page ')).length).toBeGreaterThanOrEqual(3000);
      // Each undelete restores one title, a generated one at most.
      expect([...items.keys()].filter((k) => k.startsWith('archive ')).length).toBeGreaterThanOrEqual(50 - before.undeletes - later.undeletes);
      const [{ n: stale }] = await server.query(`SELECT COUNT(*) AS n FROM metamorph_migrate.items WHERE cut_seq <> ${result.cutSeq}`) as { n: number }[];
      expect(Number(stale)).toBe(0);
      await replay(proxy, 'live_15', result.replayFrom, 'mg-live');
      // A second run finds the copy complete and converts nothing.
      expect(await new Migration(options(proxy, 'live_14', 'live_15')).run()).toMatchObject({ complete: true, cutSeq: result.cutSeq, convertedItems: 0, holdMs: null });
    } finally {
      await proxy.stop();
    }
    expect(await diffFromOracle('live_14', 'live_15', 'live_oracle')).toEqual([]);
    // The archive survived on both sides: 50 pages deleted by the generator, less those the workload restored.
    const [{ source, converted, oracle }] = await server.query(
      'SELECT (SELECT COUNT(*) FROM live_14.archive) AS source, (SELECT COUNT(*) FROM live_15.archive) AS converted, (SELECT COUNT(*) FROM live_oracle.archive) AS oracle',
    ) as { source: number; converted: number; oracle: number }[];
    expect(Number(source)).toBeGreaterThan(100);
    expect(Number(converted)).toBe(Number(source));
    expect(Number(oracle)).toBe(Number(source));
  }, 180_000);

  it('stopped mid-conversion: resumed keeping the items done when nothing was written since, converted again from nothing when something was', async () => {
    await createSource('resume_14');
    const proxy = await startProxy(server.port);
    try {
      const traffic = workload(proxy, 'resume_14');
      await runWorkload14({ ...traffic, clients: 2, actions: 300, seed: 51 });
      // Slowed down to ~200 items/s so that the stops land mid-conversion.
      const slow = { limits: { rowsPerSec: 200 } };
      const first = await runAndStopAfter(new Migration(options(proxy, 'resume_14', 'resume_15', slow)), 15);
      expect(first.complete).toBe(false);
      const afterFirst = await doneItems();
      expect(afterFirst.size).toBeGreaterThanOrEqual(15);

      const second = await runAndStopAfter(new Migration(options(proxy, 'resume_14', 'resume_15', slow)), 15);
      expect(second).toMatchObject({ complete: false, cutSeq: first.cutSeq, keptItems: afterFirst.size });
      const afterSecond = await doneItems();
      expect(afterSecond.size).toBe(afterFirst.size + second.convertedItems);
      for (const [item, doneAt] of afterFirst) expect(afterSecond.get(item), `${item} was kept`).toBe(doneAt);

      await runWorkload14({ ...traffic, clients: 1, actions: 40, seed: 52 });
      const last = await new Migration(options(proxy, 'resume_14', 'resume_15')).run();
      expect(last.cutSeq).toBeGreaterThan(first.cutSeq);
      expect(last).toMatchObject({ complete: true, keptItems: 0 });
      const afterLast = await doneItems();
      expect(afterLast.size).toBe(last.convertedItems);
      expect(afterLast.size).toBeGreaterThan(afterSecond.size);
      for (const [item, doneAt] of afterSecond) expect(afterLast.get(item) ?? '', `${item} was converted again`).not.toBe(doneAt);
      await replay(proxy, 'resume_15', last.replayFrom, 'mg-resume');
    } finally {
      await proxy.stop();
    }
    expect(await diffFromOracle('resume_14', 'resume_15', 'resume_oracle')).toEqual([]);
  }, 120_000);

  it('refuses a target database it did not make, and an item pack without the databases to convert', async () => {
    await createSource('taken_14');
    await server.query('CREATE DATABASE taken_15');
    await server.query('CREATE TABLE taken_15.mine (id INT PRIMARY KEY)');
    const proxy = await startProxy(server.port);
    try {
      expect(() => new Migration({ ...options(proxy, 'taken_14', 'taken_15'), targetDb: undefined })).toThrow(expect.objectContaining({ code: 'MIGRATE_BAD_OPTION' }));
      expect(() => new Migration({ ...options(proxy, 'taken_14', 'taken_15'), sourceDb: undefined })).toThrow(expect.objectContaining({ code: 'MIGRATE_BAD_OPTION' }));
      await expect(new Migration(options(proxy, 'taken_14', 'taken_15')).run()).rejects.toMatchObject({ code: 'MIGRATE_TARGET_NOT_EMPTY' });
      expect(await server.query('SELECT id FROM taken_15.mine')).toEqual([]);
    } finally {
      await proxy.stop();
    }
  }, 30_000);
});
