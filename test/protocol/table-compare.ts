import type { Connection } from 'mysql2/promise';
import { expect } from 'vitest';

/** The type properties a CREATE TABLE ... AS SELECT column derives from its expression. */
interface ColumnInfo {
  family: string;
  charset: string | null;
  scale: number | null;
  precision: number | null;
}

const FAMILIES: Record<string, string> = {
  tinyint: 'integer',
  smallint: 'integer',
  mediumint: 'integer',
  int: 'integer',
  bigint: 'integer',
  varchar: 'text',
  char: 'text',
  text: 'text',
  tinytext: 'text',
  mediumtext: 'text',
  longtext: 'text',
  varbinary: 'binary',
  binary: 'binary',
  blob: 'binary',
  tinyblob: 'binary',
  mediumblob: 'binary',
  longblob: 'binary',
  // No literal has type TIMESTAMP; a DATETIME literal holds the same value (see renderLiteral).
  timestamp: 'datetime',
};

async function columns(conn: Connection, schema: string, table: string): Promise<ColumnInfo[]> {
  const [rows] = (await conn.query(
    `SELECT DATA_TYPE AS type, CHARACTER_SET_NAME AS charset, NUMERIC_SCALE AS scale, DATETIME_PRECISION AS prec
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [schema, table],
  )) as unknown as [{ type: string; charset: string | null; scale: number | null; prec: number | null }[]];
  return rows.map((r) => ({
    family: FAMILIES[r.type] ?? r.type,
    charset: r.charset,
    scale: r.type === 'decimal' ? r.scale : null,
    precision: r.prec,
  }));
}

/** Each column's value as the server prints it, raw bytes (NULL as null). */
async function rawRow(conn: Connection, table: string): Promise<(Buffer | null)[]> {
  const [rows] = (await conn.query({ sql: `SELECT * FROM ${table}`, rowsAsArray: true, typeCast: false })) as unknown as [
    (Buffer | null)[][],
  ];
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

/**
 * Asserts that two one-row tables made by CREATE TABLE ... AS SELECT hold the same values (as
 * printed by the server, and by NULL-safe comparison) in columns of the same type family,
 * charset, decimal scale and fractional-second precision. Columns flagged in `untyped` are
 * compared by value only.
 */
export async function expectSameTables(
  conn: Connection,
  schema: string,
  prepared: string,
  literal: string,
  untyped: boolean[],
): Promise<void> {
  const mask = (cols: ColumnInfo[]) => cols.map((c, i) => (untyped[i] ? null : c));
  expect(mask(await columns(conn, schema, literal))).toEqual(mask(await columns(conn, schema, prepared)));
  expect(await rawRow(conn, `${schema}.${literal}`)).toEqual(await rawRow(conn, `${schema}.${prepared}`));
  const pairs = untyped.map((_, i) => `p.c${i} <=> l.c${i}`).join(', ');
  const [rows] = (await conn.query({
    sql: `SELECT ${pairs} FROM ${schema}.${prepared} p, ${schema}.${literal} l`,
    rowsAsArray: true,
  })) as unknown as [number[][]];
  expect(rows[0]).toEqual(untyped.map(() => 1));
}
