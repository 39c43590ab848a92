import { parseArgs } from 'node:util';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createLogger } from '../log.js';
import { runMediawikiDemo, type DemoSummary } from '../demo/mediawiki-demo.js';

export const DEMO_HELP = `Usage: metamorph demo [--clients N] [--think-ms MS] [--pages N] [--warmup SECONDS] [--metrics-port N] [--dir DIR] [--keep]

The mission on this machine, with nothing to configure: a MediaWiki 1.4 wiki upgraded online
to MediaWiki 1.5 while it is being edited.
  1. starts two local MariaDB servers (the old and the new universe),
  2. creates a MediaWiki 1.4 database holding a generated wiki (--pages, default 300),
  3. starts the journaling proxy in front of the old server and runs 1.4 wiki traffic through
     it the whole time (--clients, default 4, each pausing --think-ms, default 100, between
     requests),
  4. runs \`metamorph upgrade\` with the mediawiki-1.4-to-1.5 pack: consistent cut, item-by-item
     conversion, live translation of the journal, verification with repair,
  5. after --warmup seconds (default 10) of live replay, switches over: writes are held, the new
     side catches up and is verified, held 1.4 writes are translated too, the app tier is
     pointed at 1.5 and the old side becomes read-only,
  6. compares the new wiki with what the 1.5 updater itself makes of the old wiki's final state.
Prints items converted, statements translated, peak replay lag, the write-hold window, the
verification result, writes lost and client errors. /metrics is live while it runs
(--metrics-port, default 9464; 0 picks a free port). Needs mariadb-server (bash
scripts/install-deps.sh installs it). Files go to --dir (default: a new directory under /dev/shm
or the system temp dir), removed at the end unless --keep.
Exit code: 0 when everything matched, 1 otherwise.`;

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: 'string', default: '4' },
      pages: { type: 'string', default: '300' },
      warmup: { type: 'string', default: '10' },
      'think-ms': { type: 'string', default: '100' },
      'metrics-port': { type: 'string', default: '9464' },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(DEMO_HELP);
    return 0;
  }
  const [clients, pages, warmup, metricsPort, thinkMs] = [values.clients, values.pages, values.warmup, values['metrics-port'], values['think-ms']].map(Number);
  if (!Number.isInteger(clients) || clients < 1 || !Number.isInteger(pages) || pages < 1 || !(warmup >= 0) || !(thinkMs >= 0)
    || !Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535) {
    console.error('demo: --clients and --pages must be integers >= 1, --warmup >= 0, --metrics-port 0..65535');
    return 2;
  }
  const dir = values.dir ?? mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'metamorph-demo-'));
  const log = createLogger({ name: 'demo', level: process.env.METAMORPH_LOG_LEVEL ?? 'warn' });
  const say = (s: string) => console.log(`[demo] ${s}`);
  const started = Date.now();
  say(`working in ${dir}`);
  try {
    const summary = await runMediawikiDemo({ dir, clients, pages, warmupSeconds: warmup, thinkMs, metricsPort, log, say });
    printSummary(summary, Date.now() - started, say);
    return passed(summary) ? 0 : 1;
  } finally {
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
}

function passed(s: DemoSummary): boolean {
  return s.report.result === 'finished' && s.report.active === 'new' && s.oracleDifferences.length === 0 && s.writesLost === 0 && s.clientErrors === 0;
}

function printSummary(s: DemoSummary, ms: number, say: (s: string) => void): void {
  const r = s.report;
  const sw = r.switchovers.filter((x) => x.ok && !x.rehearsal).at(-1);
  const v = r.verification;
  say('---------------------------------------------------------------- summary');
  say(`upgrade: ${r.result}; the wiki now runs on the ${r.active} universe (MediaWiki 1.5 schema)`);
  say(`items converted at the cut (seq ${r.cutSeq ?? '-'}): ${r.copied.items} (${r.copied.rows} rows)`);
  say(`statements translated and applied live: ${r.statementsReplayed}`);
  say(`peak replay lag: ${r.peakLagSeconds.toFixed(3)} s`);
  say(`write-hold window at the switchover: ${sw ? `${sw.holdMs.toFixed(1)} ms (${sw.steps.map((x) => `${x.name} ${x.ms.toFixed(0)} ms`).join(', ')})` : 'no switchover happened'}`);
  say(`verification: ${v ? `${v.clean ? 'clean' : `${v.differences} differences`} (${v.kind}, ${v.checked.items} items, at seq ${v.seq}); ${r.verifications} passes` : 'none'}`);
  say(`independent oracle (the 1.5 updater's conversion of the old wiki's final state): ${s.oracleDifferences.length === 0 ? 'identical' : `${s.oracleDifferences.length} differences`}`);
  for (const d of s.oracleDifferences.slice(0, 20)) say(`    ${d}`);
  say(`wiki requests: ${s.workload.requests} (${s.workload.edits} edits, ${s.workload.creates} creates, ${s.workload.moves} moves, ${s.workload.conflicts} edit conflicts); failed statements by code: ${JSON.stringify(s.workload.failuresByCode)}`);
  say(`writes lost: ${s.writesLost}`);
  say(`client errors caused by the upgrade: ${s.clientErrors}`);
  say(`metrics were at ${s.metricsUrl}; total ${(ms / 1000).toFixed(1)} s`);
}
