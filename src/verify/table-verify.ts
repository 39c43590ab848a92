// Identity verification: every table compared in primary-key chunks by COUNT and CRC32 checksums
// on both sides; a chunk that differs is compared row by row (key and row CRC), and a row that
// differs column by column. Rows in scope (a table's written keys) are compared row by row directly.
import { chunkCondition } from '../migrate/chunk-planner.js';
import type { ColumnInfo } from '../migrate/column-literals.js';
import { sameDefinition, type TableInfo } from '../migrate/source-schema.js';
import { qualified, quoteIdent, tableKey } from '../migrate/sql-names.js';
import type { SqlRunner } from '../translate/pack.js';
import { abbreviate, displayHex, hexColumnsSql, hexValues, keyCondition, keysCondition, rowBytesSql } from './row-sql.js';
import { databasesOf, isComparedDatabase, tablesOf } from './table-schema.js';
import { DEFAULT_CHUNK_ROWS, type Difference, type Findings, type VerifyOptions } from './verify.js';
import { VerifyError } from './verify-error.js';

/** A source database and the target database it is compared with. */
export interface DatabasePair { source: string; target: string }

interface TablePair {
  /** db.table on the source side (what items and scopes name). */
  key: string;
  source: TableInfo | undefined;
  target: TableInfo | undefined;
}

/** Keys looked up per query when rows are in scope. */
const ROWS_PER_LOOKUP = 1000;

export async function verifyTables(o: VerifyOptions, found: Findings): Promise<void> {
  const chunkRows = o.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new VerifyError('VERIFY_BAD_OPTION', `chunkRows must be an integer >= 1, got ${o.chunkRows}`);
  const whole = o.scope?.tables ? new Set(o.scope.tables) : null;
  // Rows count only next to a list of whole tables (no list: every table is compared whole).
  const rows = new Map<string, string[][]>();
  for (const r of (whole && o.scope?.rows) || []) {
    if (!whole?.has(r.table)) rows.set(r.table, [...(rows.get(r.table) ?? []), ...r.keys]);
  }
  const pairs = await tablePairs(o, whole && new Set([...whole, ...rows.keys()]));
  let done = 0;
  for (const p of pairs) {
    if (found.truncated) break;
    if (o.liveSource && p.source && !coveredBySnapshot(p.source.engine)) {
      found.notes.push(`${p.key}: ${p.source.engine} table, which a snapshot does not hold still: compared only with writes held`);
      continue;
    }
    const keys = rows.get(p.key);
    if (keys) await verifyRows(o, p, keys, chunkRows, found);
    else await verifyTable(o, p, chunkRows, found);
    o.onProgress?.(++done, pairs.length);
  }
}

/** Only InnoDB reads a consistent snapshot; MyISAM, Aria, MEMORY... are read as they are now. */
export function coveredBySnapshot(engine: string): boolean {
  return engine.toLowerCase() === 'innodb';
}

/** The databases compared: --databases, or every database of either side but system and metamorph_* ones. */
export async function databasePairs(o: { source: SqlRunner; target: SqlRunner; databases?: string[]; sourceDb?: string; targetDb?: string }): Promise<DatabasePair[]> {
  if (o.sourceDb || o.targetDb) {
    const source = o.sourceDb ?? o.targetDb as string;
    return [{ source, target: o.targetDb ?? source }];
  }
  const names = o.databases ?? [...new Set([...await databasesOf(o.source), ...await databasesOf(o.target)])].sort();
  return names.filter(isComparedDatabase).map((db) => ({ source: db, target: db }));
}

/** The tables of both sides by source key; `scope` null: every table. */
async function tablePairs(o: VerifyOptions, scope: Set<string> | null): Promise<TablePair[]> {
  const dbs = await databasePairs(o);
  const wanted = scope ? dbs.filter((d) => [...scope].some((k) => k.startsWith(`${d.source}.`))) : dbs;
  const [source, target] = await Promise.all([tablesOf(o.source, wanted.map((d) => d.source)), tablesOf(o.target, wanted.map((d) => d.target))]);
  const pairs = new Map<string, TablePair>();
  for (const d of wanted) {
    for (const t of source.values()) if (t.db === d.source) pairs.set(tableKey(d.source, t.name), { key: tableKey(d.source, t.name), source: t, target: undefined });
    for (const t of target.values()) {
      if (t.db !== d.target) continue;
      const key = tableKey(d.source, t.name);
      pairs.set(key, { key, source: pairs.get(key)?.source, target: t });
    }
  }
  return [...pairs.values()].filter((p) => !scope || scope.has(p.key)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

async function verifyTable(o: VerifyOptions, p: TablePair, chunkRows: number, found: Findings): Promise<void> {
  const tables = await comparable(o, p, found);
  if (tables) await compareChunks(o, p.key, tables, chunkRows, found);
}

/** Only the rows of `keys` (hex key values), looked up by key on both sides and compared as the drill-down does. */
async function verifyRows(o: VerifyOptions, p: TablePair, keys: string[][], chunkRows: number, found: Findings): Promise<void> {
  const tables = await comparable(o, p, found);
  if (!tables) return;
  const pk = tables.source.pk;
  // The key changed since the scope was made: only the whole table says what differs.
  if (!pk || keys.some((k) => k.length !== pk.length)) return compareChunks(o, p.key, tables, chunkRows, found);
  for (let i = 0; i < keys.length && !found.truncated; i += ROWS_PER_LOOKUP) {
    found.checked.chunks++;
    found.checked.rows += await drillDown(o, p.key, tables, pk, keysCondition(pk, keys.slice(i, i + ROWS_PER_LOOKUP)), found);
  }
}

/** Both sides' table when they can be compared row by row; else the table's difference is added. */
async function comparable(o: VerifyOptions, p: TablePair, found: Findings): Promise<{ source: TableInfo; target: TableInfo } | null> {
  const t = (p.source ?? p.target) as TableInfo;
  const ref = { kind: 'table' as const, db: p.source?.db ?? dbOfKey(p.key, t.name), table: t.name };
  found.checked.tables++;
  if (!p.target) {
    found.add({ item: p.key, side: 'source-only', field: '', source: `table, ${await countRows(o.source, t)} rows`, ref });
    return null;
  }
  if (!p.source) {
    found.add({ item: p.key, side: 'target-only', field: '', target: `table, ${await countRows(o.target, t)} rows`, ref });
    return null;
  }
  if (!sameDefinition(p.source.createSql, p.target.createSql)) {
    found.add({ item: p.key, side: 'both', field: 'definition', source: abbreviate(p.source.createSql, 200), target: abbreviate(p.target.createSql, 200), ref });
    return null;
  }
  return { source: p.source, target: p.target };
}

async function compareChunks(o: VerifyOptions, key: string, tables: { source: TableInfo; target: TableInfo }, chunkRows: number, found: Findings): Promise<void> {
  const { source, target } = tables;
  for await (const chunk of chunksOf(o.source, source, chunkRows)) {
    const condition = chunkCondition(source.pk, chunk.lo, chunk.hi);
    const [a, b] = await Promise.all([checksum(o.source, source, condition), checksum(o.target, target, condition)]);
    found.checked.chunks++;
    found.checked.rows += a.rows;
    if (a.sum === b.sum) continue;
    if (!source.pk) {
      const ref = { kind: 'table' as const, db: source.db, table: source.name };
      found.add({ item: key, side: 'both', field: 'rows', source: `${a.rows} rows, checksum ${a.sum}`, target: `${b.rows} rows, checksum ${b.sum}`, ref });
      continue;
    }
    await drillDown(o, key, tables, source.pk, condition, found);
    if (found.truncated) return;
  }
}

function dbOfKey(key: string, table: string): string {
  return key.slice(0, key.length - table.length - 1);
}

async function countRows(db: SqlRunner, t: TableInfo): Promise<number> {
  const [r] = await db.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${qualified(t.db, t.name)}`);
  return Number(r.n);
}

/** Chunks of about `rows` rows in key order (bounds found on the source), or the whole table without a usable key. */
async function* chunksOf(source: SqlRunner, t: TableInfo, rows: number): AsyncGenerator<{ lo: Buffer[] | null; hi: Buffer[] | null }> {
  const pk = t.pk;
  if (!pk) {
    yield { lo: null, hi: null };
    return;
  }
  const order = pk.map((c) => quoteIdent(c.name)).join(', ');
  let lo: Buffer[] | null = null;
  for (;;) {
    const where: string = lo ? ` WHERE ${chunkCondition(pk, lo, null)}` : '';
    const [hi]: Record<string, unknown>[] = await source.query(`SELECT ${keySql(pk)} FROM ${qualified(t.db, t.name)}${where} ORDER BY ${order} LIMIT 1 OFFSET ${rows - 1}`);
    if (!hi) {
      yield { lo, hi: null };
      return;
    }
    const bounds: Buffer[] = hexValues(hi, 'k', pk.length).map((h) => Buffer.from(h ?? '', 'hex'));
    yield { lo, hi: bounds };
    lo = bounds;
  }
}

/** The primary key's raw bytes as hex, `k0, k1, ...` (what chunk bounds and key conditions take). */
function keySql(pk: ColumnInfo[]): string {
  return pk.map((c, i) => `HEX(CAST(${quoteIdent(c.name)} AS BINARY)) AS k${i}`).join(', ');
}

async function checksum(db: SqlRunner, t: TableInfo, condition: string): Promise<{ rows: number; sum: string }> {
  const where = condition ? ` WHERE ${condition}` : '';
  // SUM next to BIT_XOR: pairs of equal rows (tables without a key) cancel out of a XOR.
  const [r] = await db.query<{ n: unknown; x: unknown; s: unknown }>(
    `SELECT COUNT(*) AS n, BIT_XOR(h) AS x, SUM(h) AS s FROM (SELECT CRC32(${rowBytesSql(t.columns)}) AS h FROM ${qualified(t.db, t.name)}${where}) AS r`);
  return { rows: Number(r.n), sum: `${Number(r.n)}/${String(r.x)}/${String(r.s ?? 0)}` };
}

/** Key (hex, joined) -> row CRC, for the chunk's rows. */
async function rowHashes(db: SqlRunner, t: TableInfo, pk: ColumnInfo[], condition: string): Promise<Map<string, { key: string[]; hash: string }>> {
  const order = pk.map((c) => quoteIdent(c.name)).join(', ');
  const rows = await db.query(`SELECT ${keySql(pk)}, CRC32(${rowBytesSql(t.columns)}) AS h FROM ${qualified(t.db, t.name)} WHERE ${condition || '1'} ORDER BY ${order}`);
  const out = new Map<string, { key: string[]; hash: string }>();
  for (const r of rows) {
    const key = hexValues(r, 'k', pk.length).map((h) => h ?? '');
    out.set(key.join(','), { key, hash: String(r.h) });
  }
  return out;
}

/** Compares the rows matching `condition` by key and row CRC; returns how many the source has. */
async function drillDown(o: VerifyOptions, key: string, t: { source: TableInfo; target: TableInfo }, pk: ColumnInfo[], condition: string, found: Findings): Promise<number> {
  const [a, b] = await Promise.all([rowHashes(o.source, t.source, pk, condition), rowHashes(o.target, t.target, pk, condition)]);
  const db = t.source.db;
  const label = (k: string[]) => `${key} ${pk.map((c, i) => `${c.name}=${displayHex(k[i], 40)}`).join(' ')}`;
  for (const [id, s] of a) {
    if (found.truncated) return a.size;
    const d = b.get(id);
    const ref = { kind: 'row' as const, db, table: t.source.name, key: s.key };
    if (!d) found.add({ item: label(s.key), side: 'source-only', field: '', ref });
    else if (d.hash !== s.hash) found.add({ item: label(s.key), side: 'both', ...await columnDifferences(o, t, s.key), ref });
  }
  for (const [id, d] of b) {
    if (!a.has(id)) found.add({ item: label(d.key), side: 'target-only', field: '', ref: { kind: 'row', db, table: t.source.name, key: d.key } });
  }
  return a.size;
}

/** Which columns of one row differ, and their values on each side. */
async function columnDifferences(o: VerifyOptions, t: { source: TableInfo; target: TableInfo }, key: string[]): Promise<Pick<Difference, 'field' | 'source' | 'target'>> {
  const pk = t.source.pk as ColumnInfo[];
  const cols = t.source.columns;
  const read = async (db: SqlRunner, table: TableInfo) => {
    const [r] = await db.query(`SELECT ${hexColumnsSql(cols, 'c')} FROM ${qualified(table.db, table.name)} WHERE ${keyCondition(pk, key)}`);
    return r ? hexValues(r, 'c', cols.length) : cols.map(() => null);
  };
  const [a, b] = await Promise.all([read(o.source, t.source), read(o.target, t.target)]);
  const differing = cols.map((_, i) => i).filter((i) => a[i] !== b[i]);
  const values = (v: (string | null)[]) => (differing.length === 1 ? displayHex(v[differing[0]])
    : Object.fromEntries(differing.map((i) => [cols[i].name, displayHex(v[i])])));
  return { field: differing.map((i) => cols[i].name).join(','), source: values(a), target: values(b) };
}
