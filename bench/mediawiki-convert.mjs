#!/usr/bin/env node
// MediaWiki 1.4 -> 1.5 bulk conversion rate: `metamorph migrate --pack mediawiki-1.4-to-1.5`
// (in-process, item by item at a cut taken through an in-process proxy) of a generated 1.4 wiki,
// against the 1.5 updater's set-based conversion (runOracleUpgrade: INSERT ... SELECT) of the same
// source in the same run, on the same local MariaDB. The wiki is written by generateWiki14 (direct
// multi-row INSERTs in the shape runWorkload14 leaves); both results are compared by projection.
// Usage: node bench/mediawiki-convert.mjs [--revisions 100000] [--revisions-per-page 10] [--no-check].
// Run `npm run build` first.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';

const dist = process.env.METAMORPH_DIST ?? new URL('../dist/', import.meta.url).pathname;
const { startLocalMariaDB } = await import(join(dist, 'provision/local-mariadb.js'));
const { Migration } = await import(join(dist, 'migrate/migrate.js'));
const { loadPack } = await import(join(dist, 'translate/registry.js'));
const { CONNECT_OPTIONS_14, loadSchema14 } = await import(join(dist, 'translate/mediawiki/workload-1.4.js'));
const { generateWiki14 } = await import(join(dist, 'translate/mediawiki/generate-wiki-1.4.js'));
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
const perPage = Number(values['revisions-per-page']);
const pages = Math.max(1, Math.round(Number(values.revisions) / perPage));
const users = Math.max(20, Math.round(pages / 40));
const revisions = pages * perPage;
const fmt = (n) => Math.round(n).toLocaleString('en-US').replace(/,/g, ' ');
const log = (...a) => console.error(...a);

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
  await loadSchema14(setup, 'wiki_14');
  const shape = await generateWiki14(setup, { pages, revisionsPerPage: perPage, users, archivedPages: Math.round(pages / 50) });
  log(`generated ${fmt(shape.pages)} cur + ${fmt(shape.old)} old rows, ${fmt(shape.archive)} archive rows, ${fmt(shape.users)} users, ${fmt(shape.watchlist)} watchlist rows, ${fmt(shape.links)} links in ${((performance.now() - t) / 1000).toFixed(1)} s`);

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

    console.log(`\nMediaWiki 1.4 -> 1.5 conversion of ${fmt(revisions)} revisions (${fmt(shape.pages)} cur + ${fmt(shape.old)} old, ${fmt(shape.users)} users), one local MariaDB`);
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
