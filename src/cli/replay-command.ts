import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import type http from 'node:http';
import { collectDefaultMetrics } from 'prom-client';
import { parseHostPort } from '../config/proxy-config.js';
import { createLogger } from '../log.js';
import { startMetricsServer } from '../metrics/metrics-server.js';
import { ReplayEngine, type OnError } from '../apply/replay-engine.js';
import { ReplayError, ReplayHalt } from '../apply/replay-errors.js';
import { ReplayProgress } from '../apply/replay-progress.js';
import { journalHead } from '../apply/journal-head.js';
import { parseTargetUrl } from '../apply/target-url.js';
import { loadPack, packNames } from '../translate/registry.js';

export const REPLAY_HELP = `Usage: metamorph replay --journal DIR --target mysql://user:pass@host:port/[db] --pack NAME
                        [--from SEQ [--force-from]] [--follow] [--on-error=halt|repair]
                        [--metrics HOST:PORT] [--name CONSUMER] [--batch N]

Applies the journal's committed transactions to the target database, in journal order, through
a translation pack (${packNames().join(', ')}). Each entry runs with its recorded context: database
(USE, never created), session settings, the proxy's clock (SET TIMESTAMP) and insert id.

The position is stored in the target (metamorph_replay.applied), in the same transaction as the
writes, so a replayer killed at any point resumes where it stopped: run the same command again.

Options:
  --journal DIR        the proxy's journal directory
  --target URL         the target database; a database in the path is where the pack writes
                       (identity: leave it out, each entry uses its own database)
  --pack NAME          identity: the statements as they are; others translate to a new schema
  --from SEQ           first seq, only when the target has no position yet (default 1). If the
                       target has one and it disagrees, replay refuses unless --force-from
  --follow             keep applying as the journal grows; SIGTERM/SIGINT: commit and exit 0
  --on-error=halt      (default) an entry that fails or cannot be translated stops replay, exit 1,
                       naming the seq, the statement and the reason; the position stays before it
  --on-error=repair    such an entry's items go to metamorph_replay.repair_queue (same
                       transaction), its effects are rolled back, and replay goes on; flagged
                       (possibly non-deterministic) entries are applied and queued as well
  --metrics HOST:PORT  Prometheus GET /metrics (metamorph_replay_applied_seq, _lag_seconds, ...)
  --name CONSUMER      position and checkpoint name (default "replay"); one replayer per name
  --batch N            most source transactions per target transaction (default 100)
  -h, --help           this text`;

export async function replayCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      journal: { type: 'string' },
      target: { type: 'string' },
      pack: { type: 'string' },
      from: { type: 'string' },
      'force-from': { type: 'boolean', default: false },
      follow: { type: 'boolean', default: false },
      'on-error': { type: 'string', default: 'halt' },
      metrics: { type: 'string' },
      name: { type: 'string', default: 'replay' },
      batch: { type: 'string', default: '100' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(REPLAY_HELP);
    return 0;
  }
  const usage = (problem: string) => {
    console.error(`replay: ${problem} (metamorph replay --help for usage)`);
    return 2;
  };
  if (!values.journal || !values.target || !values.pack) return usage('--journal, --target and --pack are required');
  const onError = values['on-error'];
  if (onError !== 'halt' && onError !== 'repair') return usage(`--on-error must be halt or repair, got ${JSON.stringify(onError)}`);
  const from = values.from === undefined ? undefined : Number(values.from);
  if (from !== undefined && !(Number.isSafeInteger(from) && from >= 1)) return usage(`--from must be a seq >= 1, got ${values.from}`);
  if (values['force-from'] && from === undefined) return usage('--force-from needs --from');
  const batch = Number(values.batch);
  if (!Number.isInteger(batch) || batch < 1) return usage(`--batch must be an integer >= 1, got ${values.batch}`);

  const log = createLogger({ name: 'replay' });
  const journalDir = resolve(values.journal);
  let engine: ReplayEngine | null = null;
  let metrics: http.Server | null = null;
  let progress: ReplayProgress | null = null;
  const onSignal = (signal: string) => {
    log.info({ signal }, 'stopping after the current batch');
    void engine?.stop().catch(() => {}); // the outcome is reported by finished() below
  };
  try {
    const target = parseTargetUrl(values.target);
    const showProgress = !values.follow && process.stderr.isTTY;
    engine = new ReplayEngine({
      journalDir, target: target.connection, targetDb: target.db, pack: await loadPack(values.pack),
      consumer: values.name, from, forceFrom: values['force-from'], follow: values.follow, onError: onError as OnError, batch,
      // The progress line says what info lines would; warnings still interrupt it.
      log: showProgress ? log.child({}, { level: 'warn' }) : log,
    });
    log.info({ target: target.display, journalDir }, 'connecting to the target');
    await engine.start();
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    if (values.metrics) metrics = await serveMetrics(engine, values.metrics, log);
    if (showProgress) {
      const running = engine;
      progress = new ReplayProgress(process.stderr, running.appliedSeq, await journalHead(journalDir), () => running.appliedSeq);
      progress.start();
    }
    const summary = await engine.finished();
    progress?.stop();
    log.info({ ...summary }, values.follow ? 'replay stopped' : 'replay caught up with the end of the journal');
    return 0;
  } catch (err) {
    progress?.stop();
    if (err instanceof ReplayHalt) {
      log.error({ seq: err.seq, txn: err.txn, reason: err.reason, appliedSeq: err.appliedSeq }, 'replay halted');
      console.error(`metamorph replay: ${err.message}`);
      return 1;
    }
    if (err instanceof ReplayError && (err.code === 'REPLAY_BAD_OPTION' || err.code === 'REPLAY_UNKNOWN_PACK')) return usage(err.message);
    throw err;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    metrics?.close();
  }
}

async function serveMetrics(engine: ReplayEngine, hostPort: string, log: ReturnType<typeof createLogger>): Promise<http.Server> {
  const { host, port } = parseHostPort('--metrics', hostPort);
  collectDefaultMetrics({ register: engine.metrics.registry });
  const server = await startMetricsServer(engine.metrics.registry, host, port);
  const address = server.address();
  log.info({ metrics: typeof address === 'object' && address ? `${address.address}:${address.port}` : hostPort }, 'metrics listening');
  return server;
}
