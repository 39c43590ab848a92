// Bulk conversion through the pack's listItems/convertItem: a 1.4 wiki converted item by item
// into 1.5 inside a consistent snapshot, then (online) the journal after the snapshot's position
// replayed on top, must give the wiki the 1.5 updater makes of the source's final state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startProxy } from '../proxy/proxy-fixture.js';
import { adminRequest } from '../../src/admin/admin-client.js';
import { TargetSession } from '../../src/apply/target-session.js';
import { ReplayEngine } from '../../src/apply/replay-engine.js';
import type { Pack } from '../../src/translate/pack.js';
import { loadPack } from '../../src/translate/registry.js';
import { runOracleUpgrade } from '../../src/translate/mediawiki/oracle-updater.js';
import { diffProjections, projectWiki15 } from '../../src/translate/mediawiki/projection.js';
import { SCHEMA_1_5 } from '../../src/translate/mediawiki/schema-1.5.js';
import { generateWiki14 } from '../../src/translate/mediawiki/generate-wiki-1.4.js';
import { CONNECT_OPTIONS_14, MARIADB_ARGS_14, loadSchema14, runWorkload14 } from '../../src/translate/mediawiki/workload-1.4.js';

let server: MariaDB;
let pack: Pack;

beforeAll(async () => {
  server = await startMariaDB({ name: 'mw-convert', args: MARIADB_ARGS_14 });
  pack = await loadPack('mediawiki-1.4-to-1.5');
});

afterAll(async () => {
  await server?.stop();
});

const root = () => ({ host: server.host, port: server.port, user: 'root' });

/**
 * A 1.4 database seeded with generated archived pages, so archive conversion is covered whatever
 * the random workload's deletes and undeletes leave behind; the workload continues after them.
 */
async function createSource(db: string): Promise<void> {
  const setup = await mysql.createConnection({ ...root(), ...CONNECT_OPTIONS_14 });
  try {
    await loadSchema14(setup, db);
    await generateWiki14(setup, { pages: 40, revisionsPerPage: 2, users: 5, archivedPages: 20, seed: 7 });
  } finally {
    await setup.end();
  }
}

/** A fresh 1.5 database with the pack's bookkeeping, and a session using it. */
async function createTarget(db: string): Promise<TargetSession> {
  const admin = await TargetSession.open(root());
  try {
    await admin.exec(`CREATE DATABASE \`${db}\``);
  } finally {
    await admin.close();
  }
  const target = await TargetSession.open({ ...root(), database: db });
  for (const ddl of SCHEMA_1_5) await target.exec(ddl);
  await pack.prepareTarget!(target, db);
  return target;
}

/** Opens a session reading `db` in a consistent snapshot (REPEATABLE READ) taken now. */
async function snapshotOf(db: string): Promise<TargetSession> {
  const source = await TargetSession.open({ ...root(), database: db });
  await source.exec('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  await source.exec('START TRANSACTION WITH CONSISTENT SNAPSHOT');
  return source;
}

/** Every listed item converted, one at a time; the items by type. */
async function convertAll(source: TargetSession, target: TargetSession): Promise<Record<string, number>> {
  const byType: Record<string, number> = {};
  for await (const item of pack.listItems!(source)) {
    await pack.convertItem!(item, source, target);
    byType[item.type] = (byType[item.type] ?? 0) + 1;
  }
  return byType;
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

describe('MediaWiki 1.4 converted item by item into 1.5', () => {
  it('a quiet wiki: the same wiki as the 1.5 updater makes, with complete bookkeeping, and again when converted twice', async () => {
    await createSource('quiet_14');
    const conn = () => mysql.createConnection({ ...root(), database: 'quiet_14', ...CONNECT_OPTIONS_14 });
    const counts = await runWorkload14({ conn, clients: 3, actions: 500, seed: 21, hitcounterUpdateFreq: 10, compressRevisions: true });
    expect(counts.moves).toBeGreaterThan(0);
    expect(counts.deletes).toBeGreaterThan(0);
    const target = await createTarget('quiet_15');
    const source = await snapshotOf('quiet_14');
    try {
      const items = await convertAll(source, target);
      expect(items.user).toBeGreaterThan(1);
      expect(items.page).toBeGreaterThan(10);
      expect(items.archive).toBeGreaterThan(0);
      expect(await diffFromOracle('quiet_14', 'quiet_15', 'quiet_oracle')).toEqual([]);
      // Replay relies on it: every old row is in the id map, under its title, as rev_id = old_id.
      const [{ n: oldRows }] = await source.query<{ n: number }>('SELECT COUNT(*) AS n FROM old');
      const [{ n: mapped, same }] = await target.query<{ n: number; same: number }>('SELECT COUNT(*) AS n, SUM(old_id = rev_id) AS same FROM metamorph_mw_idmap');
      expect(Number(mapped)).toBe(Number(oldRows));
      expect(Number(same)).toBe(Number(oldRows));
      const [{ n: misfiled }] = await target.query<{ n: number }>(
        `SELECT COUNT(*) AS n FROM metamorph_mw_idmap m JOIN quiet_14.old o ON o.old_id = m.old_id
          WHERE o.old_namespace <> m.old_namespace OR o.old_title <> m.old_title`,
      );
      expect(Number(misfiled)).toBe(0);
      // Converting over an already converted target replaces each item's rows.
      await convertAll(source, target);
      expect(await diffFromOracle('quiet_14', 'quiet_15', 'quiet_oracle2')).toEqual([]);
      const [{ n: remapped }] = await target.query<{ n: number }>('SELECT COUNT(*) AS n FROM metamorph_mw_idmap');
      expect(Number(remapped)).toBe(Number(oldRows));
    } finally {
      await source.close();
      await target.close();
    }
  }, 60_000);

  it('a busy wiki: converted in a snapshot while it keeps being written, then the journal after the cut replayed, gives what the updater makes', async () => {
    await createSource('busy_14');
    const proxy = await startProxy(server.port);
    try {
      const conn = () => mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: 'busy_14', ...CONNECT_OPTIONS_14 });
      // Hit counts go to cur: the MEMORY hitcounter table has no snapshot to read it in.
      const workload = { conn, hitcounterUpdateFreq: 1, compressRevisions: true };
      await runWorkload14({ ...workload, clients: 3, actions: 400, seed: 31 });
      const lock = await adminRequest(proxy.adminSocket, 'lock 5000');
      expect(lock.ok).toBe(true);
      const seq = Number(lock.seq);
      let source: TargetSession;
      try {
        source = await snapshotOf('busy_14');
      } finally {
        expect((await adminRequest(proxy.adminSocket, 'unlock')).ok).toBe(true);
      }
      const target = await createTarget('busy_15');
      try {
        const concurrent = runWorkload14({ ...workload, clients: 3, actions: 400, seed: 32 });
        const items = await convertAll(source, target);
        // The wiki was written while it was being converted.
        expect(proxy.server.journal.headSeq).toBeGreaterThan(seq);
        await source.exec('COMMIT');
        const later = await concurrent;
        expect(items.page).toBeGreaterThan(10);
        expect(later.edits + later.creates).toBeGreaterThan(0);
        expect(later.moves + later.deletes).toBeGreaterThan(0);
        const head = proxy.server.journal.headSeq;
        const engine = new ReplayEngine({ journalDir: proxy.journalDir, target: root(), targetDb: 'busy_15', pack, consumer: 'mw-convert', from: seq + 1 });
        await engine.start();
        const summary = await engine.finished();
        expect(summary.appliedSeq).toBe(head);
        expect(summary.flagged).toBe(0);
      } finally {
        await source.close();
        await target.close();
      }
    } finally {
      await proxy.stop();
    }
    expect(await diffFromOracle('busy_14', 'busy_15', 'busy_oracle')).toEqual([]);
  }, 90_000);
});
