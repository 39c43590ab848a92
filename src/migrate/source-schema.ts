import type { Connection } from 'mysql2/promise';
import { isRangeType, literalKind, type ColumnInfo } from './column-literals.js';
import { MigrateError } from './migrate-errors.js';
import { qualified, quoteIdent, tableKey } from './sql-names.js';

export interface TableInfo {
  db: string;
  name: string;
  /** SHOW CREATE TABLE (compare with sameDefinition(): its AUTO_INCREMENT=N moves with every insert). */
  createSql: string;
  engine: string;
  /** The server's estimate (information_schema.TABLES.TABLE_ROWS). */
  estimatedRows: number;
  /** The columns a copy reads and writes: every stored one, generated columns left out. */
  columns: ColumnInfo[];
  /** Primary key columns bounding the chunks; null when the table is copied whole. */
  pk: ColumnInfo[] | null;
  /** Why the table is copied whole in one chunk (no primary key, or one of a type ranges cannot use). */
  wholeReason: string | null;
}

export interface SourceSchema {
  /** SHOW CREATE DATABASE of every database copied, by name. */
  databases: Map<string, string>;
  tables: TableInfo[];
  /** Tables with triggers: a write to them can change any table. */
  triggerTables: Set<string>;
  /** Parent table key -> child table keys its ON DELETE/UPDATE actions (CASCADE, SET NULL...) write. */
  cascades: Map<string, string[]>;
}

/** Never copied: the server's own schemas and metamorph's bookkeeping. */
const SYSTEM_DATABASES = new Set(['mysql', 'information_schema', 'performance_schema', 'sys', 'metamorph_migrate', 'metamorph_replay']);

type Row = Record<string, unknown>;

async function rows(conn: Connection, sql: string, params: unknown[] = []): Promise<Row[]> {
  const [r] = await conn.query(sql, params);
  return r as Row[];
}

/** `databases` null: every database but the system ones. */
export async function readSourceSchema(conn: Connection, databases: string[] | null): Promise<SourceSchema> {
  const present = (await rows(conn, 'SELECT SCHEMA_NAME AS db FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME')).map((r) => String(r.db));
  if (databases) {
    const missing = databases.filter((d) => !present.includes(d));
    if (missing.length > 0) throw new MigrateError('MIGRATE_BAD_OPTION', `the source has no database ${missing.map((d) => quoteIdent(d)).join(', ')} (--databases)`);
  }
  const dbs = databases ?? present.filter((d) => !SYSTEM_DATABASES.has(d));
  const schema: SourceSchema = { databases: new Map(), tables: [], triggerTables: new Set(), cascades: new Map() };
  if (dbs.length === 0) return schema;
  for (const db of dbs) {
    const [create] = await rows(conn, `SHOW CREATE DATABASE ${quoteIdent(db)}`);
    schema.databases.set(db, String(create['Create Database']));
  }
  const inList = dbs.map(() => '?').join(',');
  const tables = await rows(conn,
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS t, ENGINE AS engine, TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (${inList}) AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME`, dbs);
  const columns = await rows(conn,
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS t, COLUMN_NAME AS c, DATA_TYPE AS type, CHARACTER_SET_NAME AS cs, COLLATION_NAME AS coll, IS_GENERATED AS gen
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (${inList}) ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`, dbs);
  const pkParts = await rows(conn,
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA IN (${inList}) AND INDEX_NAME = 'PRIMARY' ORDER BY TABLE_SCHEMA, TABLE_NAME, SEQ_IN_INDEX`, dbs);
  const columnsOf = group(columns, (r) => tableKey(String(r.db), String(r.t)));
  const pkOf = group(pkParts, (r) => tableKey(String(r.db), String(r.t)));
  for (const t of tables) {
    const db = String(t.db);
    const name = String(t.t);
    const key = tableKey(db, name);
    const all = (columnsOf.get(key) ?? []).map(columnInfo);
    const stored = (columnsOf.get(key) ?? []).filter((r) => String(r.gen ?? 'NEVER') === 'NEVER').map(columnInfo);
    const pkNames = (pkOf.get(key) ?? []).map((r) => String(r.c));
    const pk = pkNames.map((n) => all.find((c) => c.name === n) as ColumnInfo);
    const [create] = await rows(conn, `SHOW CREATE TABLE ${qualified(db, name)}`);
    const wholeReason = pk.length === 0 ? 'it has no primary key'
      : pk.some((c) => !isRangeType(c.dataType)) ? `its primary key has a ${pk.find((c) => !isRangeType(c.dataType))?.dataType} column, which ranges cannot bound` : null;
    schema.tables.push({
      db, name, engine: String(t.engine ?? ''), estimatedRows: Number(t.n ?? 0), columns: stored,
      createSql: String(create['Create Table']),
      pk: wholeReason ? null : pk, wholeReason,
    });
  }
  for (const r of await rows(conn, `SELECT DISTINCT EVENT_OBJECT_SCHEMA AS db, EVENT_OBJECT_TABLE AS t FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA IN (${inList})`, dbs)) {
    schema.triggerTables.add(tableKey(String(r.db), String(r.t)));
  }
  const fks = await rows(conn,
    `SELECT CONSTRAINT_SCHEMA AS db, TABLE_NAME AS child, UNIQUE_CONSTRAINT_SCHEMA AS pdb, REFERENCED_TABLE_NAME AS parent FROM information_schema.REFERENTIAL_CONSTRAINTS
      WHERE (UNIQUE_CONSTRAINT_SCHEMA IN (${inList})) AND (DELETE_RULE <> 'RESTRICT' AND DELETE_RULE <> 'NO ACTION' OR UPDATE_RULE <> 'RESTRICT' AND UPDATE_RULE <> 'NO ACTION')`, dbs);
  for (const r of fks) {
    const parent = tableKey(String(r.pdb), String(r.parent));
    schema.cascades.set(parent, [...(schema.cascades.get(parent) ?? []), tableKey(String(r.db), String(r.child))]);
  }
  return schema;
}

function columnInfo(r: Row): ColumnInfo {
  const dataType = String(r.type).toLowerCase();
  const charset = r.cs === null ? null : String(r.cs);
  return { name: String(r.c), dataType, charset, collation: r.coll === null ? null : String(r.coll), kind: literalKind(dataType, charset) };
}

function group(list: Row[], key: (r: Row) => string): Map<string, Row[]> {
  const m = new Map<string, Row[]>();
  for (const r of list) {
    const k = key(r);
    const g = m.get(k);
    if (g) g.push(r);
    else m.set(k, [r]);
  }
  return m;
}

/** Two CREATE TABLE texts describe the same table (the AUTO_INCREMENT counter aside). */
export function sameDefinition(a: string, b: string): boolean {
  const strip = (s: string) => s.replace(/ AUTO_INCREMENT=\d+/, '');
  return strip(a) === strip(b);
}
