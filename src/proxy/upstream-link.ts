import net from 'node:net';
import { createHash } from 'node:crypto';
import { ByteWriter } from '../protocol/bytes.js';
import { Capability, Command } from '../protocol/constants.js';
import { parseErr } from '../protocol/err-packet.js';
import { frame } from '../protocol/frame.js';
import { parseGreeting, type Greeting } from '../protocol/handshake.js';
import { PacketReader, type Packet } from '../protocol/packet-reader.js';
import { ResponseTracker, type ResultEvent } from './response-tracker.js';

export class UpstreamLoginError extends Error {
  readonly code = 'UPSTREAM_LOGIN_FAILED';
}

export interface LoginParams {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string | null;
  charset: number;
  /** The capabilities the client session was negotiated with; the new connection uses the same. */
  capabilities: number;
  timeoutMs: number;
  maxPacketBytes: number;
}

const NATIVE = 'mysql_native_password';
/** What this link itself needs; the rest follow the client's own session. */
const REQUIRED = Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH;
/** The link sends no TLS, compression, attributes or length-encoded auth data. */
const NOT_SENT = Capability.SSL | Capability.COMPRESS | Capability.CONNECT_ATTRS | Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA
  | Capability.CONNECT_WITH_DB | Capability.ZSTD_COMPRESSION;

/**
 * A connection to a MySQL server made by the proxy itself, to carry a client session over to a
 * new upstream: it logs in as the client's user (the proxy cannot replay the client's own
 * challenge-response, so the password comes from the proxy's config), then runs the statements
 * that restore the session. Then `detach` hands the socket to the session as its upstream.
 */
export class UpstreamLink {
  private readonly reader: PacketReader;
  private readonly queue: Packet[] = [];
  private waiter: { resolve: (p: Packet) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  status = 0;

  private constructor(private readonly socket: net.Socket, readonly caps: number, maxPacketBytes: number) {
    this.reader = new PacketReader({ maxPacketBytes });
  }

  static async login(p: LoginParams): Promise<{ link: UpstreamLink; greeting: Greeting }> {
    const caps = ((p.capabilities & ~NOT_SENT) | REQUIRED | (p.database ? Capability.CONNECT_WITH_DB : 0)) >>> 0;
    return UpstreamLink.within(p.host, p.port, caps, p.maxPacketBytes, p.timeoutMs, async (link) => {
      const greeting = await link.handshake(p);
      return { link, greeting };
    });
  }

  /** Resolves once host:port sends a MySQL greeting (no login). */
  static async probe(host: string, port: number, timeoutMs: number): Promise<void> {
    await UpstreamLink.within(host, port, 0, 1024 * 1024, timeoutMs, async (link) => {
      await link.greeting();
      link.close();
    });
  }

  /** A connection to host:port for `work`, which must finish within timeoutMs; closed if it fails. */
  private static async within<T>(host: string, port: number, caps: number, maxPacketBytes: number, timeoutMs: number, work: (link: UpstreamLink) => Promise<T>): Promise<T> {
    const socket = net.connect({ host, port, noDelay: true });
    const link = new UpstreamLink(socket, caps, maxPacketBytes);
    socket.on('data', (c: Buffer) => link.onData(c));
    socket.on('error', (e) => link.fail(new UpstreamLoginError(`upstream ${host}:${port}: ${e.message}`)));
    socket.on('close', () => link.fail(new UpstreamLoginError(`upstream ${host}:${port} closed the connection`)));
    const timer = setTimeout(() => link.fail(new UpstreamLoginError(`no answer from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    try {
      return await work(link);
    } catch (e) {
      socket.destroy();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private async greeting(): Promise<{ greeting: Greeting; seq: number }> {
    const first = await this.next();
    if (first.payload[0] === 0xff) throw new UpstreamLoginError(`upstream refused the connection: ${parseErr(first.payload, 0).message}`);
    return { greeting: parseGreeting(first.payload), seq: first.seq };
  }

  private async handshake(p: LoginParams): Promise<Greeting> {
    const { greeting, seq } = await this.greeting();
    const missing = (this.caps & ~greeting.capabilities & ~Capability.CLIENT_MYSQL) >>> 0;
    if (missing) throw new UpstreamLoginError(`the new upstream lacks capabilities the session uses (0x${missing.toString(16)})`);
    const plugin = greeting.authPluginName ?? NATIVE;
    const auth = plugin === NATIVE ? nativeScramble(p.password, greeting.scramble) : Buffer.alloc(0);
    const w = new ByteWriter().u32((this.caps | Capability.CLIENT_MYSQL) >>> 0).u32(p.maxPacketBytes).u8(p.charset).bytes(Buffer.alloc(23))
      .nulString(p.user).u8(auth.length).bytes(auth);
    if (p.database) w.nulString(p.database);
    w.nulString(plugin);
    this.send(seq + 1, w.toBuffer());
    for (;;) {
      const r = await this.next();
      const head = r.payload[0];
      if (head === 0x00) return greeting;
      if (head === 0xff) throw new UpstreamLoginError(`login as ${p.user} refused: ${parseErr(r.payload, this.caps).message}`);
      if (head !== 0xfe) throw new UpstreamLoginError(`unexpected packet 0x${head.toString(16)} during login`);
      const nul = r.payload.indexOf(0, 1);
      const name = r.payload.subarray(1, nul).toString('latin1');
      if (name !== NATIVE) {
        throw new UpstreamLoginError(`user ${p.user} authenticates with ${name} on the new upstream; moving sessions needs ${NATIVE}`);
      }
      const seed = r.payload.subarray(nul + 1, nul + 21);
      this.send(r.seq + 1, nativeScramble(p.password, seed));
    }
  }

  /** One command and its whole answer; the events of its results (rows are skipped). */
  async command(payload: Buffer, kind: 'resultset' | 'prepare'): Promise<ResultEvent[]> {
    const tracker = new ResponseTracker(kind, this.caps);
    this.send(0, payload);
    const events: ResultEvent[] = [];
    for (;;) {
      const r = tracker.feed((await this.next()).payload);
      if (r.event) {
        events.push(r.event);
        if (r.event.type === 'ok') this.status = r.event.ok.status;
        if (r.event.type === 'rows_end') this.status = r.event.status;
      }
      if (r.done) return events;
    }
  }

  /** Runs SQL that must succeed. */
  async run(sql: string): Promise<void> {
    const events = await this.command(Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(sql)]), 'resultset');
    const err = events.find((e) => e.type === 'err');
    if (err && err.type === 'err') throw new UpstreamLoginError(`restoring the session failed on "${sql.slice(0, 80)}": ${err.message}`);
  }

  /** The socket, its unread bytes, and no more listeners of this link. */
  detach(): { socket: net.Socket; rest: Buffer } {
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('error');
    this.socket.removeAllListeners('close');
    return { socket: this.socket, rest: this.reader.takeBuffered() };
  }

  close(): void {
    this.socket.destroy();
  }

  send(seq: number, payload: Buffer): void {
    for (const b of frame(seq & 0xff, payload).buffers) this.socket.write(b);
  }

  private onData(chunk: Buffer): void {
    try {
      this.reader.push(chunk);
      for (let p = this.reader.next(); p; p = this.reader.next()) this.queue.push(p);
    } catch (e) {
      return this.fail(new UpstreamLoginError(`malformed packet from the new upstream: ${(e as Error).message}`));
    }
    if (this.waiter && this.queue.length > 0) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve(this.queue.shift()!);
    }
  }

  private next(): Promise<Packet> {
    const p = this.queue.shift();
    if (p) return Promise.resolve(p);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => { this.waiter = { resolve, reject }; });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(this.failure);
    this.socket.destroy();
  }
}

/** mysql_native_password: SHA1(password) XOR SHA1(seed + SHA1(SHA1(password))). */
function nativeScramble(password: string, seed: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const sha1 = (b: Buffer | string) => createHash('sha1').update(b).digest();
  const h1 = sha1(password);
  const h3 = sha1(Buffer.concat([seed.subarray(0, 20), sha1(h1)]));
  for (let i = 0; i < h1.length; i++) h1[i] ^= h3[i];
  return h1;
}
