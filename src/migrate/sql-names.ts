/** `name` as a backquoted identifier. */
export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** `db`.`table` */
export function qualified(db: string, table: string): string {
  return `${quoteIdent(db)}.${quoteIdent(table)}`;
}

/** A table's key in maps and logs: db.table (names may hold dots; the key is only compared). */
export function tableKey(db: string, table: string): string {
  return `${db}.${table}`;
}
