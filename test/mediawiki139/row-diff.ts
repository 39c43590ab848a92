import mysql from 'mysql2/promise';

export interface RowDifference { table: string; key: string; old: string | null; new: string | null }

const MAX_ROWS = 20;

/**
 * The rows of `db.table` that differ between two servers (root, no password), by primary key: for
 * a failure message that names what differs rather than two checksums. Small tables only.
 */
export async function rowDifferences(oldPort: number, newPort: number, db: string, table: string): Promise<RowDifference[]> {
  const [a, b] = await Promise.all([rowsByKey(oldPort, db, table), rowsByKey(newPort, db, table)]);
  const out: RowDifference[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const [x, y] = [a.get(key) ?? null, b.get(key) ?? null];
    if (x !== y) out.push({ table, key, old: x, new: y });
    if (out.length === MAX_ROWS) break;
  }
  return out;
}

async function rowsByKey(port: number, db: string, table: string): Promise<Map<string, string>> {
  const conn = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', database: db });
  try {
    const [keyRows] = await conn.query(
      "SELECT COLUMN_NAME AS c FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION",
      [db, table]) as unknown as [{ c: string }[]];
    const [rows] = await conn.query(`SELECT * FROM \`${table}\``) as unknown as [Record<string, unknown>[]];
    return new Map(rows.map((r) => [keyRows.map((k) => show(r[k.c])).join(','), JSON.stringify(r, (_k, v) => show(v))]));
  } finally {
    await conn.end();
  }
}

function show(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer') return Buffer.from((v as { data: number[] }).data).toString('latin1');
  return v;
}
