import { parseArgs } from 'node:util';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import mysql from 'mysql2/promise';
import { createLogger } from '../log.js';
import { parseProxyConfig } from '../config/proxy-config.js';
import { ProxyServer } from '../proxy/server.js';
import { startLocalMariaDB, type LocalMariaDB } from '../provision/local-mariadb.js';
import { runWikiWorkload } from '../demo/wiki-workload.js';
import { ReplayEngine } from '../apply/replay-engine.js';
import { loadPack } from '../translate/registry.js';
import { checksumTables, compareChecksums } from '../verify/checksum-tables.js';

export const DEMO_HELP = `Usage: metamorph demo [--seconds N] [--clients N] [--dir DIR] [--keep]

Runs the proxy end to end on this machine, with nothing to configure:
  1. starts a local MariaDB (the "old universe") and the journaling proxy in front of it,
  2. runs a wiki-like workload through the proxy (transactions, prepared statements,
     rollbacks, binary page text) for --seconds (default 10) with --clients (default 4),
  3. starts a second MariaDB and replays the journal into it,
  4. compares CHECKSUM TABLE of every table on both: equal means the journal holds exactly
     the committed writes.
Needs mariadb-server (bash scripts/install-deps.sh installs it). Files go to --dir
(default: a new directory under /dev/shm or the system temp dir); --keep leaves them.`;

const DB = 'wikidb';

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '10' },
      clients: { type: 'string', default: '4' },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(DEMO_HELP);
    return 0;
  }
  const seconds = Number(values.seconds);
  const clients = Number(values.clients);
  if (!(seconds > 0) || !Number.isInteger(clients) || clients < 1) {
    console.error('demo: --seconds must be > 0 and --clients an integer >= 1');
    return 2;
  }
  const base = values.dir ?? mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'metamorph-demo-'));
  const log = createLogger({ name: 'demo', level: process.env.METAMORPH_LOG_LEVEL ?? 'warn' });
  const servers: LocalMariaDB[] = [];
  let proxy: ProxyServer | null = null;
  const say = (s: string) => console.log(`[demo] ${s}`);
  try {
    say(`working in ${base}`);
    const source = await startLocalMariaDB({ baseDir: base, name: 'source' });
    servers.push(source);
    say(`source MariaDB on 127.0.0.1:${source.port} (pid ${source.pid})`);
    const journalDir = join(base, 'journal');
    proxy = await ProxyServer.start(parseProxyConfig({
      listen: { host: '127.0.0.1', port: 0 },
      upstream: { host: '127.0.0.1', port: source.port },
      journal: { dir: journalDir, fsync: 'always' },
    }), log);
    const { port } = proxy.address;
    say(`proxy on 127.0.0.1:${port}, journal in ${journalDir}`);
    say(`running the wiki workload for ${seconds}s with ${clients} clients through the proxy...`);
    const counts = await runWikiWorkload({
      host: '127.0.0.1', port, user: 'root', password: '', database: DB, clients, seconds,
      onProgress: (c) => say(`  creates ${c.creates}, edits ${c.edits}, views ${c.views}, deletes ${c.deletes}, rolled back ${c.rollbacks}`),
    });
    say(`workload done: ${JSON.stringify(counts)}`);
    await proxy.stop();
    const head = proxy.journal.headSeq;
    proxy = null;
    say(`journal holds ${head} committed statements`);

    const target = await startLocalMariaDB({ baseDir: base, name: 'target' });
    servers.push(target);
    say(`target MariaDB on 127.0.0.1:${target.port}; replaying the journal...`);
    const engine = new ReplayEngine({ journalDir, target: { host: '127.0.0.1', port: target.port, user: 'root' }, pack: await loadPack('identity'), consumer: 'demo', log });
    await engine.start();
    const replayed = await engine.finished();
    say(`replayed ${replayed.statements} statements in ${replayed.transactions} transactions`);

    const a = await mysql.createConnection({ host: '127.0.0.1', port: source.port, user: 'root' });
    const b = await mysql.createConnection({ host: '127.0.0.1', port: target.port, user: 'root' });
    const [sa, sb] = [await checksumTables(a, DB), await checksumTables(b, DB)];
    await Promise.all([a.end(), b.end()]);
    for (const t of sa) say(`  ${t.table}: ${t.rows} rows, checksum ${t.checksum}`);
    const diffs = compareChecksums(sa, sb);
    if (diffs.length > 0) {
      say(`MISMATCH between source and replayed target:\n  ${diffs.join('\n  ')}`);
      return 1;
    }
    say('source and replayed target are identical: every committed write is in the journal, nothing else is');
    return 0;
  } finally {
    if (proxy) await proxy.stop();
    await Promise.all(servers.map((s) => s.stop()));
    if (!values.keep && !values.dir) rmSync(base, { recursive: true, force: true });
  }
}
