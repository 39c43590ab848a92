import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { DEFAULTS, loadProxyConfig, parseHostPort, parseProxyConfig, type ProxyConfig } from '../config/proxy-config.js';
import { createLogger } from '../log.js';
import { ProxyServer } from '../proxy/server.js';

export const PROXY_HELP = `Usage: metamorph proxy [--config FILE] [--listen HOST:PORT] [--upstream HOST:PORT] [--journal-dir DIR]

Runs the journaling MySQL proxy. Point the application at --listen instead of the database.
Every write the server commits is fsync'd to the journal before the client sees its OK.

Options:
  --config FILE         JSON config (default: ./proxy.config.json if present, else built-in defaults)
  --listen HOST:PORT    where clients connect (config listen.host/listen.port, default 127.0.0.1:3307)
  --upstream HOST:PORT  the MySQL/MariaDB server (config upstream.host/upstream.port, default 127.0.0.1:3306)
  --journal-dir DIR     journal directory (config journal.dir, default ./journal)
  -h, --help            this text

Config keys: listen.{host,port}, upstream.{host,port,connectTimeoutMs}, journal.{dir,fsync,segmentBytes}
(fsync "always" is the default; "none" is unsafe: acknowledged writes can be lost on a crash),
tls.{cert,key} (TLS toward clients; without it a client asking for TLS is refused),
limits.maxPacketBytes, shutdown.drainMs.
SIGTERM/SIGINT: stop accepting, let open transactions finish (up to shutdown.drainMs), flush the journal, exit.`;

export function resolveProxyConfig(argv: string[]): ProxyConfig | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      listen: { type: 'string' },
      upstream: { type: 'string' },
      'journal-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return null;
  const file = values.config ?? (existsSync('proxy.config.json') ? 'proxy.config.json' : null);
  const config = file ? loadProxyConfig(file) : parseProxyConfig({});
  if (values.listen) config.listen = parseHostPort('--listen', values.listen);
  if (values.upstream) config.upstream = { ...config.upstream, ...parseHostPort('--upstream', values.upstream) };
  if (values['journal-dir']) config.journal.dir = values['journal-dir'];
  return config;
}

export async function proxyCommand(argv: string[]): Promise<number> {
  const config = resolveProxyConfig(argv);
  if (!config) {
    console.log(PROXY_HELP);
    return 0;
  }
  const log = createLogger({ name: 'proxy' });
  const proxy = await ProxyServer.start(config, log);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping');
      void proxy.stop().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

export { DEFAULTS };
