import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type http from 'node:http';
import { parseHostPort } from '../config/proxy-config.js';
import { createLogger, type Logger } from '../log.js';
import { startMetricsServer } from '../metrics/metrics-server.js';
import type { ReplayEngine } from '../apply/replay-engine.js';
import { ReplayError } from '../apply/replay-errors.js';
import type { ConnectionOptions } from 'mysql2/promise';
import { parseDsn, redactDsn } from '../provision/dsn.js';
import { loadPack, packNames } from '../translate/registry.js';
import { CopyProgress } from '../migrate/copy-progress.js';
import { MigrateAdmin } from '../migrate/migrate-admin.js';
import { MigrateError } from '../migrate/migrate-errors.js';
import { Migration } from '../migrate/migrate.js';
import { startReplayAfterCopy } from '../migrate/replay-handoff.js';
import type { UpgradeCommand } from '../migrate/upgrade-command.js';

export const MIGRATE_HELP = `Usage: metamorph migrate --source URL --target URL --pack NAME --admin-socket PATH --journal DIR
                         [--workers N] [--databases a,b] [--chunk-rows N] [--lock-timeout MS]
                         [--max-rows-per-sec N] [--max-threads-running N] [--max-replay-lag-seconds N]
                         [--admin-socket-migrate PATH] [--metrics HOST:PORT] [--replay]
                         [--source-db NAME --target-db NAME]
                         [--upgrade-command CMD [--upgrade-ssh USER@HOST:PORT --upgrade-ssh-key PATH]]

Copies the source's tables to the target at a consistent cut, then says where replay starts.
The proxy's write gate holds writes for a few ms while the copy workers open their snapshots on
the source (START TRANSACTION WITH CONSISTENT SNAPSHOT); every snapshot is the source at that
journal seq, so replay from seq + 1 completes the target with no gap and no overlap.

Tables are copied in primary-key chunks (~--chunk-rows rows) by --workers workers in parallel,
non-locking reads only; a table without a usable primary key is one chunk. The target gets each
database and table (SHOW CREATE of the source) and metamorph_migrate.{cut,tables,transfer}: a
chunk is marked done in the same transaction as its rows. Killed or stopped, run the same command
again: it takes a new cut and copies what is missing; chunks done earlier stay when the journal
shows no write to their table since their cut, and are copied again otherwise.

A pack that converts logical items (mediawiki-1.4-to-1.5) reads one source database
(--source-db) in one snapshot at the cut and writes --target-db, which migrate creates with the
pack's schema; each item is converted in one target transaction logged in metamorph_migrate.items.
Killed or stopped, a re-run keeps the items done when the journal shows no write since their cut,
and converts everything again otherwise.

Options:
  --source URL         the source database itself (mysql://user:pass@host:port/[db]), not the
                       proxy; a database in the path copies only that one
  --target URL         the target server (no database in the path: each keeps its name)
  --pack NAME          identity (packs: ${packNames().join(', ')})
  --source-db NAME     item packs: the source database to convert (default: --databases if one)
  --target-db NAME     item packs: the target database to create and convert into
  --upgrade-command CMD  item packs: the application's own command that makes --target-db's
                       schema (its updater), run by sh instead of the pack's schema after the
                       empty database is created; it gets METAMORPH_TARGET_DSN and
                       METAMORPH_TARGET_DB; a non-zero exit fails the migration
  --upgrade-ssh USER@HOST:PORT  run the upgrade command there over ssh (key auth; the host key
                       is not pinned), e.g. on the application's server
  --upgrade-ssh-key PATH  the private key for --upgrade-ssh
  --admin-socket PATH  the proxy's admin socket (admin.socket)
  --journal DIR        the proxy's journal directory
  --workers N          parallel copy workers, each with its own snapshot (default 4)
  --databases a,b      databases to copy (default: all but the system ones)
  --chunk-rows N       rows per chunk (default 10000)
  --lock-timeout MS    how long the proxy may wait for writing transactions at the cut (default 5000)
  --max-rows-per-sec N       cap the copy rate (default: none)
  --max-threads-running N    pause while the source's Threads_running is above N
  --max-replay-lag-seconds N pause while a journal consumer (replayer) lags more than N seconds
  --admin-socket-migrate PATH  this process's admin socket: status, pause, resume,
                       throttle rows=N|threads=N|lag=SECONDS (0 lifts a limit)
  --metrics HOST:PORT  Prometheus GET /metrics (metamorph_copy_rows_total,
                       metamorph_copy_progress_ratio, metamorph_cut_hold_seconds, ...)
  --replay             after the copy, replay the journal from the cut (follow) until SIGTERM/SIGINT
  -h, --help           this text

Exit codes: 0 copy complete (and replay stopped cleanly), 1 failure, 2 usage,
3 stopped by SIGTERM/SIGINT before the copy was complete (the chunks in hand were finished; run
again to resume).`;

const EXIT_STOPPED = 3;
const PROGRESS_LOG_MS = 5000;

export async function migrateCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      source: { type: 'string' },
      target: { type: 'string' },
      pack: { type: 'string' },
      'admin-socket': { type: 'string' },
      journal: { type: 'string' },
      workers: { type: 'string', default: '4' },
      databases: { type: 'string' },
      'source-db': { type: 'string' },
      'target-db': { type: 'string' },
      'upgrade-command': { type: 'string' },
      'upgrade-ssh': { type: 'string' },
      'upgrade-ssh-key': { type: 'string' },
      'chunk-rows': { type: 'string', default: '10000' },
      'lock-timeout': { type: 'string', default: '5000' },
      'max-rows-per-sec': { type: 'string', default: '0' },
      'max-threads-running': { type: 'string', default: '0' },
      'max-replay-lag-seconds': { type: 'string', default: '0' },
      'admin-socket-migrate': { type: 'string' },
      metrics: { type: 'string' },
      replay: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(MIGRATE_HELP);
    return 0;
  }
  const usage = (problem: string) => {
    console.error(`migrate: ${problem} (metamorph migrate --help for usage)`);
    return 2;
  };
  if (!values.source || !values.target || !values.pack || !values['admin-socket'] || !values.journal) {
    return usage('--source, --target, --pack, --admin-socket and --journal are required');
  }
  const numbers: Record<string, number> = {};
  for (const flag of ['workers', 'chunk-rows', 'lock-timeout', 'max-rows-per-sec', 'max-threads-running', 'max-replay-lag-seconds'] as const) {
    const n = Number(values[flag]);
    const positive = flag === 'workers' || flag === 'chunk-rows' || flag === 'lock-timeout';
    if (!Number.isFinite(n) || n < (positive ? 1 : 0) || (flag !== 'max-replay-lag-seconds' && !Number.isInteger(n))) {
      return usage(`--${flag} must be ${positive ? 'an integer >= 1' : 'a number >= 0'}, got ${values[flag]}`);
    }
    numbers[flag] = n;
  }
  let source: Endpoint;
  let target: Endpoint;
  try {
    source = dsn('--source', values.source);
    target = dsn('--target', values.target);
  } catch (err) {
    return usage((err as Error).message);
  }
  if (target.db !== null) return usage(`--target must not name a database (${target.db}): identity copies each database under its own name`);
  let upgrade: UpgradeCommand | null;
  try {
    upgrade = upgradeCommand(values['upgrade-command'], values['upgrade-ssh'], values['upgrade-ssh-key']);
  } catch (err) {
    return usage((err as Error).message);
  }
  const databases = values.databases ? values.databases.split(',').map((d) => d.trim()).filter((d) => d !== '') : source.db ? [source.db] : null;

  const log = createLogger({ name: 'migrate' });
  const showProgress = process.stderr.isTTY === true;
  let pack;
  let migration: Migration;
  try {
    pack = await loadPack(values.pack);
    migration = new Migration({
      source: source.connection, target: target.connection, pack, adminSocket: resolve(values['admin-socket']), journalDir: resolve(values.journal),
      workers: numbers.workers, databases, chunkRows: numbers['chunk-rows'], lockTimeoutMs: numbers['lock-timeout'],
      ...(values['source-db'] ? { sourceDb: values['source-db'] } : {}),
      ...(values['target-db'] ? { targetDb: values['target-db'] } : {}),
      ...(upgrade ? { upgradeCommand: upgrade } : {}),
      limits: { rowsPerSec: numbers['max-rows-per-sec'], threadsRunning: numbers['max-threads-running'], replayLagSeconds: numbers['max-replay-lag-seconds'] },
      // On a terminal the progress line says what info lines would; warnings still interrupt it.
      log: showProgress ? log.child({}, { level: 'warn' }) : log,
    });
  } catch (err) {
    if (err instanceof ReplayError || (err instanceof MigrateError && err.code === 'MIGRATE_BAD_OPTION')) return usage(err.message);
    throw err;
  }

  let engine: ReplayEngine | null = null;
  let admin: MigrateAdmin | null = null;
  let metrics: http.Server | null = null;
  let progress: CopyProgress | null = null;
  let progressLog: NodeJS.Timeout | null = null;
  const onSignal = (signal: string) => {
    if (engine) {
      log.info({ signal }, 'stopping replay after the current batch');
      void engine.stop().catch(() => {}); // the outcome is reported by finished()
    } else {
      log.info({ signal }, 'stopping: finishing the chunks being copied');
      migration.stop();
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    if (values['admin-socket-migrate']) admin = await MigrateAdmin.start(resolve(values['admin-socket-migrate']), migration, log);
    if (values.metrics) metrics = await serveMetrics(migration, values.metrics, log);
    if (showProgress) {
      progress = new CopyProgress(process.stderr, () => migration.status());
      progress.start();
    } else {
      progressLog = setInterval(() => logProgress(migration, log), PROGRESS_LOG_MS);
      progressLog.unref();
    }
    const result = await migration.run();
    progress?.stop();
    if (!result.complete) {
      console.log(`migrate: stopped before the copy was complete (cut seq ${result.cutSeq}); run the same command again to resume`);
      return EXIT_STOPPED;
    }
    const targetDb = values['target-db'] ? encodeURIComponent(values['target-db']) : ''; // replay takes it as the --target URL's path
    console.log(`migrate: copy complete at cut seq ${result.cutSeq}${result.holdMs === null ? '' : ` (writes held ${result.holdMs.toFixed(1)} ms)`}; ` +
      `replay must start from seq ${result.replayFrom}:\n  metamorph replay --journal ${values.journal} --target ${target.display}${targetDb} --pack ${values.pack} --from ${result.replayFrom} --follow`);
    if (!values.replay) return 0;
    engine = await startReplayAfterCopy({ journalDir: resolve(values.journal), target: target.connection, targetDb: values['target-db'] ?? null, pack, cutSeq: result.cutSeq, log });
    const replayRegistry = engine.metrics.registry;
    for (const { name } of replayRegistry.getMetricsAsArray()) {
      const metric = replayRegistry.getSingleMetric(name);
      if (metric) migration.metrics.registry.registerMetric(metric); // one /metrics for copy and replay
    }
    log.info({ from: engine.appliedSeq + 1 }, 'replaying the journal from the cut (follow); SIGTERM or SIGINT to stop');
    const summary = await engine.finished();
    log.info({ ...summary }, 'replay stopped');
    return 0;
  } catch (err) {
    progress?.stop();
    if (err instanceof MigrateError || err instanceof ReplayError) {
      log.error({ code: err.code }, err.message);
      console.error(`metamorph migrate: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    if (progressLog) clearInterval(progressLog);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await admin?.close();
    metrics?.close();
  }
}

interface Endpoint {
  connection: ConnectionOptions;
  db: string | null;
  /** The URL without its password, for logs. */
  display: string;
}

function dsn(flag: string, url: string): Endpoint {
  try {
    const d = parseDsn(url);
    return { connection: { host: d.host, port: d.port, user: d.user, password: d.password }, db: d.database, display: redactDsn(d) };
  } catch (err) {
    throw new MigrateError('MIGRATE_BAD_OPTION', `${flag}: ${(err as Error).message}`);
  }
}

/** --upgrade-command, run over ssh when --upgrade-ssh names a host; null without a command. */
function upgradeCommand(command: string | undefined, ssh: string | undefined, keyPath: string | undefined): UpgradeCommand | null {
  if (command === undefined) {
    if (ssh !== undefined || keyPath !== undefined) throw new MigrateError('MIGRATE_BAD_OPTION', '--upgrade-ssh and --upgrade-ssh-key need --upgrade-command');
    return null;
  }
  if (ssh === undefined) {
    if (keyPath !== undefined) throw new MigrateError('MIGRATE_BAD_OPTION', '--upgrade-ssh-key needs --upgrade-ssh');
    return { command };
  }
  const m = /^([^@\s]+)@([^:\s]+)(?::(\d+))?$/.exec(ssh);
  if (!m) throw new MigrateError('MIGRATE_BAD_OPTION', `--upgrade-ssh must be USER@HOST or USER@HOST:PORT, got ${ssh}`);
  if (keyPath === undefined) throw new MigrateError('MIGRATE_BAD_OPTION', '--upgrade-ssh needs --upgrade-ssh-key PATH (key auth only)');
  let privateKey: Buffer;
  try {
    privateKey = readFileSync(keyPath);
  } catch (err) {
    throw new MigrateError('MIGRATE_BAD_OPTION', `--upgrade-ssh-key: cannot read ${keyPath}: ${(err as Error).message}`);
  }
  return { command, ssh: { username: m[1]!, host: m[2]!, ...(m[3] ? { port: Number(m[3]) } : {}), privateKey } };
}

function logProgress(m: Migration, log: Logger): void {
  const s = m.status();
  if (s.phase !== 'copying') return;
  log.info({ doneRows: s.doneRows, totalRows: s.totalRows, chunksDone: s.chunksDone, chunksTotal: s.chunksTotal, ...(s.held ? { held: s.held } : {}) }, 'copy progress');
}

async function serveMetrics(m: Migration, hostPort: string, log: Logger): Promise<http.Server> {
  const { host, port } = parseHostPort('--metrics', hostPort);
  const server = await startMetricsServer(m.metrics.registry, host, port);
  const address = server.address();
  log.info({ metrics: typeof address === 'object' && address ? `${address.address}:${address.port}` : hostPort }, 'metrics listening');
  return server;
}
