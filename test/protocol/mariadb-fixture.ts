import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ByteWriter } from '../../src/protocol/bytes.js';
import { Capability } from '../../src/protocol/constants.js';
import { frame } from '../../src/protocol/frame.js';
import { PacketReader, type Packet } from '../../src/protocol/packet-reader.js';

const run = promisify(execFile);
const READY_TIMEOUT_MS = 30_000;

/** A throwaway MariaDB server under /dev/shm, root without password on 127.0.0.1. */
export interface TestServer {
  port: number;
  stop(): Promise<void>;
}

export async function startMariaDb(): Promise<TestServer> {
  const dir = mkdtempSync('/dev/shm/metamorph-protocol-');
  const datadir = join(dir, 'data');
  await run('mariadb-install-db', [
    '--no-defaults',
    '--user=root',
    `--datadir=${datadir}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
  ]);
  const port = await freePort();
  const child = spawn(
    'mariadbd',
    [
      '--no-defaults',
      '--user=root',
      `--datadir=${datadir}`,
      `--socket=${join(dir, 's.sock')}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--character-set-server=utf8mb4',
      `--log-error=${join(dir, 'err.log')}`,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A test process that ends without stop() (a failed hook, a crash) must not leave a server behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);
  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await run('mariadb-admin', ['--no-defaults', '-h127.0.0.1', `-P${port}`, '-uroot', 'ping']);
      return { port, stop };
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) {
        const log = readFileSync(join(dir, 'err.log'), 'utf8');
        await stop();
        throw new Error(`mariadbd did not become ready on port ${port}:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The raw bytes each side sent over one relayed connection. */
export interface RecordedConnection {
  fromClient: Buffer[];
  fromServer: Buffer[];
}

export interface Relay {
  port: number;
  connections: RecordedConnection[];
  close(): Promise<void>;
}

/**
 * TCP relay in front of a server that records both directions. `rewriteGreeting` replaces the
 * payload of the server's first packet before the client sees it (the recording keeps the original).
 */
export async function startRelay(targetPort: number, rewriteGreeting?: (payload: Buffer) => Buffer): Promise<Relay> {
  const connections: RecordedConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const rec: RecordedConnection = { fromClient: [], fromServer: [] };
    connections.push(rec);
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const greeting = rewriteGreeting ? new PacketReader() : null;
    client.on('data', (c: Buffer) => {
      rec.fromClient.push(Buffer.from(c));
      upstream.write(c);
    });
    upstream.on('data', (c: Buffer) => {
      rec.fromServer.push(Buffer.from(c));
      if (greeting === null || rewriteGreeting === undefined) return void client.write(c);
      greeting.push(c);
      const first = greeting.next();
      if (first === null) return;
      for (const b of frame(first.seq, rewriteGreeting(first.payload)).buffers) client.write(b);
      const rest = greeting.takeBuffered();
      if (rest.length > 0) client.write(rest);
      upstream.removeAllListeners('data');
      upstream.on('data', (d: Buffer) => {
        rec.fromServer.push(Buffer.from(d));
        client.write(d);
      });
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Every packet in one direction of a recorded stream. */
export function packetsOf(chunks: Buffer[]): Packet[] {
  const reader = new PacketReader();
  const out: Packet[] = [];
  for (const c of chunks) {
    reader.push(c);
    for (let p = reader.next(); p !== null; p = reader.next()) out.push(p);
  }
  return out;
}

/** The first packet a server sends on a fresh connection (its greeting). */
export function readGreeting(port: number): Promise<Packet> {
  return new Promise((resolve, reject) => {
    const reader = new PacketReader();
    const socket = net.connect(port, '127.0.0.1');
    socket.on('data', (c: Buffer) => {
      reader.push(c);
      const p = reader.next();
      if (p === null) return;
      socket.destroy();
      resolve(p);
    });
    socket.on('error', reject);
  });
}

export const RAW_CLIENT_CAPS =
  Capability.CLIENT_LONG_PASSWORD | Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.TRANSACTIONS;

/**
 * A client speaking raw packets (built with the codec under test), for what no driver sends:
 * COM_STMT_SEND_LONG_DATA, hand-made COM_STMT_EXECUTE. Logs in as root without password.
 */
export class RawConnection {
  private readonly reader = new PacketReader();
  private readonly queue: Packet[] = [];
  private wake: () => void = () => undefined;
  private failure: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.reader.push(c);
      for (let p = this.reader.next(); p !== null; p = this.reader.next()) this.queue.push(p);
      this.wake();
    });
    socket.on('error', (e) => {
      this.failure = e;
      this.wake();
    });
  }

  static async open(port: number): Promise<RawConnection> {
    const conn = new RawConnection(net.connect(port, '127.0.0.1'));
    await conn.next(); // greeting; root has no password, so the scramble is not needed
    const response = new ByteWriter()
      .u32(RAW_CLIENT_CAPS)
      .u32(1 << 24)
      .u8(224) // utf8mb4_unicode_ci, as mysql2 uses: literals compare in the same collation
      .bytes(Buffer.alloc(23))
      .nulString('root')
      .u8(0) // empty auth response
      .toBuffer();
    for (const b of frame(1, response).buffers) conn.socket.write(b);
    const answer = await conn.next();
    if (answer.payload[0] !== 0x00) throw new Error(`raw login failed: ${answer.payload.subarray(9).toString()}`);
    return conn;
  }

  /** Sends a command (sequence id 0). */
  send(payload: Buffer): void {
    for (const b of frame(0, payload).buffers) this.socket.write(b);
  }

  async next(): Promise<Packet> {
    while (this.queue.length === 0) {
      if (this.failure) throw this.failure;
      await new Promise<void>((r) => (this.wake = r));
    }
    return this.queue.shift()!;
  }

  close(): void {
    this.socket.destroy();
  }
}

function sha1(...parts: Buffer[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** mysql_native_password: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))). */
export function nativePasswordToken(password: string, scramble: Buffer): Buffer {
  const stage1 = sha1(Buffer.from(password, 'utf8'));
  const mask = sha1(scramble, sha1(stage1));
  return Buffer.from(stage1.map((b, i) => b ^ mask[i]!));
}
