// Journal append throughput: 256 virtual connections, each appending single-statement
// transactions one after another (awaiting its previous append, as the proxy does), with
// fsync 'always' (group commit) and 'none'. Run after `npm run build`:
//   node bench/journal-append.mjs [records per mode, default 500000]
// METAMORPH_DIST points at another build of src/ (default ../dist next to this file).
import { mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = resolve(process.env.METAMORPH_DIST ?? join(import.meta.dirname, '../dist'));
const { JournalWriter } = await import(pathToFileURL(join(dist, 'journal/journal-writer.js')).href);

const RECORDS = Number(process.argv[2] ?? 500_000);
const CONNECTIONS = 256;
const TARGET = 100_000;

const session = Object.freeze({ sql_mode: "@@SESSION.sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'", names: 'NAMES utf8mb4' });

/** A ~150-byte write with the context the proxy records. */
function transaction(conn, i) {
  const sql = `INSERT INTO sbtest1 (k, c, pad) VALUES (${(i * 7919) % 100000}, '${String(i).padStart(12, '0')}-68487932199-96439406143-93774651418', '${conn}-22195207048-70116052123')`;
  return {
    conn,
    statements: [{ sql: Buffer.from(sql), db: 'sbtest', session, ts: Date.now() * 1000, affectedRows: 1, insertId: String(i + 1), flags: [], kind: 'insert' }],
  };
}

async function run(fsync) {
  // /tmp on the machine's disk, not a tmpfs: fsync must cost what it costs.
  const dir = await mkdtemp('/tmp/metamorph-bench-journal-');
  try {
    const writer = await JournalWriter.open({ dir, fsync });
    let next = 0;
    const connection = async (conn) => {
      while (next < RECORDS) await writer.append(transaction(conn, next++));
    };
    const started = process.hrtime.bigint();
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, c) => connection(c + 1)));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await writer.close();
    return { fsync, records: writer.headSeq, seconds, perSecond: writer.headSeq / seconds, ...writer.stats };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const rows = [];
for (const mode of ['always', 'none']) rows.push(await run(mode));

const table = [
  ['fsync', 'records', 'seconds', 'records/s', 'writes', 'fsyncs', 'records/write', 'MiB written'],
  ...rows.map((r) => [r.fsync, r.records, r.seconds.toFixed(2), Math.round(r.perSecond), r.writes, r.fsyncs, (r.records / r.writes).toFixed(1), (r.bytes / 2 ** 20).toFixed(1)]),
];
const widths = table[0].map((_, i) => Math.max(...table.map((row) => String(row[i]).length)));
for (const row of table) console.log(row.map((cell, i) => String(cell).padStart(widths[i])).join('  '));
const always = rows[0].perSecond;
console.log(`\n${CONNECTIONS} connections; target >= ${TARGET} records/s with fsync always: ${always >= TARGET ? 'met' : 'NOT met'}`);
