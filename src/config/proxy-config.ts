import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { jsonSyntaxProblem } from './json-syntax.js';

import { splitHostPort, type HostPort } from './host-port.js';

export type { HostPort };

export interface ProxyConfig {
  listen: HostPort;
  upstream: HostPort & { connectTimeoutMs: number };
  journal: { dir: string; fsync: 'always' | 'none'; segmentBytes: number };
  /** TLS toward clients; when absent, a client asking for TLS gets a clear refusal. */
  tls: { cert: string; key: string } | null;
  limits: { maxPacketBytes: number };
  shutdown: { drainMs: number };
  gate: { lockTimeoutMs: number; maxHoldMs: number };
  admin: { socket: string; tcp: (HostPort & { token: string }) | null };
  /** null: no metrics listener. */
  metrics: HostPort | null;
  /**
   * Passwords the proxy logs in with when a switchover moves open client sessions to the new
   * server (it cannot replay a client's own challenge-response login), by user name.
   */
  switchover: { credentials: Record<string, string> };
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly key: string, message: string) {
    super(`config: ${key}: ${message}`);
  }
}

export const DEFAULTS: ProxyConfig = {
  listen: { host: '127.0.0.1', port: 3307 },
  upstream: { host: '127.0.0.1', port: 3306, connectTimeoutMs: 5000 },
  journal: { dir: './journal', fsync: 'always', segmentBytes: 64 * 1024 * 1024 },
  tls: null,
  limits: { maxPacketBytes: 256 * 1024 * 1024 },
  shutdown: { drainMs: 10_000 },
  gate: { lockTimeoutMs: 5000, maxHoldMs: 30_000 },
  admin: { socket: './metamorph-admin.sock', tcp: null },
  metrics: { host: '127.0.0.1', port: 9464 },
  switchover: { credentials: {} },
};

type Json = Record<string, unknown>;

const KNOWN: Record<string, string[]> = {
  '': ['listen', 'upstream', 'journal', 'tls', 'limits', 'shutdown', 'admin', 'metrics', 'gate', 'switchover', '$schema', 'comment'],
  listen: ['host', 'port'],
  upstream: ['host', 'port', 'connectTimeoutMs'],
  journal: ['dir', 'fsync', 'segmentBytes'],
  tls: ['cert', 'key'],
  limits: ['maxPacketBytes'],
  shutdown: ['drainMs'],
  gate: ['lockTimeoutMs', 'maxHoldMs'],
  admin: ['socket', 'tcp'],
  'admin.tcp': ['host', 'port', 'token'],
  metrics: ['host', 'port', 'enabled'],
  switchover: ['credentials'],
};

function section(raw: Json, key: string, path = key): Json {
  const v = raw[key];
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(path, 'must be an object');
  const known = KNOWN[path];
  if (known) {
    for (const k of Object.keys(v)) {
      if (!known.includes(k)) throw new ConfigError(`${path}.${k}`, `unknown key (known: ${known.join(', ')})`);
    }
  }
  return v as Json;
}

function str(obj: Json, sec: string, key: string, dflt: string): string {
  const v = obj[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(`${sec}.${key}`, 'must be a non-empty string');
  return v;
}

function int(obj: Json, sec: string, key: string, dflt: number, min: number, max: number): number {
  const v = obj[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`${sec}.${key}`, `must be an integer between ${min} and ${max} (got ${JSON.stringify(v)})`);
  }
  return v;
}

/** Validates a parsed config object; relative paths resolve against `baseDir`. */
export function parseProxyConfig(raw: unknown, baseDir = process.cwd()): ProxyConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('(root)', 'must be a JSON object');
  const root = raw as Json;
  for (const k of Object.keys(root)) {
    if (!KNOWN[''].includes(k)) throw new ConfigError(k, `unknown key (known: ${KNOWN[''].join(', ')})`);
  }
  const listen = section(root, 'listen');
  const upstream = section(root, 'upstream');
  const journal = section(root, 'journal');
  const limits = section(root, 'limits');
  const shutdown = section(root, 'shutdown');
  const gate = section(root, 'gate');
  const fsync = journal.fsync ?? DEFAULTS.journal.fsync;
  if (fsync !== 'always' && fsync !== 'none') {
    throw new ConfigError('journal.fsync', `must be "always" (default, durable) or "none" (unsafe: acknowledged writes can be lost on a crash); got ${JSON.stringify(fsync)}`);
  }
  let tls: ProxyConfig['tls'] = null;
  if (root.tls !== undefined && root.tls !== null) {
    const t = section(root, 'tls');
    tls = { cert: resolve(baseDir, str(t, 'tls', 'cert', '')), key: resolve(baseDir, str(t, 'tls', 'key', '')) };
    if (t.cert === undefined) throw new ConfigError('tls.cert', 'is required when tls is set');
    if (t.key === undefined) throw new ConfigError('tls.key', 'is required when tls is set');
  }
  return {
    listen: { host: str(listen, 'listen', 'host', DEFAULTS.listen.host), port: int(listen, 'listen', 'port', DEFAULTS.listen.port, 0, 65535) },
    upstream: {
      host: str(upstream, 'upstream', 'host', DEFAULTS.upstream.host),
      port: int(upstream, 'upstream', 'port', DEFAULTS.upstream.port, 1, 65535),
      connectTimeoutMs: int(upstream, 'upstream', 'connectTimeoutMs', DEFAULTS.upstream.connectTimeoutMs, 100, 600_000),
    },
    journal: {
      dir: resolve(baseDir, str(journal, 'journal', 'dir', DEFAULTS.journal.dir)),
      fsync,
      segmentBytes: int(journal, 'journal', 'segmentBytes', DEFAULTS.journal.segmentBytes, 64 * 1024, 2 ** 40),
    },
    tls,
    limits: { maxPacketBytes: int(limits, 'limits', 'maxPacketBytes', DEFAULTS.limits.maxPacketBytes, 1024 * 1024, 2 ** 31) },
    shutdown: { drainMs: int(shutdown, 'shutdown', 'drainMs', DEFAULTS.shutdown.drainMs, 0, 3_600_000) },
    gate: {
      lockTimeoutMs: int(gate, 'gate', 'lockTimeoutMs', DEFAULTS.gate.lockTimeoutMs, 1, 3_600_000),
      maxHoldMs: int(gate, 'gate', 'maxHoldMs', DEFAULTS.gate.maxHoldMs, 1, 86_400_000),
    },
    admin: parseAdmin(root, baseDir),
    metrics: parseMetrics(root),
    switchover: { credentials: parseCredentials(section(root, 'switchover')) },
  };
}

function parseCredentials(sw: Json): Record<string, string> {
  const c = sw.credentials;
  if (c === undefined) return {};
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new ConfigError('switchover.credentials', 'must be an object { "user": "password" }');
  const out: Record<string, string> = Object.create(null);
  for (const [user, pw] of Object.entries(c)) {
    if (typeof pw !== 'string') throw new ConfigError(`switchover.credentials.${user}`, 'must be a string (the password)');
    out[user] = pw;
  }
  return out;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function parseAdmin(root: Json, baseDir: string): ProxyConfig['admin'] {
  const admin = section(root, 'admin');
  const socket = resolve(baseDir, str(admin, 'admin', 'socket', DEFAULTS.admin.socket));
  if (admin.tcp === undefined || admin.tcp === null) return { socket, tcp: null };
  const tcp = section(admin, 'tcp', 'admin.tcp');
  const host = str(tcp, 'admin.tcp', 'host', '127.0.0.1');
  if (!LOOPBACK.has(host)) throw new ConfigError('admin.tcp.host', `must be a loopback address (127.0.0.1, ::1): the admin listener steers writes; got ${host}`);
  const token = str(tcp, 'admin.tcp', 'token', '');
  if (token.length < 16) throw new ConfigError('admin.tcp.token', 'must be at least 16 characters');
  if (tcp.port === undefined) throw new ConfigError('admin.tcp.port', 'is required when admin.tcp is set (0 picks a free port)');
  return { socket, tcp: { host, port: int(tcp, 'admin.tcp', 'port', 0, 0, 65535), token } };
}

function parseMetrics(root: Json): ProxyConfig['metrics'] {
  if (root.metrics === null) return null;
  const m = section(root, 'metrics');
  if (m.enabled !== undefined && typeof m.enabled !== 'boolean') throw new ConfigError('metrics.enabled', 'must be true or false');
  if (m.enabled === false) return null;
  return {
    host: str(m, 'metrics', 'host', DEFAULTS.metrics!.host),
    port: int(m, 'metrics', 'port', DEFAULTS.metrics!.port, 0, 65535),
  };
}

export function loadProxyConfig(path: string): ProxyConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('(file)', `cannot read ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('(file)', `${path}: ${jsonSyntaxProblem(text, e)}`);
  }
  return parseProxyConfig(raw, dirname(resolve(path)));
}

/** Parses `HOST:PORT` (or `[v6]:PORT`) from a command-line flag. */
export function parseHostPort(flag: string, value: string): HostPort {
  const hp = splitHostPort(value);
  if (!hp) throw new ConfigError(flag, `expected HOST:PORT, got ${JSON.stringify(value)}`);
  return hp;
}
