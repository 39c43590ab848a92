import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { loadProxyConfig, DEFAULTS } from '../config/proxy-config.js';
import { adminRequest } from '../admin/admin-client.js';
import { ADMIN_COMMANDS } from '../admin/admin-commands.js';

export const ADMIN_HELP = `Usage: metamorph admin <command> [args] [--socket PATH | --config FILE] [--json]

Talks to a running proxy over its admin socket (config admin.socket).
Commands: ${ADMIN_COMMANDS.join(', ')}
  status              gate state, held writes, connections, journal head, consumers, lag
  lock [timeout_ms]   hold new writes until quiesced; prints the journal seq (default timeout gate.lockTimeoutMs)
  lock-reject         writes get a read-only error
  unlock              release held writes in order
  connections         who is connected, who is writing
  position            journal head seq
  prune               remove journal segments every registered consumer has applied
Prints readable text; --json prints the proxy's JSON reply. Exit code 1 when the reply says ok: false.
The same line protocol works with: echo status | socat - UNIX-CONNECT:PATH`;

export async function adminCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      socket: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help || positionals.length === 0) {
    console.log(ADMIN_HELP);
    return values.help ? 0 : 2;
  }
  const socket = values.socket
    ?? (values.config ? loadProxyConfig(values.config).admin.socket
      : existsSync('proxy.config.json') ? loadProxyConfig('proxy.config.json').admin.socket : DEFAULTS.admin.socket);
  const reply = await adminRequest(socket, positionals.join(' '));
  console.log(values.json ? JSON.stringify(reply) : render(reply));
  return reply.ok ? 0 : 1;
}

/** Readable text: scalar fields as `key: value`, lists of objects as aligned rows. */
function render(reply: Record<string, unknown>, indent = ''): string {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(reply)) {
    if (Array.isArray(v)) {
      lines.push(`${indent}${k}: ${v.length === 0 ? '(none)' : ''}`);
      for (const item of v) lines.push(`${indent}  - ${typeof item === 'object' && item ? Object.entries(item).map(([a, b]) => `${a}=${JSON.stringify(b)}`).join(' ') : String(item)}`);
    } else if (v && typeof v === 'object') {
      lines.push(`${indent}${k}:`, render(v as Record<string, unknown>, `${indent}  `));
    } else {
      lines.push(`${indent}${k}: ${v}`);
    }
  }
  return lines.join('\n');
}
