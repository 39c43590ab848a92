import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Logger } from '../log.js';
import type { ProxyConfig } from '../config/proxy-config.js';
import { JournalWriter } from '../journal/journal-writer.js';
import { JournalSink } from './journal-sink.js';
import { Session } from './session.js';
import { ProxyStats } from './stats.js';

/** The listening proxy: accepts clients, gives each a Session, owns the journal. */
export class ProxyServer {
  readonly stats = new ProxyStats();
  readonly sessions = new Set<Session>();
  private nextId = 1;
  private server: net.Server | null = null;
  private stopping: Promise<void> | null = null;

  private constructor(
    readonly config: ProxyConfig,
    readonly journal: JournalSink,
    private readonly log: Logger,
    private readonly tlsContext: tls.SecureContext | null,
  ) {}

  static async start(config: ProxyConfig, log: Logger): Promise<ProxyServer> {
    const tlsContext = config.tls ? loadTls(config.tls) : null;
    const writer = await JournalWriter.open({
      dir: config.journal.dir,
      fsync: config.journal.fsync,
      segmentBytes: config.journal.segmentBytes,
      log: (msg, extra) => log.warn(extra ?? {}, msg),
    });
    if (config.journal.fsync === 'none') log.warn('journal.fsync is "none": acknowledged writes can be lost if the machine crashes');
    const proxy = new ProxyServer(config, new JournalSink(writer, log), log, tlsContext);
    await proxy.listen();
    return proxy;
  }

  get address(): { host: string; port: number } {
    const a = this.server?.address();
    if (!a || typeof a === 'string') throw new Error('proxy is not listening');
    return { host: a.address, port: a.port };
  }

  private listen(): Promise<void> {
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    const { host, port } = this.config.listen;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', (e) => this.log.error({ err: e.message }, 'listener error'));
        const a = this.address;
        this.log.info({ listen: `${a.host}:${a.port}`, upstream: `${this.config.upstream.host}:${this.config.upstream.port}`, journal: this.config.journal.dir, headSeq: this.journal.headSeq }, 'proxy listening');
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
      journal: this.journal,
      log: this.log,
      tls: this.tlsContext,
      stats: this.stats,
      onClose: (s) => this.sessions.delete(s),
    });
    this.sessions.add(session);
  }

  /**
   * Graceful stop: no new connections; sessions close as soon as they are idle outside a
   * transaction; after `drainMs` the rest are cut (the server rolls their transactions back).
   * Every commit the server acknowledged is journaled before this resolves.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const server = this.server;
    const closed = new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    const deadline = Date.now() + this.config.shutdown.drainMs;
    while (this.sessions.size > 0 && Date.now() < deadline) {
      for (const s of [...this.sessions]) s.closeWhenIdle();
      if (this.sessions.size > 0) await new Promise((r) => setTimeout(r, 20));
    }
    if (this.sessions.size > 0) this.log.warn({ sessions: this.sessions.size }, 'closing busy sessions after the drain timeout');
    for (const s of [...this.sessions]) s.end('proxy shutting down (drain timeout)', 'info');
    await closed;
    await this.journal.drain(this.config.shutdown.drainMs);
    await this.journal.close();
    this.log.info({ headSeq: this.journal.headSeq }, 'proxy stopped');
  }
}

function loadTls(t: { cert: string; key: string }): tls.SecureContext {
  try {
    return tls.createSecureContext({ cert: readFileSync(t.cert), key: readFileSync(t.key) });
  } catch (e) {
    throw new Error(`config: tls: cannot load certificate/key (${t.cert}, ${t.key}): ${(e as Error).message}`);
  }
}
