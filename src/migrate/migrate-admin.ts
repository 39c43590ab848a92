import net from 'node:net';
import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import type { Logger } from '../log.js';
import { MigrateError } from './migrate-errors.js';
import type { MigrateStatus } from './migrate.js';
import type { ThrottleLimits } from './throttle.js';
import { serveLines } from '../admin/line-protocol.js';

/** What the migrate admin socket steers. */
export interface MigrateControl {
  status(): MigrateStatus;
  readonly throttle: {
    set(name: keyof ThrottleLimits, value: number): void;
    pause(): void;
    resume(): void;
  };
}

type Reply = Record<string, unknown> & { ok: boolean };

const LIMIT_NAMES: Record<string, keyof ThrottleLimits> = { rows: 'rowsPerSec', threads: 'threadsRunning', lag: 'replayLagSeconds' };
const USAGE = ['status', 'pause', 'resume', 'throttle rows=N|threads=N|lag=SECONDS ... (0: no limit)', 'help'];

/** Runs one command line; never throws. */
function runMigrateCommand(m: MigrateControl, line: string): Reply {
  const [name, ...args] = line.trim().split(/\s+/);
  switch (name?.toLowerCase()) {
    case 'status':
      return { ok: true, ...m.status() };
    case 'pause':
      m.throttle.pause();
      return { ok: true, paused: true };
    case 'resume':
      m.throttle.resume();
      return { ok: true, paused: false };
    case 'throttle':
      return throttle(m, args);
    case 'help':
      return { ok: true, commands: USAGE };
    default:
      return { ok: false, error: `unknown command ${JSON.stringify(name ?? '')}`, commands: USAGE };
  }
}

function throttle(m: MigrateControl, args: string[]): Reply {
  if (args.length === 0) return { ok: false, error: `throttle needs at least one of rows=N, threads=N, lag=SECONDS` };
  const changes: [keyof ThrottleLimits, number][] = [];
  for (const a of args) {
    const match = /^(rows|threads|lag)=(\d+(?:\.\d+)?)$/.exec(a);
    if (!match) return { ok: false, error: `throttle: expected rows=N, threads=N or lag=SECONDS (0: no limit), got ${JSON.stringify(a)}` };
    changes.push([LIMIT_NAMES[match[1]], Number(match[2])]);
  }
  for (const [k, v] of changes) m.throttle.set(k, v);
  return { ok: true, limits: m.status().limits };
}

/**
 * The migrate process's own admin socket (Unix, mode 0600), the proxy admin's line protocol:
 * one command per line, one JSON line back.
 */
export class MigrateAdmin {
  private constructor(private readonly server: net.Server) {}

  static async start(path: string, m: MigrateControl, log: Logger): Promise<MigrateAdmin> {
    await removeStaleSocket(path);
    const server = net.createServer((socket) => serve(socket, m, log));
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', (e: NodeJS.ErrnoException) => reject(new MigrateError('MIGRATE_BAD_OPTION', `cannot listen on --admin-socket-migrate ${path}: ${e.code ?? ''} ${e.message}`)));
        server.listen(path, () => resolve());
      });
    } finally {
      process.umask(oldMask);
    }
    chmodSync(path, 0o600);
    log.info({ socket: path }, 'migrate admin socket listening');
    return new MigrateAdmin(server);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function serve(socket: net.Socket, m: MigrateControl, log: Logger): void {
  serveLines(socket, (line) => {
    const reply = runMigrateCommand(m, line);
    if (line.trim().toLowerCase() !== 'status') log.info({ command: line.trim().slice(0, 100), ok: reply.ok }, 'migrate admin command');
    return reply;
  });
}

async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new MigrateError('MIGRATE_BAD_OPTION', `--admin-socket-migrate ${path} exists and is not a socket; choose another path`);
  const live = await new Promise<boolean>((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
  if (live) throw new MigrateError('MIGRATE_BAD_OPTION', `--admin-socket-migrate ${path} is in use by a running process (another migrate?)`);
  unlinkSync(path);
}
