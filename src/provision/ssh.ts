import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import {
  objectAt, onlyKeys, optionalInt, optionalPort, optionalString, optionalStringList, optionalText, requiredString, type Json,
} from './config-fields.js';
import { formatDsn, redactDsn, type Dsn } from './dsn.js';
import { checkMysqlReachable } from './existing.js';
import type { Provider, ProvisionOptions, Replica } from './provider.js';
import { ProvisionConfigError, requireReplicaOf } from './provision-error.js';
import { SshSession, type SshConnectOptions } from './ssh-session.js';

export interface SshUpload {
  local: string;
  remote: string;
  mode: number | undefined;
}

export interface SshConfig {
  provider: 'ssh';
  host: string;
  port: number;
  username: string;
  /** Absolute; read at provision time. */
  privateKeyPath: string | undefined;
  password: string | undefined;
  hostKeySha256: string | undefined;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  uploads: SshUpload[];
  setupCommands: string[];
  upgradeCommand: string | undefined;
  teardownCommand: string | undefined;
  /** Where the replica's MySQL answers, from this machine. */
  mysql: Dsn;
  mysqlConnectTimeoutMs: number;
}

const KEYS = ['provider', 'host', 'port', 'username', 'privateKeyPath', 'password', 'hostKeySha256', 'connectTimeoutMs',
  'commandTimeoutMs', 'uploads', 'setupCommands', 'upgradeCommand', 'teardownCommand', 'mysql'];
const MYSQL_KEYS = ['host', 'port', 'user', 'password', 'database', 'connectTimeoutMs'];

export function parseSshConfig(raw: Json): SshConfig {
  onlyKeys(raw, KEYS);
  const host = requiredString(raw, 'host', '', 'db2.internal');
  const privateKeyPath = optionalString(raw, 'privateKeyPath');
  const password = optionalText(raw, 'password');
  if ((privateKeyPath === undefined) === (password === undefined)) {
    throw new ProvisionConfigError('privateKeyPath', 'give exactly one of privateKeyPath and password');
  }
  const keyPath = privateKeyPath === undefined ? undefined : expandHome(privateKeyPath);
  if (keyPath !== undefined && !existsSync(keyPath)) throw new ProvisionConfigError('privateKeyPath', `${keyPath} does not exist`);
  const mysql = objectAt(raw.mysql ?? {}, 'mysql');
  onlyKeys(mysql, MYSQL_KEYS, 'mysql.');
  return {
    provider: 'ssh',
    host,
    port: optionalPort(raw, 'port') ?? 22,
    username: requiredString(raw, 'username', '', 'root'),
    privateKeyPath: keyPath,
    password,
    hostKeySha256: optionalString(raw, 'hostKeySha256'),
    connectTimeoutMs: optionalInt(raw, 'connectTimeoutMs', 1, 600_000) ?? 20_000,
    commandTimeoutMs: optionalInt(raw, 'commandTimeoutMs', 1, 86_400_000) ?? 3_600_000,
    uploads: parseUploads(raw.uploads),
    setupCommands: optionalStringList(raw, 'setupCommands') ?? [],
    upgradeCommand: optionalString(raw, 'upgradeCommand'),
    teardownCommand: optionalString(raw, 'teardownCommand'),
    mysql: {
      host: optionalString(mysql, 'host', 'mysql.') ?? host,
      port: optionalPort(mysql, 'port', 'mysql.') ?? 3306,
      user: optionalString(mysql, 'user', 'mysql.') ?? 'root',
      password: optionalText(mysql, 'password', 'mysql.') ?? '',
      database: optionalString(mysql, 'database', 'mysql.') ?? null,
    },
    mysqlConnectTimeoutMs: optionalInt(mysql, 'connectTimeoutMs', 1, 600_000, 'mysql.') ?? 5000,
  };
}

function parseUploads(value: unknown): SshUpload[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ProvisionConfigError('uploads', 'must be a list of { "local", "remote", "mode" }');
  return value.map((item, i) => {
    const prefix = `uploads[${i}].`;
    const raw = objectAt(item, `uploads[${i}]`);
    onlyKeys(raw, ['local', 'remote', 'mode'], prefix);
    const local = resolve(expandHome(requiredString(raw, 'local', prefix, 'upgrade.sh')));
    if (!existsSync(local)) throw new ProvisionConfigError(`${prefix}local`, `${local} does not exist`);
    const mode = optionalString(raw, 'mode', prefix);
    if (mode !== undefined && !/^0?[0-7]{3}$/.test(mode)) {
      throw new ProvisionConfigError(`${prefix}mode`, `must be an octal string like "0755", got ${JSON.stringify(mode)}`);
    }
    return { local, remote: requiredString(raw, 'remote', prefix, '/tmp/upgrade.sh'), mode: mode === undefined ? undefined : parseInt(mode, 8) };
  });
}

function expandHome(path: string): string {
  return path.startsWith('~/') ? resolve(homedir(), path.slice(2)) : resolve(path);
}

/**
 * A replica host reached over SSH: uploads files, runs the setup commands and the upgrade
 * command there (any failure stops provisioning), then checks its MySQL answers from here.
 */
export function createSshProvider(config: SshConfig): Provider {
  return {
    name: 'ssh',
    async provision(opts = {}): Promise<Replica> {
      const steps = await runSteps(config, [...config.setupCommands, ...(config.upgradeCommand ? [config.upgradeCommand] : [])], opts, true);
      opts.onProgress?.(`checking ${redactDsn(config.mysql)}`);
      const version = await checkMysqlReachable(config.mysql, config.mysqlConnectTimeoutMs);
      return {
        dsn: formatDsn(config.mysql),
        host: config.mysql.host,
        port: config.mysql.port,
        provider: 'ssh',
        details: { ssh: `${config.username}@${config.host}:${config.port}`, version, steps },
      };
    },
    async teardown(replica: Replica): Promise<void> {
      requireReplicaOf(replica, 'ssh');
      if (config.teardownCommand) await runSteps(config, [config.teardownCommand], {}, false);
    },
  };
}

async function runSteps(config: SshConfig, commands: string[], opts: ProvisionOptions, withUploads: boolean) {
  const session = await SshSession.connect(connectOptions(config));
  try {
    if (withUploads) {
      for (const upload of config.uploads) {
        opts.onProgress?.(`${session.target}: uploading ${upload.local} to ${upload.remote}`);
        await session.upload(upload.local, upload.remote, upload.mode);
      }
    }
    const steps: { command: string; seconds: number }[] = [];
    for (const command of commands) {
      opts.onProgress?.(`${session.target}: $ ${command}`);
      const started = Date.now();
      await session.exec(command, {
        timeoutMs: config.commandTimeoutMs,
        onStdout: (chunk) => opts.onOutput?.(chunk, 'stdout'),
        onStderr: (chunk) => opts.onOutput?.(chunk, 'stderr'),
      });
      steps.push({ command, seconds: (Date.now() - started) / 1000 });
    }
    return steps;
  } finally {
    await session.close();
  }
}

function connectOptions(config: SshConfig): SshConnectOptions {
  return {
    host: config.host,
    port: config.port,
    username: config.username,
    privateKey: config.privateKeyPath === undefined ? undefined : readFileSync(config.privateKeyPath),
    password: config.password,
    hostKeySha256: config.hostKeySha256,
    connectTimeoutMs: config.connectTimeoutMs,
  };
}
