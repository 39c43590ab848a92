import { isUtf8 } from 'node:buffer';
import mysql, { type Connection, type ConnectionOptions, type ResultSetHeader } from 'mysql2/promise';
import type { SqlRunner } from '../translate/pack.js';
import { DEFAULT_NAMES, EntryContext } from './entry-context.js';
import { withParams } from './sql-literals.js';

/** An error the target reported for a statement, the connection still usable. */
export interface StatementError {
  errno: number;
  message: string;
}

export function asStatementError(err: unknown): StatementError | null {
  const e = err as { errno?: unknown; fatal?: unknown; message?: unknown } | null;
  if (!e || typeof e.errno !== 'number' || e.errno <= 0 || e.fatal === true) return null;
  return { errno: e.errno, message: readable(String(e.message)) };
}

// The wire text is latin1 (see below), so mysql2 decodes the server's UTF-8 error messages as latin1.
function readable(message: string): string {
  const bytes = Buffer.from(message, 'latin1');
  return isUtf8(bytes) ? bytes.toString('utf8') : message;
}

const ER_UNKNOWN_SYSTEM_VARIABLE = 1193;

/**
 * The replayer's connection to the target: multi-statement packets (many entries per round
 * trip), the replayed session context, and the SqlRunner packs write through.
 *
 * Bytes go out exactly as given. mysql2 encodes query text in the connection's character set
 * and follows the server's reports of SET NAMES; replayed sessions change NAMES all the time.
 * So the connection is opened as latin1 (one byte per char: any bytes survive the round trip
 * through a JS string), the server stops reporting character-set changes, the server side is
 * put on utf8mb4, and text is turned into wire form here: a Buffer byte for byte, a string as UTF-8.
 */
export class TargetSession implements SqlRunner {
  readonly context = new EntryContext();

  private constructor(
    private readonly conn: Connection,
    /** MariaDB: `SET STATEMENT var = value FOR <statement>` is available. */
    readonly setStatement: boolean,
  ) {}

  static async open(opts: ConnectionOptions): Promise<TargetSession> {
    const conn = await mysql.createConnection({ ...opts, multipleStatements: true, charset: 'LATIN1_SWEDISH_CI', dateStrings: true, supportBigNumbers: true });
    try {
      await conn.query("SET SESSION session_track_system_variables = ''").catch((err: { errno?: number }) => {
        if (err.errno !== ER_UNKNOWN_SYSTEM_VARIABLE) throw err; // servers without it report nothing
      });
      await conn.query(`SET ${DEFAULT_NAMES}`);
      const [[{ version }]] = await conn.query('SELECT VERSION() AS version') as unknown as [{ version: string }[]];
      return new TargetSession(conn, /mariadb/i.test(version));
    } catch (err) {
      conn.destroy();
      throw err;
    }
  }

  /**
   * Runs statements in one packet; they stop at the first that fails. Returns one result per
   * statement that produced one (more for a CALL), or the single result of a single statement.
   */
  async run(statements: (string | Buffer)[]): Promise<unknown> {
    return this.runPacket(joinStatements(statements));
  }

  /** Runs a text made by joinStatements(). */
  async runPacket(packet: string): Promise<unknown> {
    const [result] = await this.conn.query(packet);
    return result;
  }

  async query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    const [rows] = await this.conn.query(wire(params ? withParams(sql, params) : sql));
    return rows as T[];
  }

  async exec(sql: string | Buffer, params?: unknown[]): Promise<{ affectedRows: number; insertId: number }> {
    const [res] = await this.conn.query<ResultSetHeader>(wire(params ? withParams(sql, params) : sql));
    return { affectedRows: res.affectedRows ?? 0, insertId: Number(res.insertId ?? 0) };
  }

  async close(): Promise<void> {
    await this.conn.end().catch(() => this.conn.destroy());
  }
}

/** Text whose latin1 encoding is the bytes to send. */
function wire(sql: string | Buffer): string {
  if (Buffer.isBuffer(sql)) return sql.toString('latin1');
  return /^[\x00-\x7f]*$/.test(sql) ? sql : Buffer.from(sql, 'utf8').toString('latin1');
}

/**
 * One multi-statement text. Separators go on their own line so that a statement ending in a
 * `-- comment` cannot swallow the next one; a statement's own trailing ';' would make an empty
 * statement, which the server rejects.
 */
export function joinStatements(statements: (string | Buffer)[]): string {
  return statements.map((s) => trimTerminator(wire(s))).join('\n;\n');
}

function trimTerminator(s: string): string {
  let end = s.length;
  while (end > 0 && /[\s;]/.test(s[end - 1])) end--;
  return end === s.length ? s : s.slice(0, end);
}
