import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseProxyConfig } from '../../src/config/proxy-config.js';
import { ProxyServer } from '../../src/proxy/server.js';
import { silentLogger } from '../../src/log.js';
import { JournalReader } from '../../src/journal/journal-reader.js';
import type { JournalEntry } from '../../src/journal/record.js';

export interface ProxyFixture {
  server: ProxyServer;
  port: number;
  journalDir: string;
  adminSocket: string;
  /** Every entry journaled so far. */
  entries(from?: number): Promise<JournalEntry[]>;
  stop(): Promise<void>;
}

/** A proxy in this process in front of `upstreamPort`, journal in a fresh temp dir. */
export async function startProxy(upstreamPort: number, extra: Record<string, unknown> = {}): Promise<ProxyFixture> {
  const base = mkdtempSync('/dev/shm/metamorph-proxy-');
  const journalDir = join(base, 'journal');
  const config = parseProxyConfig({
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { host: '127.0.0.1', port: upstreamPort },
    shutdown: { drainMs: 2000 },
    admin: { socket: join(base, 'admin.sock') },
    metrics: { host: '127.0.0.1', port: 0 },
    ...extra,
    // Extra journal settings add to the fixture's own journal dir, never replace it.
    journal: { dir: journalDir, fsync: 'always', ...(extra.journal as object | undefined) },
  });
  const server = await ProxyServer.start(config, silentLogger()).catch((e) => {
    rmSync(base, { recursive: true, force: true });
    throw e;
  });
  return {
    server,
    port: server.address.port,
    journalDir,
    adminSocket: config.admin.socket,
    async entries(from = 1) {
      const out: JournalEntry[] = [];
      for await (const e of new JournalReader(journalDir).entries({ from })) out.push(e);
      return out;
    },
    async stop() {
      await server.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** The journaled statements as text, for readable assertions. */
export function sqlOf(entries: JournalEntry[]): string[] {
  return entries.map((e) => e.sql.toString('utf8'));
}
