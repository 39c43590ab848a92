import net from 'node:net';
import { createHash } from 'node:crypto';
import { ByteWriter } from '../../src/protocol/bytes.js';
import { Capability, Command, ServerStatus } from '../../src/protocol/constants.js';
import { PacketReader, type Packet } from '../../src/protocol/packet-reader.js';
import { frame } from '../../src/protocol/frame.js';
import { parseGreeting, type Greeting } from '../../src/protocol/handshake.js';
import { parseOk } from '../../src/protocol/ok-packet.js';
import { parseEof } from '../../src/protocol/eof-packet.js';

/** The shape of the server's answer to one command. */
export type ResponseKind =
  | 'resultset'   // COM_QUERY, COM_STMT_EXECUTE: OK | ERR | LOCAL INFILE request | result sets, maybe several
  | 'prepare'     // COM_STMT_PREPARE
  | 'rows'        // COM_STMT_FETCH: rows until a terminator
  | 'field_list'  // COM_FIELD_LIST: column definitions until a terminator
  | 'simple'      // one OK / ERR / EOF packet
  | 'raw';        // one packet of any shape (COM_STATISTICS answers with a bare string)

export interface LoginOptions {
  user: string;
  password?: string;
  database?: string;
  deprecateEof?: boolean;
  multiStatements?: boolean;
  /** Announce CLIENT_LOCAL_FILES (the client could send files for LOAD DATA LOCAL). */
  localFiles?: boolean;
  /** Announce CLIENT_SESSION_TRACK: OK packets then carry session state changes. */
  sessionTrack?: boolean;
  /** Collation id of the connection character set; default 45 (utf8mb4_general_ci). */
  charset?: number;
}

const DEFAULT_CHARSET = 45;
const MAX_FRAME = 0xffffff;

/**
 * A minimal MySQL client speaking raw packets, for tests that need control no driver gives:
 * chosen capability flags (DEPRECATE_EOF on/off), commands drivers lack (COM_RESET_CONNECTION,
 * COM_FIELD_LIST, SEND_LONG_DATA), and malformed input. It finds where a response ends with
 * its own reading of the protocol, not the proxy's, so a proxy that cuts a response in the
 * wrong place shows up as a desynchronised conversation.
 */
export class RawClient {
  greeting!: Greeting;
  caps = 0;
  private readonly reader = new PacketReader();
  private waiters: ((p: Packet | null) => void)[] = [];
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
      for (const w of this.waiters.splice(0)) w(null);
    });
  }

  static async open(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const s = net.connect({ host, port, noDelay: true });
    await new Promise<void>((res, rej) => { s.once('connect', res); s.once('error', rej); });
    return new RawClient(s);
  }

  /** Connects and logs in with mysql_native_password (following a switch back to it). */
  static async login(port: number, opts: LoginOptions): Promise<RawClient> {
    const { client, reply } = await RawClient.startLogin(port, opts);
    try {
      const r = reply?.payload[0] === 0xfe ? await client.answerAuthSwitch(reply, opts.password ?? '') : reply;
      if (!r || r.payload[0] !== 0x00) throw new Error(`login failed: ${r ? describe(r) : 'connection closed'}`);
      return client;
    } catch (e) {
      client.close();
      throw e;
    }
  }

  /**
   * Reads the greeting, sends a handshake response announcing mysql_native_password, and
   * returns the server's first answer (OK, ERR, or an auth switch request) unhandled.
   */
  static async startLogin(port: number, opts: LoginOptions): Promise<{ client: RawClient; reply: Packet | null }> {
    const c = await RawClient.open(port);
    const g = await c.read();
    if (!g || g.payload[0] === 0xff) {
      c.close();
      throw new Error(g ? `server refused: ${errMessage(g)}` : 'no greeting');
    }
    c.greeting = parseGreeting(g.payload);
    c.caps = (clientCaps(opts) & c.greeting.capabilities) >>> 0;
    const auth = nativePassword(opts.password ?? '', c.greeting.scramble.subarray(0, 20));
    const w = new ByteWriter().u32(c.caps).u32(16 * 1024 * 1024).u8(opts.charset ?? DEFAULT_CHARSET).bytes(Buffer.alloc(23))
      .nulString(opts.user).u8(auth.length).bytes(auth);
    if (opts.database) w.nulString(opts.database);
    w.nulString('mysql_native_password');
    c.write(g.seq + 1, w.toBuffer());
    return { client: c, reply: await c.read() };
  }

  /** COM_CHANGE_USER with mysql_native_password; returns the server's final answer (OK or ERR). */
  async changeUser(opts: { user: string; password?: string; database?: string; charset?: number }): Promise<Packet | null> {
    const password = opts.password ?? '';
    const auth = nativePassword(password, this.greeting.scramble.subarray(0, 20));
    this.write(0, new ByteWriter().u8(Command.CHANGE_USER).nulString(opts.user).u8(auth.length).bytes(auth)
      .nulString(opts.database ?? '').u16(opts.charset ?? DEFAULT_CHARSET).nulString('mysql_native_password').toBuffer());
    const r = await this.read();
    return r?.payload[0] === 0xfe ? this.answerAuthSwitch(r, password) : r;
  }

  private async answerAuthSwitch(sw: Packet, password: string): Promise<Packet | null> {
    const nul = sw.payload.indexOf(0, 1);
    const plugin = sw.payload.subarray(1, nul).toString('latin1');
    if (plugin !== 'mysql_native_password') throw new Error(`auth switch to ${plugin}: RawClient speaks only mysql_native_password`);
    this.write((sw.seq + 1) & 0xff, nativePassword(password, sw.payload.subarray(nul + 1, nul + 21)));
    return this.read();
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
      const waiter = (pk: Packet | null) => { clearTimeout(t); resolve(pk); };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no packet within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Sends one command and collects its whole response. */
  async command(payload: Buffer, kind: ResponseKind = 'resultset'): Promise<Packet[]> {
    this.write(0, payload);
    return this.response(kind);
  }

  /** Collects the response to a command already sent (e.g. pipelined ones, in order). */
  async response(kind: ResponseKind = 'resultset'): Promise<Packet[]> {
    const end = new ResponseEnd(kind, (this.caps & Capability.DEPRECATE_EOF) !== 0);
    const out: Packet[] = [];
    for (;;) {
      const p = await this.read();
      if (!p) throw new Error(`connection closed after ${out.length} packets`);
      out.push(p);
      if (end.feed(p.payload)) return out;
    }
  }

  query(sql: string | Buffer): Promise<Packet[]> {
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

function clientCaps(opts: LoginOptions): number {
  let caps = Capability.CLIENT_LONG_PASSWORD | Capability.LONG_FLAG | Capability.PROTOCOL_41 | Capability.TRANSACTIONS
    | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH | Capability.MULTI_RESULTS | Capability.PS_MULTI_RESULTS;
  if (opts.deprecateEof) caps |= Capability.DEPRECATE_EOF;
  if (opts.multiStatements) caps |= Capability.MULTI_STATEMENTS;
  if (opts.database) caps |= Capability.CONNECT_WITH_DB;
  if (opts.localFiles) caps |= Capability.LOCAL_FILES;
  if (opts.sessionTrack) caps |= Capability.SESSION_TRACK;
  return caps;
}

type State = 'first' | 'columns' | 'columns_eof' | 'rows' | 'params' | 'params_eof' | 'prep_columns' | 'prep_columns_eof';

/** Where one command's response ends, read from the protocol documentation independently of the proxy. */
class ResponseEnd {
  private state: State;
  private left = 0;
  private prepColumns = 0;

  constructor(private readonly kind: ResponseKind, private readonly deprecateEof: boolean) {
    this.state = kind === 'rows' || kind === 'field_list' ? 'rows' : 'first';
  }

  /** True when `p` is the last packet of the response. */
  feed(p: Buffer): boolean {
    if (this.kind === 'raw' || this.kind === 'simple') return true;
    if (this.kind === 'prepare') return this.prepare(p);
    return this.resultset(p);
  }

  private resultset(p: Buffer): boolean {
    switch (this.state) {
      case 'first':
        if (p[0] === 0x00) return !moreResults(parseOk(p, Capability.PROTOCOL_41).status);
        if (p[0] === 0xff || p[0] === 0xfb) return true;
        this.left = p[0]!;
        if (this.left >= 0xfb) throw new Error(`column count with prefix 0x${p[0]!.toString(16)} is not expected in a test`);
        this.state = 'columns';
        return false;
      case 'columns':
        if (--this.left === 0) this.state = this.deprecateEof ? 'rows' : 'columns_eof';
        return false;
      case 'columns_eof': {
        const status = parseEof(p).status;
        if (status & ServerStatus.CURSOR_EXISTS) return this.resultEnd(status);
        this.state = 'rows';
        return false;
      }
      case 'rows':
        if (p[0] === 0xff) return true;
        if (p[0] !== 0xfe || p.length >= MAX_FRAME || (!this.deprecateEof && p.length >= 9)) return false;
        return this.resultEnd(this.deprecateEof ? parseOk(p, Capability.PROTOCOL_41).status : parseEof(p).status);
      default:
        throw new Error(`response already complete (state ${this.state})`);
    }
  }

  private resultEnd(status: number): boolean {
    this.state = 'first';
    return !moreResults(status);
  }

  private prepare(p: Buffer): boolean {
    switch (this.state) {
      case 'first':
        if (p[0] === 0xff) return true;
        this.prepColumns = p.readUInt16LE(5);
        this.left = p.readUInt16LE(7);
        return this.left > 0 ? this.next('params') : this.prepareColumns();
      case 'params':
        return --this.left > 0 ? false : this.deprecateEof ? this.prepareColumns() : this.next('params_eof');
      case 'params_eof':
        return this.prepareColumns();
      case 'prep_columns':
        return --this.left > 0 ? false : this.deprecateEof || this.next('prep_columns_eof');
      case 'prep_columns_eof':
        return true;
      default:
        throw new Error(`prepare response already complete (state ${this.state})`);
    }
  }

  private prepareColumns(): boolean {
    this.left = this.prepColumns;
    return this.left === 0 || this.next('prep_columns');
  }

  private next(state: State): false {
    this.state = state;
    return false;
  }
}

function moreResults(status: number): boolean {
  return (status & ServerStatus.MORE_RESULTS_EXISTS) !== 0;
}

function nativePassword(password: string, scramble: Buffer): Buffer {
  if (!password) return Buffer.alloc(0);
  const sha1 = (b: Buffer) => createHash('sha1').update(b).digest();
  const p1 = sha1(Buffer.from(password));
  const p2 = sha1(p1);
  const p3 = sha1(Buffer.concat([scramble, p2]));
  return Buffer.from(p1.map((b, i) => b ^ p3[i]));
}

function describe(p: Packet): string {
  return p.payload[0] === 0xff ? errMessage(p) : `packet starting 0x${p.payload[0]?.toString(16)}`;
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
