import { parseArgs } from 'node:util';
import type { ConnectionOptions } from 'mysql2/promise';
import { parseDsn, redactDsn } from '../provision/dsn.js';
import type { Pack } from '../translate/pack.js';
import { loadPack, packNames } from '../translate/registry.js';
import { openAlignedSnapshots, openSnapshot, type AlignedSnapshots } from '../verify/aligned-snapshots.js';
import { verifyInRounds } from '../verify/verify-rounds.js';
import { repairDifferences, scopeOf, VerifyError, type Difference, type VerifyReport } from '../verify/verify.js';

export const VERIFY_HELP = `Usage: metamorph verify --source URL --target URL --pack NAME
                        [--source-db NAME --target-db NAME] [--databases a,b]
                        [--chunk-rows N] [--max-differences N] [--repair] [--json]
                        [--admin-socket PATH [--consumer NAME] [--rounds N]]

Compares the source with the target as the pack maps one onto the other (packs:
${packNames().join(', ')}), each side read in one consistent snapshot, and prints every difference:
the item, the side it is on (source-only, target-only, both), the field and both values.

- identity: every table of every database (system ones and metamorph_* left out) in primary-key
  chunks: row count and BIT_XOR/SUM of a CRC32 per row (NULL and '' told apart, bytes compared
  as bytes) on both sides; a chunk that differs is compared row by row, a row column by column.
  A table without a usable primary key is compared whole. Tables missing on one side and
  tables whose definition differs are differences too.
- item packs (mediawiki-1.4-to-1.5): each logical item (page, user) projected on both sides
  the way the pack maps them (ids the translation renumbers left out), compared field by field.

Options:
  --source URL         the source database itself (mysql://user:pass@host:port/[db]), not the
                       proxy; identity: a database in the path compares only that one
  --target URL         the target server
  --pack NAME          how the target relates to the source
  --source-db NAME     item packs: the source database (identity: compare just this database
  --target-db NAME     with --target-db on the target)
  --databases a,b      identity: only these databases
  --chunk-rows N       rows per checksum chunk (default 1000)
  --max-differences N  stop after N differences (default 1000)
  --repair             make the target match the source for each difference (identity: delete the
                       target's rows and insert the source's; item packs: convert the item again),
                       then verify those again. The source is read as of its snapshot: run it while
                       the replayer is stopped, or with --admin-socket so both sides are aligned
  --admin-socket PATH  the proxy's admin socket: its write gate is locked for a moment to open the
                       source snapshot at a known journal seq, and the target is compared once its
                       replay position (metamorph_replay.applied of --consumer) has reached that
                       seq. The target keeps replaying, so it may be a little ahead: differences
                       are checked again in up to --rounds aligned rounds and only those that
                       persist are reported
  --consumer NAME      the replayer's --name (default "replay")
  --rounds N           aligned rounds at most (default 3)
  --json               the report as JSON on stdout
  -h, --help           this text

Exit codes: 0 no difference (or all repaired), 1 differences (or a failure), 2 usage.`;

export async function verifyCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      source: { type: 'string' },
      target: { type: 'string' },
      pack: { type: 'string' },
      'source-db': { type: 'string' },
      'target-db': { type: 'string' },
      databases: { type: 'string' },
      'chunk-rows': { type: 'string', default: '1000' },
      'max-differences': { type: 'string', default: '1000' },
      repair: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'admin-socket': { type: 'string' },
      consumer: { type: 'string', default: 'replay' },
      rounds: { type: 'string', default: '3' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(VERIFY_HELP);
    return 0;
  }
  const usage = (problem: string) => {
    console.error(`verify: ${problem} (metamorph verify --help for usage)`);
    return 2;
  };
  if (!values.source || !values.target || !values.pack) return usage('--source, --target and --pack are required');
  const chunkRows = Number(values['chunk-rows']);
  const maxDifferences = Number(values['max-differences']);
  const rounds = Number(values.rounds);
  for (const [name, n] of [['--chunk-rows', chunkRows], ['--max-differences', maxDifferences], ['--rounds', rounds]] as const) {
    if (!Number.isInteger(n) || n < 1) return usage(`${name} must be an integer >= 1`);
  }
  let source: ConnectionOptions;
  let target: ConnectionOptions;
  let pack: Pack;
  try {
    source = connection(values.source);
    target = connection(values.target);
    pack = await loadPack(values.pack);
  } catch (err) {
    return usage((err as Error).message); // a malformed URL or an unknown pack
  }
  // As with migrate: a database in the source URL's path is the one compared (identity).
  const databases = values.databases?.split(',').map((d) => d.trim()).filter((d) => d !== '')
    ?? (pack.name === 'identity' && typeof source.database === 'string' ? [source.database] : undefined);
  const options = {
    pack, chunkRows, maxDifferences,
    ...(databases ? { databases } : {}),
    ...(values['source-db'] ? { sourceDb: values['source-db'] } : {}),
    ...(values['target-db'] ? { targetDb: values['target-db'] } : {}),
  };
  const adminSocket = values['admin-socket'];
  const open = adminSocket
    ? () => openAlignedSnapshots({ adminSocket, source, target, consumer: values.consumer })
    : () => plainSnapshots(source, target);
  try {
    const { report, rounds: ran, last } = await verifyInRounds(open, options, rounds);
    let repair: { repaired: string[]; failed: { item: string; reason: string }[]; after: VerifyReport } | null = null;
    try {
      if (values.repair && report.differences.length > 0) {
        const done = await repairDifferences(report, { ...options, source: last.source, target: last.target });
        repair = { ...done, after: await verifyAgain(open, options, report.differences) };
      }
    } finally {
      await last.close();
    }
    if (values.json) {
      const sides = { source: redactDsn(values.source), target: redactDsn(values.target), seq: last.seq, targetSeq: last.targetSeq, rounds: ran };
      const after = repair && { ...repair, after: { ...repair.after, differences: repair.after.differences.map(withoutRef) } };
      console.log(JSON.stringify({ ...sides, ...report, differences: report.differences.map(withoutRef), repair: after }, null, 2));
    } else {
      printReport(report, adminSocket ? { seq: last.seq, targetSeq: last.targetSeq, rounds: ran } : null, repair);
    }
    // A truncated report's repair fixed only the differences it listed.
    const clean = repair ? repair.after.clean && repair.failed.length === 0 && !report.truncated : report.clean;
    return clean ? 0 : 1;
  } catch (err) {
    if (err instanceof VerifyError && err.code === 'VERIFY_BAD_OPTION') return usage(err.message);
    throw err;
  }
}

function connection(url: string): ConnectionOptions {
  const d = parseDsn(url);
  return { host: d.host, port: d.port, user: d.user, password: d.password, ...(d.database ? { database: d.database } : {}) };
}

/** Both sides' snapshots opened now, not aligned to a journal seq (for a target that is not replaying). */
async function plainSnapshots(source: ConnectionOptions, target: ConnectionOptions): Promise<AlignedSnapshots> {
  const s = await openSnapshot(source, 'source');
  const t = await openSnapshot(target, 'target').catch(async (err: unknown) => {
    await s.close();
    throw err;
  });
  return { seq: 0, targetSeq: 0, source: s, target: t, close: async () => { await Promise.all([s.close(), t.close()]); } };
}

/** After a repair: what still differs among the repaired items, in new snapshots. */
async function verifyAgain(open: () => Promise<AlignedSnapshots>, options: Parameters<typeof verifyInRounds>[1], differences: Difference[]): Promise<VerifyReport> {
  const { report, last } = await verifyInRounds(open, { ...options, scope: scopeOf(differences) }, 3);
  await last.close();
  return report;
}

function withoutRef(d: Difference): Omit<Difference, 'ref'> {
  const { ref: _ref, ...rest } = d;
  return rest;
}

function printReport(report: VerifyReport, aligned: { seq: number; targetSeq: number; rounds: number } | null, repair: { repaired: string[]; failed: { item: string; reason: string }[]; after: VerifyReport } | null): void {
  const c = report.checked;
  const what = report.pack === 'identity' ? `${c.tables} tables, ${c.chunks} chunks, ${c.rows} rows` : `${c.items} items`;
  const at = aligned ? ` at journal seq ${aligned.seq} (target at ${aligned.targetSeq}, ${aligned.rounds} round${aligned.rounds === 1 ? '' : 's'})` : '';
  console.log(`verify (${report.pack}): checked ${what}${at} in ${report.ms} ms`);
  for (const note of report.notes ?? []) console.log(`  note: ${note}`);
  for (const d of report.differences) console.log(`  ${differenceLine(d)}`);
  if (report.truncated) console.log(`  ... stopped after ${report.differences.length} differences (--max-differences)`);
  console.log(report.clean ? 'clean: no differences' : `${report.differences.length} difference(s)`);
  if (!repair) return;
  console.log(`repaired ${repair.repaired.length} item(s)${repair.failed.length > 0 ? `, ${repair.failed.length} failed` : ''}`);
  for (const f of repair.failed) console.log(`  repair failed: ${f.item}: ${f.reason}`);
  for (const d of repair.after.differences) console.log(`  still differs: ${differenceLine(d)}`);
  console.log(repair.after.clean && repair.failed.length === 0 ? 'after repair: clean' : 'after repair: differences remain');
}

function differenceLine(d: Difference): string {
  const field = d.field ? ` ${d.field}` : '';
  const values = d.side === 'both' ? `: source=${shown(d.source)} target=${shown(d.target)}` : '';
  return `${d.item} [${d.side}]${field}${values}`;
}

function shown(v: unknown): string {
  if (v === undefined) return '-';
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
}
