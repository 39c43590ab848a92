import type { Connection } from 'mysql2/promise';
import { readSourceSchema, type SourceSchema, type TableInfo } from '../migrate/source-schema.js';
import { tableKey } from '../migrate/sql-names.js';
import type { SqlRunner } from '../translate/pack.js';

/** Databases verify never compares: the server's own and metamorph's bookkeeping. */
const SYSTEM_DATABASES = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

export function isComparedDatabase(db: string): boolean {
  return !SYSTEM_DATABASES.has(db.toLowerCase()) && !db.toLowerCase().startsWith('metamorph_');
}

export async function databasesOf(db: SqlRunner): Promise<string[]> {
  const rows = await db.query<{ db: unknown }>('SELECT SCHEMA_NAME AS db FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME');
  return rows.map((r) => text(r.db));
}

/** Base tables of `dbs` (those that exist) by 'db.table', read as migrate reads its source. */
export async function tablesOf(db: SqlRunner, dbs: string[]): Promise<Map<string, TableInfo>> {
  const schema = await schemaOf(db, dbs);
  return new Map(schema.tables.map((t) => [tableKey(t.db, t.name), t]));
}

/** readSourceSchema only calls `query(sql, params)` and reads `[rows]`: any SqlRunner can answer that. */
function asConnection(db: SqlRunner): Connection {
  const query = async (sql: string, params?: unknown[]) => [(await db.query(sql, params)).map(textValues)];
  return { query } as unknown as Connection;
}

/** information_schema names come back as Buffers from some runners (binary results): as text. */
function textValues(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = Buffer.isBuffer(v) ? v.toString('utf8') : v;
  return out;
}

function text(v: unknown): string {
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

/** The schema of `dbs` (those that exist) as migrate reads it: tables, triggers, cascading foreign keys. */
export async function schemaOf(db: SqlRunner, dbs: string[]): Promise<SourceSchema> {
  const present = new Set(await databasesOf(db));
  return readSourceSchema(asConnection(db), dbs.filter((d) => present.has(d)));
}
