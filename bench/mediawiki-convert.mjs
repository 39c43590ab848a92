#!/usr/bin/env node
// MediaWiki 1.4 -> 1.5 bulk conversion rate: `metamorph migrate --pack mediawiki-1.4-to-1.5`
// (in-process, item by item at a cut taken through an in-process proxy) of a generated 1.4 wiki,
// against the 1.5 updater's set-based conversion (runOracleUpgrade: INSERT ... SELECT) of the same
// source in the same run, on the same local MariaDB. The wiki is written by direct multi-row
// INSERTs in the shape runWorkload14 leaves (14-char timestamps, inverse timestamps, 'utf-8' and
// 'utf-8,gzip' history, rights lists, watchlists, links); both results are compared by projection.
// Usage: node bench/mediawiki-convert.mjs [--revisions 100000] [--revisions-per-page 10] [--no-check].
// Run `npm run build` first.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import mysql from 'mysql2/promise';

const dist = process.env.METAMORPH_DIST ?? new URL('../dist/', import.meta.url).pathname;
const { startLocalMariaDB } = await import(join(dist, 'provision/local-mariadb.js'));
const { Migration } = await import(join(dist, 'migrate/migrate.js'));
const { loadPack } = await import(join(dist, 'translate/registry.js'));
const { CONNECT_OPTIONS_14, loadSchema14 } = await import(join(dist, 'translate/mediawiki/workload-1.4.js'));
const { runOracleUpgrade } = await import(join(dist, 'translate/mediawiki/oracle-updater.js'));
const { diffProjections, projectWiki15 } = await import(join(dist, 'translate/mediawiki/projection.js'));
const { TargetSession } = await import(join(dist, 'apply/target-session.js'));
const { ProxyServer } = await import(join(dist, 'proxy/server.js'));
const { parseProxyConfig } = await import(join(dist, 'config/proxy-config.js'));
const { silentLogger } = await import(join(dist, 'log.js'));

const { values } = parseArgs({ options: {
  revisions: { type: 'string', default: '100000' },
  'revisions-per-page': { type: 'string', default: '10' },
  'no-check': { type: 'boolean', default: false },
} });
const revisions = Number(values.revisions);
const perPage = Number(values['revisions-per-page']);
const pages = Math.max(1, Math.round(revisions / perPage));
const users = Math.max(20, Math.round(pages / 40));
const fmt = (n) => Math.round(n).toLocaleString('en-US').replace(/,/g, ' ');
const log = (...a) => console.error(...a);

// ---------------------------------------------------------------- the 1.4 wiki

const WORDS = ('tundra glacier quartz pebble saffron raven granite nectar zephyr apple harbour meadow lantern ' +
  'orchid copper velvet thistle cinder marble juniper falcon prairie cobalt willow ember fjord basalt').split(' ');
const NAMESPACES = [0, 0, 0, 0, 0, 0, 1, 1, 2, 4];
const START_S = Date.UTC(2004, 0, 1) / 1000;

/** A deterministic generator (mulberry32), so every run converts the same wiki. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(1405);
const int = (n) => Math.floor(rand() * n);

function timestamp(seconds) {
  return new Date(seconds * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}
/** 1.4's inverse timestamp: each digit d as 9 - d. */
const inverse = (ts) => ts.replace(/\d/g, (d) => String(9 - Number(d)));
const title = (i) => `${WORDS[i % WORDS.length][0].toUpperCase()}${WORDS[i % WORDS.length].slice(1)}_${WORDS[(i * 7 + 3) % WORDS.length]}_${i}`;
const display = (t) => t.replace(/_/g, ' ');
const userName = (id) => (id === 1 ? 'WikiSysop' : `Editor ${id}`);

/** 1-3 KB of wikitext with links to other pages (some missing: broken links). */
function wikitext(page, links) {
  const parts = [`'''${display(title(page))}''' `];
  const size = 1000 + int(2000);
  let n = parts[0].length;
  while (n < size) {
    const s = `${Array.from({ length: 8 + int(10) }, () => WORDS[int(WORDS.length)]).join(' ')}. `;
    parts.push(s);
    n += s.length;
  }
  parts.push(`\nSee also ${links.map((l) => `[[${display(l)}]]`).join(', ')}.\n`);
  return Buffer.from(parts.join(''));
}

async function insertRows(conn, table, columns, rows) {
  const batch = 1000;
  for (let i = 0; i < rows.length; i += batch) {
    await conn.query(`INSERT INTO ${table} (${columns.join(',')}) VALUES ?`, [rows.slice(i, i + batch)]);
  }
}

/** pages rows in cur, revisions - pages rows in old, spread over the pages; returns row counts. */
async function generateWiki(conn, db) {
  await loadSchema14(conn, db);
  const options = 'quickbar=1\nunderline=1\nhover=1\ncols=80\nrows=25\nsearchlimit=20\nskin=monobook';
  const userRows = Array.from({ length: users }, (_, i) => {
    const id = i + 1;
    return [id, userName(id), '', 'd0be3085fbae73d23da1a400efab0b85', '', `editor.${id}@example.org`, options, timestamp(START_S + id), '197301dede1f402278f9993bd85d08ae'];
  });
  await insertRows(conn, 'user', ['user_id', 'user_name', 'user_real_name', 'user_password', 'user_newpassword', 'user_email', 'user_options', 'user_touched', 'user_token'], userRows);
  const rights = [[1, 'sysop,bureaucrat,developer']];
  for (let id = 2; id <= users; id += 9) rights.push([id, id % 2 ? 'sysop' : 'bot']);
  await insertRows(conn, 'user_rights', ['ur_user', 'ur_rights'], rights);

  const oldTotal = revisions - pages;
  const curColumns = ['cur_id', 'cur_namespace', 'cur_title', 'cur_text', 'cur_comment', 'cur_user', 'cur_user_text', 'cur_timestamp', 'cur_restrictions',
    'cur_counter', 'cur_is_redirect', 'cur_minor_edit', 'cur_is_new', 'cur_random', 'cur_touched', 'inverse_timestamp'];
  const oldColumns = ['old_namespace', 'old_title', 'old_text', 'old_comment', 'old_user', 'old_user_text', 'old_timestamp', 'old_minor_edit', 'old_flags', 'inverse_timestamp'];
  let clock = START_S + users + 10;
  let oldDone = 0;
  const links = [];
  const broken = [];
  // In slices of pages, so that the text of 100 000 revisions is never all in memory.
  const slice = 500;
  for (let first = 1; first <= pages; first += slice) {
    const cur = [];
    const old = [];
    for (let id = first; id < Math.min(first + slice, pages + 1); id++) {
      const ns = NAMESPACES[id % NAMESPACES.length];
      const history = Math.round((oldTotal * id) / pages) - oldDone;
      oldDone += history;
      const linked = [1 + int(pages), 1 + int(pages), 1 + int(pages)];
      const missing = `Missing_${WORDS[int(WORDS.length)]}_${int(pages)}`;
      const targets = [...linked.map(title), missing];
      for (let r = 0; r < history; r++) {
        const ts = timestamp(clock++);
        const user = 1 + int(users);
        const body = wikitext(id, targets);
        const gzip = r % 3 === 0;
        old.push([ns, title(id), gzip ? deflateRawSync(body) : body, r ? 'copyedit' : '', user, userName(user), ts, r % 4 === 1 ? 1 : 0, gzip ? 'utf-8,gzip' : 'utf-8', inverse(ts)]);
      }
      const ts = timestamp(clock++);
      const user = 1 + int(users);
      cur.push([id, ns, title(id), wikitext(id, targets), 'expand', user, userName(user), ts, id % 50 ? '' : 'move=sysop:edit=sysop',
        int(500), 0, 0, history === 0 ? 1 : 0, rand(), ts, inverse(ts)]);
      for (const to of new Set(linked)) links.push([id, to]);
      broken.push([id, missing]);
    }
    await insertRows(conn, 'cur', curColumns, cur);
    await insertRows(conn, 'old', oldColumns, old);
  }
  await insertRows(conn, 'links', ['l_from', 'l_to'], links);
  await insertRows(conn, 'brokenlinks', ['bl_from', 'bl_to'], broken);
  const watch = [];
  for (let u = 1; u <= users; u++) {
    // 1.4 watched a page and its talk page together: two rows.
    for (const p of new Set(Array.from({ length: 5 }, () => 1 + int(pages)))) {
      const ns = NAMESPACES[p % NAMESPACES.length];
      watch.push([u, ns & ~1, title(p)], [u, ns | 1, title(p)]);
    }
  }
  await insertRows(conn, 'watchlist', ['wl_user', 'wl_namespace', 'wl_title'], watch);
  await conn.query(`UPDATE site_stats SET ss_total_edits = ${revisions}, ss_good_articles = ${pages}`);
  return { cur: pages, old: oldTotal, users, watchlist: watch.length, links: links.length };
}

// ---------------------------------------------------------------- the run

const base = mkdtempSync('/dev/shm/metamorph-mw-bench-');
const server = await startLocalMariaDB({ baseDir: '/dev/shm', name: `mw-bench-${process.pid}`,
  args: ['--sql-mode=', '--innodb-buffer-pool-size=1G', '--innodb-log-file-size=256M', '--max-allowed-packet=64M'] });
const root = { host: '127.0.0.1', port: server.port, user: 'root', password: '' };
const journalDir = join(base, 'journal');
const proxyConfig = parseProxyConfig({
  listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: server.port },
  admin: { socket: join(base, 'admin.sock') }, metrics: { host: '127.0.0.1', port: 0 }, journal: { dir: journalDir },
});
const proxy = await ProxyServer.start(proxyConfig, silentLogger());
const setup = await mysql.createConnection({ ...root, ...CONNECT_OPTIONS_14 });
/** Statements the server has run so far (round trips from every client, the bench's own included). */
const questions = async () => Number((await setup.query("SHOW GLOBAL STATUS LIKE 'Questions'"))[0][0].Value);

try {
  let t = performance.now();
  const shape = await generateWiki(setup, 'wiki_14');
  log(`generated ${fmt(shape.cur)} cur + ${fmt(shape.old)} old rows, ${fmt(shape.users)} users, ${fmt(shape.watchlist)} watchlist rows, ${fmt(shape.links)} links in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const migration = new Migration({ source: root, target: root, pack: await loadPack('mediawiki-1.4-to-1.5'), adminSocket: proxyConfig.admin.socket,
    journalDir, sourceDb: 'wiki_14', targetDb: 'wiki_15' });
  const q0 = await questions();
  const cpu0 = process.cpuUsage();
  t = performance.now();
  const result = await migration.run();
  const migrateSeconds = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const roundTrips = (await questions()) - q0;
  if (!result.complete) throw new Error('the migration stopped before converting every item');
  const items = result.convertedItems;
  log(`migrate: ${migrateSeconds.toFixed(2)} s, ${fmt(revisions / migrateSeconds)} revisions/s, ${fmt(items / migrateSeconds)} items/s (${fmt(items)} items), ` +
    `${fmt(roundTrips)} statements = ${(roundTrips / items).toFixed(1)} per item, node CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`);

  const session = await TargetSession.open(root);
  try {
    t = performance.now();
    await runOracleUpgrade(session, 'wiki_14', 'wiki_oracle');
    const oracleSeconds = (performance.now() - t) / 1000;
    log(`oracle (1.5 updater, INSERT ... SELECT): ${oracleSeconds.toFixed(2)} s, ${fmt(revisions / oracleSeconds)} revisions/s`);
    if (!values['no-check']) {
      t = performance.now();
      const diff = diffProjections(await projectWiki15(session, 'wiki_15'), await projectWiki15(session, 'wiki_oracle'), ['migrate', 'oracle']);
      if (diff.length) throw new Error(`the migrated wiki differs from the updater's:\n${diff.join('\n')}`);
      log(`projections equal (checked in ${((performance.now() - t) / 1000).toFixed(1)} s)`);
    }

    console.log(`\nMediaWiki 1.4 -> 1.5 conversion of ${fmt(revisions)} revisions (${fmt(shape.cur)} cur + ${fmt(shape.old)} old, ${fmt(shape.users)} users), one local MariaDB`);
    console.log('| method | revisions | seconds | revisions/s | items/s |');
    console.log('| --- | --- | --- | --- | --- |');
    console.log(`| metamorph migrate (mediawiki-1.4-to-1.5, item by item) | ${fmt(revisions)} | ${migrateSeconds.toFixed(2)} | ${fmt(revisions / migrateSeconds)} | ${fmt(items / migrateSeconds)} |`);
    console.log(`| 1.5 updater (runOracleUpgrade, INSERT ... SELECT) | ${fmt(revisions)} | ${oracleSeconds.toFixed(2)} | ${fmt(revisions / oracleSeconds)} | - |`);
    console.log(`\nmigrate / updater rate: ${(oracleSeconds / migrateSeconds).toFixed(2)}; target >= 20 000 revisions/s: ${revisions / migrateSeconds >= 20_000 ? 'met' : 'not met'}; ` +
      `${(roundTrips / items).toFixed(1)} statements per item; cut hold ${result.holdMs?.toFixed(1)} ms`);
  } finally {
    await session.close();
  }
} finally {
  await setup.end();
  await proxy.stop();
  await server.stop();
  rmSync(server.dir, { recursive: true, force: true });
  rmSync(base, { recursive: true, force: true });
}
