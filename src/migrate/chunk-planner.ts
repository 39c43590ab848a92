import { boundLiteral, type ColumnInfo } from './column-literals.js';
import type { SourceSession } from './source-session.js';
import { qualified, quoteIdent } from './sql-names.js';
import type { TableInfo } from './source-schema.js';

/**
 * One chunk: the rows whose primary key is in (lo, hi] in key order. lo null: from the first row;
 * hi null: to the last, including rows inserted after planning. A table's chunks cover its whole
 * key space whatever the bounds are, so a plan stays valid while the table changes.
 */
export interface ChunkBounds {
  no: number;
  lo: Buffer[] | null;
  hi: Buffer[] | null;
  /** Rows in it when planned (for progress; the copy counts the real number). */
  estRows: number;
}

/**
 * Chunks of about `chunkRows` rows in primary key order, found by walking the key:
 * `... WHERE pk > previous bound ORDER BY pk LIMIT 1 OFFSET chunkRows-1`. A table without a usable
 * primary key is one chunk (lo = hi = null) with the server's row estimate.
 */
export async function planChunks(session: SourceSession, table: TableInfo, chunkRows: number): Promise<ChunkBounds[]> {
  if (!table.pk) return [{ no: 0, lo: null, hi: null, estRows: table.estimatedRows }];
  const pk = table.pk;
  const cols = pk.map((c) => quoteIdent(c.name)).join(', ');
  const from = qualified(table.db, table.name);
  const chunks: ChunkBounds[] = [];
  let lo: Buffer[] | null = null;
  for (;;) {
    const where = lo ? `WHERE ${after(pk, lo)}` : '';
    const [hi] = await session.rows(`SELECT ${cols} FROM ${from} ${where} ORDER BY ${cols} LIMIT 1 OFFSET ${chunkRows - 1}`);
    if (!hi) break;
    chunks.push({ no: chunks.length, lo, hi: hi as Buffer[], estRows: chunkRows });
    lo = hi as Buffer[];
  }
  const [[rest]] = await session.rows(`SELECT COUNT(*) FROM ${from} ${lo ? `WHERE ${after(pk, lo)}` : ''}`);
  chunks.push({ no: chunks.length, lo, hi: null, estRows: Number((rest as Buffer).toString('latin1')) });
  return chunks;
}

/** The WHERE condition of a chunk's rows; '' for a whole table. */
export function chunkCondition(pk: ColumnInfo[] | null, lo: Buffer[] | null, hi: Buffer[] | null): string {
  const parts: string[] = [];
  if (pk && lo) parts.push(after(pk, lo));
  if (pk && hi) parts.push(upTo(pk, hi));
  return parts.join(' AND ');
}

/**
 * key > values, spelled out column by column: (a > x OR (a = x AND b > y)). The row-constructor
 * form (a, b) > (x, y) means the same but not every server version turns it into an index range.
 */
function after(pk: ColumnInfo[], values: Buffer[]): string {
  return compare(pk, values, 0, '>', '>');
}

/** key <= values */
function upTo(pk: ColumnInfo[], values: Buffer[]): string {
  return compare(pk, values, 0, '<', '<=');
}

function compare(pk: ColumnInfo[], values: Buffer[], i: number, op: string, lastOp: string): string {
  const col = quoteIdent(pk[i].name);
  const v = boundLiteral(values[i], pk[i]);
  if (i === pk.length - 1) return `${col} ${lastOp} ${v}`;
  return `(${col} ${op} ${v} OR (${col} = ${v} AND ${compare(pk, values, i + 1, op, lastOp)}))`;
}
