import net from 'node:net';
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { serveLines } from '../admin/line-protocol.js';
import type { Logger } from '../log.js';
import { UpgradeError } from './upgrade-errors.js';

export type Reply = Record<string, unknown> & { ok: boolean };

/** What the orchestrator's admin socket steers. Long commands answer when they are done. */
export interface UpgradeControl {
  status(): Reply;
  switchover(): Promise<Reply>;
  rollback(): Promise<Reply>;
  abort(): Promise<Reply>;
  finish(): Promise<Reply>;
}

const COMMANDS = ['status', 'switchover', 'rollback', 'abort', 'finish', 'help'];

async function run(c: UpgradeControl, line: string): Promise<Reply> {
  const name = line.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  try {
    switch (name) {
      case 'status': return c.status();
      case 'switchover': return await c.switchover();
      case 'rollback': return await c.rollback();
      case 'abort': return await c.abort();
      case 'finish': return await c.finish();
      case 'help': return { ok: true, commands: COMMANDS };
      default: return { ok: false, error: `unknown command ${JSON.stringify(name)}`, commands: COMMANDS };
    }
  } catch (err) {
    return { ok: false, error: (err as Error).message, code: (err as { code?: string }).code ?? null };
  }
}

/** The upgrade's own admin socket (Unix, mode 0600): one command per line, one JSON line back. */
export class UpgradeAdmin {
  private constructor(private readonly server: net.Server, private readonly sockets: Set<net.Socket>) {}

  static async start(path: string, control: UpgradeControl, log: Logger): Promise<UpgradeAdmin> {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    await removeStaleSocket(path);
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      serveLines(socket, async (line) => {
        const reply = await run(control, line);
        if (line.trim().toLowerCase() !== 'status') log.info({ command: line.trim().slice(0, 100), ok: reply.ok }, 'upgrade admin command');
        return reply;
      });
    });
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', (e: NodeJS.ErrnoException) => reject(new UpgradeError('UPGRADE_BAD_OPTION', `cannot listen on the admin socket ${path}: ${e.code ?? ''} ${e.message}`)));
        server.listen(path, () => resolve());
      });
    } finally {
      process.umask(oldMask);
    }
    chmodSync(path, 0o600);
    log.info({ socket: path }, 'upgrade admin socket listening');
    return new UpgradeAdmin(server, sockets);
  }

  /** Stops listening; connections still waiting for an answer get it first (a few ms at most). */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      setTimeout(() => { for (const s of this.sockets) s.destroy(); }, 200).unref();
    });
  }
}

async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new UpgradeError('UPGRADE_BAD_OPTION', `the admin socket path ${path} exists and is not a socket; choose another adminSocket`);
  const live = await new Promise<boolean>((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
  if (live) throw new UpgradeError('UPGRADE_ALREADY_RUNNING', `${path} is in use by a running process: another \`metamorph upgrade\` of this state directory?`);
  unlinkSync(path);
}
