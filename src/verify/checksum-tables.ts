import type { Connection } from 'mysql2/promise';

export interface TableChecksum { table: string; checksum: string | null; rows: number }

/** `CHECKSUM TABLE` of every base table of `db`, sorted by name. */
export async function checksumTables(conn: Connection, db: string): Promise<TableChecksum[]> {
  const [tables] = await conn.query(
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME", [db]);
  const out: TableChecksum[] = [];
  for (const { t } of tables as { t: string }[]) {
    const name = `\`${db.replace(/`/g, '``')}\`.\`${t.replace(/`/g, '``')}\``;
    const [[sum]] = await conn.query(`CHECKSUM TABLE ${name} EXTENDED`) as unknown as [{ Checksum: string | number | null }[]];
    const [[cnt]] = await conn.query(`SELECT COUNT(*) AS n FROM ${name}`) as unknown as [{ n: number }[]];
    out.push({ table: t, checksum: sum.Checksum === null ? null : String(sum.Checksum), rows: Number(cnt.n) });
  }
  return out;
}

/** Human-readable differences between two checksum lists; empty when identical. */
export function compareChecksums(source: TableChecksum[], target: TableChecksum[]): string[] {
  const diffs: string[] = [];
  const t = new Map(target.map((x) => [x.table, x]));
  for (const s of source) {
    const o = t.get(s.table);
    if (!o) diffs.push(`${s.table}: missing on target`);
    else if (o.checksum !== s.checksum || o.rows !== s.rows) diffs.push(`${s.table}: source ${s.rows} rows / checksum ${s.checksum}, target ${o.rows} rows / checksum ${o.checksum}`);
    t.delete(s.table);
  }
  for (const extra of t.keys()) diffs.push(`${extra}: only on target`);
  return diffs;
}
