import type http from 'node:http';
import mysql, { type ConnectionOptions } from 'mysql2/promise';
import { AdminConnection } from '../admin/admin-client.js';
import type { ReplayEngine } from '../apply/replay-engine.js';
import { removeCheckpoint } from '../journal/consumer-checkpoints.js';
import { silentLogger, type Logger } from '../log.js';
import { startMetricsServer } from '../metrics/metrics-server.js';
import { copyAccounts } from '../migrate/copy-accounts.js';
import { Migration } from '../migrate/migrate.js';
import { parseDsn, redactDsn } from '../provision/dsn.js';
import { createProvider, type Replica } from '../provision/provider.js';
import { hookFromCommand, runSwitchover, type Flip, type SwitchoverReport } from '../switchover/switchover.js';
import type { Pack } from '../translate/pack.js';
import { loadPack } from '../translate/registry.js';
import type { VerifyReport } from '../verify/verify.js';
import { removeHalfMadeLocal } from './local-leftovers.js';
import type { HostPort } from '../config/host-port.js';
import { ProxyView } from './proxy-view.js';
import { consumerName, startStandby } from './standby-replay.js';
import { UpgradeAdmin, type Reply, type UpgradeControl } from './upgrade-admin.js';
import type { UpgradeConfig } from './upgrade-config.js';
import { UpgradeError } from './upgrade-errors.js';
import { UpgradeMetrics } from './upgrade-metrics.js';
import { UpgradeVerifier, type Sides } from './upgrade-verifier.js';
import { buildReport, type UpgradeReport, type UpgradeResult } from './upgrade-report.js';
import { initialState, StateFile, type Direction, type UpgradePhase, type UpgradeState, type VerificationSummary } from './upgrade-state.js';

export interface UpgradeOptions {
  config: UpgradeConfig;
  /** Run everything, then a rehearsal switchover (no flip); the old side keeps serving; ends. */
  rehearse?: boolean;
  /** Switch over by itself once replay lag is low and a verification is clean (the first time only). */
  autoSwitchover?: boolean;
  log?: Logger;
}

export interface UpgradeOutcome { result: UpgradeResult; report: UpgradeReport }

const LIVE: UpgradePhase[] = ['replay', 'verify', 'waiting', 'switched'];
const LAG_SAMPLE_MS = 1000;
const PROGRESS_LOG_MS = 10_000;

/**
 * `metamorph upgrade`: provision -> accounts -> migrate (consistent cut + copy) -> replay (follow)
 * -> verify loop -> wait for the operator -> switchover -> (identity) reverse replay so that
 * `rollback` can flip back -> finish. Every transition is saved in state.json first, so a run
 * killed at any moment, started again with the same config, carries on from there:
 *  - provision: the recorded replica is reused; a local one half-made by the killed run is removed and made again;
 *  - migrate: Migration is resumable by itself (chunks at an older cut are kept or copied again);
 *  - replay: each stretch of replay has its own consumer whose position lives in its target;
 *  - switchover: the proxy's lock was leased to the dead run's admin connection and released with it;
 *    the proxy's `status` says whether the flip happened, and that is recorded.
 * Commands (switchover, rollback, abort, finish) and verification passes run one at a time.
 */
export class Upgrade implements UpgradeControl {
  private readonly config: UpgradeConfig;
  private readonly log: Logger;
  private readonly file: StateFile;
  private readonly proxy: ProxyView;
  private state: UpgradeState = initialState();
  private phaseSince = Date.now();
  private pack: Pack | null = null;
  private migration: Migration | null = null;
  private engine: ReplayEngine | null = null;
  /** Statements replayed by earlier engines (this run's and the saved count) before `engine`. */
  private replayedBefore = 0;
  private lastReport: VerifyReport | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private busy = false;
  private stopping = false;
  private ended: { promise: Promise<UpgradeResult>; resolve: (r: UpgradeResult) => void; reject: (e: Error) => void };
  private verifyTimer: NodeJS.Timeout | null = null;
  private lagTimer: NodeJS.Timeout | null = null;
  private autoDone = false;
  /** The replay of the current phase runs (or, translated and switched, has ended for good): commands may act. */
  private live = false;

  constructor(private readonly opts: UpgradeOptions) {
    this.config = opts.config;
    this.log = opts.log ?? silentLogger();
    this.file = new StateFile(opts.config.stateDir);
    this.proxy = new ProxyView(opts.config.proxy.adminSocket);
    let resolve!: (r: UpgradeResult) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<UpgradeResult>((res, rej) => { resolve = res; reject = rej; });
    promise.catch(() => {}); // observed by run()
    this.ended = { promise, resolve, reject };
  }

  /** Runs (or resumes) the upgrade until finish, abort, the end of a rehearsal, or stop(). */
  async run(): Promise<UpgradeOutcome> {
    this.state = this.file.load() ?? initialState();
    this.phaseSince = Date.now();
    this.replayedBefore = this.state.statementsReplayed;
    this.lastReport = reportOf(this.state.lastVerification);
    this.pack = await loadPack(this.config.pack);
    this.log.info({ stateDir: this.config.stateDir, phase: this.state.phase, resumed: this.state.phase !== 'provision' || this.state.provisionStarted }, 'upgrade starting');
    const admin = await UpgradeAdmin.start(this.config.adminSocket, this, this.log);
    const progress = setInterval(() => this.logProgress(), PROGRESS_LOG_MS);
    progress.unref();
    let metrics: http.Server | null = null;
    try {
      if (this.config.metrics) metrics = await startMetricsServer(this.metrics().registry, this.config.metrics.host, this.config.metrics.port);
      const result = await this.drive();
      return { result, report: buildReport(this.state, result) };
    } catch (err) {
      this.state.lastError = (err as Error).message;
      this.save();
      throw err;
    } finally {
      clearInterval(progress);
      this.stopTimers();
      await this.chain.catch(() => {});
      await this.stopEngine();
      this.save();
      await admin.close();
      metrics?.close();
    }
  }

  /** SIGTERM: the chunks in hand are finished, replay stops after its batch; state is kept. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info({ phase: this.state.phase }, 'stopping: state is kept, run the same command again to resume');
    this.migration?.stop();
    this.ended.resolve('stopped');
  }

  private logProgress(): void {
    const m = this.migration?.status();
    const e = this.engine;
    this.log.info({
      phase: this.state.phase, active: this.state.active,
      ...(m && this.state.phase === 'migrate' ? { copy: { ratio: Math.round(m.progressRatio * 1000) / 1000, chunks: `${m.chunksDone}/${m.chunksTotal}`, held: m.held } } : {}),
      ...(e ? { replay: { consumer: e.consumer, appliedSeq: e.appliedSeq, lagSeconds: round3(e.lagSeconds()) } } : {}),
      verified: this.state.lastVerification ? { seq: this.state.lastVerification.seq, clean: this.state.lastVerification.clean } : null,
    }, 'upgrade progress');
  }

  status(): Reply {
    const s = this.state;
    const m = this.migration?.status();
    return {
      ok: true, phase: s.phase, active: s.active, busy: this.busy,
      replica: s.replica ? redactDsn(s.replica.dsn) : null,
      cutSeq: s.cutSeq, copy: m ? { phase: m.phase, progressRatio: m.progressRatio, chunksDone: m.chunksDone, chunksTotal: m.chunksTotal, doneRows: m.doneRows, totalRows: m.totalRows } : s.copy,
      replay: this.engine ? { consumer: this.engine.consumer, appliedSeq: this.engine.appliedSeq, lagSeconds: round3(this.engine.lagSeconds()) } : null,
      verifiedThroughSeq: s.verifiedThroughSeq, lastVerification: s.lastVerification, verifications: s.verifications,
      lastCleanFullPassAt: s.lastCleanFullPassAt ?? null,
      flips: s.flips, lastSwitchover: s.switchovers.at(-1) ?? null, pendingSwitchover: s.pendingSwitchover,
      phaseMs: s.phaseMs, statementsReplayed: this.replayedNow(), peakLagSeconds: round3(s.peakLagSeconds), lastError: s.lastError,
    };
  }

  switchover(): Promise<Reply> {
    return this.serial(async () => {
      this.requireLive('switchover');
      if (this.state.active !== 'old') throw notNow('the new server already serves: `rollback` flips back');
      return switchoverReply(await this.runSwitchover('forward', false));
    });
  }

  rollback(): Promise<Reply> {
    return this.serial(async () => {
      this.requireLive('rollback');
      if (this.state.active !== 'new') throw notNow('the old server serves: there is nothing to roll back (`abort` ends the upgrade before a switchover)');
      if (!this.engine) throw notNow(`pack ${this.config.pack} keeps no reverse replay: only an identity switchover can be rolled back`);
      return switchoverReply(await this.runSwitchover('reverse', false));
    });
  }

  abort(): Promise<Reply> {
    return this.serial(async () => {
      this.requireLive('abort');
      if (this.state.active !== 'old') throw notNow('the new server serves: `rollback` first, then abort (or `finish` to keep the new server)');
      await this.end('aborted');
      return { ok: true, phase: this.state.phase, active: this.state.active };
    });
  }

  finish(): Promise<Reply> {
    return this.serial(async () => {
      this.requireLive('finish');
      await this.end('finished');
      return { ok: true, phase: this.state.phase, active: this.state.active };
    });
  }

  // ---- the phases ----

  private async drive(): Promise<UpgradeResult> {
    const s = this.state;
    if (s.phase === 'finished' || s.phase === 'aborted') {
      this.log.info({ phase: s.phase }, 'this upgrade has already ended; nothing to do');
      return s.phase;
    }
    await this.settlePendingSwitchover();
    if (this.opts.rehearse && s.active === 'new') throw notNow('the new server already serves: a rehearsal is for before the switchover (run without --rehearse)');
    if (s.phase === 'provision') await this.provision();
    if (this.stopping) return 'stopped';
    if (s.phase === 'accounts') await this.accounts();
    if (s.phase === 'migrate' && !(await this.migrate())) return 'stopped';
    if (this.stopping) return 'stopped';
    await this.startStandbyForPhase();
    if (s.phase === 'replay') this.setPhase('verify');
    this.live = true;
    this.lagTimer = setInterval(() => this.sampleLag(), LAG_SAMPLE_MS);
    this.lagTimer.unref();
    this.scheduleVerify(0);
    return this.ended.promise;
  }

  private async provision(): Promise<void> {
    const s = this.state;
    const provider = createProvider(this.config.provision);
    if (s.provisionStarted && provider.name === 'local') await removeHalfMadeLocal(this.config.provision, this.log);
    s.provisionStarted = true;
    this.save();
    this.log.info({ provider: provider.name }, 'provisioning the new server');
    const replica = await provider.provision({ onProgress: (message) => this.log.info({ provider: provider.name }, message) });
    s.replica = replica;
    this.log.info({ replica: redactDsn(replica.dsn), provider: replica.provider }, 'new server provisioned');
    this.setPhase('accounts');
  }

  private async accounts(): Promise<void> {
    if (this.config.accounts.length > 0) {
      const [source, target] = [await mysql.createConnection(this.oldSide()), await mysql.createConnection(this.newSide())];
      try {
        const copied = await copyAccounts(source, target, this.config.accounts, this.log);
        this.state.accountsCopied = copied.map((a) => `${a.user}@${a.host}`);
      } finally {
        await Promise.all([source.end(), target.end()]);
      }
    }
    this.setPhase('migrate');
  }

  /** false: stopped before the copy was complete. */
  private async migrate(): Promise<boolean> {
    const c = this.config.migrate;
    await this.recordOriginalUpstream();
    const migration = new Migration({
      source: this.oldSide(), target: this.newSide(), pack: this.pack as Pack, adminSocket: this.config.proxy.adminSocket,
      journalDir: this.config.proxy.journalDir, workers: c.workers, databases: c.databases, chunkRows: c.chunkRows, lockTimeoutMs: c.lockTimeoutMs,
      ...(c.sourceDb ? { sourceDb: c.sourceDb } : {}), ...(c.targetDb ? { targetDb: c.targetDb } : {}),
      limits: { rowsPerSec: c.maxRowsPerSec, threadsRunning: c.maxThreadsRunning, replayLagSeconds: c.maxReplayLagSeconds },
      log: this.log,
    });
    this.migration = migration;
    if (this.stopping) migration.stop();
    const result = await migration.run();
    const copy = this.state.copy;
    copy.rows += result.copiedRows;
    copy.chunks += result.copiedChunks;
    copy.items += result.convertedItems;
    copy.keptChunks += result.keptChunks;
    if (result.holdMs !== null) copy.holdMs = result.holdMs;
    this.state.cutSeq = result.cutSeq;
    if (!result.complete) {
      this.save();
      return false;
    }
    this.setPhase('replay');
    return true;
  }

  /** The proxy's upstream before any flip: where a rollback points it back to. */
  private async recordOriginalUpstream(): Promise<void> {
    if (this.state.originalUpstream) return;
    const up = await this.proxy.upstream();
    this.state.originalUpstream = up ?? { host: this.config.source.host, port: this.config.source.port };
    this.save();
  }

  // ---- replay ----

  private async startStandbyForPhase(): Promise<void> {
    const s = this.state;
    if (s.active === 'new' && this.config.pack !== 'identity') return; // a translated flip keeps no reverse stream
    const direction: Direction = s.active === 'old' ? 'forward' : 'reverse';
    const generation = s.flips.length;
    const from = generation === 0 ? (s.cutSeq as number) + 1 : s.flips[generation - 1].seq + 1;
    const engine = await startStandby({
      journalDir: this.config.proxy.journalDir, direction, generation, upgradeId: s.id, pack: this.pack as Pack, from, log: this.log,
      target: direction === 'forward' ? this.newSide() : this.oldSide(),
      targetDb: direction === 'forward' ? this.config.migrate.targetDb : null,
    });
    this.engine = engine;
    this.log.info({ consumer: engine.consumer, from: engine.appliedSeq + 1, direction }, 'replay following the journal');
    engine.finished().catch((err: Error) => {
      if (engine !== this.engine || this.stopping) return;
      this.ended.reject(new UpgradeError('UPGRADE_REPLAY_FAILED', `the ${direction} replay (${engine.consumer}) halted: ${err.message}`, { cause: err }));
    });
  }

  private async stopEngine(): Promise<void> {
    const engine = this.engine;
    if (!engine) return;
    this.engine = null;
    const summary = await engine.stop().catch(() => engine.summary());
    this.replayedBefore += summary.statements;
    this.state.statementsReplayed = this.replayedBefore;
  }

  private replayedNow(): number {
    return this.replayedBefore + (this.engine?.summary().statements ?? 0);
  }

  private sampleLag(): void {
    const lag = this.engine?.lagSeconds() ?? 0;
    if (lag > this.state.peakLagSeconds) this.state.peakLagSeconds = lag;
  }

  // ---- verification ----

  private scheduleVerify(delayMs: number): void {
    if (this.stopping || this.verifyTimer) return;
    this.verifyTimer = setTimeout(() => {
      this.verifyTimer = null;
      void this.serial(() => this.verifyPass()).then(
        () => this.afterVerify(),
        (err: Error) => {
          this.log.warn({ err: err.message }, 'verification pass failed; trying again at the next interval');
          this.scheduleVerify(this.config.verify.intervalSeconds * 1000);
        },
      );
    }, delayMs);
    this.verifyTimer.unref();
  }

  private async afterVerify(): Promise<void> {
    const s = this.state;
    const ready = s.phase === 'waiting' && s.active === 'old' && (this.engine?.lagSeconds() ?? Infinity) <= this.config.switchover.maxLagSeconds;
    if (ready && this.opts.rehearse) {
      await this.serial(async () => {
        await this.runSwitchover('forward', true);
        await this.end('rehearsed');
      }).catch((err: Error) => this.ended.reject(err));
      return;
    }
    if (ready && this.opts.autoSwitchover && !this.autoDone && s.flips.length === 0) {
      this.autoDone = true;
      await this.switchover().catch((err: Error) => this.log.warn({ err: err.message }, 'automatic switchover failed'));
    }
    this.scheduleVerify(this.config.verify.intervalSeconds * 1000);
  }

  /** A full pass of the verify loop; its outcome moves the phase between verify and waiting. */
  private async verifyPass(): Promise<void> {
    const engine = this.engine;
    if (!engine || !LIVE.includes(this.state.phase) || this.stopping) return;
    const snapshotsFrom = new Date().toISOString();
    const { report, seq, repaired } = await this.verifier().fullPass(this.sides(), engine);
    if (report.clean) this.state.lastCleanFullPassAt = snapshotsFrom;
    this.recordVerification(report, seq, 'full', repaired);
    if (report.clean && this.state.phase === 'verify') this.setPhase('waiting');
    if (!report.clean && this.state.phase === 'waiting') this.setPhase('verify');
  }

  /** Inside the switchover hold: what changed since both sides were last found equal. */
  private async scopedVerify(fromSeq: number, toSeq: number): Promise<VerifyReport> {
    const since = Math.min(fromSeq, this.state.verifiedThroughSeq ?? 0);
    const report = await this.verifier().scoped(this.sides(), since, toSeq);
    this.recordVerification(report, toSeq, 'scoped', 0);
    return report;
  }

  private recordVerification(report: VerifyReport, seq: number, kind: 'full' | 'scoped', repaired: number): void {
    const s = this.state;
    s.lastVerification = {
      seq, at: new Date().toISOString(), clean: report.clean, differences: report.differences.length, checked: report.checked,
      ms: report.ms, kind, repaired, pack: report.pack,
    };
    s.verifications++;
    this.lastReport = report;
    if (report.clean && seq > (s.verifiedThroughSeq ?? -1)) s.verifiedThroughSeq = seq;
    const level = report.clean ? 'info' : 'warn';
    this.log[level]({ kind, seq, clean: report.clean, differences: report.differences.slice(0, 10), truncated: report.truncated, checked: report.checked, ms: report.ms }, 'verification');
    this.save();
  }

  // ---- switchover ----

  private async runSwitchover(direction: Direction, rehearse: boolean): Promise<SwitchoverReport> {
    const engine = this.engine;
    if (!engine) throw notNow('no replay is running into the standby side');
    const target = this.flipTarget(direction);
    const s = this.state;
    await this.requireFullPassSinceProxyStart();
    const before = s.phase;
    const admin = await AdminConnection.open(this.config.proxy.adminSocket).catch((err: Error) => {
      throw new UpgradeError('UPGRADE_PROXY_FAILED', err.message, { cause: err });
    });
    if (!rehearse) {
      s.pendingSwitchover = { direction, target, at: new Date().toISOString() };
      this.setPhase('switchover');
    }
    let report: SwitchoverReport;
    try {
      this.log.info({ direction, rehearse, flipTo: `${target.host}:${target.port}` }, rehearse ? 'rehearsing the switchover' : direction === 'forward' ? 'switching over' : 'rolling back');
      report = await runSwitchover({
        admin, standby: engine, rehearse, log: this.log, flip: this.flip(target),
        preconditions: { maxLagSeconds: this.config.switchover.maxLagSeconds, lastVerification: this.lastReport },
        budgets: this.config.switchover.budgets,
        verify: (fromSeq, toSeq) => this.scopedVerify(fromSeq, toSeq),
      });
    } catch (err) {
      if (!rehearse) await this.afterSwitchover(direction, before, null);
      throw err;
    } finally {
      admin.close();
    }
    s.switchovers.push({
      direction, ok: report.ok, rehearsal: report.rehearsal, aborted: report.aborted ? { step: report.aborted.step, reason: report.aborted.reason } : null,
      holdMs: report.holdMs, lockedSeq: report.lockedSeq, steps: report.steps.map((x) => ({ name: x.name, ms: x.ms })), totalMs: report.totalMs, at: new Date().toISOString(),
    });
    this.log[report.ok ? 'info' : 'warn']({ direction, ...report, verification: report.verification?.clean ?? null }, rehearse ? 'switchover rehearsed' : 'switchover done');
    if (!rehearse) await this.afterSwitchover(direction, before, report);
    else this.save();
    return report;
  }

  /**
   * A proxy that died between a server's commit and its journal append leaves that write on the
   * source only (its client got an error, not an OK). A scoped check reads the journal and cannot
   * see it; only a full pass can. So after a proxy restart, a switchover waits for one.
   */
  private async requireFullPassSinceProxyStart(): Promise<void> {
    const started = (await this.proxy.status()).startedAt;
    const passed = this.state.lastCleanFullPassAt;
    if (typeof started === 'string' && (!passed || passed < started)) {
      throw notNow(`the proxy (re)started at ${started}, after the last clean full verification (${passed ?? 'none'}): writes it was committing when it stopped may be on the serving side without being journaled; wait for the next full pass`);
    }
  }

  /** Records the flip (or that there was none) and starts the replay the new situation needs. */
  private async afterSwitchover(direction: Direction, before: UpgradePhase, report: SwitchoverReport | null): Promise<void> {
    const s = this.state;
    const flipped = report ? report.flipped : await this.flippedTo(this.flipTarget(direction));
    s.pendingSwitchover = null;
    if (flipped) {
      const seq = report?.finalSeq ?? report?.lockedSeq ?? (await this.proxy.flipSeq());
      await this.recordFlip(direction, seq, report?.holdMs ?? null);
    } else {
      this.setPhase(before);
      if (report?.standbyStopped || this.engine === null) await this.restartStandby();
    }
    this.save();
  }

  /** Stops the standby that was caught up for the flip, records the flip, starts the replay the other way (identity). */
  private async recordFlip(direction: Direction, seq: number, holdMs: number | null): Promise<void> {
    const stopped = this.engine;
    if (stopped) {
      this.replayedBefore += stopped.summary().statements;
      this.engine = null;
      await stopped.stop().catch(() => {});
      // A retired stretch's checkpoint would hold the proxy's lag and journal pruning back forever.
      await removeCheckpoint(this.config.proxy.journalDir, stopped.consumer);
    }
    this.noteFlip(direction, seq, holdMs);
    await this.startStandbyForPhase().catch((err: Error) => {
      // The flip is recorded; without its replay this run is of no use: a re-run starts it again.
      this.ended.reject(err);
      throw err;
    });
  }

  private noteFlip(direction: Direction, seq: number, holdMs: number | null): void {
    const s = this.state;
    s.flips.push({ direction, seq, at: new Date().toISOString(), holdMs });
    s.active = direction === 'forward' ? 'new' : 'old';
    s.verifiedThroughSeq = Math.max(s.verifiedThroughSeq ?? 0, seq); // the hold's scoped check found both sides equal at seq
    this.setPhase(direction === 'forward' ? 'switched' : 'verify');
    this.log.info({ direction, seq, active: s.active }, direction === 'forward' ? 'the new server serves' : 'rolled back: the old server serves');
  }

  private async restartStandby(): Promise<void> {
    if (this.engine) {
      this.replayedBefore += this.engine.summary().statements;
      await this.engine.stop().catch(() => {});
      this.engine = null;
    }
    await this.startStandbyForPhase();
  }

  /**
   * A run killed mid-switchover: the proxy released the leased lock when its connection dropped;
   * whether it flipped is in its `status`. The stopped standby's consumer is left to the next start.
   */
  private async settlePendingSwitchover(): Promise<void> {
    const pending = this.state.pendingSwitchover;
    if (!pending) return;
    const flipped = await this.flippedTo(pending.target);
    this.log.warn({ direction: pending.direction, flipped }, 'the previous run was killed during a switchover; the proxy says whether it flipped');
    this.state.pendingSwitchover = null;
    if (flipped) {
      await removeCheckpoint(this.config.proxy.journalDir, consumerName(this.state.id, pending.direction, this.state.flips.length));
      this.noteFlip(pending.direction, await this.proxy.flipSeq(), null);
    }
    else this.setPhase(pending.direction === 'forward' ? 'verify' : 'switched');
  }

  private flippedTo(target: HostPort): Promise<boolean> {
    return this.proxy.flippedTo(target, this.state.flips.at(-1)?.seq ?? -1, this.config.pack === 'identity');
  }

  private flipTarget(direction: Direction): HostPort {
    if (direction === 'reverse') return this.state.originalUpstream ?? { host: this.config.source.host, port: this.config.source.port };
    const replica = this.state.replica as Replica;
    return this.config.switchover.flipTo ?? { host: replica.host, port: replica.port };
  }

  private flip(target: HostPort): Flip {
    const hook = this.config.switchover.hook;
    if (this.config.pack === 'identity' || !hook) return { kind: 'upstream', host: target.host, port: target.port };
    return hookFromCommand(hook, this.log);
  }

  // ---- plumbing ----

  /** The serving side is the source of every comparison. */
  private sides(): Sides {
    const forward = this.state.active === 'old';
    return forward ? { source: this.oldSide(), target: this.newSide(), forward } : { source: this.newSide(), target: this.oldSide(), forward };
  }

  private verifier(): UpgradeVerifier {
    return new UpgradeVerifier(this.config, this.pack as Pack, this.log);
  }

  private oldSide(): ConnectionOptions {
    const d = this.config.source;
    return { host: d.host, port: d.port, user: d.user, password: d.password };
  }

  /** The replica's admin login when the provider made one (local), else its DSN's login; no database. */
  private newSide(): ConnectionOptions {
    const replica = this.state.replica as Replica;
    const d = parseDsn(typeof replica.details.rootDsn === 'string' ? replica.details.rootDsn : replica.dsn);
    return { host: d.host, port: d.port, user: d.user, password: d.password };
  }

  /** Runs `work` after whatever runs now: commands and verification passes never overlap. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(async () => {
      this.busy = true;
      try {
        return await work();
      } finally {
        this.busy = false;
      }
    });
    this.chain = next.catch(() => {});
    return next;
  }

  private requireLive(command: string): void {
    if (!this.live || !LIVE.includes(this.state.phase) || this.stopping) {
      throw notNow(`${command} needs the replay running (phase ${this.state.phase}${this.live ? '' : ', starting'}${this.stopping ? ', stopping' : ''}); try again in a moment`);
    }
  }

  private async end(result: 'finished' | 'aborted' | 'rehearsed'): Promise<void> {
    this.stopping = true;
    this.stopTimers();
    const consumer = this.engine?.consumer;
    await this.stopEngine();
    // Ended for good: no replay will resume, so its checkpoint must not hold the proxy's lag and pruning back.
    if (consumer && result !== 'rehearsed') await removeCheckpoint(this.config.proxy.journalDir, consumer);
    if (result !== 'rehearsed') this.setPhase(result);
    this.log.info({ result, active: this.state.active }, `upgrade ${result}`);
    this.ended.resolve(result);
  }

  private stopTimers(): void {
    if (this.verifyTimer) clearTimeout(this.verifyTimer);
    if (this.lagTimer) clearInterval(this.lagTimer);
    this.verifyTimer = null;
    this.lagTimer = null;
  }

  private setPhase(phase: UpgradePhase): void {
    const s = this.state;
    const now = Date.now();
    s.phaseMs[s.phase] = (s.phaseMs[s.phase] ?? 0) + (now - this.phaseSince);
    this.phaseSince = now;
    if (phase !== s.phase) this.log.info({ from: s.phase, to: phase }, `upgrade phase: ${phase}`);
    s.phase = phase;
    this.save();
  }

  private save(): void {
    const s = this.state;
    const now = Date.now();
    s.phaseMs[s.phase] = (s.phaseMs[s.phase] ?? 0) + (now - this.phaseSince);
    this.phaseSince = now;
    s.statementsReplayed = this.replayedNow();
    this.file.save(s);
  }

  private metrics(): UpgradeMetrics {
    return new UpgradeMetrics({
      phase: () => this.state.phase,
      copyProgressRatio: () => this.migration?.status().progressRatio ?? (this.state.cutSeq !== null && this.state.phase !== 'migrate' ? 1 : 0),
      replayAppliedSeq: () => this.engine?.appliedSeq ?? 0,
      replayLagSeconds: () => this.engine?.lagSeconds() ?? 0,
      lastDifferences: () => this.state.lastVerification?.differences ?? -1,
      lastHoldSeconds: () => (this.state.switchovers.at(-1)?.holdMs ?? 0) / 1000,
      flips: () => this.state.flips.length,
      newActive: () => (this.state.active === 'new' ? 1 : 0),
    });
  }
}

function notNow(message: string): UpgradeError {
  return new UpgradeError('UPGRADE_NOT_NOW', message);
}

function switchoverReply(r: SwitchoverReport): Reply {
  return {
    ok: r.ok, flipped: r.flipped, rehearsal: r.rehearsal, aborted: r.aborted, holdMs: r.holdMs, lockedSeq: r.lockedSeq, finalSeq: r.finalSeq,
    steps: r.steps, totalMs: r.totalMs, verification: r.verification ? { clean: r.verification.clean, differences: r.verification.differences.slice(0, 20), checked: r.verification.checked } : null,
  };
}

/** The saved summary as the precondition the switchover checks (differences themselves are not kept). */
function reportOf(v: VerificationSummary | null): VerifyReport | null {
  if (!v) return null;
  return { clean: v.clean, pack: v.pack, differences: [], truncated: false, checked: v.checked, ms: v.ms };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
