import { describe, expect, it } from 'vitest';
import { formatDsn, parseDsn, redactDsn } from '../../src/provision/dsn.js';

describe('parseDsn / formatDsn / redactDsn', () => {
  it('parses every part and percent-decodes the login', () => {
    expect(parseDsn('mysql://wiki%40prod:p%40ss%3Aw%2Frd@db2.internal:3307/wiki_db')).toEqual({
      user: 'wiki@prod', password: 'p@ss:w/rd', host: 'db2.internal', port: 3307, database: 'wiki_db',
    });
  });

  it('defaults: port 3306, user root, no password, no database; mariadb:// and IPv6 hosts work', () => {
    expect(parseDsn('mysql://10.0.0.5')).toEqual({ user: 'root', password: '', host: '10.0.0.5', port: 3306, database: null });
    expect(parseDsn('mariadb://app@[::1]:3310/')).toEqual({ user: 'app', password: '', host: '::1', port: 3310, database: null });
  });

  it('formatDsn round-trips, encoding what needs it', () => {
    const dsn = { user: 'wiki', password: 'p@ss:w/rd ü', host: '::1', port: 3306, database: 'my db' };
    const text = formatDsn(dsn);
    expect(text).toBe('mysql://wiki:p%40ss%3Aw%2Frd%20%C3%BC@[::1]:3306/my%20db');
    expect(parseDsn(text)).toEqual(dsn);
    expect(formatDsn({ user: 'root', password: '', host: '127.0.0.1', port: 3306, database: null })).toBe('mysql://root@127.0.0.1:3306/');
  });

  it('redactDsn hides the password of a Dsn and of a string, even a malformed one', () => {
    expect(redactDsn({ user: 'wiki', password: 'secret', host: 'h', port: 1, database: 'd' })).toBe('mysql://wiki:***@h:1/d');
    expect(redactDsn('mysql://wiki:secret@h:1/d')).toBe('mysql://wiki:***@h:1/d');
    expect(redactDsn('mysql://wiki:se@cr/et@h:1/d')).toBe('mysql://wiki:***@h:1/d');
    expect(redactDsn('mysql://root@h:1/d')).toBe('mysql://root@h:1/d');
  });

  it('rejects what is not a MySQL DSN with DSN_INVALID, without echoing the password', () => {
    const cases: [string, string][] = [
      ['db2.internal 3306', 'is not a URL'],
      ['db2.internal:3306', 'must start with mysql://'],
      ['postgres://u:secret@h/d', 'must start with mysql://'],
      ['mysql://u:secret@h/d?ssl=true', 'takes no ?query'],
      ['mysql://u:secret@h/a/b', 'one database name'],
      ['mysql://u:secret%zz@h/d', 'malformed %-escape'],
    ];
    for (const [text, why] of cases) {
      let caught: unknown;
      try {
        parseDsn(text);
      } catch (err) {
        caught = err;
      }
      expect(caught, text).toMatchObject({ code: 'DSN_INVALID' });
      expect((caught as Error).message, text).toContain(why);
      expect((caught as Error).message, text).not.toContain('secret');
    }
  });
});
