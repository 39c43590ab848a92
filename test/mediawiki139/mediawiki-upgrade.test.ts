import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AdminConnection, adminRequest } from '../../src/admin/admin-client.js';
import type { JournalEntry } from '../../src/journal/record.js';
import { Upgrade, type UpgradeOutcome } from '../../src/upgrade/orchestrator.js';
import type { Reply } from '../../src/upgrade/upgrade-admin.js';
import { identityUpgradeConfig } from '../upgrade/upgrade-fixture.js';
import { parseUpgradeConfig } from '../../src/upgrade/upgrade-config.js';
import { checksumTables, compareChecksums, type TableChecksum } from '../../src/verify/checksum-tables.js';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { freePort } from '../harness/ports.js';
import { startProxy, type ProxyFixture } from '../proxy/proxy-fixture.js';
import { until } from '../upgrade/upgrade-fixture.js';
import { recordingLogger } from './log-records.js';
import { rowDifferences, type RowDifference } from './row-diff.js';
import { countQueries, readGeneralLog, savepointTransactions, threadsOf } from './general-log.js';
import { startPhpWebServer, type PhpWebServer } from './php-web-server.js';
import { generateDump, dumpTitle } from './wiki-dump.js';
import { WikiUser } from './wiki-api.js';
import { WikiEditors, type EditorsReport } from './wiki-editors.js';
import { installWiki, maintenance, wikiErrorLogs, MEDIAWIKI_DIR, requireMediaWiki, WIKI_ADMIN, WIKI_ADMIN_PASSWORD } from './wiki-maintenance.js';

// MediaWiki 1.39 (Debian) installed and imported through the proxy, edited over HTTP by logged-in
// editors while `Upgrade` (pack identity) copies it to a second server, replays, verifies and
// switches over. Nothing the editors did may fail or get lost, and both servers end up equal.

const DB = 'wikidb';
// 180 revisions import in ~6-12 s on 2 cores (~15-30 revisions/s through the proxy, slower when the machine is busy).
const PAGES = 60;
const REVISIONS = 3;
const EDITORS = 4;
/** Imported pages the editors share out (page 40 is a template that other pages include). */
const EDITED_TITLES = Array.from({ length: 16 }, (_, i) => dumpTitle(i * 3 + 1));
/**
 * The editors work before the upgrade starts (until each has moved a page), while it replays and
 * verifies, and after the flip: at least this long and this many edits in the last two stretches,
 * so both servers serve some even when the machine is busy.
 */
const EDIT_STRETCH_MS = 4000;
const EDIT_STRETCH_EDITS = 8;
const MAX_REFUSALS = 3;
const QUIET_MS = 1500;
/** The first server's general log (in its datadir): GET_LOCK and SAVEPOINT are not journaled. */
const GENERAL_LOG = 'general.log';

let source: MariaDB;
let target: MariaDB;
let proxy: ProxyFixture;
let web: PhpWebServer | undefined;
let dir: string;
let editors: WikiEditors | undefined;
let upgrade: Upgrade | undefined;
let running: Promise<UpgradeOutcome> | undefined;
const timings: Record<string, number> = {};

beforeAll(async () => {
  requireMediaWiki();
  dir = mkdtempSync('/dev/shm/metamorph-mw139-');
  [source, target] = await Promise.all([
    startMariaDB({ name: 'mw139-old', args: ['--general-log=1', `--general-log-file=${GENERAL_LOG}`] }),
    startMariaDB({ name: 'mw139-new' }),
  ]);
  proxy = await startProxy(source.port, { switchover: { credentials: { app: 'apppass' } } });
  const webPort = await freePort();
  const { configFile, ms } = await installWiki({
    dbServer: `127.0.0.1:${proxy.port}`, dbName: DB, dbUser: 'app', dbPassword: 'apppass', server: `http://127.0.0.1:${webPort}`, confDir: dir,
  });
  timings.installMs = ms;
  const dump = join(dir, 'dump.xml');
  writeFileSync(dump, generateDump(PAGES, REVISIONS));
  timings.importMs = (await maintenance(configFile, 'importDump', [dump])).ms;
  timings.runJobsMs = (await maintenance(configFile, 'runJobs', [])).ms;
  web = await startPhpWebServer({ port: webPort, docroot: MEDIAWIKI_DIR, configFile, workers: 4, logFile: join(dir, 'php.log') });
}, 120_000);

afterAll(async () => {
  await editors?.stop();
  upgrade?.stop(); // a failed test leaves it running
  await running?.catch(() => {});
  await web?.stop();
  await proxy?.stop();
  await Promise.all([source?.stop(), target?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Status = Record<string, unknown> & { phase: string; replay: { appliedSeq: number } | null; lastVerification: { clean: boolean } | null };

it('MediaWiki 1.39 edited over HTTP during an identity upgrade: no edit fails, every edit is there, both servers equal', async () => {
  const headBefore = await headSeq();
  editors = new WikiEditors({ baseUrl: (web as PhpWebServer).url, user: WIKI_ADMIN, password: WIKI_ADMIN_PASSWORD, editors: EDITORS, titles: EDITED_TITLES });
  const e = editors;
  await e.start();
  await until('every editor moved a page on the first server', () => e.moves >= EDITORS || e.failures > 0, 60_000, () => `${e.moves} moves`);
  await expectNoFailureYet(e);

  const config = parseUpgradeConfig(identityUpgradeConfig({ source, target, proxy, stateDir: join(dir, 'upgrade'), database: DB, chunkRows: 2000 }));
  const { log, records } = recordingLogger('mw139-upgrade', process.env.METAMORPH_TEST_LOG !== undefined);
  const u = new Upgrade({ config, log });
  upgrade = u;
  const upgradeStarted = Date.now();
  running = u.run();
  running.catch(() => {});
  const status = () => u.status() as Status;
  await until('a clean verification with the upgrade waiting for the switchover', () => readyToSwitch(status()), 60_000, () => JSON.stringify(status()));
  const editsAtWaiting = e.edits;
  await editStretch(e);
  await expectNoFailureYet(e);
  const editsBeforeFlip = e.edits;
  const switchoverStarted = Date.now();
  const { reply: forward, refused } = await switchOver(u, status);
  const flippedAt = Date.now();
  expect(forward, JSON.stringify(forward)).toMatchObject({ ok: true, flipped: true, aborted: null });
  expect((forward.verification as { clean: boolean }).clean).toBe(true);
  expect(status()).toMatchObject({ phase: 'switched', active: 'new' });
  const editsAtFlip = e.edits;
  await editStretch(e);
  const report = await e.stop();
  editors = undefined;

  // No edit or view failed, and the wiki shows every page's last edit (served by the new server now).
  expect(report.failures.slice(0, 5), describeFailures(report)).toEqual([]);
  expect(editsAtWaiting).toBeGreaterThan(0);
  expect(report.edits - editsAtFlip).toBeGreaterThan(0);
  await expectEveryEditShown(report);
  expect((await adminRequest(proxy.adminSocket, 'status')).upstream).toBe(`127.0.0.1:${target.port}`);
  expect(await servingPort()).toBe(target.port);

  // The reverse replay brings the old server to the journal head: then every table is equal.
  const head = await untilReplayedQuietHead(() => status().replay?.appliedSeq ?? 0);
  expect(head).toBeGreaterThan(forward.lockedSeq as number);
  const [oldSums, newSums] = [await checksums(source), await checksums(target)];
  expect(oldSums.length).toBeGreaterThan(50);
  const differing = compareChecksums(oldSums, newSums);
  expect(differing, await describeRowDifferences(differing)).toEqual([]);

  const verifications = await expectDifferencesOnlyWhereNoSnapshotReaches(records, refused);
  const entries = await proxy.entries();
  const idioms = expectWriteIdiomsJournaled(entries, headBefore);
  const locksAndSavepoints = expectLocksAndSavepointsSent(entries, report.moves.filter((m) => m.done < switchoverStarted).length);

  const outcome = await finish(u);
  const measured = {
    ...timings, dump: `${PAGES} pages x ${REVISIONS} revisions`, editors: EDITORS,
    edits: report.edits, views: report.views, moves: report.moves.length, failures: report.failures.length, editsBeforeWaiting: editsAtWaiting, editsWhileWaiting: editsBeforeFlip - editsAtWaiting,
    editsAfterFlip: report.edits - editsAtFlip, slowestEditMs: report.slowestEdit.ms, slowestEditEndedMsAfterFlip: report.slowestEdit.endedAt - flippedAt,
    slowestViewMs: report.slowestView.ms, slowestViewEndedMsAfterFlip: report.slowestView.endedAt - flippedAt,
    upgradeToFlipMs: flippedAt - upgradeStarted, holdMs: forward.holdMs, lockedSeq: forward.lockedSeq, finalSeq: forward.finalSeq,
    steps: forward.steps, journalEntries: entries.length, idioms, ...locksAndSavepoints, ...verifications, refusedSwitchovers: refused,
    tables: oldSums.length, rows: oldSums.reduce((n, t) => n + t.rows, 0), statementsReplayed: outcome.report.statementsReplayed, cutSeq: outcome.report.cutSeq,
  };
  console.log(`mediawiki139 upgrade: ${JSON.stringify(measured)}`);
}, 150_000);

// What failed the page moves that were in progress at the flip, reduced to MovePage's statements:
// the session is inside a transaction that has read but not written when the proxy flips, so it
// moves at its first write; the savepoint it took on the old server must exist on the new one.
it('a savepoint taken before the flip in a transaction that had only read survives the move (MovePage::moveUnsafe)', async () => {
  const serving = String((await adminRequest(proxy.adminSocket, 'status')).upstream);
  const other = serving === `127.0.0.1:${source.port}` ? target : source;
  // Its own database on both servers (a replica at the lock), whatever the test before it left.
  for (const server of [source, target]) {
    await server.query('CREATE DATABASE savepoints; CREATE TABLE savepoints.page (page_id INT PRIMARY KEY, page_touched VARBINARY(14) NOT NULL); INSERT INTO savepoints.page VALUES (1, \'20260101000000\')');
  }
  const conn = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'app', password: 'apppass', database: 'savepoints' });
  const admin = await AdminConnection.open(proxy.adminSocket);
  try {
    await conn.query('BEGIN /* Wikimedia\\Rdbms\\Database::beginIfImplied */');
    const [[page]] = await conn.query('SELECT page_id FROM page ORDER BY page_id LIMIT 1') as unknown as [{ page_id: number }[]];
    await conn.query('SAVEPOINT /* MovePage::moveUnsafe  */ `wikimedia_rdbms_atomic1`');
    expect(await admin.request('lock 3000 lease')).toMatchObject({ ok: true, state: 'locked' });
    expect(await admin.request(`flip 127.0.0.1:${other.port} 3000`)).toMatchObject({ ok: true, upstream: `127.0.0.1:${other.port}`, pending: 1 });
    expect(await admin.request('unlock')).toMatchObject({ ok: true });
    await conn.query(`UPDATE /* MovePage::moveToInternal  */ page SET page_touched = '20300101000000' WHERE page_id = ${page.page_id}`);
    await conn.query('RELEASE /* MovePage::moveUnsafe  */ SAVEPOINT `wikimedia_rdbms_atomic1`');
    await conn.query('COMMIT');
    const [[row]] = await conn.query(`SELECT @@port AS port, page_touched FROM page WHERE page_id = ${page.page_id}`) as unknown as [{ port: number; page_touched: Buffer }[]];
    expect({ port: row.port, touched: String(row.page_touched) }).toEqual({ port: other.port, touched: '20300101000000' });
  } finally {
    admin.close();
    await conn.end().catch(() => {});
  }
});

async function expectEveryEditShown(report: EditorsReport): Promise<void> {
  const reader = new WikiUser((web as PhpWebServer).url);
  expect(report.lastText.size).toBe(EDITED_TITLES.length);
  for (const [title, text] of report.lastText) expect(await reader.raw(title), title).toBe(text);
  expect(report.moves.length).toBeGreaterThan(0);
  for (const m of report.moves) {
    expect(await reader.raw(m.to), m.to).toBe(m.text);
    expect(await reader.raw(m.from), m.from).toMatch(new RegExp(`^#REDIRECT \\[\\[${m.to}\\]\\]`));
  }
}

/**
 * Every verification pass is clean: full passes leave out tables no snapshot holds still
 * (MediaWiki's MyISAM searchindex; reported as a note) and the switchover's check with writes
 * held compares them. A switchover may be refused only when a request's write transaction
 * outlasts the lock budget (MediaWiki parses inside its edit transaction: seconds on a busy machine).
 */
async function expectDifferencesOnlyWhereNoSnapshotReaches(records: Record<string, unknown>[], refused: unknown[]) {
  const notInnoDb = await nonInnoDbTables(source);
  const passes = records.filter((r) => r.msg === 'verification');
  const unclean = passes.filter((r) => r.clean === false);
  expect(unclean.map((r) => r.differences)).toEqual([]);
  for (const r of refused) expect(matches(r, REFUSED_BUSY), JSON.stringify(r)).toBe(true);
  return { verifications: passes.length, uncleanVerifications: unclean.length, nonInnoDbTables: notInnoDb };
}

const REFUSED_BUSY = { step: 'lock', reason: /^the proxy refused lock: not quiesced within \d+ ms/ };

function matches(refusal: unknown, m: { step: string; reason: RegExp }): boolean {
  const r = refusal as { step?: string; reason?: string } | null;
  return r?.step === m.step && m.reason.test(r.reason ?? '');
}

/** INSERT IGNORE, REPLACE and upserts in the journal: counts overall and since the editors started. */
function expectWriteIdiomsJournaled(entries: JournalEntry[], editorsFromSeq: number) {
  // MediaWiki puts its caller comment after the verb: INSERT /* Class::method */ IGNORE INTO …
  const idioms: Record<string, RegExp> = {
    insertIgnore: /^\s*INSERT\s+IGNORE\b/i,
    replace: /^\s*REPLACE\b/i,
    upsert: /^\s*INSERT\b[\s\S]*\bON DUPLICATE KEY UPDATE\b/i,
  };
  const texts = entries.map((e) => ({ seq: e.seq, sql: withoutComments(e.sql.toString('latin1')) }));
  const counts = Object.fromEntries(Object.entries(idioms).map(([k, re]) => {
    const hits = texts.filter((t) => re.test(t.sql));
    return [k, { all: hits.length, duringEdits: hits.filter((t) => t.seq > editorsFromSeq).length }];
  }));
  for (const [k, c] of Object.entries(counts)) expect(c.duringEdits, k).toBeGreaterThan(0);
  return counts;
}

/**
 * GET_LOCK and SAVEPOINT are not journaled: the first server's general log shows MediaWiki sent
 * them through the proxy, and that its savepoint transactions committed with every surviving write
 * journaled. Each page move that ended before the switchover began ran there inside a savepoint.
 */
function expectLocksAndSavepointsSent(entries: JournalEntry[], movesOnOld: number) {
  const logged = readGeneralLog(join(source.dir, 'data', GENERAL_LOG));
  const app = threadsOf(logged, 'app');
  const getLocks = countQueries(logged, app, /\bGET_LOCK\s*\(/i);
  const savepoints = countQueries(logged, app, /^\s*(\/\*.*?\*\/\s*)?SAVEPOINT\b/is);
  expect(getLocks).toBeGreaterThan(0);
  const txns = savepointTransactions(logged, app);
  const committed = txns.filter((t) => t.end === 'commit' && t.writes.length > 0);
  expect(movesOnOld).toBeGreaterThan(0);
  expect(savepoints).toBeGreaterThanOrEqual(movesOnOld);
  expect(committed.length).toBeGreaterThanOrEqual(movesOnOld);
  const journaled = new Set(entries.map((e) => e.sql.toString('latin1')));
  const writes = committed.flatMap((t) => t.writes);
  expect(writes.filter((w) => !journaled.has(w)).slice(0, 5)).toEqual([]);
  return {
    getLocks, savepoints, movesOnOld,
    savepointTxns: {
      total: txns.length, committedWithWrites: committed.length, writesChecked: writes.length,
      rolledBack: txns.filter((t) => t.end === 'rollback').length, rollbacksToSavepoint: txns.reduce((n, t) => n + t.rolledBackToSavepoint, 0),
    },
  };
}

/**
 * The journal head once the reverse replay has applied it and nothing was journaled for a while:
 * MediaWiki keeps writing after the editors' last responses (deferred updates and jobs run after
 * the response is sent), so the head when they stop is not the end.
 */
async function untilReplayedQuietHead(appliedSeq: () => number): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const head = await headSeq();
    await until('the reverse replay reaches the journal head', () => appliedSeq() >= head, Math.max(1, deadline - Date.now()), () => `applied ${appliedSeq()}, head ${head}`);
    await new Promise((r) => setTimeout(r, QUIET_MS));
    if (await headSeq() === head) return head;
    if (Date.now() > deadline) throw new Error(`the journal never went quiet for ${QUIET_MS} ms (head ${head})`);
  }
}

function readyToSwitch(s: Status): boolean {
  return s.phase === 'waiting' && s.lastVerification?.clean === true;
}

/**
 * upgrade.switchover() once a verification is clean. A pass that finds a difference between that
 * check and the switchover makes it refuse (precondition); then it waits for the next clean pass.
 */
async function switchOver(u: Upgrade, status: () => Status): Promise<{ reply: Reply; refused: unknown[] }> {
  const refused: unknown[] = [];
  for (;;) {
    await until('a clean verification before the switchover', () => readyToSwitch(status()), 60_000, () => JSON.stringify(status()));
    const reply = await u.switchover();
    if (reply.ok || refused.length === MAX_REFUSALS) return { reply, refused };
    refused.push(reply.aborted);
  }
}

async function editStretch(e: WikiEditors): Promise<void> {
  const [from, started] = [e.edits, Date.now()];
  await until(`${EDIT_STRETCH_EDITS} edits`, () => (e.edits - from >= EDIT_STRETCH_EDITS && Date.now() - started >= EDIT_STRETCH_MS) || e.failures > 0, 60_000, () => `${e.edits - from} edits`);
}

/** Ends the test at the first failed request, with what the wiki answered. */
async function expectNoFailureYet(e: WikiEditors): Promise<void> {
  if (e.failures === 0) return;
  const report = await e.stop();
  expect(report.failures.slice(0, 5), describeFailures(report)).toEqual([]);
}

async function finish(u: Upgrade): Promise<UpgradeOutcome> {
  expect(await u.finish()).toMatchObject({ ok: true, phase: 'finished', active: 'new' });
  const outcome = await (running as Promise<UpgradeOutcome>);
  upgrade = undefined;
  expect(outcome.result).toBe('finished');
  return outcome;
}

function withoutComments(sql: string): string {
  return sql.replace(/\/\*[\s\S]*?\*\//g, ' ');
}

function describeFailures(r: EditorsReport): string {
  const failures = r.failures.slice(0, 10).map((f) => `${f.what} ${f.title} at ${new Date(f.at).toISOString()}: ${f.outcome.error}`);
  return `${r.failures.length} of ${r.edits} edits / ${r.views} views failed:\n${failures.join('\n')}\n${wikiErrorLogs(dir)}`;
}

async function headSeq(): Promise<number> {
  return Number((await adminRequest(proxy.adminSocket, 'position')).headSeq);
}

async function servingPort(): Promise<number> {
  const conn = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'app', password: 'apppass' });
  try {
    const [[row]] = await conn.query('SELECT @@port AS port') as unknown as [{ port: number }[]];
    return Number(row.port);
  } finally {
    await conn.end();
  }
}

/** Which rows differ in the tables whose checksums differ ("table: source … target …" lines). */
async function describeRowDifferences(differing: string[]): Promise<string> {
  const rows: RowDifference[] = [];
  for (const line of differing) rows.push(...await rowDifferences(source.port, target.port, DB, line.split(':')[0]));
  return rows.map((r) => `${r.table} ${r.key}:\n  old ${r.old}\n  new ${r.new}`).join('\n');
}

/** 'db.table' of every table of the wiki that is not InnoDB. */
async function nonInnoDbTables(server: MariaDB): Promise<string[]> {
  const rows = await server.query("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' AND ENGINE <> 'InnoDB'", [DB]) as { t: string }[];
  return rows.map((r) => `${DB}.${r.t}`);
}

async function checksums(server: MariaDB): Promise<TableChecksum[]> {
  const conn = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root' });
  try {
    return await checksumTables(conn, DB);
  } finally {
    await conn.end();
  }
}

