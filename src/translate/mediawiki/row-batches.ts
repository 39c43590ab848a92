// Rows moved from the 1.4 source to the 1.5 target in multi-row INSERTs of bounded size, and the
// plain copy of a table whose rows mean the same in both versions.
import { marks, quoteIdent } from './sql-render.js';
import type { Target } from './translation.js';

// Keeps each INSERT well under the usual max_allowed_packet (16 MB on MariaDB 10.11).
const BATCH_BYTES = 1024 * 1024;
const BATCH_ROWS = 500;

/** Columns 1.5 requires a value for that 1.4 rows lack, with the value an upgrade gives them. */
const REQUIRED: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  image: { img_metadata: '' },
};

/** INSERT [IGNORE] of `rows` (values in `columns` order) into `table` (already qualified). */
export async function insertBatches(t: Target, verb: 'INSERT' | 'INSERT IGNORE', table: string, columns: string[], rows: unknown[][]): Promise<void> {
  let i = 0;
  while (i < rows.length) {
    const batch: unknown[][] = [];
    let bytes = 0;
    while (i < rows.length && batch.length < BATCH_ROWS && (batch.length === 0 || bytes < BATCH_BYTES)) {
      bytes += rows[i].reduce<number>((n, v) => n + (Buffer.isBuffer(v) ? v.length : String(v).length) + 4, 0);
      batch.push(rows[i++]);
    }
    await t.exec(
      `${verb} INTO ${table} (${columns.map(quoteIdent).join(', ')}) VALUES ${batch.map((r) => `(${marks(r)})`).join(', ')}`,
      batch.flat(),
    );
  }
}

/**
 * Replaces the target rows of `table` matching `where` with the source's rows matching it: the
 * columns both versions have, plus what 1.5 requires. `where` names columns both sides share.
 */
export async function copyRows(src: Target, dst: Target, table: string, where = '', params: unknown[] = []): Promise<void> {
  const rows = await src.query<Record<string, unknown>>(`SELECT * FROM ${src.table(table)}${where}`, params);
  await dst.exec(`DELETE FROM ${dst.table(table)}${where}`, params);
  if (rows.length === 0) return;
  const targetColumns = await columnsOf(dst, table);
  const required = REQUIRED[table] ?? {};
  const copied = Object.keys(rows[0]).filter((c) => targetColumns.has(c));
  const added = Object.keys(required).filter((c) => !copied.includes(c));
  const values = rows.map((r) => [...copied.map((c) => r[c]), ...added.map((c) => required[c])]);
  await insertBatches(dst, 'INSERT', dst.table(table), [...copied, ...added], values);
}

async function columnsOf(t: Target, table: string): Promise<Set<string>> {
  const schema = t.db === null ? 'DATABASE()' : '?';
  const rows = await t.query<{ c: unknown }>(
    `SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ${schema} AND TABLE_NAME = ?`,
    [...(t.db === null ? [] : [t.db]), t.prefix + table],
  );
  return new Set(rows.map((r) => (Buffer.isBuffer(r.c) ? r.c.toString('utf8') : String(r.c))));
}
