import net from 'node:net';
import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from '../log.js';
import { ConfigError } from '../config/proxy-config.js';
import { ADMIN_COMMANDS, runAdminCommand, type AdminTarget, type LeaseBook } from './admin-commands.js';
import { serveLines } from './line-protocol.js';

/**
 * The operator's line protocol: one command per line, one JSON line back. On a Unix socket
 * (mode 0600: whoever can open it is trusted) and optionally on loopback TCP, where a
 * connection must first send `auth TOKEN`.
 */
export class AdminServer {
  private readonly servers: net.Server[] = [];
  private readonly lease: LeaseBook = { owner: null };

  private constructor(private readonly target: AdminTarget, private readonly log: Logger) {}

  static async start(target: AdminTarget, log: Logger, opts: { socket: string; tcp: { host: string; port: number; token: string } | null }): Promise<AdminServer> {
    const admin = new AdminServer(target, log);
    await admin.listenUnix(opts.socket);
    if (opts.tcp) await admin.listenTcp(opts.tcp);
    return admin;
  }

  get tcpPort(): number | null {
    const a = this.servers[1]?.address();
    return a && typeof a !== 'string' ? a.port : null;
  }

  private async listenUnix(path: string): Promise<void> {
    // A socket file left by a crashed proxy would make listen fail; anything else is not ours.
    if (existsSync(path)) {
      if (!lstatSync(path).isSocket()) throw new ConfigError('admin.socket', `${path} exists and is not a socket; choose another path`);
      if (await isLive(path)) throw new ConfigError('admin.socket', `${path} is in use by a running process (another proxy?)`);
      unlinkSync(path);
    }
    const server = net.createServer((s) => this.serve(s, null));
    const oldMask = process.umask(0o177); // created 0600 from the start, no window
    try {
      await listen(server, path, 'admin.socket');
    } finally {
      process.umask(oldMask);
    }
    chmodSync(path, 0o600);
    this.servers.push(server);
    this.log.info({ socket: path }, 'admin socket listening');
  }

  private async listenTcp(tcp: { host: string; port: number; token: string }): Promise<void> {
    const server = net.createServer((s) => this.serve(s, tcp.token));
    await listen(server, { host: tcp.host, port: tcp.port }, 'admin.tcp');
    this.servers.push(server);
    this.log.info({ host: tcp.host, port: this.tcpPort }, 'admin TCP listener on loopback (token required)');
  }

  private serve(socket: net.Socket, token: string | null): void {
    let authed = token === null;
    const caller = { conn: socket, lease: this.lease };
    socket.once('close', () => this.leaseEnded(socket));
    serveLines(socket, async (line) => {
      if (!authed) {
        authed = checkAuth(line, token!);
        if (!authed) this.log.warn({ remote: socket.remoteAddress }, 'admin TCP request without a valid token');
        return authed ? { ok: true } : { ok: false, error: 'unauthorized: send `auth TOKEN` first' };
      }
      const reply = await runAdminCommand(this.target, line, caller);
      // Only known command names reach the log: an unknown line may be a pasted secret.
      const name = line.trim().split(/\s+/)[0].toLowerCase();
      this.log.info({ command: ADMIN_COMMANDS.includes(name) ? name : '(unknown)', ok: reply.ok }, 'admin command');
      return reply;
    });
  }

  private leaseEnded(conn: net.Socket): void {
    if (this.lease.owner !== conn) return;
    this.lease.owner = null;
    const state = this.target.gate.state;
    if (state !== 'locking' && state !== 'locked') return;
    const r = this.target.gate.unlock();
    this.log.warn({ released: r.released, lockedMs: r.lockedMs }, 'the admin connection holding the gate lock as a lease closed: gate unlocked');
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

function checkAuth(line: string, token: string): boolean {
  const m = /^auth\s+(\S+)$/.exec(line.trim());
  if (!m) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function listen(server: net.Server, where: string | { host: string; port: number }, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new ConfigError(key, `cannot listen on ${typeof where === 'string' ? where : `${where.host}:${where.port}`}: ${e.code ?? ''} ${e.message}`)));
    if (typeof where === 'string') server.listen(where, () => resolve());
    else server.listen(where.port, where.host, () => resolve());
  });
}

function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}
