// End to end: a simulated MediaWiki 1.4 wiki (runWorkload14) writes through the journaling proxy
// into a real 1.4 database; every journal entry is translated by the pack into a real 1.5
// database; the 1.5 updater's conversion of the 1.4 database's final state (the oracle) must
// project to exactly the same wiki.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startProxy, type ProxyFixture } from '../proxy/proxy-fixture.js';
import { TargetSession } from '../../src/apply/target-session.js';
import { ReplayEngine, type ReplaySummary } from '../../src/apply/replay-engine.js';
import { loadPack } from '../../src/translate/registry.js';
import { runOracleUpgrade } from '../../src/translate/mediawiki/oracle-updater.js';
import { diffProjections, projectWiki15 } from '../../src/translate/mediawiki/projection.js';
import { SCHEMA_1_5 } from '../../src/translate/mediawiki/schema-1.5.js';
import { CONNECT_OPTIONS_14, MARIADB_ARGS_14, loadSchema14, runWorkload14, type Counts, type WorkloadOptions14 } from '../../src/translate/mediawiki/workload-1.4.js';

interface ReplayStats extends ReplaySummary { entries: number; seconds: number }

let server: MariaDB;

beforeAll(async () => {
  // Both versions on one server, run as 1.4 expects it (no strict mode).
  server = await startMariaDB({ name: 'mw-e2e', args: MARIADB_ARGS_14 });
});

afterAll(async () => {
  await server?.stop();
});

interface Outcome {
  counts: Counts;
  replay: ReplayStats;
  diff: string[];
}

/** Runs the workload on wiki `name`_14 through a proxy, replays the journal into `name`_15, diffs against the oracle. */
async function convertOnline(name: string, workload: Omit<WorkloadOptions14, 'conn'>): Promise<Outcome> {
  const [source, replayed, oracle] = [`${name}_14`, `${name}_15`, `${name}_oracle`];
  await createDatabases(source, replayed);
  const proxy: ProxyFixture = await startProxy(server.port);
  let counts: Counts;
  let replay: ReplayStats;
  try {
    const conn = () => mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: source, ...CONNECT_OPTIONS_14 });
    counts = await runWorkload14({ ...workload, conn });
    // Every committed write was journaled before its client heard of the commit; the replay
    // engine applies the journal through the pack registered under this name.
    const started = performance.now();
    const engine = new ReplayEngine({
      journalDir: proxy.journalDir,
      target: { host: server.host, port: server.port, user: 'root' },
      targetDb: replayed,
      pack: await loadPack('mediawiki-1.4-to-1.5'),
      consumer: `mw-${name}`,
    });
    await engine.start();
    const summary = await engine.finished();
    expect(summary.appliedSeq).toBe(proxy.server.journal.headSeq);
    replay = { ...summary, entries: summary.statements, seconds: (performance.now() - started) / 1000 };
  } finally {
    await proxy.stop();
  }
  const target = await TargetSession.open({ host: server.host, port: server.port, user: 'root' });
  try {
    await runOracleUpgrade(target, source, oracle);
    const diff = diffProjections(await projectWiki15(target, replayed), await projectWiki15(target, oracle), ['replayed', 'oracle']);
    return { counts, replay, diff };
  } finally {
    await target.close();
  }
}

/** The 1.4 database as the installer leaves it, and its 1.5 counterpart (what a bulk conversion of it gives). */
async function createDatabases(source: string, replayed: string): Promise<void> {
  const setup = await mysql.createConnection({ host: server.host, port: server.port, user: 'root', ...CONNECT_OPTIONS_14 });
  try {
    await loadSchema14(setup, source);
    await setup.query(`CREATE DATABASE \`${replayed}\``);
    await setup.query(`USE \`${replayed}\``);
    for (const ddl of SCHEMA_1_5) await setup.query(ddl);
    await setup.query('INSERT INTO site_stats (ss_row_id,ss_total_views,ss_total_edits,ss_good_articles) VALUES (1,0,0,0)');
  } finally {
    await setup.end();
  }
}

function report(label: string, o: Outcome): void {
  const rate = Math.round(o.replay.entries / o.replay.seconds);
  console.log(`${label}: ${o.replay.entries} journal entries in ${o.replay.transactions} transactions replayed into 1.5 by the replay engine at ${rate} entries/s; ${o.diff.length} differences from the updater's conversion`);
}

describe('MediaWiki 1.4 replayed into 1.5 through the pack', () => {
  it('four concurrent users (races included), compressed history, batched hit counts: the same wiki as the 1.5 updater makes', async () => {
    const o = await convertOnline('busy', { clients: 4, actions: 1000, seed: 11, hitcounterUpdateFreq: 20, compressRevisions: true });
    report('busy wiki', o);
    expect(o.diff).toEqual([]);
    // The run did what it is meant to cover.
    for (const kind of ['creates', 'edits', 'minorEdits', 'conflicts', 'rollbacks', 'moves', 'deletes', 'undeletes', 'protects', 'patrols', 'watches', 'unwatches', 'registrations', 'rightsChanges', 'hitcounterFlushes', 'newtalkNotices'] as const) {
      expect(o.counts[kind], kind).toBeGreaterThan(0);
    }
  }, 60_000);

  it('one user, repeatable run, uncompressed history and hit counts in cur: the same wiki as the 1.5 updater makes', async () => {
    const o = await convertOnline('calm', { clients: 1, actions: 800, seed: 5, hitcounterUpdateFreq: 1, compressRevisions: false });
    report('calm wiki', o);
    expect(o.diff).toEqual([]);
    expect(o.counts.views).toBeGreaterThan(0);
  }, 60_000);
});
