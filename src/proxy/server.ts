import net from 'node:net';
import tls from 'node:tls';
import type http from 'node:http';
import { readFileSync } from 'node:fs';
import type { Logger } from '../log.js';
import type { ProxyConfig } from '../config/proxy-config.js';
import { ConfigError } from '../config/proxy-config.js';
import { JournalWriter } from '../journal/journal-writer.js';
import { AdminServer } from '../admin/admin-server.js';
import type { AdminTarget } from '../admin/admin-commands.js';
import { ProxyMetrics } from '../metrics/proxy-metrics.js';
import { startMetricsServer } from '../metrics/metrics-server.js';
import { JournalSink } from './journal-sink.js';
import { Session, type UpstreamTarget } from './session.js';
import { readUpstreamFlip, writeUpstreamFlip, type UpstreamFlip } from './upstream-state.js';
import { UpstreamLink } from './upstream-link.js';
import { Capability } from '../protocol/constants.js';
import { ProxyStats } from './stats.js';
import { WriteGate } from './write-gate.js';
import { InterceptionLag } from './interception-lag.js';
import { readCheckpoints } from '../journal/consumer-checkpoints.js';
import { removeSegmentsBelow } from '../journal/retention.js';

/** The listening proxy: accepts clients, gives each a Session, owns the journal and the gate. */
export class ProxyServer implements AdminTarget {
  readonly stats = new ProxyStats();
  readonly sessions = new Set<Session>();
  readonly gate: WriteGate;
  readonly lag: InterceptionLag;
  readonly metrics: ProxyMetrics;
  private nextId = 1;
  private server: net.Server | null = null;
  private admin: AdminServer | null = null;
  private metricsServer: http.Server | null = null;
  private stopping: Promise<void> | null = null;
  private upstream: UpstreamTarget;
  private lastFlip: UpstreamFlip | null;
  private flipping = false;
  private readonly startedAt = new Date().toISOString();

  private constructor(
    readonly config: ProxyConfig,
    readonly journal: JournalSink,
    private readonly log: Logger,
    private readonly tlsContext: tls.SecureContext | null,
    metrics: (m: ProxyMetrics) => void,
  ) {
    this.gate = new WriteGate({
      settledSeq: () => journal.settledSeq(),
      onHoldEnded: (s) => this.metrics.gateHoldSeconds.observe(s),
    });
    this.lag = new InterceptionLag(config.journal.dir, () => journal.headSeq);
    this.metrics = new ProxyMetrics({
      gate: this.gate,
      lag: this.lag,
      connections: () => this.sessions.size,
      journalHeadSeq: () => journal.headSeq,
      journalBytes: () => journal.stats.bytes,
      statements: () => this.stats.statements,
    });
    metrics(this.metrics);
    this.lastFlip = readUpstreamFlip(config.journal.dir);
    const at = this.lastFlip ?? config.upstream;
    this.upstream = { host: at.host, port: at.port, generation: 0 };
    if (this.lastFlip) {
      log.warn({ upstream: `${at.host}:${at.port}`, seq: this.lastFlip.seq, at: this.lastFlip.at, config: `${config.upstream.host}:${config.upstream.port}` },
        'a switchover moved this proxy to another upstream: using it, not upstream in the config (journal.dir/upstream.json)');
    }
  }

  static async start(config: ProxyConfig, log: Logger): Promise<ProxyServer> {
    const tlsContext = config.tls ? loadTls(config.tls) : null;
    let metrics: ProxyMetrics | null = null;
    const writer = await JournalWriter.open({
      dir: config.journal.dir,
      fsync: config.journal.fsync,
      segmentBytes: config.journal.segmentBytes,
      log: (msg, extra) => log.warn(extra ?? {}, msg),
      onSync: (s) => metrics?.fsyncSeconds.observe(s),
    }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOTDIR' || e.code === 'EEXIST') {
        throw new ConfigError('journal.dir', `${config.journal.dir} is not a directory (${e.code}); point journal.dir at a directory`);
      }
      if (e.code === 'EACCES' || e.code === 'EROFS') {
        throw new ConfigError('journal.dir', `${config.journal.dir} is not writable (${e.code}); fix its permissions or choose another directory`);
      }
      throw e;
    });
    if (config.journal.fsync === 'none') log.warn('journal.fsync is "none": acknowledged writes can be lost if the machine crashes');
    const proxy = new ProxyServer(config, new JournalSink(writer, log), log, tlsContext, (m) => { metrics = m; });
    try {
      proxy.admin = await AdminServer.start(proxy, log, config.admin);
      if (config.metrics) proxy.metricsServer = await startMetricsServer(proxy.metrics.registry, config.metrics.host, config.metrics.port)
        .catch((e: NodeJS.ErrnoException) => { throw new ConfigError('metrics.port', `cannot listen on ${config.metrics!.host}:${config.metrics!.port}: ${e.code ?? e.message}`); });
      await proxy.listen();
    } catch (e) {
      await proxy.closeListeners();
      await proxy.journal.close();
      throw e;
    }
    return proxy;
  }

  get address(): { host: string; port: number } {
    const a = this.server?.address();
    if (!a || typeof a === 'string') throw new Error('proxy is not listening');
    return { host: a.address, port: a.port };
  }

  get metricsAddress(): { host: string; port: number } | null {
    const a = this.metricsServer?.address();
    return a && typeof a !== 'string' ? { host: a.address, port: a.port } : null;
  }

  get adminTcpPort(): number | null {
    return this.admin?.tcpPort ?? null;
  }

  get defaultLockTimeoutMs(): number {
    return this.config.gate.lockTimeoutMs;
  }

  private listen(): Promise<void> {
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    const { host, port } = this.config.listen;
    return new Promise((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(new ConfigError('listen.port', `cannot listen on ${host}:${port}: ${e.code ?? e.message}`)));
      server.listen(port, host, () => {
        server.removeAllListeners('error');
        server.on('error', (e) => this.log.error({ err: e.message }, 'listener error'));
        const a = this.address;
        this.log.info({ listen: `${a.host}:${a.port}`, upstream: `${this.upstream.host}:${this.upstream.port}`, journal: this.config.journal.dir, headSeq: this.journal.headSeq, admin: this.config.admin.socket, metrics: this.metricsAddress }, 'proxy listening');
        resolve();
      });
    });
  }

  private accept(socket: net.Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.stats.connectionsTotal++;
    const session = new Session(socket, {
      id: this.nextId++,
      config: this.config,
      upstream: () => this.upstream,
      journal: this.journal,
      log: this.log,
      tls: this.tlsContext,
      stats: this.stats,
      gate: this.gate,
      onClose: (s) => this.sessions.delete(s),
    });
    this.sessions.add(session);
  }

  async status(): Promise<Record<string, unknown>> {
    const lag = await this.lag.measure();
    return {
      gate: { state: this.gate.state, heldWrites: this.gate.heldWrites, longestHoldSeconds: this.gate.longestHoldSeconds },
      connections: this.sessions.size,
      journal: { dir: this.config.journal.dir, headSeq: this.journal.headSeq, writable: this.journal.writable, error: this.journal.lastError?.message ?? null },
      consumers: lag.consumers,
      interceptionLagSeconds: lag.seconds,
      upstream: `${this.upstream.host}:${this.upstream.port}`,
      flip: this.lastFlip,
      startedAt: this.startedAt,
    };
  }

  /**
   * Switchover of a same-schema upgrade: the gate is locked, the new server holds everything up
   * to the locked seq. New sessions go to host:port; open ones move at their next safe point,
   * logged in with switchover.credentials. Checked first: every connected user can log in there.
   */
  async flip(host: string, port: number, timeoutMs: number): Promise<Record<string, unknown> & { ok: boolean }> {
    if (this.gate.state !== 'locked') return { ok: false, error: `flip needs the write gate locked (it is ${this.gate.state}): lock first` };
    if (this.flipping) return { ok: false, error: 'a flip is already in progress' };
    this.flipping = true;
    const started = Date.now();
    try {
      const problem = await this.checkLogins(host, port);
      if (problem) return { ok: false, error: `${problem}; nothing was changed` };
      const previous = `${this.upstream.host}:${this.upstream.port}`;
      const seq = await this.journal.settledSeq();
      this.lastFlip = { host, port, seq, at: new Date().toISOString() };
      writeUpstreamFlip(this.config.journal.dir, this.lastFlip);
      this.upstream = { host, port, generation: this.upstream.generation + 1 };
      const outcomes = await Promise.all([...this.sessions].map((s) => withTimeout(s.requestMove(), Math.max(0, timeoutMs - (Date.now() - started)))));
      const count = (o: string) => outcomes.filter((x) => x === o).length;
      const reply = { ok: true, upstream: `${host}:${port}`, previous, seq, moved: count('moved'), closed: count('closed'), pending: count('pending'), ms: Date.now() - started };
      this.log.info(reply, 'flipped to a new upstream');
      return reply;
    } finally {
      this.flipping = false;
    }
  }

  /** Why some connected user could not be re-logged in on host:port, or null. */
  private async checkLogins(host: string, port: number): Promise<string | null> {
    const users = new Set([...this.sessions].map((s) => s.user).filter((u) => u !== ''));
    // With no client connected, still prove the new server answers before pointing at it.
    const anyUser = Object.keys(this.config.switchover.credentials)[0];
    if (users.size === 0 && anyUser !== undefined) users.add(anyUser);
    if (users.size === 0) {
      return UpstreamLink.probe(host, port, this.config.upstream.connectTimeoutMs)
        .then(() => null, (e: Error) => `${host}:${port} does not answer as a MySQL server: ${e.message}`);
    }
    for (const user of users) {
      const password = this.config.switchover.credentials[user];
      if (password === undefined) {
        return `no password for user "${user}" in switchover.credentials: the proxy cannot re-open that user's ${[...this.sessions].filter((s) => s.user === user).length} session(s) on ${host}:${port}; add it to the proxy config (readable only by the proxy's account) and restart the proxy, or disconnect those clients`;
      }
      try {
        const { link } = await UpstreamLink.login({
          host, port, user, password, database: null, charset: 45, capabilities: Capability.PROTOCOL_41,
          timeoutMs: this.config.upstream.connectTimeoutMs, maxPacketBytes: this.config.limits.maxPacketBytes,
        });
        link.close();
      } catch (e) {
        return `cannot log in to ${host}:${port} as "${user}" with switchover.credentials: ${(e as Error).message}`;
      }
    }
    return null;
  }

  connections(): Record<string, unknown>[] {
    const now = Date.now();
    return [...this.sessions].map((s) => ({
      id: s.id,
      user: s.user,
      host: s.clientAddress,
      connectedSeconds: Math.round((now - s.startedAt) / 100) / 10,
      writingSeconds: s.writingSince === null ? null : Math.round((now - s.writingSince) / 100) / 10,
      writing: s.writing,
      heldWrites: s.heldCount,
      lastStatement: s.lastStatement,
    }));
  }

  /** Segments wholly below the slowest consumer's applied seq are no longer needed by anyone. */
  async prune(): Promise<Record<string, unknown> & { ok: boolean }> {
    const consumers = await readCheckpoints(this.config.journal.dir);
    if (consumers.length === 0) {
      return { ok: false, error: 'no consumer is registered (consumers/<name>.json in the journal dir): pruning would lose records nobody applied' };
    }
    const below = Math.min(...consumers.map((c) => c.seq)) + 1;
    const removed = await removeSegmentsBelow(this.config.journal.dir, below);
    this.log.info({ below, removed }, 'journal segments pruned');
    return { ok: true, keptFromSeq: below, removed };
  }

  async position(): Promise<Record<string, unknown>> {
    return { headSeq: await this.journal.settledSeq(), gate: this.gate.state };
  }

  /**
   * Graceful stop: no new connections; held writes get an ERR (they never ran); sessions close
   * as soon as they are idle outside a transaction; after `drainMs` the rest are cut (the server
   * rolls their transactions back). Every commit the server acknowledged is journaled first.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const server = this.server;
    const closed = new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    this.gate.shutdown();
    const deadline = Date.now() + this.config.shutdown.drainMs;
    while (this.sessions.size > 0 && Date.now() < deadline) {
      for (const s of [...this.sessions]) s.closeWhenIdle();
      if (this.sessions.size > 0) await new Promise((r) => setTimeout(r, 20));
    }
    if (this.sessions.size > 0) this.log.warn({ sessions: this.sessions.size }, 'closing busy sessions after the drain timeout');
    for (const s of [...this.sessions]) s.end('proxy shutting down (drain timeout)', 'info');
    await closed;
    await this.closeListeners();
    await this.journal.drain(this.config.shutdown.drainMs);
    await this.journal.close();
    this.log.info({ headSeq: this.journal.headSeq }, 'proxy stopped');
  }

  private async closeListeners(): Promise<void> {
    await this.admin?.close();
    if (this.metricsServer) {
      this.metricsServer.closeAllConnections();
      await new Promise<void>((r) => this.metricsServer!.close(() => r()));
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'pending'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('pending'), ms);
    p.then((v) => { clearTimeout(timer); resolve(v); });
  });
}

function loadTls(t: { cert: string; key: string }): tls.SecureContext {
  try {
    return tls.createSecureContext({ cert: readFileSync(t.cert), key: readFileSync(t.key) });
  } catch (e) {
    throw new ConfigError('tls', `cannot load certificate/key (${t.cert}, ${t.key}): ${(e as Error).message}`);
  }
}
