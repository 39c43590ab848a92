import net from 'node:net';
import { createHash } from 'node:crypto';
import { ByteWriter } from '../../src/protocol/bytes.js';
import { Capability, Command } from '../../src/protocol/constants.js';
import { PacketReader, type Packet } from '../../src/protocol/packet-reader.js';
import { frame } from '../../src/protocol/frame.js';
import { parseGreeting, type Greeting } from '../../src/protocol/handshake.js';
import { ResponseTracker, type ResponseKind } from '../../src/proxy/response-tracker.js';

/**
 * A minimal MySQL client speaking raw packets, for tests that need control no driver gives:
 * chosen capability flags (DEPRECATE_EOF on/off), commands drivers lack (COM_RESET_CONNECTION,
 * COM_FIELD_LIST, SEND_LONG_DATA), and malformed input.
 */
export class RawClient {
  greeting!: Greeting;
  caps = 0;
  private readonly reader = new PacketReader();
  private waiters: ((p: Packet) => void)[] = [];
  private queue: Packet[] = [];
  private closedWith: Error | null = null;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.reader.push(c);
      for (let p = this.reader.next(); p; p = this.reader.next()) {
        const w = this.waiters.shift();
        if (w) w(p);
        else this.queue.push(p);
      }
    });
    socket.on('error', (e) => { this.closedWith = e; });
    socket.on('close', () => {
      this.closedWith ??= new Error('connection closed');
      for (const w of this.waiters.splice(0)) w(null as unknown as Packet);
    });
  }

  static async open(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const s = net.connect({ host, port });
    await new Promise<void>((res, rej) => { s.once('connect', res); s.once('error', rej); });
    return new RawClient(s);
  }

  /** Connects and logs in with mysql_native_password. */
  static async login(port: number, opts: { user: string; password?: string; database?: string; deprecateEof?: boolean; multiStatements?: boolean }): Promise<RawClient> {
    const c = await RawClient.open(port);
    const g = await c.read();
    if (!g) throw new Error('no greeting');
    if (g.payload[0] === 0xff) throw new Error(`server refused: ${g.payload.subarray(9).toString()}`);
    c.greeting = parseGreeting(g.payload);
    let caps = Capability.LONG_PASSWORD | Capability.LONG_FLAG | Capability.PROTOCOL_41 | Capability.TRANSACTIONS
      | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH | Capability.MULTI_RESULTS | Capability.PS_MULTI_RESULTS;
    if (opts.deprecateEof) caps |= Capability.DEPRECATE_EOF;
    if (opts.multiStatements) caps |= Capability.MULTI_STATEMENTS;
    if (opts.database) caps |= Capability.CONNECT_WITH_DB;
    c.caps = (caps & c.greeting.capabilities) >>> 0;
    const auth = nativePassword(opts.password ?? '', c.greeting.scramble.subarray(0, 20));
    const w = new ByteWriter().u32(c.caps).u32(16 * 1024 * 1024).u8(45).bytes(Buffer.alloc(23))
      .nulString(opts.user).u8(auth.length).bytes(auth);
    if (opts.database) w.nulString(opts.database);
    w.nulString('mysql_native_password');
    c.write(1, w.toBuffer());
    const r = await c.read();
    if (!r || r.payload[0] !== 0x00) throw new Error(`login failed: ${r?.payload.subarray(9).toString() ?? 'closed'}`);
    return c;
  }

  write(seq: number, payload: Buffer): void {
    for (const b of frame(seq, payload).buffers) this.socket.write(b);
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Next packet, or null once the connection is closed. */
  read(timeoutMs = 10_000): Promise<Packet | null> {
    const p = this.queue.shift();
    if (p) return Promise.resolve(p);
    if (this.closedWith) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no packet within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((pk) => { clearTimeout(t); resolve(pk); });
    });
  }

  /** Sends one command and collects its whole response. */
  async command(payload: Buffer, kind: ResponseKind = 'resultset'): Promise<Packet[]> {
    this.write(0, payload);
    const tracker = new ResponseTracker(kind, this.caps);
    const out: Packet[] = [];
    for (;;) {
      const p = await this.read();
      if (!p) throw new Error(`connection closed after ${out.length} packets`);
      out.push(p);
      if (tracker.feed(p.payload).done) return out;
    }
  }

  query(sql: string): Promise<Packet[]> {
    return this.command(Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(sql)]));
  }

  async closed(timeoutMs = 5000): Promise<boolean> {
    if (this.socket.destroyed || this.closedWith) return true;
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.socket.once('close', () => { clearTimeout(t); resolve(true); });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

function nativePassword(password: string, scramble: Buffer): Buffer {
  if (!password) return Buffer.alloc(0);
  const sha1 = (b: Buffer) => createHash('sha1').update(b).digest();
  const p1 = sha1(Buffer.from(password));
  const p2 = sha1(p1);
  const p3 = sha1(Buffer.concat([scramble, p2]));
  return Buffer.from(p1.map((b, i) => b ^ p3[i]));
}

export function isOk(p: Packet): boolean {
  return p.payload[0] === 0x00;
}

export function isErr(p: Packet): boolean {
  return p.payload[0] === 0xff;
}

export function errMessage(p: Packet): string {
  return p.payload.subarray(9).toString('utf8');
}
