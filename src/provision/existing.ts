import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import { onlyKeys, optionalInt, requiredString, type Json } from './config-fields.js';
import { formatDsn, parseDsn, redactDsn, type Dsn } from './dsn.js';
import type { Provider, Replica } from './provider.js';
import { ProvisionConfigError, ProvisionError, requireReplicaOf } from './provision-error.js';

export interface ExistingConfig {
  provider: 'existing';
  dsn: Dsn;
  connectTimeoutMs: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export function parseExistingConfig(raw: Json): ExistingConfig {
  onlyKeys(raw, ['provider', 'dsn', 'connectTimeoutMs']);
  const text = requiredString(raw, 'dsn', '', 'mysql://user:password@db2.internal:3306/wikidb');
  let dsn: Dsn;
  try {
    dsn = parseDsn(text);
  } catch (err) {
    throw new ProvisionConfigError('dsn', (err as Error).message);
  }
  return {
    provider: 'existing',
    dsn,
    connectTimeoutMs: optionalInt(raw, 'connectTimeoutMs', 1, 600_000) ?? DEFAULT_CONNECT_TIMEOUT_MS,
  };
}

/** A database the operator already made: we only check it answers, and never remove it. */
export function createExistingProvider(config: ExistingConfig): Provider {
  return {
    name: 'existing',
    async provision(opts = {}): Promise<Replica> {
      opts.onProgress?.(`checking ${redactDsn(config.dsn)}`);
      const version = await checkMysqlReachable(config.dsn, config.connectTimeoutMs);
      return { dsn: formatDsn(config.dsn), host: config.dsn.host, port: config.dsn.port, provider: 'existing', details: { version } };
    },
    async teardown(replica: Replica): Promise<void> {
      requireReplicaOf(replica, 'existing');
    },
  };
}

/** Logs in with the DSN's credentials and database; resolves to the server's VERSION(). */
export async function checkMysqlReachable(dsn: Dsn, connectTimeoutMs: number): Promise<string> {
  let conn: Connection;
  try {
    conn = await mysql.createConnection({
      host: dsn.host,
      port: dsn.port,
      user: dsn.user,
      password: dsn.password,
      database: dsn.database ?? undefined,
      connectTimeout: connectTimeoutMs,
    });
  } catch (err) {
    throw unreachable(dsn, err as NodeJS.ErrnoException);
  }
  try {
    const [rows] = await conn.query<RowDataPacket[]>('SELECT VERSION() AS version');
    return String(rows[0]?.version);
  } finally {
    await conn.end();
  }
}

const HINTS: Record<string, string> = {
  ECONNREFUSED: 'nothing listens there: is mysqld running, on that host and port?',
  ETIMEDOUT: 'no answer: a firewall or security group may drop the packets, or the host is down',
  ENOTFOUND: 'the host name does not resolve',
  EHOSTUNREACH: 'no route to the host',
  ER_ACCESS_DENIED_ERROR: 'check the user and password in the DSN, and that the user may connect from this host',
  ER_BAD_DB_ERROR: 'create the database first, or leave it out of the DSN',
  ER_HOST_NOT_PRIVILEGED: 'the server does not accept this host: grant the user access from it',
};

function unreachable(dsn: Dsn, err: NodeJS.ErrnoException): ProvisionError {
  const hint = HINTS[err.code ?? ''] ?? 'check that the DSN points at a running MySQL/MariaDB server';
  return new ProvisionError('REPLICA_UNREACHABLE', `cannot log in to ${redactDsn(dsn)}: ${err.code ? `${err.code}: ` : ''}${err.message}; ${hint}`);
}
