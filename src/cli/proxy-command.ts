import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULTS, loadProxyConfig, parseHostPort, parseProxyConfig, type ProxyConfig } from '../config/proxy-config.js';
import { createLogger } from '../log.js';
import { ProxyServer } from '../proxy/server.js';

export const PROXY_HELP = `Usage: metamorph proxy [--config FILE] [--listen HOST:PORT] [--upstream HOST:PORT] [--journal-dir DIR]
                       [--metrics HOST:PORT] [--admin-socket PATH]

Runs the journaling MySQL proxy. Point the application at --listen instead of the database.
Every write the server commits is fsync'd to the journal before the client sees its OK.

Options:
  --config FILE         JSON config (default: ./proxy.config.json if present, else built-in defaults)
  --listen HOST:PORT    where clients connect (config listen.host/listen.port, default 127.0.0.1:3307)
  --upstream HOST:PORT  the MySQL/MariaDB server (config upstream.host/upstream.port, default 127.0.0.1:3306)
  --journal-dir DIR     journal directory (config journal.dir, default ./journal)
  --metrics HOST:PORT   Prometheus /metrics listener (config metrics.host/port, default 127.0.0.1:9464)
  --admin-socket PATH   admin Unix socket, mode 0600 (config admin.socket, default ./metamorph-admin.sock)
  -h, --help            this text

Config keys: listen.{host,port}, upstream.{host,port,connectTimeoutMs}, journal.{dir,fsync,segmentBytes}
(fsync "always" is the default; "none" is unsafe: acknowledged writes can be lost on a crash),
tls.{cert,key} (TLS toward clients; without it a client asking for TLS is refused),
limits.maxPacketBytes, shutdown.drainMs, gate.{lockTimeoutMs,maxHoldMs},
admin.socket, admin.tcp.{host,port,token} (optional loopback listener; token required),
metrics.{host,port,enabled}.
SIGTERM/SIGINT: stop accepting, let open transactions finish (up to shutdown.drainMs), flush the journal, exit.`;

export function resolveProxyConfig(argv: string[]): ProxyConfig | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      listen: { type: 'string' },
      upstream: { type: 'string' },
      'journal-dir': { type: 'string' },
      metrics: { type: 'string' },
      'admin-socket': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return null;
  const file = values.config ?? (existsSync('proxy.config.json') ? 'proxy.config.json' : null);
  const config = file ? loadProxyConfig(file) : parseProxyConfig({});
  if (values.listen) config.listen = parseHostPort('--listen', values.listen);
  if (values.upstream) config.upstream = { ...config.upstream, ...parseHostPort('--upstream', values.upstream) };
  if (values['journal-dir']) config.journal.dir = resolve(values['journal-dir']);
  if (values.metrics) config.metrics = parseHostPort('--metrics', values.metrics);
  if (values['admin-socket']) config.admin.socket = resolve(values['admin-socket']);
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
