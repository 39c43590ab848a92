import { splitHostPort } from '../config/host-port.js';
import type { WriteGate } from '../proxy/write-gate.js';

/** What admin commands act on; the proxy server provides it. */
export interface AdminTarget {
  gate: WriteGate;
  defaultLockTimeoutMs: number;
  status(): Promise<Record<string, unknown>>;
  connections(): Record<string, unknown>[];
  position(): Promise<Record<string, unknown>>;
  prune(): Promise<Record<string, unknown> & { ok: boolean }>;
  flip(host: string, port: number, timeoutMs: number): Promise<Record<string, unknown> & { ok: boolean }>;
}

/**
 * Which admin connection holds the gate lock as a lease (`lock … lease`): when that connection
 * closes with the gate still locking or locked, the gate unlocks, so an orchestrator that dies
 * mid-switchover never leaves the application's writes frozen.
 */
export interface LeaseBook {
  owner: object | null;
}

/** The admin connection a command came on. */
export interface AdminCaller {
  conn: object;
  lease: LeaseBook;
}

export type AdminReply = Record<string, unknown> & { ok: boolean };

interface Command {
  usage: string;
  help: string;
  run(t: AdminTarget, args: string[], caller: AdminCaller): Promise<AdminReply> | AdminReply;
}

const COMMANDS: Record<string, Command> = {
  help: {
    usage: 'help',
    help: 'list the commands',
    run: () => ({ ok: true, commands: Object.values(COMMANDS).map((c) => ({ usage: c.usage, help: c.help })) }),
  },
  status: {
    usage: 'status',
    help: 'gate state, held writes, connections, journal head seq, consumer positions, lag',
    run: async (t) => ({ ok: true, ...(await t.status()) }),
  },
  lock: {
    usage: 'lock [timeout_ms] [lease]',
    help: 'hold new writes until nothing is writing; reply with the journal seq of the quiesced state; lease: unlock when this connection closes',
    run: async (t, args, caller) => {
      const timeout = args[0] === undefined ? t.defaultLockTimeoutMs : Number(args[0]);
      if (!Number.isInteger(timeout) || timeout < 1) return { ok: false, error: `lock: timeout_ms must be a positive integer, got ${args[0]}` };
      if (args[1] !== undefined && args[1] !== 'lease') return { ok: false, error: `lock: expected "lease" after the timeout, got ${args[1]}` };
      if (args[1] === 'lease') caller.lease.owner = caller.conn;
      const reply = await t.gate.lock(timeout);
      if (!reply.ok && caller.lease.owner === caller.conn) caller.lease.owner = null;
      return reply;
    },
  },
  'lock-reject': {
    usage: 'lock-reject',
    help: 'answer every write with a read-only error (held writes too); stays so after a lease connection closes',
    run: (t, _args, caller) => {
      caller.lease.owner = null;
      return t.gate.reject();
    },
  },
  unlock: {
    usage: 'unlock',
    help: 'let held writes proceed, per connection in their original order',
    run: (t, _args, caller) => {
      caller.lease.owner = null;
      return t.gate.unlock();
    },
  },
  drain: {
    usage: 'drain [timeout_ms]',
    help: 'while locked: let the held writes run, keep holding new ones, reply once quiesced again with the seq',
    run: async (t, args) => {
      const timeout = args[0] === undefined ? t.defaultLockTimeoutMs : Number(args[0]);
      if (!Number.isInteger(timeout) || timeout < 1) return { ok: false, error: `drain: timeout_ms must be a positive integer, got ${args[0]}` };
      return t.gate.drain(timeout);
    },
  },
  flip: {
    usage: 'flip HOST:PORT [timeout_ms]',
    help: 'while locked: point the proxy at another server and move open sessions there (switchover.credentials); then unlock',
    run: async (t, args) => {
      const to = splitHostPort(args[0] ?? '');
      if (!to || to.port < 1) return { ok: false, error: `flip: expected HOST:PORT, got ${JSON.stringify(args[0] ?? '')}` };
      const timeout = args[1] === undefined ? t.defaultLockTimeoutMs : Number(args[1]);
      if (!Number.isInteger(timeout) || timeout < 1) return { ok: false, error: `flip: timeout_ms must be a positive integer, got ${args[1]}` };
      return t.flip(to.host, to.port, timeout);
    },
  },
  connections: {
    usage: 'connections',
    help: 'client connections: id, user, host, age, transaction, held writes, last statement',
    run: (t) => ({ ok: true, connections: t.connections() }),
  },
  position: {
    usage: 'position',
    help: 'journal head seq (every acknowledged commit is at or below it) and gate state',
    run: async (t) => ({ ok: true, ...(await t.position()) }),
  },
  prune: {
    usage: 'prune',
    help: 'remove journal segments every registered consumer has applied (refused when none is registered)',
    run: (t) => t.prune(),
  },
};

export const ADMIN_COMMANDS = Object.keys(COMMANDS);

/** Runs one command line; never throws (errors become `{ ok: false, error }`). */
export async function runAdminCommand(t: AdminTarget, line: string, caller: AdminCaller): Promise<AdminReply> {
  const [name, ...args] = line.trim().split(/\s+/);
  const cmd = COMMANDS[name?.toLowerCase() ?? ''];
  if (!cmd) return { ok: false, error: `unknown command ${JSON.stringify(name ?? '')}`, commands: ADMIN_COMMANDS };
  try {
    return await cmd.run(t, args, caller);
  } catch (e) {
    return { ok: false, error: `${name}: ${(e as Error).message}` };
  }
}
