import { existsSync, readFileSync, rmSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import {
  objectAt, onlyKeys, optionalInt, optionalPort, optionalString, optionalText, requiredString, type Json,
} from './config-fields.js';
import { formatDsn, type Dsn } from './dsn.js';
import { dataDirOf, startLocalMariaDB, stopProcess } from './local-mariadb.js';
import type { Provider, Replica } from './provider.js';
import { ProvisionConfigError, ProvisionError, requireReplicaOf } from './provision-error.js';

export interface LocalConfig {
  provider: 'local';
  /** Absolute; the server lives in baseDir/name. */
  baseDir: string;
  name: string;
  /** undefined: a free port. */
  port: number | undefined;
  database: string | undefined;
  appUser: { user: string; password: string } | undefined;
  readyTimeoutMs: number;
}

const STOP_GRACE_MS = 20_000;

export function parseLocalConfig(raw: Json): LocalConfig {
  onlyKeys(raw, ['provider', 'baseDir', 'name', 'port', 'database', 'appUser', 'readyTimeoutMs']);
  const name = optionalString(raw, 'name') ?? 'replica';
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith('.')) {
    throw new ProvisionConfigError('name', `must be a plain directory name (letters, digits, _ . -), got ${JSON.stringify(name)}`);
  }
  return {
    provider: 'local',
    baseDir: resolve(requiredString(raw, 'baseDir', '', '/var/lib/metamorph')),
    name,
    port: optionalPort(raw, 'port'),
    database: optionalString(raw, 'database'),
    appUser: raw.appUser === undefined ? undefined : parseAppUser(objectAt(raw.appUser, 'appUser')),
    readyTimeoutMs: optionalInt(raw, 'readyTimeoutMs', 1000, 600_000) ?? 30_000,
  };
}

function parseAppUser(raw: Json): { user: string; password: string } {
  onlyKeys(raw, ['user', 'password'], 'appUser.');
  return { user: requiredString(raw, 'user', 'appUser.', 'wiki'), password: optionalText(raw, 'password', 'appUser.') ?? '' };
}

/** A new MariaDB on this machine: fresh datadir, loopback, root without password (plus an optional app user). */
export function createLocalProvider(config: LocalConfig): Provider {
  return {
    name: 'local',
    async provision(opts = {}): Promise<Replica> {
      const dir = join(config.baseDir, config.name);
      // startLocalMariaDB empties its directory: never let that hit a replica still in use.
      if (existsSync(dir)) {
        throw new ProvisionError('LOCAL_DIR_EXISTS', `${dir} already exists (a previous replica?): tear that one down, remove the directory, or set another name`);
      }
      opts.onProgress?.(`starting MariaDB in ${dir}`);
      const server = await startLocalMariaDB({ baseDir: config.baseDir, name: config.name, port: config.port, readyTimeoutMs: config.readyTimeoutMs });
      const root: Dsn = { user: 'root', password: '', host: server.host, port: server.port, database: config.database ?? null };
      try {
        await createDatabaseAndUser(root, config);
      } catch (err) {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
        throw new ProvisionError('LOCAL_SETUP_FAILED', `MariaDB in ${dir} started but creating the database/user failed: ${(err as Error).message}`);
      }
      opts.onProgress?.(`MariaDB ready on ${server.host}:${server.port} (pid ${server.pid})`);
      const login = config.appUser ? { ...root, ...config.appUser } : root;
      return {
        dsn: formatDsn(login),
        host: server.host,
        port: server.port,
        provider: 'local',
        details: { pid: server.pid, dir, rootDsn: formatDsn(root) },
      };
    },
    async teardown(replica: Replica): Promise<void> {
      requireReplicaOf(replica, 'local');
      const { pid, dir } = replica.details;
      if (typeof pid !== 'number' || typeof dir !== 'string' || !isAbsolute(dir)) {
        throw new ProvisionError('LOCAL_BAD_REPLICA', `replica details need a numeric pid and an absolute dir, got ${JSON.stringify(replica.details)}`);
      }
      if (isOurServer(pid, dir)) await stopProcess(pid, STOP_GRACE_MS);
      if (!existsSync(dir)) return;
      if (!existsSync(dataDirOf(dir))) {
        throw new ProvisionError('LOCAL_BAD_REPLICA', `${dir} has no data/ directory, so it is not a replica's: not removing it; check the replica details`);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function createDatabaseAndUser(root: Dsn, config: LocalConfig): Promise<void> {
  if (!config.database && !config.appUser) return;
  const conn = await mysql.createConnection({ host: root.host, port: root.port, user: root.user });
  try {
    if (config.database) await conn.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(config.database)}`);
    if (config.appUser) {
      const { user, password } = config.appUser;
      const scope = config.database ? `${mysql.escapeId(config.database)}.*` : '*.*';
      await conn.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password]);
      await conn.query(`GRANT ALL ON ${scope} TO ?@?`, [user, '%']);
    }
  } finally {
    await conn.end();
  }
}

// A pid recorded earlier may belong to another process by now: only stop the mariadbd of this datadir.
// Reads /proc: metamorph runs on Linux.
function isOurServer(pid: number, dir: string): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return false;
  }
  return cmdline.split('\0').includes(`--datadir=${dataDirOf(dir)}`);
}
