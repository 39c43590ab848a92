import { existsSync } from 'node:fs';
import { join } from 'node:path';
import mysql, { type Connection, type ResultSetHeader } from 'mysql2/promise';
import type { Logger } from '../log.js';
import { parseProxyConfig } from '../config/proxy-config.js';
import { ProxyServer } from '../proxy/server.js';
import { startLocalMariaDB, type LocalMariaDB } from '../provision/local-mariadb.js';
import { Upgrade } from '../upgrade/orchestrator.js';
import { parseUpgradeConfig } from '../upgrade/upgrade-config.js';
import type { UpgradeReport } from '../upgrade/upgrade-report.js';
import { APPLIED_TABLE } from '../apply/replay-schema.js';
import type { SqlRunner } from '../translate/pack.js';
import { generateWiki14 } from '../translate/mediawiki/generate-wiki-1.4.js';
import { CONNECT_OPTIONS_14, MARIADB_ARGS_14, loadSchema14, runWorkload14, type Counts } from '../translate/mediawiki/workload-1.4.js';
import { runOracleUpgrade } from '../translate/mediawiki/oracle-updater.js';
import { diffProjections, projectWiki15 } from '../translate/mediawiki/projection.js';

export interface DemoOptions {
  /** Everything the demo makes lives here (servers, journal, state). */
  dir: string;
  clients: number;
  pages: number;
  /** Seconds of 1.4 traffic before the operator (the demo) asks for the switchover. */
  warmupSeconds: number;
  /** Pause of each wiki client between its requests. */
  thinkMs: number;
  metricsPort: number;
  log: Logger;
  say: (line: string) => void;
}

export interface DemoSummary {
  report: UpgradeReport;
  workload: Counts;
  /** Errors the upgrade caused in the wiki's requests (refused or lost statements). */
  clientErrors: number;
  /** Journal head minus what reached the new side at the end: acknowledged writes not carried over. */
  writesLost: number;
  /** Differences between the new side and the independent oracle's conversion of the old side's final state. */
  oracleDifferences: string[];
  metricsUrl: string;
}

const SOURCE_DB = 'wikidb';
const TARGET_DB = 'wikidb15';
const ORACLE_DB = 'wikidb15_oracle';
/** Failures the proxy or the switchover would cause; 1.4's own races give others (duplicate keys). */
const UPGRADE_CAUSED = new Set(['ER_OPTION_PREVENTS_STATEMENT', 'ER_UNKNOWN_ERROR', 'ER_UNKNOWN_COM_ERROR', 'PROTOCOL_CONNECTION_LOST', 'ECONNRESET']);

/**
 * The mission on one machine: a MediaWiki 1.4 wiki behind the proxy, busy the whole time, is
 * upgraded online to 1.5 on a second server by `metamorph upgrade` and switched over; the
 * result is compared with what the 1.5 updater itself would make of the old wiki.
 */
export async function runMediawikiDemo(o: DemoOptions): Promise<DemoSummary> {
  const servers: LocalMariaDB[] = [];
  let proxy: ProxyServer | null = null;
  try {
    const [oldDb, newDb] = await Promise.all(['old', 'new'].map((name) => startLocalMariaDB({ baseDir: o.dir, name, args: MARIADB_ARGS_14 })));
    servers.push(oldDb, newDb);
    o.say(`old universe: MariaDB on 127.0.0.1:${oldDb.port}; new universe: MariaDB on 127.0.0.1:${newDb.port}`);
    await createWiki(oldDb.port, o);
    proxy = await ProxyServer.start(parseProxyConfig({
      listen: { host: '127.0.0.1', port: 0 },
      upstream: { host: '127.0.0.1', port: oldDb.port },
      journal: { dir: join(o.dir, 'journal'), fsync: 'always' },
      admin: { socket: join(o.dir, 'proxy.sock') },
      metrics: { host: '127.0.0.1', port: o.metricsPort },
    }), o.log);
    const metricsUrl = `http://127.0.0.1:${proxy.metricsAddress?.port}/metrics`;
    o.say(`proxy on 127.0.0.1:${proxy.address.port} (the wiki's $wgDBserver); live metrics: ${metricsUrl}`);

    const flipped = join(o.dir, 'app-tier-on-1.5');
    const proxyPort = proxy.address.port;
    let interrupted = false;
    const traffic = wikiTraffic(proxyPort, o, () => interrupted || existsSync(flipped));
    o.say(`1.4 wiki traffic through the proxy: ${o.clients} clients (edits, creates, moves, deletes, watchlists, ...)`);

    const upgrade = new Upgrade({ config: upgradeConfig(o, oldDb.port, newDb.port, flipped), log: o.log });
    const progress = setInterval(() => o.say(`  ${describe(upgrade.status())}`), 5000);
    const asked = askForSwitchover(upgrade, o);
    const interrupt = () => {
      interrupted = true;
      o.say('interrupted: stopping and cleaning up');
      upgrade.stop();
    };
    process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
    let outcome;
    try {
      outcome = await upgrade.run();
    } finally {
      clearInterval(progress);
      process.off('SIGINT', interrupt).off('SIGTERM', interrupt);
      interrupted = true;
      await asked;
    }
    const workload = await traffic;
    const writesLost = await carriedOver(proxy, newDb.port);
    const oracleDifferences = await compareWithOracle(oldDb.port, newDb.port);
    return { report: outcome.report, workload, clientErrors: upgradeCaused(workload), writesLost, oracleDifferences, metricsUrl };
  } finally {
    await proxy?.stop();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

function upgradeConfig(o: DemoOptions, oldPort: number, newPort: number, flipped: string) {
  return parseUpgradeConfig({
    pack: 'mediawiki-1.4-to-1.5',
    source: `mysql://root@127.0.0.1:${oldPort}/`,
    proxy: { adminSocket: join(o.dir, 'proxy.sock'), journalDir: join(o.dir, 'journal') },
    provision: { provider: 'existing', dsn: `mysql://root@127.0.0.1:${newPort}/` },
    stateDir: join(o.dir, 'upgrade'),
    migrate: { sourceDb: SOURCE_DB, targetDb: TARGET_DB, workers: 2 },
    verify: { intervalSeconds: 3, repair: true },
    // The "app tier" of the demo is its traffic generator: pointing it at 1.5 ends the 1.4 clients.
    switchover: { maxLagSeconds: 2, hook: { command: `touch '${flipped}'` } },
  }, o.dir);
}

/** A fresh 1.4 wiki with history, users and deleted pages. */
async function createWiki(port: number, o: DemoOptions): Promise<void> {
  const conn = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', ...CONNECT_OPTIONS_14 });
  try {
    await loadSchema14(conn, SOURCE_DB);
    const wiki = await generateWiki14(conn, { pages: o.pages, revisionsPerPage: 4, users: 40, archivedPages: Math.ceil(o.pages / 10), seed: 14 });
    o.say(`generated a MediaWiki 1.4 wiki: ${JSON.stringify(wiki)}`);
  } finally {
    await conn.end();
  }
}

/** 1.4 requests until the app tier is switched; hit counts go to cur as 1.4's default does. */
function wikiTraffic(port: number, o: DemoOptions, switched: () => boolean): Promise<Counts> {
  const conn = () => mysql.createConnection({ host: '127.0.0.1', port, user: 'root', database: SOURCE_DB, ...CONNECT_OPTIONS_14 });
  return runWorkload14({
    conn, clients: o.clients, actions: 1_000_000, seed: 5, hitcounterUpdateFreq: 1, compressRevisions: true, thinkMs: o.thinkMs, stop: switched,
  });
}

/** The operator's part: once the new side is live, verified and caught up, switch over. */
async function askForSwitchover(upgrade: Upgrade, o: DemoOptions): Promise<void> {
  const warm = Date.now() + o.warmupSeconds * 1000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const s = upgrade.status() as unknown as Status;
    if (s.phase !== 'waiting' && s.phase !== 'verify' && s.phase !== 'replay' && s.phase !== 'migrate' && s.phase !== 'provision' && s.phase !== 'accounts') return;
    if (s.phase !== 'waiting' || Date.now() < warm || (s.replay?.lagSeconds ?? 1) > 1 || !s.lastVerification?.clean) continue;
    o.say(`new universe is live, verified (seq ${s.lastVerification.seq}) and caught up: switching over`);
    const r = await upgrade.switchover();
    if (r.ok) {
      o.say('switchover done: the wiki runs on 1.5; finishing');
      await upgrade.finish();
      return;
    }
    o.say(`switchover not done (${String((r.aborted as { reason?: string } | undefined)?.reason ?? r.error)}); the old universe keeps serving; retrying in 2 s`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

interface Status {
  phase: string;
  replay: { appliedSeq: number; lagSeconds: number } | null;
  copy: { progressRatio?: number } | null;
  lastVerification: { seq: number; clean: boolean; differences: number } | null;
}

function describe(raw: Record<string, unknown>): string {
  const s = raw as unknown as Status;
  const parts = [`phase ${s.phase}`];
  if (s.copy?.progressRatio !== undefined && s.phase === 'migrate') parts.push(`copy ${(s.copy.progressRatio * 100).toFixed(0)}%`);
  if (s.replay) parts.push(`replayed through seq ${s.replay.appliedSeq}, lag ${s.replay.lagSeconds.toFixed(1)} s`);
  if (s.lastVerification) parts.push(`last verification at seq ${s.lastVerification.seq}: ${s.lastVerification.clean ? 'clean' : `${s.lastVerification.differences} differences`}`);
  return parts.join(', ');
}

function upgradeCaused(c: Counts): number {
  return Object.entries(c.failuresByCode).filter(([code]) => UPGRADE_CAUSED.has(code)).reduce((n, [, k]) => n + k, 0);
}

/** Acknowledged (journaled) writes the new side has not applied: journal head minus its replay position. */
async function carriedOver(proxy: ProxyServer, newPort: number): Promise<number> {
  const head = await proxy.journal.settledSeq();
  const conn = await mysql.createConnection({ host: '127.0.0.1', port: newPort, user: 'root' });
  try {
    const [rows] = await conn.query(`SELECT MAX(seq) AS seq FROM ${APPLIED_TABLE}`);
    return Math.max(0, head - Number((rows as { seq: number | null }[])[0]?.seq ?? 0));
  } finally {
    await conn.end();
  }
}

/** The 1.5 updater's own restructuring (the oracle) of the old wiki, against what metamorph built. */
async function compareWithOracle(oldPort: number, newPort: number): Promise<string[]> {
  const [oldSide, newSide] = [runner(oldPort), runner(newPort)];
  try {
    await runOracleUpgrade(oldSide, SOURCE_DB, ORACLE_DB);
    return diffProjections(await projectWiki15(oldSide, ORACLE_DB), await projectWiki15(newSide, TARGET_DB), ['oracle', 'metamorph']);
  } finally {
    await Promise.all([oldSide.end(), newSide.end()]);
  }
}

/** Bytes in, Buffers out: the projections compare bytes, whatever the columns' charsets. */
function runner(port: number): SqlRunner & { end(): Promise<void> } {
  let conn: Promise<Connection> | null = null;
  const get = () => (conn ??= mysql.createConnection({ host: '127.0.0.1', port, user: 'root', charset: 'BINARY' }));
  const wire = (sql: string | Buffer) => (typeof sql === 'string' ? Buffer.from(sql, 'utf8') : sql).toString('latin1');
  return {
    async query<T>(sql: string, params?: unknown[]): Promise<T[]> {
      const [rows] = await (await get()).query(wire(sql), params);
      return rows as T[];
    },
    async exec(sql: string | Buffer, params?: unknown[]) {
      const [r] = await (await get()).query<ResultSetHeader>(wire(sql), params);
      return { affectedRows: r.affectedRows, insertId: r.insertId };
    },
    end: async () => { if (conn) await (await conn).end(); },
  };
}
