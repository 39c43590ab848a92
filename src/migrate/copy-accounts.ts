import type { Connection } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import type { Logger } from '../log.js';
import { causeText, MigrateError } from './migrate-errors.js';

/** One account: `user` (every host it is defined for) or `user@host`. */
export type AccountName = string;

export interface CopiedAccount { user: string; host: string; grants: number }

/**
 * Copies the application's MySQL accounts to the target so that, after a flip, the proxy can log
 * the app's sessions in there: `SHOW CREATE USER` and `SHOW GRANTS` on the source, replayed on the
 * target. Idempotent: CREATE USER IF NOT EXISTS, then ALTER USER with the source's authentication
 * (so a re-run, or an account made earlier with another password, ends with the source's), then
 * the GRANTs (which only add). Privileges the target has beyond the source's are left alone.
 * Roles granted to a user must exist on the target (copy them first by naming them in the list).
 */
export async function copyAccounts(source: Connection, target: Connection, names: AccountName[], log: Logger): Promise<CopiedAccount[]> {
  const out: CopiedAccount[] = [];
  for (const name of names) {
    for (const account of await accountsOf(source, name)) {
      const statements = await definition(source, account);
      for (const sql of statements) {
        try {
          await target.query(sql);
        } catch (err) {
          throw new MigrateError('MIGRATE_TARGET_FAILED', `copying account ${quoteAccount(account)} to the target failed on "${redactAuth(sql).slice(0, 200)}": ${causeText(err)}; ` +
            'the target login needs CREATE USER and GRANT OPTION (use an admin/root login for the replica)', { cause: err });
        }
      }
      const grants = statements.length - 2;
      log.info({ account: `${account.user}@${account.host}`, grants }, 'account copied to the target');
      out.push({ ...account, grants });
    }
  }
  return out;
}

interface Account { user: string; host: string }

/** The accounts a name stands for on the source; none is an error (a typo in the list). */
async function accountsOf(source: Connection, name: AccountName): Promise<Account[]> {
  const at = name.lastIndexOf('@');
  const [user, host] = at > 0 ? [name.slice(0, at), name.slice(at + 1)] : [name, null];
  const [rows] = await source.query(
    `SELECT User AS user, Host AS host FROM mysql.user WHERE User = ?${host === null ? '' : ' AND Host = ?'} ORDER BY Host`,
    host === null ? [user] : [user, host]);
  const found = rows as Account[];
  if (found.length === 0) {
    throw new MigrateError('MIGRATE_BAD_OPTION', `account ${JSON.stringify(name)} does not exist on the source: check the accounts list (user or user@host, as in mysql.user)`);
  }
  return found.map((r) => ({ user: String(r.user), host: String(r.host) }));
}

/** CREATE USER IF NOT EXISTS, ALTER USER (same authentication and limits), the GRANTs. */
async function definition(source: Connection, account: Account): Promise<string[]> {
  const [created] = await source.query('SHOW CREATE USER ?@?', [account.user, account.host]);
  const create = String(Object.values((created as Record<string, unknown>[])[0])[0]);
  const m = /^CREATE USER\s+(.*)$/is.exec(create);
  if (!m) throw new MigrateError('MIGRATE_SOURCE_FAILED', `SHOW CREATE USER for ${quoteAccount(account)} returned an unexpected statement: ${redactAuth(create).slice(0, 200)}`);
  const [grantRows] = await source.query('SHOW GRANTS FOR ?@?', [account.user, account.host]);
  const grants = (grantRows as Record<string, unknown>[]).map((r) => String(Object.values(r)[0]));
  return [`CREATE USER IF NOT EXISTS ${quoteAccount(account)}`, `ALTER USER ${m[1]}`, ...grants];
}

function quoteAccount(a: Account): string {
  return `${mysql.escape(a.user)}@${mysql.escape(a.host)}`;
}

// Password hashes are not passwords, but they are still not for logs.
function redactAuth(sql: string): string {
  return sql.replace(/(PASSWORD\s*\(?\s*|USING\s+|AS\s+)'[^']*'/gi, "$1'***'");
}
