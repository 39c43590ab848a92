import mysql, { type Pool, type ResultSetHeader } from 'mysql2/promise';
import type { SqlRunner } from '../../src/translate/pack.js';
import { CONNECT_OPTIONS_14, loadSchema14 } from '../../src/translate/mediawiki/workload-1.4.js';
import type { MariaDB } from '../harness/mariadb.js';

/**
 * A SqlRunner on a root pool with no database selected (callers qualify table names). The pool
 * speaks the binary charset, so statements travel as bytes and text columns come back as Buffers:
 * the projections must not depend on how a runner decodes strings.
 */
export function rootRunner(server: MariaDB): SqlRunner & { end(): Promise<void> } {
  const pool: Pool = mysql.createPool({ host: server.host, port: server.port, user: 'root', connectionLimit: 4, charset: 'BINARY' });
  const wire = (sql: string | Buffer) => (typeof sql === 'string' ? Buffer.from(sql, 'utf8') : sql).toString('latin1');
  return {
    async query<T>(sql: string, params?: unknown[]): Promise<T[]> {
      const [rows] = await pool.query(wire(sql), params);
      return rows as T[];
    },
    async exec(sql: string | Buffer, params?: unknown[]) {
      const [r] = await pool.query<ResultSetHeader>(wire(sql), params);
      return { affectedRows: r.affectedRows, insertId: r.insertId };
    },
    end: () => pool.end(),
  };
}

/** How the workload's simulated web requests connect: like PHP's mysql extension did for 1.4. */
export function wikiConnector(server: MariaDB, db: string): () => Promise<mysql.Connection> {
  return () => mysql.createConnection({ host: server.host, port: server.port, user: 'root', database: db, ...CONNECT_OPTIONS_14 });
}

/** A new database `db` holding 1.4's empty schema. */
export async function createWiki14(server: MariaDB, db: string): Promise<void> {
  const conn = await mysql.createConnection({ host: server.host, port: server.port, user: 'root' });
  try {
    await loadSchema14(conn, db);
  } finally {
    await conn.end();
  }
}
