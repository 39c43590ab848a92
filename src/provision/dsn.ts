import { ProvisionError } from './provision-error.js';

/** Where a replica's MySQL answers and how to log in: `mysql://user:pass@host:port/db`. */
export interface Dsn {
  user: string;
  password: string;
  host: string;
  port: number;
  /** null: no default database. */
  database: string | null;
}

const DEFAULT_PORT = 3306;

/** Parses `mysql://` (or `mariadb://`) URLs; user and password are percent-decoded, port defaults to 3306. */
export function parseDsn(text: string): Dsn {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badDsn(text, 'is not a URL');
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') throw badDsn(text, `must start with mysql://, not ${url.protocol}//`);
  if (url.hostname === '') throw badDsn(text, 'has no host');
  if (url.search !== '' || url.hash !== '') throw badDsn(text, 'takes no ?query or #fragment');
  const database = decode(text, url.pathname.replace(/^\//, ''));
  if (database.includes('/')) throw badDsn(text, `path must be one database name, got ${JSON.stringify(database)}`);
  return {
    user: decode(text, url.username) || 'root',
    password: decode(text, url.password),
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? DEFAULT_PORT : Number(url.port),
    database: database === '' ? null : database,
  };
}

/** The full URL, password included: for connecting, never for printing (use redactDsn). */
export function formatDsn(dsn: Dsn): string {
  return render(dsn, encodeURIComponent(dsn.password));
}

/** The URL with the password replaced by `***`: safe for logs, errors and reports. */
export function redactDsn(dsn: Dsn | string): string {
  if (typeof dsn !== 'string') return render(dsn, '***');
  // Works on strings that do not parse too; up to the last '@', in case the password has a raw one.
  return dsn.replace(/^([a-z]+:\/\/[^:/@]*):.*@/i, '$1:***@');
}

function render(dsn: Dsn, password: string): string {
  const host = dsn.host.includes(':') ? `[${dsn.host}]` : dsn.host;
  const login = encodeURIComponent(dsn.user) + (dsn.password === '' ? '' : `:${password}`);
  return `mysql://${login}@${host}:${dsn.port}/${dsn.database === null ? '' : encodeURIComponent(dsn.database)}`;
}

function decode(text: string, part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw badDsn(text, 'has a malformed %-escape');
  }
}

function badDsn(text: string, why: string): ProvisionError {
  return new ProvisionError('DSN_INVALID', `DSN ${JSON.stringify(redactDsn(text))} ${why}: write it as mysql://user:password@host:3306/database`);
}
