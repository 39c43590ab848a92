import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { splitHostPort } from '../config/host-port.js';
import { jsonSyntaxProblem } from '../config/json-syntax.js';
import { createProvider } from '../provision/provider.js';
import { parseDsn, type Dsn } from '../provision/dsn.js';
import { ProvisionConfigError } from '../provision/provision-error.js';
import type { SshConnectOptions } from '../provision/ssh-session.js';

/**
 * `metamorph upgrade --config upgrade.json`. Every key is checked; an error names it. Relative
 * paths are taken from the config file's directory.
 *
 *   { "pack": "identity",
 *     "source": "mysql://root@db1:3306/",                  // the source database itself, not the proxy
 *     "proxy": { "adminSocket": "/run/metamorph/admin.sock", "journalDir": "/var/lib/metamorph/journal" },
 *     "provision": { "provider": "existing", "dsn": "mysql://root:pw@db2:3306/" },   // see provision/provider.ts
 *     "stateDir": "/var/lib/metamorph/upgrade",            // state.json; the admin socket by default
 *     "adminSocket": "/run/metamorph/upgrade.sock",        // default <stateDir>/upgrade.sock
 *     "metrics": "127.0.0.1:9471",                         // optional GET /metrics
 *     "accounts": ["app", "wiki@10.0.0.%"],                // the app's MySQL accounts to copy (user or user@host)
 *     "migrate": { "workers": 4, "chunkRows": 10000, "lockTimeoutMs": 5000, "databases": ["app"],
 *                  "sourceDb": "wikidb", "targetDb": "wikidb15", "maxRowsPerSec": 0, "maxThreadsRunning": 0,
 *                  "maxReplayLagSeconds": 0 },
 *     "verify": { "intervalSeconds": 30, "repair": false, "chunkRows": 1000, "maxDifferences": 100, "lockTimeoutMs": 5000 },
 *     "switchover": { "maxLagSeconds": 2, "flipTo": "db2:3306", "lockMs": 2000, "catchUpMs": 2000, "verifyMs": 5000,
 *                     "flipMs": 5000, "totalMs": 15000,
 *                     "hook": { "command": "...", "ssh": { "host": "app1", "port": 22, "username": "deploy", "privateKeyPath": "~/.ssh/id" } } } }
 */
export interface UpgradeConfig {
  pack: string;
  source: Dsn;
  proxy: { adminSocket: string; journalDir: string };
  /** The provider's own JSON (checked by createProvider). */
  provision: Record<string, unknown>;
  stateDir: string;
  adminSocket: string;
  metrics: { host: string; port: number } | null;
  accounts: string[];
  migrate: {
    workers: number; chunkRows: number; lockTimeoutMs: number; databases: string[] | null;
    sourceDb: string | null; targetDb: string | null;
    maxRowsPerSec: number; maxThreadsRunning: number; maxReplayLagSeconds: number;
  };
  verify: { intervalSeconds: number; repair: boolean; chunkRows: number | null; maxDifferences: number | null; lockTimeoutMs: number };
  switchover: {
    maxLagSeconds: number;
    /** Where the proxy repoints for identity; null: the replica's host:port. */
    flipTo: { host: string; port: number } | null;
    budgets: { lockMs: number; catchUpMs: number; verifyMs: number; flipMs: number; totalMs: number };
    /** Translated packs: the command that points the app tier at the new version. */
    hook: { command: string; ssh?: SshConnectOptions } | null;
  };
}

/** A config key that is missing or wrong: code CONFIG_INVALID (the CLI exits 2). */
export class UpgradeConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly key: string, problem: string) {
    super(`upgrade config: ${key}: ${problem}`);
    this.name = 'UpgradeConfigError';
  }
}

type Json = Record<string, unknown>;

export function loadUpgradeConfig(path: string): UpgradeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UpgradeConfigError('(file)', `cannot read ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UpgradeConfigError('(file)', `${path}: ${jsonSyntaxProblem(text, err)}`);
  }
  return parseUpgradeConfig(raw, dirname(resolve(path)));
}

/** `baseDir` anchors relative paths (the config file's directory). */
export function parseUpgradeConfig(value: unknown, baseDir: string = process.cwd()): UpgradeConfig {
  const raw = object(value, '(config)');
  only(raw, ['pack', 'source', 'proxy', 'provision', 'stateDir', 'adminSocket', 'metrics', 'accounts', 'migrate', 'verify', 'switchover'], '');
  const path = (v: string) => resolve(baseDir, v);
  const proxy = object(required(raw, 'proxy', ''), 'proxy');
  only(proxy, ['adminSocket', 'journalDir'], 'proxy.');
  const stateDir = path(str(raw, 'stateDir', '', true) as string);
  const provision = object(required(raw, 'provision', ''), 'provision');
  try {
    createProvider(provision);
  } catch (err) {
    if (err instanceof ProvisionConfigError) throw new UpgradeConfigError(`provision.${err.key}`, err.message.replace(/^provision config: [^:]+: /, ''));
    throw err;
  }
  const metrics = str(raw, 'metrics', '', false);
  const pack = str(raw, 'pack', '', true) as string;
  const switchover = switchoverSection(raw.switchover);
  if (pack !== 'identity' && !switchover.hook) {
    throw new UpgradeConfigError('switchover.hook', `required for pack ${JSON.stringify(pack)}: the new schema serves a new version of the app, so the app tier must be switched by a command (the proxy repoints only for identity)`);
  }
  return {
    pack,
    source: dsn(raw, 'source'),
    proxy: { adminSocket: path(str(proxy, 'adminSocket', 'proxy.', true) as string), journalDir: path(str(proxy, 'journalDir', 'proxy.', true) as string) },
    provision,
    stateDir,
    adminSocket: path(str(raw, 'adminSocket', '', false) ?? resolve(stateDir, 'upgrade.sock')),
    metrics: metrics === undefined ? null : hostPort('metrics', metrics),
    accounts: accounts(raw.accounts),
    migrate: migrateSection(raw.migrate),
    verify: verifySection(raw.verify),
    switchover,
  };
}

function migrateSection(value: unknown): UpgradeConfig['migrate'] {
  const raw = value === undefined ? {} : object(value, 'migrate');
  const p = 'migrate.';
  only(raw, ['workers', 'chunkRows', 'lockTimeoutMs', 'databases', 'sourceDb', 'targetDb', 'maxRowsPerSec', 'maxThreadsRunning', 'maxReplayLagSeconds'], p);
  return {
    workers: int(raw, 'workers', p, 1, 64) ?? 4,
    chunkRows: int(raw, 'chunkRows', p, 1, 10_000_000) ?? 10_000,
    lockTimeoutMs: int(raw, 'lockTimeoutMs', p, 1, 600_000) ?? 5000,
    databases: stringList(raw, 'databases', p),
    sourceDb: str(raw, 'sourceDb', p, false) ?? null,
    targetDb: str(raw, 'targetDb', p, false) ?? null,
    maxRowsPerSec: int(raw, 'maxRowsPerSec', p, 0, 1e9) ?? 0,
    maxThreadsRunning: int(raw, 'maxThreadsRunning', p, 0, 1e6) ?? 0,
    maxReplayLagSeconds: num(raw, 'maxReplayLagSeconds', p, 0, 86_400) ?? 0,
  };
}

function verifySection(value: unknown): UpgradeConfig['verify'] {
  const raw = value === undefined ? {} : object(value, 'verify');
  const p = 'verify.';
  only(raw, ['intervalSeconds', 'repair', 'chunkRows', 'maxDifferences', 'lockTimeoutMs'], p);
  const repair = raw.repair;
  if (repair !== undefined && typeof repair !== 'boolean') throw new UpgradeConfigError(`${p}repair`, `must be true or false, got ${describe(repair)}`);
  return {
    intervalSeconds: num(raw, 'intervalSeconds', p, 0.1, 86_400) ?? 30,
    repair: repair ?? false,
    chunkRows: int(raw, 'chunkRows', p, 1, 10_000_000) ?? null,
    maxDifferences: int(raw, 'maxDifferences', p, 1, 1_000_000) ?? null,
    lockTimeoutMs: int(raw, 'lockTimeoutMs', p, 1, 600_000) ?? 5000,
  };
}

function switchoverSection(value: unknown): UpgradeConfig['switchover'] {
  const raw = value === undefined ? {} : object(value, 'switchover');
  const p = 'switchover.';
  only(raw, ['maxLagSeconds', 'flipTo', 'lockMs', 'catchUpMs', 'verifyMs', 'flipMs', 'totalMs', 'hook'], p);
  const flipTo = str(raw, 'flipTo', p, false);
  const ms = (key: string, dflt: number) => int(raw, key, p, 1, 3_600_000) ?? dflt;
  return {
    maxLagSeconds: num(raw, 'maxLagSeconds', p, 0, 86_400) ?? 2,
    flipTo: flipTo === undefined ? null : hostPort(`${p}flipTo`, flipTo),
    budgets: { lockMs: ms('lockMs', 2000), catchUpMs: ms('catchUpMs', 2000), verifyMs: ms('verifyMs', 5000), flipMs: ms('flipMs', 5000), totalMs: ms('totalMs', 15_000) },
    hook: raw.hook === undefined ? null : hook(object(raw.hook, `${p}hook`)),
  };
}

function hook(raw: Json): { command: string; ssh?: SshConnectOptions } {
  const p = 'switchover.hook.';
  only(raw, ['command', 'ssh'], p);
  const command = str(raw, 'command', p, true) as string;
  if (raw.ssh === undefined) return { command };
  const ssh = object(raw.ssh, `${p}ssh`);
  const sp = `${p}ssh.`;
  only(ssh, ['host', 'port', 'username', 'privateKeyPath', 'hostKeySha256'], sp);
  const keyPath = (str(ssh, 'privateKeyPath', sp, true) as string).replace(/^~(?=\/)/, process.env.HOME ?? '~');
  let privateKey: Buffer;
  try {
    privateKey = readFileSync(keyPath);
  } catch (err) {
    throw new UpgradeConfigError(`${sp}privateKeyPath`, `cannot read ${keyPath}: ${(err as Error).message}`);
  }
  const hostKey = str(ssh, 'hostKeySha256', sp, false);
  return {
    command,
    ssh: {
      host: str(ssh, 'host', sp, true) as string, port: int(ssh, 'port', sp, 1, 65535) ?? 22, username: str(ssh, 'username', sp, true) as string,
      privateKey, ...(hostKey ? { hostKeySha256: hostKey } : {}),
    },
  };
}

function accounts(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || !/^[^@\s]+(@[^@\s]+)?$/.test(v))) {
    throw new UpgradeConfigError('accounts', `must be a list of "user" or "user@host" strings, got ${describe(value)}`);
  }
  return value as string[];
}

function dsn(raw: Json, key: string): Dsn {
  const text = str(raw, key, '', true) as string;
  try {
    return parseDsn(text);
  } catch (err) {
    throw new UpgradeConfigError(key, (err as Error).message); // parseDsn's message is already redacted
  }
}

function hostPort(key: string, value: string): { host: string; port: number } {
  const hp = splitHostPort(value);
  if (!hp || hp.port < 1) throw new UpgradeConfigError(key, `expected HOST:PORT, got ${JSON.stringify(value)}`);
  return hp;
}

function object(value: unknown, key: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UpgradeConfigError(key, `must be an object, got ${describe(value)}`);
  return value as Json;
}

function required(raw: Json, key: string, prefix: string): unknown {
  if (raw[key] === undefined) throw new UpgradeConfigError(`${prefix}${key}`, 'required');
  return raw[key];
}

// Unknown keys are errors: a typo must not silently fall back to a default.
function only(raw: Json, known: string[], prefix: string): void {
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) throw new UpgradeConfigError(`${prefix}${key}`, `unknown key (known: ${known.join(', ')})`);
  }
}

function str(raw: Json, key: string, prefix: string, need: boolean): string | undefined {
  const value = need ? required(raw, key, prefix) : raw[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new UpgradeConfigError(`${prefix}${key}`, `must be a non-empty string, got ${describe(value)}`);
  return value;
}

function num(raw: Json, key: string, prefix: string, min: number, max: number): number | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new UpgradeConfigError(`${prefix}${key}`, `must be a number from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

function int(raw: Json, key: string, prefix: string, min: number, max: number): number | undefined {
  const value = num(raw, key, prefix, min, max);
  if (value !== undefined && !Number.isInteger(value)) throw new UpgradeConfigError(`${prefix}${key}`, `must be an integer, got ${value}`);
  return value;
}

function stringList(raw: Json, key: string, prefix: string): string[] | null {
  const value = raw[key];
  if (value === undefined) return null;
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== 'string' || v === '')) {
    throw new UpgradeConfigError(`${prefix}${key}`, `must be a non-empty list of non-empty strings, got ${describe(value)}`);
  }
  return value as string[];
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'string') return /^mysql|^mariadb/i.test(value) ? 'a URL' : JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}
