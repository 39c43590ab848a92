import type { WriteGate } from '../proxy/write-gate.js';

/** What admin commands act on; the proxy server provides it. */
export interface AdminTarget {
  gate: WriteGate;
  defaultLockTimeoutMs: number;
  status(): Promise<Record<string, unknown>>;
  connections(): Record<string, unknown>[];
  position(): Promise<Record<string, unknown>>;
  prune(): Promise<Record<string, unknown> & { ok: boolean }>;
}

export type AdminReply = Record<string, unknown> & { ok: boolean };

interface Command {
  usage: string;
  help: string;
  run(t: AdminTarget, args: string[]): Promise<AdminReply> | AdminReply;
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
    usage: 'lock [timeout_ms]',
    help: 'hold new writes until nothing is writing; reply with the journal seq of the quiesced state',
    run: async (t, args) => {
      const timeout = args[0] === undefined ? t.defaultLockTimeoutMs : Number(args[0]);
      if (!Number.isInteger(timeout) || timeout < 1) return { ok: false, error: `lock: timeout_ms must be a positive integer, got ${args[0]}` };
      return t.gate.lock(timeout);
    },
  },
  'lock-reject': {
    usage: 'lock-reject',
    help: 'answer every write with a read-only error (held writes too)',
    run: (t) => t.gate.reject(),
  },
  unlock: {
    usage: 'unlock',
    help: 'let held writes proceed, per connection in their original order',
    run: (t) => t.gate.unlock(),
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
export async function runAdminCommand(t: AdminTarget, line: string): Promise<AdminReply> {
  const [name, ...args] = line.trim().split(/\s+/);
  const cmd = COMMANDS[name?.toLowerCase() ?? ''];
  if (!cmd) return { ok: false, error: `unknown command ${JSON.stringify(name ?? '')}`, commands: ADMIN_COMMANDS };
  try {
    return await cmd.run(t, args);
  } catch (e) {
    return { ok: false, error: `${name}: ${(e as Error).message}` };
  }
}
