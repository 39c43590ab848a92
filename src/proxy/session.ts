import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log.js';
import type { ProxyConfig } from '../config/proxy-config.js';
import { Capability, Command, ServerStatus } from '../protocol/constants.js';
import { PacketReader, type Packet } from '../protocol/packet-reader.js';
import { frame } from '../protocol/frame.js';
import { ProtocolError } from '../protocol/errors.js';
import {
  isSslRequest, parseGreeting, parseHandshakeResponse,
  rewriteGreetingCapabilities, rewriteHandshakeResponseCapabilities,
} from '../protocol/handshake.js';
import { parseChangeUser } from '../protocol/change-user.js';
import { parseSendLongData } from '../protocol/stmt-long-data.js';
import { namesFragment } from '../protocol/collations.js';
import { classify, type Classified } from '../sql/classify.js';
import { splitStatements } from '../sql/split.js';
import type { JournalTxn } from '../journal/record.js';
import { OrderedOutput } from './ordered-output.js';
import { ResponseTracker, type ResponseKind, type ResultEvent } from './response-tracker.js';
import { SessionContext } from './session-context.js';
import { TransactionBuffer } from './transaction-buffer.js';
import { PreparedStatements, type PreparedStatement } from './prepared-statements.js';
import { JournalSink } from './journal-sink.js';
import { errorPacket, ProxyErrorCode } from './client-errors.js';
import { StatementRecorder, nowMicros, type PendingStatement } from './statement-recorder.js';
import type { ProxyStats } from './stats.js';
import type { GateMember, WriteGate } from './write-gate.js';
import { HeldCommands } from './held-commands.js';
import { UpstreamLink } from './upstream-link.js';

/** Capabilities the proxy hides from clients because it does not speak them on the hot path. */
const HIDDEN_CAPS = Capability.COMPRESS | Capability.ZSTD_COMPRESSION | Capability.QUERY_ATTRIBUTES
  | Capability.OPTIONAL_RESULTSET_METADATA;
/** All MariaDB extensions (progress reports, bulk, metadata cache) change packet shapes. */
const HIDDEN_MARIADB_CAPS = 0xffffffff;
const HIGH_WATER = 1024 * 1024;
/** COM_STMT_EXECUTE: command, statement id, flags, iteration count; then the NULL bitmap. */
const EXECUTE_HEADER = 10;
const ER_LOCK_DEADLOCK = 1213;

/** Where sessions connect; `generation` grows with each switchover flip. */
export interface UpstreamTarget {
  host: string;
  port: number;
  generation: number;
}

/** 'pending': inside a read-only transaction; it moves at the transaction's end or first write. */
export type MoveOutcome = 'moved' | 'closed' | 'pending';

export interface SessionDeps {
  id: number;
  config: ProxyConfig;
  upstream: () => UpstreamTarget;
  journal: JournalSink;
  log: Logger;
  tls: tls.SecureContext | null;
  stats: ProxyStats;
  gate: WriteGate;
  onClose: (s: Session) => void;
}

interface PendingCommand {
  tracker: ResponseTracker;
  /** One per statement whose result the server will send (a multi-statement query has several). */
  statements: PendingStatement[];
  index: number;
  onOk?: () => void;
  /** Sent by the proxy itself: the answer is not the client's. */
  injected?: string;
  /** Answered by the proxy itself; sent once every command ahead of it has its answer. */
  localAnswer?: Buffer[];
}

type Phase = 'greeting' | 'handshake' | 'auth' | 'command' | 'closed';

/**
 * One client connection and its upstream connection. Bytes are relayed as they come; the
 * proxy reads packet headers to follow the conversation, and holds back exactly one kind of
 * packet: the server's acknowledgement of a commit, until the journal has it on disk.
 */
export class Session implements GateMember {
  readonly id: number;
  readonly startedAt = Date.now();
  user = '';
  lastStatement = '';
  private phase: Phase = 'greeting';
  private client: net.Socket;
  private upstream: net.Socket;
  private readonly clientReader: PacketReader;
  private serverReader: PacketReader;
  private clientOut: OrderedOutput;
  private serverCaps = 0;
  private caps = 0;
  /** After a TLS upgrade the client's packet numbering runs one ahead of the server's. */
  private seqShift = 0;
  private changingUser: { database: string | null; charset: number | null; previousUser: string } | null = null;
  /** The charset the client logged in with: what COM_RESET_CONNECTION returns to. */
  private loginCharset: number | null = null;
  private readonly commands: PendingCommand[] = [];
  private ctx = new SessionContext(null, null);
  private readonly txn = new TransactionBuffer();
  private readonly prepared = new PreparedStatements();
  private readonly recorder: StatementRecorder;
  private status: number = ServerStatus.AUTOCOMMIT;
  private multiStatements = false;
  private upstreamReady = false;
  private clockPinned = false;
  private readonly held: HeldCommands;
  /** Which upstream this session is on; behind the proxy's after a flip until it is moved. */
  private generation: number;
  private moving = false;
  /** Released by a drain: these held commands go through the gate once. */
  private passGate = false;
  /** Moved at least once: the client's statement ids and the server's may differ. */
  private remapsIds = false;
  private readonly moveWaiters: ((o: MoveOutcome) => void)[] = [];
  /** Why this session cannot be re-created on another server (temporary tables); null: it can. */
  private pinnedBy: string | null = null;
  /** LAST_INSERT_ID() as the server last reported it, restored after a move. */
  private lastInsertId = 0n;
  /** GET_LOCK calls since the last release: re-run on the new server when the session moves. */
  private namedLocks: string[] = [];
  /** Set once the client left with a write in flight: called when the server has answered it. */
  private afterInFlight: (() => void) | null = null;

  constructor(clientSocket: net.Socket, private readonly deps: SessionDeps) {
    this.id = deps.id;
    this.client = clientSocket;
    const max = deps.config.limits.maxPacketBytes;
    this.clientReader = new PacketReader({ maxPacketBytes: max });
    this.serverReader = new PacketReader({ maxPacketBytes: max });
    this.clientOut = new OrderedOutput(clientSocket, () => this.upstream.resume());
    this.held = new HeldCommands({
      maxHoldMs: deps.config.gate.maxHoldMs,
      // One held again (the gate is still locked) keeps everything behind it waiting too.
      run: (p) => (this.held.size > 0 ? this.held.hold(p) : this.onCommandGuarded(p)),
      refuse: (p, message) => this.answer(errorPacket(p.seq + 1, ProxyErrorCode.OPTION_PREVENTS_STATEMENT, message)),
      holdEnded: (seconds) => deps.gate.holdEnded(seconds),
    });
    this.recorder = new StatementRecorder(() => this.ctx, () => (this.status & ServerStatus.NO_BACKSLASH_ESCAPES) !== 0);
    clientSocket.setNoDelay(true);
    this.attachClient(clientSocket);
    deps.gate.join(this);

    const { host, port, generation } = deps.upstream();
    const { connectTimeoutMs } = deps.config.upstream;
    this.generation = generation;
    this.upstream = net.connect({ host, port, noDelay: true });
    // Until the server's greeting arrives: a server that accepts but never speaks counts as down.
    this.upstream.setTimeout(connectTimeoutMs, () => this.upstreamFailed(new Error(`no greeting within ${connectTimeoutMs} ms`)));
    this.upstream.once('connect', () => { this.upstreamReady = true; });
    this.attachUpstream(this.upstream);
  }

  private attachUpstream(u: net.Socket): void {
    u.on('data', (chunk: Buffer) => this.onServerData(chunk));
    u.on('drain', () => this.client.resume());
    u.on('error', (e) => (this.upstreamReady ? this.end(`upstream error: ${e.message}`) : this.upstreamFailed(e)));
    u.on('close', () => this.onUpstreamClosed());
  }

  get clientAddress(): string {
    return `${this.client.remoteAddress ?? '?'}:${this.client.remotePort ?? '?'}`;
  }

  /** Inside a transaction that has written, or waiting on the server: not a moment to cut. */
  get busy(): boolean {
    return this.commands.length > 0 || this.txn.size > 0 || this.clientOut.isBlocked
      || (this.status & ServerStatus.IN_TRANS) !== 0;
  }

  get closed(): boolean {
    return this.phase === 'closed';
  }

  get writing(): boolean {
    return this.txn.size > 0 || this.commands.some((c) => c.statements.some((st) => st.classified.kind === 'write'));
  }

  get writingSince(): number | null {
    return this.txn.firstWriteAt;
  }

  get heldCount(): number {
    return this.held.size;
  }

  /**
   * The gate opened (or `pass`: a drain lets these through once): run held commands in their
   * original order (one may be held again).
   */
  releaseHeld(pass = false): void {
    if (this.moving) return; // the move releases them once this session is on its new upstream
    this.passGate = pass;
    try {
      this.held.release(() => !this.closed);
    } finally {
      this.passGate = false;
    }
  }

  failHeld(message: string): void {
    this.held.refuseAll(message);
  }

  private attachClient(s: net.Socket): void {
    s.on('data', (chunk: Buffer) => this.onClientData(chunk));
    s.on('drain', () => this.upstream.resume());
    s.on('error', (e) => this.clientGone(`client error: ${e.message}`));
    s.on('close', () => this.clientGone('client closed the connection'));
  }

  /**
   * The client went away. A write it sent may be committing on the server right now: cutting the
   * upstream would lose the answer, and with it the journal record of a commit that happened.
   * So the server's answers to what is in flight are still read (and a commit journaled) first.
   */
  private clientGone(reason: string): void {
    if (this.phase === 'closed' || this.afterInFlight) return;
    if (this.phase !== 'command' || this.commands.length === 0 || !this.writing) return this.end(reason, 'debug');
    this.held.drop();
    const limit = this.deps.config.upstream.connectTimeoutMs;
    const timer = setTimeout(() => this.end(`${reason}; the server did not answer its last write within ${limit} ms`, 'warn'), limit);
    this.afterInFlight = () => {
      clearTimeout(timer);
      this.end(`${reason} (after the server answered its last write)`, 'debug');
    };
  }

  private upstreamFailed(e: Error): void {
    const { host, port } = this.deps.upstream();
    const why = (e as NodeJS.ErrnoException).code ?? e.message;
    this.deps.log.error({ session: this.id, upstream: `${host}:${port}`, err: e.message }, 'upstream unreachable');
    this.clientOut.write(errorPacket(0, ProxyErrorCode.UNKNOWN_ERROR,
      `cannot reach the upstream MySQL server ${host}:${port} (${why}); check that it is running and upstream.host/upstream.port in the proxy config`));
    this.clientOut.end();
    this.phase = 'closed';
    this.upstream.destroy();
    this.deps.onClose(this);
  }

  private onUpstreamClosed(): void {
    if (this.phase === 'closed') return;
    // Let whatever the server said last (an ERR, typically) reach the client first.
    this.clientOut.end();
    this.finish('upstream closed the connection', 'debug');
  }

  /** Ends both sides now, logging why. Safe to call more than once. */
  end(reason: string, level: 'debug' | 'info' | 'warn' = 'info'): void {
    if (this.phase === 'closed') return;
    this.client.destroy();
    this.finish(reason, level);
  }

  private finish(reason: string, level: 'debug' | 'info' | 'warn'): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    if (this.txn.size > 0) this.deps.log.debug({ session: this.id, writes: this.txn.size }, 'open transaction dropped with its connection (the server rolls it back)');
    this.txn.discard();
    this.held.drop();
    this.upstream.destroy();
    this.settleMove('closed');
    this.deps.gate.leave(this);
    this.deps.log[level]({ session: this.id, user: this.user, client: this.clientAddress, reason }, 'session ended');
    this.deps.onClose(this);
  }

  /** Closes the session once no command is in flight and no transaction is open. */
  closeWhenIdle(): boolean {
    if (this.busy || this.phase !== 'command') return false;
    this.end('proxy shutting down', 'debug');
    return true;
  }

  // ---- moving to another upstream (switchover) -------------------------------------------

  /**
   * The proxy flipped to another upstream: move this session there at its next safe point
   * (nothing in flight, no written transaction open, and either outside a transaction or with a
   * write held at the gate). Resolves 'moved', 'pending', or 'closed' when it could not be carried over.
   */
  requestMove(): Promise<MoveOutcome> {
    if (this.closed) return Promise.resolve('closed');
    if (this.generation === this.deps.upstream().generation && !this.moving) return Promise.resolve('moved');
    const done = new Promise<MoveOutcome>((resolve) => this.moveWaiters.push(resolve));
    this.moveIfDue();
    return done;
  }

  /** Outside a transaction on the old server: even reads wait for the move. */
  private movesBeforeNextCommand(): boolean {
    return this.generation !== this.deps.upstream().generation && (this.status & ServerStatus.IN_TRANS) === 0;
  }


  private moveIfDue(): void {
    if (this.moving || this.closed || this.phase !== 'command' || this.generation === this.deps.upstream().generation) return;
    if (this.commands.length > 0 || this.txn.size > 0) return;
    const inTrans = (this.status & ServerStatus.IN_TRANS) !== 0;
    if (inTrans && this.held.size === 0) return this.settleMove('pending');
    const why = this.pinnedBy ?? (this.ctx.tainted.size > 0 ? `session variables set from expressions (${[...this.ctx.tainted].join(', ')})` : null);
    if (why) return this.cannotMove(why);
    this.moving = true;
    this.move(inTrans).catch((e: Error) => {
      this.moving = false;
      this.cannotMove(e.message);
    });
  }

  private async move(inTrans: boolean): Promise<void> {
    const target = this.deps.upstream();
    const password = this.deps.config.switchover.credentials[this.user];
    if (password === undefined) throw new Error(`no password for user "${this.user}" in switchover.credentials`);
    const { link, greeting } = await UpstreamLink.login({
      host: target.host, port: target.port, user: this.user, password, database: this.ctx.db,
      charset: this.loginCharset ?? 45, capabilities: this.caps, timeoutMs: this.deps.config.upstream.connectTimeoutMs,
      maxPacketBytes: this.deps.config.limits.maxPacketBytes,
    });
    const guard = setTimeout(() => link.close(), this.deps.config.upstream.connectTimeoutMs);
    try {
      await this.restoreOn(link, inTrans);
    } catch (e) {
      link.close();
      throw e;
    } finally {
      clearTimeout(guard);
    }
    if (this.closed) return link.close();
    this.swapUpstream(link, greeting.capabilities, target.generation, link.status);
  }

  /** Re-creates settings, locks, LAST_INSERT_ID, prepared statements and the open transaction. */
  private async restoreOn(link: UpstreamLink, inTrans: boolean): Promise<void> {
    if (this.ctx.names) await link.run(`SET ${this.ctx.names}`);
    const sets = this.ctx.restoreFragments();
    if ((this.status & ServerStatus.AUTOCOMMIT) === 0) sets.push('autocommit = 0');
    if (sets.length > 0) await link.run(`SET ${sets.join(', ')}`);
    for (const lock of this.namedLocks) await link.run(lock);
    if (this.lastInsertId !== 0n) await link.run(`SELECT LAST_INSERT_ID(${this.lastInsertId})`);
    for (const ps of this.prepared.all()) {
      const events = await link.command(Buffer.concat([Buffer.from([Command.STMT_PREPARE]), ps.sql]), 'prepare');
      const ev = events[0];
      if (ev?.type !== 'prepared') throw new Error(`re-preparing "${preview(ps.sql)}" failed: ${ev?.type === 'err' ? ev.message : 'no answer'}`);
      ps.serverId = ev.statementId;
      ps.needsTypes = true;
      for (const [param, chunks] of ps.longData) {
        for (const c of chunks) {
          const head = Buffer.alloc(7);
          head[0] = Command.STMT_SEND_LONG_DATA;
          head.writeUInt32LE(ps.serverId, 1);
          head.writeUInt16LE(param, 5);
          link.send(0, Buffer.concat([head, c]));
        }
      }
    }
    // Its reads saw the old server before the lock; InnoDB writes read the latest rows anyway.
    if (inTrans && (this.status & ServerStatus.AUTOCOMMIT) !== 0) await link.run('START TRANSACTION');
    if (inTrans) for (const name of this.txn.savepointNames) await link.run(`SAVEPOINT \`${name.replace(/`/g, '``')}\``);
  }

  private swapUpstream(link: UpstreamLink, serverCaps: number, generation: number, status: number): void {
    const old = this.upstream;
    old.removeAllListeners();
    old.on('error', () => {});
    old.end(frame(0, Buffer.from([Command.QUIT])).buffers[0]); // a read-only transaction there just ends
    const { socket, rest } = link.detach();
    this.upstream = socket;
    this.serverReader = new PacketReader({ maxPacketBytes: this.deps.config.limits.maxPacketBytes });
    this.serverCaps = (serverCaps & ~(HIDDEN_CAPS | Capability.SSL)) >>> 0;
    this.attachUpstream(socket);
    this.generation = generation;
    this.status = status;
    this.clockPinned = false;
    this.moving = false;
    this.remapsIds = true;
    this.deps.log.info({ session: this.id, user: this.user, upstream: `${socket.remoteAddress}:${socket.remotePort}` }, 'session moved to the new upstream');
    this.settleMove('moved');
    if (rest.length > 0) this.onServerData(rest);
    this.held.release(() => !this.closed);
  }

  /** Carried over it cannot be: held writes are refused (they never ran), the session ends when idle. */
  private cannotMove(why: string): void {
    if (this.held.size > 0) this.failHeld(`the database moved to a new server during an upgrade and this session could not follow (${why}); this statement was not executed; reconnect`);
    if ((this.status & ServerStatus.IN_TRANS) !== 0 || this.commands.length > 0) return;
    this.deps.log.warn({ session: this.id, user: this.user, reason: why }, 'session could not be moved to the new upstream; closed while idle');
    this.end(`could not be moved to the new upstream: ${why}`, 'warn');
  }

  private settleMove(outcome: MoveOutcome): void {
    for (const w of this.moveWaiters.splice(0)) w(outcome);
  }

  /** Notes what ties this session to its server: temporary tables, named locks. */
  private noteSessionBound(st: PendingStatement): void {
    const c = st.classified;
    if (c.kind === 'write') {
      if (c.writeKind === 'ddl' && !c.implicitCommit && /^\s*CREATE\b/i.test(preview(st.sql))) this.pinnedBy = 'it created a temporary table';
      return;
    }
    // GET_LOCK and RELEASE_LOCK come in SELECT or DO; one byte scan each, no string made.
    if (st.sql.indexOf('_LOCK') < 0 && st.sql.indexOf('_lock') < 0) return;
    const text = st.sql.toString('utf8');
    if (/RELEASE_ALL_LOCKS\s*\(/i.test(text)) this.namedLocks = [];
    else if (/RELEASE_LOCK\s*\(/i.test(text)) this.namedLocks = this.namedLocks.filter((l) => !sameLockName(l, text));
    else if (/GET_LOCK\s*\(/i.test(text)) {
      if (st.execute) this.pinnedBy = 'it holds a named lock taken by a prepared statement';
      else this.namedLocks.push(text);
    }
  }

  // ---- client -> server ------------------------------------------------------------------

  private onClientData(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    try {
      this.clientReader.push(chunk);
      for (let p = this.clientReader.next(); p; p = this.clientReader.next()) {
        this.onClientPacket(p);
        if (this.closed || (this.seqShift === 1 && this.phase === 'handshake')) break;
      }
    } catch (e) {
      this.protocolFailure('client', e);
    }
  }

  /**
   * Malformed input ends this session only. Any other error here is a proxy bug: it too ends
   * only this session (the others are fine), logged as an error with its stack.
   */
  private protocolFailure(side: 'client' | 'server', e: unknown): void {
    this.deps.stats.protocolErrors++;
    if (e instanceof ProtocolError) return this.end(`malformed packet from the ${side}: ${e.code}: ${e.message}`, 'warn');
    this.deps.log.error({ session: this.id, side, err: (e as Error).message, stack: (e as Error).stack }, 'internal error while handling a packet; this session is closed');
    this.end(`internal error on a packet from the ${side}: ${(e as Error).message}`, 'warn');
  }

  private toServer(bufs: Buffer[]): void {
    let ok = true;
    for (const b of bufs) ok = this.upstream.write(b);
    if (!ok) this.client.pause();
  }

  private toServerShifted(p: Packet): void {
    if (this.seqShift === 0) return this.toServer(p.wire);
    this.toServer(frame((p.seq - this.seqShift) & 0xff, p.payload).buffers);
  }

  private onClientPacket(p: Packet): void {
    switch (this.phase) {
      case 'greeting':
        throw new ProtocolError('UNEXPECTED_PACKET', 'client spoke before the server greeting');
      case 'handshake':
        return this.onHandshakeResponse(p);
      case 'auth':
        return this.toServerShifted(p);
      case 'command':
        if (this.held.size > 0 || this.moving || this.movesBeforeNextCommand()) {
          this.held.hold(p);
          return this.moveIfDue();
        }
        return this.onCommand(p);
    }
  }

  private onCommandGuarded(p: Packet): void {
    try {
      this.onCommand(p);
    } catch (e) {
      this.protocolFailure('client', e);
    }
  }

  /** Asks the write gate about a command that writes; false when it must not be forwarded now. */
  private admitWrite(p: Packet): boolean {
    if (this.generation !== this.deps.upstream().generation) {
      // Still on the old server (inside a read-only transaction at the flip): no write goes there.
      this.held.hold(p);
      this.moveIfDue();
      return false;
    }
    if (this.passGate) return true;
    switch (this.deps.gate.admit(this.txn.size > 0)) {
      case 'go':
        return true;
      case 'hold':
        this.held.hold(p);
        return false;
      case 'reject':
        this.refuse(p, ProxyErrorCode.OPTION_PREVENTS_STATEMENT,
          'the database is read-only while it is being upgraded (metamorph write gate in reject mode); this write was not executed');
        return false;
    }
  }

  private onHandshakeResponse(p: Packet): void {
    if (isSslRequest(p.payload)) return this.startTls(p);
    const hr = parseHandshakeResponse(p.payload);
    this.user = hr.user;
    this.loginCharset = hr.charset;
    this.caps = hr.capabilities & this.serverCaps;
    this.multiStatements = (this.caps & Capability.MULTI_STATEMENTS) !== 0;
    this.ctx = new SessionContext(hr.database, namesFragment(hr.charset));
    const payload = rewriteHandshakeResponseCapabilities(p.payload, { capabilities: HIDDEN_CAPS | Capability.SSL, mariadb: HIDDEN_MARIADB_CAPS });
    this.phase = 'auth';
    this.toServer(frame((p.seq - this.seqShift) & 0xff, payload).buffers);
  }

  private startTls(p: Packet): void {
    if (!this.deps.tls) {
      this.clientOut.write(errorPacket(p.seq + 1, ProxyErrorCode.NOT_SUPPORTED_YET,
        'the client asked for TLS but the proxy has no certificate configured (tls.cert, tls.key); connect without TLS or configure it'));
      this.clientOut.end();
      return this.finish('client asked for TLS; none configured', 'info');
    }
    const raw = this.client;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    raw.removeAllListeners('error');
    raw.removeAllListeners('drain');
    raw.pause();
    const rest = this.clientReader.takeBuffered();
    if (rest.length > 0) raw.unshift(rest);
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.deps.tls });
    secure.setNoDelay(true);
    this.client = secure;
    this.clientOut = new OrderedOutput(secure, () => this.upstream.resume());
    this.seqShift = 1;
    this.attachClient(secure);
  }

  private onCommand(p: Packet): void {
    if (p.seq !== 0) {
      throw new ProtocolError('BAD_SEQUENCE', `command packet with sequence id ${p.seq} (a command starts at 0)`);
    }
    if (p.payload.length === 0) throw new ProtocolError('EMPTY_COMMAND', 'empty command packet');
    const stats = this.deps.stats;
    const cmd = p.payload[0];
    switch (cmd) {
      case Command.QUERY:
        return this.onQuery(p);
      case Command.STMT_PREPARE: {
        const sql = p.payload.subarray(1);
        const c = classify(sql);
        this.lastStatement = preview(sql);
        return this.forward(p, 'prepare', [this.recorder.pending(sql, c)]);
      }
      case Command.STMT_EXECUTE:
        return this.onExecute(p);
      case Command.STMT_SEND_LONG_DATA: {
        const d = parseSendLongData(p.payload);
        const ps = this.prepared.get(d.statementId);
        if (ps) {
          // Kept for every statement: a session that moves to another server re-sends them.
          const chunks = ps.longData.get(d.paramId) ?? [];
          chunks.push(Buffer.from(d.data));
          ps.longData.set(d.paramId, chunks);
        }
        return this.toServer(this.onServerIds(p).wire); // no answer from the server
      }
      case Command.STMT_CLOSE: {
        const q = this.onServerIds(p);
        if (p.payload.length >= 5) this.prepared.close(p.payload.readUInt32LE(1));
        return this.toServer(q.wire); // no answer from the server
      }
      case Command.STMT_RESET: {
        const ps = p.payload.length >= 5 ? this.prepared.get(p.payload.readUInt32LE(1)) : undefined;
        ps?.longData.clear();
        return this.forward(this.onServerIds(p), 'simple', []);
      }
      case Command.STMT_FETCH:
        return this.forward(this.onServerIds(p), 'rows', []);
      case Command.INIT_DB: {
        const db = p.payload.subarray(1).toString('utf8');
        stats.count('use');
        return this.forward(p, 'simple', [], () => { this.ctx.db = db; });
      }
      case Command.FIELD_LIST:
        return this.forward(p, 'field_list', []);
      case Command.PING:
      case Command.PROCESS_KILL:
      case Command.REFRESH:
      case Command.DEBUG:
        return this.forward(p, 'simple', []);
      case Command.SET_OPTION: {
        const on = p.payload.length >= 3 && p.payload.readUInt16LE(1) === 0;
        return this.forward(p, 'simple', [], () => { this.multiStatements = on; });
      }
      case Command.STATISTICS:
        return this.forward(p, 'raw', []);
      case Command.PROCESS_INFO:
        return this.forward(p, 'resultset', []);
      case Command.QUIT:
        this.toServer(p.wire);
        return this.end('client quit', 'debug');
      case Command.CHANGE_USER:
        return this.onChangeUser(p);
      case Command.RESET_CONNECTION:
        return this.forward(p, 'simple', [], () => this.resetSession(this.ctx.db, this.loginCharset));
      default:
        this.answer(errorPacket(1, ProxyErrorCode.UNKNOWN_COM_ERROR,
          `command 0x${cmd.toString(16).padStart(2, '0')} is not supported through the proxy`));
    }
  }

  private forward(p: Packet, kind: ResponseKind, statements: PendingStatement[], onOk?: () => void): void {
    this.upstream.cork();
    this.pinClock(statements);
    this.commands.push({ tracker: new ResponseTracker(kind, this.caps), statements, index: 0, onOk });
    this.toServer(p.wire);
    this.upstream.uncork();
  }

  /**
   * NOW(), CURRENT_TIMESTAMP and column defaults read the server's clock, which replay cannot
   * see. So before a write the proxy sets the session's TIMESTAMP to the time it journals, and
   * sets it back to DEFAULT before anything else the client runs. Both go out pipelined with the
   * client's command (no extra round trip) and their answers are swallowed.
   */
  private pinClock(statements: PendingStatement[]): void {
    const writes = statements.some((s) => s.classified.kind === 'write');
    const clientOwnsClock = this.ctx.snapshot().timestamp !== undefined;
    if (writes && !clientOwnsClock) {
      const ts = nowMicros();
      for (const s of statements) s.ts = ts;
      this.inject(`SET TIMESTAMP = ${formatTimestamp(ts)}`);
      this.clockPinned = true;
    } else if (this.clockPinned) {
      this.inject('SET TIMESTAMP = DEFAULT');
      this.clockPinned = false;
    }
  }

  private inject(sql: string): void {
    const payload = Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(sql)]);
    this.commands.push({ tracker: new ResponseTracker('simple', this.caps), statements: [], index: 0, injected: sql });
    this.toServer(frame(0, payload).buffers);
  }

  private onQuery(p: Packet): void {
    const sql = p.payload.subarray(1);
    const nbe = (this.status & ServerStatus.NO_BACKSLASH_ESCAPES) !== 0;
    const pieces = this.multiStatements ? splitStatements(sql, { noBackslashEscapes: nbe }) : [sql];
    const statements = pieces.map((s) => this.recorder.pending(s, classify(s)));
    this.lastStatement = preview(sql);
    if (statements.some((s) => s.classified.loadLocal)) {
      return this.refuse(p, ProxyErrorCode.NOT_SUPPORTED_YET,
        'LOAD DATA LOCAL INFILE is refused: its file content would bypass the journal; load the rows with INSERT statements');
    }
    if (!this.deps.journal.writable && statements.some((s) => this.writesData(s.classified))) {
      return this.refuseUnjournaled(p);
    }
    if (statements.some((s) => s.classified.kind === 'write') && !this.admitWrite(p)) return;
    for (const s of statements) this.deps.stats.count(s.classified.writeKind ?? s.classified.kind);
    this.forward(p, 'resultset', statements);
  }

  private onExecute(p: Packet): void {
    if (p.payload.length < 5) throw new ProtocolError('TRUNCATED', 'COM_STMT_EXECUTE shorter than its statement id');
    const ps = this.prepared.get(p.payload.readUInt32LE(1));
    if (ps) {
      this.lastStatement = `(prepared) ${preview(ps.sql)}`;
      if (!this.deps.journal.writable && this.writesData(ps.classified)) return this.refuseUnjournaled(p);
      if (ps.classified.kind === 'write' && !this.admitWrite(p)) return;
      this.deps.stats.count(ps.classified.writeKind ?? ps.classified.kind);
    }
    const longData = ps ? ps.longData : new Map<number, Buffer[]>();
    if (ps) ps.longData = new Map();
    // Parameters are decoded when the answer arrives: by then a pipelined PREPARE is known too.
    const pending = this.recorder.pendingExecute(p.payload, longData, (id) => this.prepared.get(id));
    this.forward(ps ? this.withTypes(this.onServerIds(p), ps) : p, 'resultset', [pending]);
  }

  /**
   * Clients bind parameter types once (new_params_bound 1) and omit them later; a statement
   * re-prepared on a new server has never seen them, so its first execute there gets them back.
   */
  private withTypes(p: Packet, ps: PreparedStatement): Packet {
    const n = ps.numParams;
    if (n === 0) return p;
    const flagAt = EXECUTE_HEADER + ((n + 7) >> 3);
    if (p.payload.length <= flagAt) return p;
    if (p.payload[flagAt] === 1) {
      // Clients that bind types on every execute (mysql2) mostly repeat them: copy only a change.
      const types = p.payload.subarray(flagAt + 1, flagAt + 1 + 2 * n);
      if (!ps.typeBytes?.equals(types)) ps.typeBytes = Buffer.from(types);
      ps.needsTypes = false;
      return p;
    }
    if (!ps.needsTypes || !ps.typeBytes) return p;
    ps.needsTypes = false;
    const payload = Buffer.concat([p.payload.subarray(0, flagAt), Buffer.from([1]), ps.typeBytes, p.payload.subarray(flagAt + 1)]);
    return { seq: p.seq, payload, wire: frame(p.seq, payload).buffers };
  }

  /** The packet with the upstream's statement id in place of the client's (they differ after a move). */
  private onServerIds(p: Packet): Packet {
    if (p.payload.length < 5) return p;
    const ps = this.prepared.get(p.payload.readUInt32LE(1));
    if (!ps || ps.serverId === ps.id || p.payload.readUInt32LE(1) !== ps.id) return p;
    const payload = Buffer.from(p.payload);
    payload.writeUInt32LE(ps.serverId, 1);
    return { seq: p.seq, payload, wire: frame(p.seq, payload).buffers };
  }

  private onChangeUser(p: Packet): void {
    const cu = parseChangeUser(p.payload, this.caps);
    this.changingUser = { database: cu.database, charset: cu.charset, previousUser: this.user };
    this.user = cu.user;
    this.phase = 'auth';
    this.toServer(p.wire);
  }

  private writesData(c: Classified): boolean {
    return c.kind === 'write' || (c.kind === 'commit' && this.txn.size > 0);
  }

  private refuse(p: Packet, code: number, message: string): void {
    this.deps.log.info({ session: this.id, reason: message }, 'statement refused');
    this.answer(errorPacket(p.seq + 1, code, message));
  }

  private refuseUnjournaled(p: Packet): void {
    const why = this.deps.journal.lastError?.message ?? 'unknown error';
    this.refuse(p, ProxyErrorCode.OPTION_PREVENTS_STATEMENT,
      `write refused: the journal (${this.deps.config.journal.dir}) cannot record writes (${why}); reads still work, writes resume by themselves once the journal is writable`);
  }

  private resetSession(db: string | null, charset: number | null): void {
    this.clockPinned = false;
    this.ctx.reset(db, charset === null ? null : namesFragment(charset));
    this.txn.discard();
    this.prepared.clear();
    // The server dropped temporary tables, released named locks and forgot LAST_INSERT_ID.
    this.pinnedBy = null;
    this.namedLocks = [];
    this.lastInsertId = 0n;
  }

  // ---- server -> client ------------------------------------------------------------------

  private onServerData(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    try {
      this.serverReader.push(chunk);
      this.clientOut.batch(() => {
        for (let p = this.serverReader.next(); p; p = this.serverReader.next()) {
          this.onServerPacket(p);
          if (this.closed) return;
        }
      });
    } catch (e) {
      this.protocolFailure('server', e);
      return;
    }
    if (this.closed) return;
    if (this.clientOut.pendingBytes > HIGH_WATER || this.client.writableLength > HIGH_WATER) this.upstream.pause();
  }

  private onServerPacket(p: Packet): void {
    switch (this.phase) {
      case 'greeting':
        return this.onGreeting(p);
      case 'handshake':
        throw new ProtocolError('UNEXPECTED_PACKET', 'server spoke before the client answered the greeting');
      case 'auth':
        return this.onAuthPacket(p);
      case 'command':
        return this.onResponsePacket(p);
    }
  }

  private onGreeting(p: Packet): void {
    this.upstream.setTimeout(0);
    if (p.payload[0] === 0xff) {
      this.clientOut.write(p.wire); // e.g. "Too many connections"
      return;
    }
    const g = parseGreeting(p.payload);
    const setSsl = this.deps.tls ? Capability.SSL : 0;
    const payload = rewriteGreetingCapabilities(p.payload, { capabilities: HIDDEN_CAPS | Capability.SSL, mariadb: HIDDEN_MARIADB_CAPS }, { capabilities: setSsl });
    this.serverCaps = (g.capabilities & ~(HIDDEN_CAPS | Capability.SSL)) >>> 0;
    this.phase = 'handshake';
    this.clientOut.write(frame(p.seq, payload).buffers);
  }

  private onAuthPacket(p: Packet): void {
    const first = p.payload[0];
    this.clientOut.write(this.seqShift === 0 ? p.wire : frame((p.seq + this.seqShift) & 0xff, p.payload).buffers);
    if (first !== 0x00 && first !== 0xff) return; // auth switch / more data: the exchange goes on
    const changed = this.changingUser;
    this.changingUser = null;
    if (changed) {
      // Failed or not, the server has reset the session (its transaction is rolled back);
      // after a failure the connection stays open as the previous user.
      if (first === 0x00) {
        this.loginCharset = changed.charset ?? this.loginCharset;
        this.resetSession(changed.database, this.loginCharset);
      } else {
        this.user = changed.previousUser;
        this.resetSession(this.ctx.db, this.loginCharset);
      }
      this.phase = 'command';
      return;
    }
    if (first === 0x00) {
      this.phase = 'command';
      this.moveIfDue(); // logged in to the old upstream while the proxy flipped
      this.seqShift = 0; // a TLS session numbers command packets normally
      this.deps.log.debug({ session: this.id, user: this.user, client: this.clientAddress }, 'client authenticated');
    }
  }

  /** The proxy's own answer to a command, kept in order behind answers the server still owes. */
  private answer(bufs: Buffer[]): void {
    if (this.commands.length === 0) return this.clientOut.write(bufs);
    this.commands.push({ tracker: new ResponseTracker('raw', this.caps), statements: [], index: 0, localAnswer: bufs });
  }

  private sendLocalAnswers(): void {
    while (this.commands[0]?.localAnswer) this.clientOut.write(this.commands.shift()!.localAnswer!);
  }

  private onResponsePacket(p: Packet): void {
    const cmd = this.commands[0];
    if (!cmd) {
      // Unsolicited: the server is closing this connection (shutdown, KILL, timeout) and says why.
      this.clientOut.write(p.wire);
      return;
    }
    const r = cmd.tracker.feed(p.payload);
    if (r.done) this.commands.shift();
    if (cmd.injected !== undefined) {
      if (r.event?.type === 'err') {
        this.deps.log.error({ session: this.id, sql: cmd.injected, err: r.event.message }, 'statement injected by the proxy failed');
      }
    } else if (!r.event) {
      this.clientOut.write(p.wire);
    } else {
      this.onResult(cmd, r.event, p, r.done);
    }
    if (r.done) {
      this.sendLocalAnswers();
      this.deps.gate.poke();
      if (this.commands.length === 0 && this.afterInFlight) return this.afterInFlight();
      if (this.commands.length === 0 && this.generation !== this.deps.upstream().generation) this.moveIfDue();
    }
  }

  private onResult(cmd: PendingCommand, ev: ResultEvent, p: Packet, last: boolean): void {
    switch (ev.type) {
      case 'prepared': {
        const st = cmd.statements[0];
        if (!this.remapsIds) {
          this.prepared.add(ev.statementId, st.sql, st.classified, ev.numParams);
          return this.clientOut.write(p.wire);
        }
        // After a move the new server's ids could collide with ids the client already holds.
        const clientId = this.prepared.unusedId();
        this.prepared.add(clientId, st.sql, st.classified, ev.numParams, ev.statementId);
        const payload = Buffer.from(p.payload);
        payload.writeUInt32LE(clientId, 1);
        return this.clientOut.write(frame(p.seq, payload).buffers);
      }
      case 'local_infile':
        // The classifier refuses LOAD DATA LOCAL before it reaches the server; this one slipped past.
        return this.end('server asked for a LOCAL INFILE the proxy did not expect; closing to keep the journal exact', 'warn');
      case 'err':
        return this.onStatementError(cmd, ev, p);
      default: {
        cmd.onOk?.();
        const st = cmd.statements[cmd.index++];
        if (ev.type === 'ok' && ev.ok.insertId !== 0n) this.lastInsertId = ev.ok.insertId;
        if (st) this.noteSessionBound(st);
        const status = ev.type === 'ok' ? ev.ok.status : ev.status;
        this.status = status;
        const commits = st ? this.applyResult(st, ev) : [];
        if (!(status & ServerStatus.IN_TRANS) && this.txn.size > 0) commits.push(this.commitTxn());
        else if (!(status & ServerStatus.IN_TRANS) && this.txn.hasSavepoints) this.txn.discard(); // a read-only transaction ended
        if (commits.length === 0) return this.clientOut.write(p.wire);
        this.holdUntilJournaled(commits, p, last);
      }
    }
  }

  private onStatementError(cmd: PendingCommand, ev: Extract<ResultEvent, { type: 'err' }>, p: Packet): void {
    const st = cmd.statements[cmd.index++];
    if (st?.execute) this.recorder.decodeForTypes(st); // keep bound parameter types in step
    // A deadlock rolls back the whole transaction; a failed COMMIT leaves nothing committed.
    if (ev.code === ER_LOCK_DEADLOCK || st?.classified.kind === 'commit') this.txn.discard();
    this.clientOut.write(p.wire);
  }

  /** Updates transaction and context state after a successful statement; returns what to journal. */
  private applyResult(st: PendingStatement, ev: ResultEvent): JournalTxn[] {
    const c = this.recorder.resolve(st);
    const commits: JournalTxn[] = [];
    // BEGIN and DDL always commit what came before. Other statements flagged as committing
    // (UNLOCK TABLES, FLUSH, ...) do so only in some states: the server's status flag decides.
    if (c.implicitCommit && (c.kind === 'begin' || c.kind === 'write') && this.txn.size > 0) commits.push(this.commitTxn());
    switch (c.kind) {
      case 'write':
        this.txn.add(this.recorder.record(st, ev.type === 'ok' ? ev.ok : null));
        break;
      case 'commit':
        if (this.txn.size > 0) commits.push(this.commitTxn());
        break;
      case 'rollback':
        this.txn.discard();
        break;
      case 'rollback_to':
        this.txn.rollbackTo(c.name ?? '');
        break;
      case 'savepoint':
        this.txn.savepoint(c.name ?? '');
        break;
      case 'release_savepoint':
        this.txn.release(c.name ?? '');
        break;
      case 'use':
        this.ctx.db = c.name ?? this.ctx.db;
        break;
      case 'set':
        this.ctx.apply(c.assignments ?? []);
        break;
      case 'read':
        this.recorder.noteRead(st);
        break;
      default:
        break;
    }
    return commits;
  }

  private commitTxn(): JournalTxn {
    return { conn: this.id, statements: this.txn.take() };
  }

  /**
   * The client may learn of the commit only once the journal holds it. If the journal fails,
   * the server has committed anyway: the client gets an ERR that says so, and the sink keeps
   * the transaction for a retry once the disk recovers.
   */
  private holdUntilJournaled(commits: JournalTxn[], p: Packet, last: boolean): void {
    const journal = this.deps.journal;
    const held = Promise.all(commits.map((t) => journal.append(t))).then(
      () => ({ bufs: p.wire }),
      (e: Error) => {
        this.deps.log.error({ session: this.id, err: e.message }, 'commit acknowledged by the server could not be journaled; client gets an error');
        const bufs = errorPacket(p.seq, ProxyErrorCode.UNKNOWN_ERROR,
          `the server committed this write but the journal could not record it (${e.message}); the proxy keeps it and journals it when the disk recovers; new writes are refused until then`);
        // An ERR ends the client's view of the response; more results would be garbage.
        return { bufs, end: !last };
      },
    );
    this.deps.stats.heldCommits++;
    this.clientOut.writeAfter(held);
  }
}

function formatTimestamp(micros: number): string {
  return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
}

/** Whether a RELEASE_LOCK names the lock a GET_LOCK statement took (their first argument's text). */
function sameLockName(getLock: string, release: string): boolean {
  const arg = (sql: string) => /_LOCK\s*\(\s*([^,)]*)/i.exec(sql)?.[1].trim();
  return arg(getLock) === arg(release);
}

function preview(sql: Buffer): string {
  return sql.subarray(0, 200).toString('utf8');
}
