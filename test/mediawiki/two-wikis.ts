import mysql, { type Connection, type ResultSetHeader } from 'mysql2/promise';
import type { JournalEntry } from '../../src/journal/record.js';
import type { Pack } from '../../src/translate/pack.js';
import { TargetSession } from '../../src/apply/target-session.js';
import { toExecutableText } from '../../src/sql/executable-text.js';
import { SCHEMA_1_4 } from '../../src/translate/mediawiki/schema-1.4.js';
import { SCHEMA_1_5 } from '../../src/translate/mediawiki/schema-1.5.js';
import type { MariaDB } from '../harness/mariadb.js';

/**
 * A 1.4 wiki database and a 1.5 one on the same server. `write` runs 1.4 SQL on the source, makes
 * the journal entry the proxy would have made of it, and applies it to the target through the
 * pack: a journal without the proxy, for tests that script the SQL themselves.
 */
export class TwoWikis {
  private seq = 0;
  private txn = 0;

  private constructor(
    readonly source: Connection,
    /** The replay engine's connection: the pack writes through it. */
    readonly target: TargetSession,
    /** For the test's own queries on the target. */
    readonly inspect: Connection,
    readonly pack: Pack,
    readonly sourceDb: string,
    readonly targetDb: string,
  ) {}

  static async create(server: MariaDB, pack: Pack, name: string): Promise<TwoWikis> {
    const sourceDb = `${name}_14`;
    const targetDb = `${name}_15`;
    await server.query(`CREATE DATABASE ${sourceDb}; CREATE DATABASE ${targetDb}`);
    const connect = (database: string) => mysql.createConnection({ host: server.host, port: server.port, user: 'root', database, charset: 'UTF8MB4_GENERAL_CI', multipleStatements: true });
    const source = await connect(sourceDb);
    const inspect = await connect(targetDb);
    for (const ddl of SCHEMA_1_4) await source.query(ddl);
    for (const ddl of SCHEMA_1_5) await inspect.query(ddl);
    const target = await TargetSession.open({ host: server.host, port: server.port, user: 'root' });
    await pack.prepareTarget?.(target, targetDb);
    return new TwoWikis(source, target, inspect, pack, sourceDb, targetDb);
  }

  /** One source transaction of 1.4 statements, replayed as one target transaction. */
  async write(...statements: Array<string | Buffer>): Promise<JournalEntry[]> {
    this.txn++;
    const entries: JournalEntry[] = [];
    await this.source.query('BEGIN');
    for (const sql of statements) {
      const bytes = typeof sql === 'string' ? Buffer.from(sql, 'utf8') : sql;
      const [r] = await this.source.query<ResultSetHeader>(toExecutableText(bytes));
      entries.push(this.entry(bytes, r, statements.length === entries.length + 1));
    }
    await this.source.query('COMMIT');
    await this.target.exec('BEGIN');
    try {
      for (const e of entries) await this.pack.apply(e, { target: this.target, targetDb: this.targetDb });
      await this.target.exec('COMMIT');
    } catch (err) {
      await this.target.exec('ROLLBACK');
      throw err;
    }
    return entries;
  }

  async rows<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const [rows] = await this.inspect.query(sql, params);
    return rows as T[];
  }

  async sourceRows<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const [rows] = await this.source.query(sql);
    return rows as T[];
  }

  async close(): Promise<void> {
    await this.source.end();
    await this.inspect.end();
    await this.target.close();
  }

  private entry(sql: Buffer, r: ResultSetHeader, last: boolean): JournalEntry {
    const verb = sql.toString('latin1', 0, 10).trim().split(/\s/)[0].toLowerCase();
    this.seq++;
    return {
      sql,
      db: this.sourceDb,
      session: {},
      ts: Date.now() * 1000,
      affectedRows: r.affectedRows,
      insertId: String(r.insertId),
      flags: [],
      kind: ['insert', 'replace', 'update', 'delete'].includes(verb) ? verb : 'other',
      seq: this.seq,
      txn: this.txn,
      conn: 1,
      last,
    };
  }
}
