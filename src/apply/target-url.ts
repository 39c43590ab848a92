import type { ConnectionOptions } from 'mysql2/promise';
import { ReplayError } from './replay-errors.js';

export interface ReplayTarget {
  connection: ConnectionOptions;
  /** The database in the URL's path, or null. */
  db: string | null;
  /** The URL without its password, for logs. */
  display: string;
}

/** mysql://user:pass@host:port/db (or mariadb://); user and password percent-decoded. */
export function parseTargetUrl(url: string): ReplayTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ReplayError('REPLAY_BAD_OPTION', `--target must be a URL like mysql://user:pass@host:3306/db, got ${JSON.stringify(redact(url))}`);
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
    throw new ReplayError('REPLAY_BAD_OPTION', `--target must start with mysql:// (or mariadb://), got ${u.protocol}//`);
  }
  if (u.search) throw new ReplayError('REPLAY_BAD_OPTION', `--target takes no query parameters (got ${u.search})`);
  const port = u.port === '' ? 3306 : Number(u.port);
  const path = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (path.includes('/')) throw new ReplayError('REPLAY_BAD_OPTION', `--target path must be a single database name, got ${JSON.stringify(path)}`);
  const connection: ConnectionOptions = {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port,
    user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password),
  };
  return { connection, db: path === '' ? null : path, display: redact(url) };
}

function redact(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@]*@/i, '$1:***@');
}
