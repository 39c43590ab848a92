// What a write statement does, as a small tree the translators can read and re-render: the
// verb, tables, columns, rows, assignments and conditions, with literal values referenced by
// their index in the statement's literal list (see sql-normalise.ts). Built once per statement
// shape from node-sql-parser's AST; any construct outside this model is refused here, so a
// translator never acts on a half-understood statement.
import sqlParser from 'node-sql-parser/build/mariadb.js';
import { TranslateError } from '../pack.js';

export type Expr =
  | { t: 'lit'; i: number }
  | { t: 'null' }
  /** A constant kept in the shape: *, DEFAULT, TRUE. */
  | { t: 'raw'; sql: string }
  | { t: 'col'; table: string | null; name: string }
  | { t: 'op'; op: string; l: Expr; r: Expr }
  | { t: 'in'; not: boolean; l: Expr; list: Expr[] }
  | { t: 'between'; not: boolean; l: Expr; lo: Expr; hi: Expr }
  | { t: 'unary'; op: string; e: Expr }
  | { t: 'fn'; name: string; args: Expr[] };

export interface TableRef {
  db: string | null;
  name: string;
  alias: string | null;
}

export interface SelectModel {
  columns: Expr[];
  from: TableRef[];
  where: Expr | null;
  groupBy: Expr[];
}

export interface InsertModel {
  op: 'insert';
  replace: boolean;
  table: TableRef;
  columns: string[];
  /** VALUES rows, or null for INSERT ... SELECT. */
  rows: Expr[][] | null;
  select: SelectModel | null;
}

export interface Assignment {
  table: string | null;
  column: string;
  value: Expr;
}

export interface UpdateModel {
  op: 'update';
  tables: TableRef[];
  set: Assignment[];
  where: Expr | null;
}

export interface DeleteModel {
  op: 'delete';
  table: TableRef;
  where: Expr | null;
}

export type WriteModel = InsertModel | UpdateModel | DeleteModel;

const parser = new sqlParser.Parser();
const PARSE_OPTIONS = { database: 'MariaDB' };

// node-sql-parser's AST is loosely typed JSON; this file is the only place that reads it.
type Node = any;

// `INSERT INTO t () VALUES ()`: a row of defaults (1.4's Database::replace writes it for no rows).
const DEFAULTS_ROW = /^(INSERT|REPLACE)\s+INTO\s+(?:`?([\w$]+)`?\s*\.\s*)?`?([\w$]+)`?\s*\(\s*\)\s*VALUES\s*\(\s*\)\s*$/i;

/** The model of a normalised statement shape; throws TranslateError for anything outside it. */
export function compileWrite(shape: string): WriteModel {
  const defaults = DEFAULTS_ROW.exec(shape);
  if (defaults) {
    const table = { db: defaults[2] ?? null, name: defaults[3], alias: null };
    return { op: 'insert', replace: defaults[1].toUpperCase() === 'REPLACE', table, columns: [], rows: [[]], select: null };
  }
  let ast: Node;
  try {
    ast = parser.astify(shape, PARSE_OPTIONS);
  } catch (err) {
    throw new TranslateError(`SQL parser rejected the statement (${firstLine((err as Error).message)}): ${shape.slice(0, 300)}`);
  }
  if (Array.isArray(ast)) {
    if (ast.length !== 1) throw new TranslateError(`expected one statement, got ${ast.length}: ${shape.slice(0, 300)}`);
    ast = ast[0];
  }
  switch (ast.type) {
    case 'insert':
    case 'replace':
      return insertModel(ast);
    case 'update':
      return updateModel(ast);
    case 'delete':
      return deleteModel(ast);
    default:
      throw new TranslateError(`not a row write (INSERT/REPLACE/UPDATE/DELETE) but ${String(ast.type).toUpperCase()}: ${shape.slice(0, 300)}`);
  }
}

function insertModel(ast: Node): InsertModel {
  if (ast.on_duplicate_update) unsupported('ON DUPLICATE KEY UPDATE');
  if (ast.partition) unsupported('PARTITION');
  if (ast.returning) unsupported('RETURNING');
  const table = singleTable(ast.table);
  if (ast.set) {
    const set = assignments(ast.set);
    return { op: 'insert', replace: ast.type === 'replace', table, columns: set.map((a) => a.column), rows: [set.map((a) => a.value)], select: null };
  }
  if (!ast.columns) unsupported('INSERT without a column list');
  const columns = (ast.columns as Node[]).map(columnName);
  const values = ast.values;
  if (values?.type === 'values') {
    const rows = (values.values as Node[]).map((row) => (row.value as Node[]).map(expr));
    if (rows.some((r) => r.length !== columns.length)) unsupported('a VALUES row whose length differs from the column list');
    return { op: 'insert', replace: ast.type === 'replace', table, columns, rows, select: null };
  }
  if (values?.type === 'select') return { op: 'insert', replace: ast.type === 'replace', table, columns, rows: null, select: selectModel(values) };
  return unsupported(`INSERT source ${String(values?.type)}`);
}

function updateModel(ast: Node): UpdateModel {
  if (ast.with) unsupported('WITH');
  if (ast.orderby || ast.limit) unsupported('UPDATE with ORDER BY or LIMIT');
  return { op: 'update', tables: tableList(ast.table), set: assignments(ast.set), where: optionalExpr(ast.where) };
}

function deleteModel(ast: Node): DeleteModel {
  if (ast.with) unsupported('WITH');
  if (ast.orderby || ast.limit) unsupported('DELETE with ORDER BY or LIMIT');
  if (ast.returning) unsupported('RETURNING');
  const from = tableList(ast.from);
  if (from.length !== 1) unsupported('multi-table DELETE');
  return { op: 'delete', table: from[0], where: optionalExpr(ast.where) };
}

function selectModel(ast: Node): SelectModel {
  if (ast.with || ast._next || ast.set_op) unsupported('WITH or UNION in INSERT ... SELECT');
  if (ast.distinct || ast.having || ast.orderby || ast.limit || ast.window) unsupported('DISTINCT/HAVING/ORDER BY/LIMIT/WINDOW in INSERT ... SELECT');
  if (!Array.isArray(ast.columns)) unsupported('SELECT *');
  const groupBy: Node[] = Array.isArray(ast.groupby) ? ast.groupby : (ast.groupby?.columns ?? []);
  return {
    columns: (ast.columns as Node[]).map((c) => expr(c.expr)),
    from: tableList(ast.from),
    where: optionalExpr(ast.where),
    groupBy: groupBy.map(expr),
  };
}

function tableList(list: Node): TableRef[] {
  if (!Array.isArray(list) || list.length === 0) return unsupported('a statement without a table');
  return list.map((t: Node) => {
    if (t.join || t.on || t.using) unsupported('JOIN ... ON');
    if (typeof t.table !== 'string') unsupported('a derived table');
    return { db: t.db ?? null, name: t.table, alias: t.as ?? null };
  });
}

function singleTable(list: Node): TableRef {
  const tables = tableList(list);
  if (tables.length !== 1) unsupported('more than one target table');
  return tables[0];
}

function assignments(list: Node[]): Assignment[] {
  return list.map((a) => ({ table: tableName(a.table), column: columnName(a.column), value: expr(a.value) }));
}

function optionalExpr(n: Node): Expr | null {
  return n == null ? null : expr(n);
}

function expr(n: Node): Expr {
  switch (n?.type) {
    case 'param':
      return { t: 'lit', i: literalIndex(n.value) };
    case 'null':
      return { t: 'null' };
    case 'column_ref':
      return { t: 'col', table: tableName(n.table), name: columnName(n.column) };
    case 'binary_expr':
      return binary(n);
    case 'unary_expr':
      return { t: 'unary', op: String(n.operator).toUpperCase(), e: expr(n.expr) };
    case 'function':
      return { t: 'fn', name: functionName(n.name), args: ((n.args?.value ?? []) as Node[]).map(expr) };
    case 'aggr_func':
      if (n.args?.distinct) unsupported('DISTINCT in an aggregate');
      return { t: 'fn', name: String(n.name).toUpperCase(), args: [expr(n.args.expr)] };
    case 'star':
      return { t: 'raw', sql: '*' };
    case 'bool':
      return { t: 'raw', sql: n.value ? 'TRUE' : 'FALSE' };
    case 'default':
      if (String(n.value).toUpperCase() === 'DEFAULT') return { t: 'raw', sql: 'DEFAULT' };
      return { t: 'col', table: null, name: String(n.value).toLowerCase() };
    case 'number':
      // Literals are cut out before parsing; a number left here came from the parser itself.
      return { t: 'raw', sql: String(n.value) };
    default:
      return unsupported(`expression ${String(n?.type)}`);
  }
}

const BINARY_OPERATORS = new Set([
  '=', '<>', '!=', '<', '>', '<=', '>=', '<=>', 'AND', 'OR', 'XOR', '&&', '||', '+', '-', '*', '/', 'DIV', '%', 'MOD',
  'LIKE', 'NOT LIKE', 'IS', 'IS NOT', '&', '|', '^', '<<', '>>',
]);

function binary(n: Node): Expr {
  const op = String(n.operator).toUpperCase();
  if (op === 'IN' || op === 'NOT IN') {
    if (n.right?.type !== 'expr_list') unsupported('IN (subquery)');
    return { t: 'in', not: op === 'NOT IN', l: expr(n.left), list: (n.right.value as Node[]).map(expr) };
  }
  if (op === 'BETWEEN' || op === 'NOT BETWEEN') {
    const [lo, hi] = n.right.value as Node[];
    return { t: 'between', not: op === 'NOT BETWEEN', l: expr(n.left), lo: expr(lo), hi: expr(hi) };
  }
  if (!BINARY_OPERATORS.has(op)) unsupported(`operator ${op}`);
  return { t: 'op', op, l: expr(n.left), r: expr(n.right) };
}

function literalIndex(name: unknown): number {
  const m = /^v(\d+)$/.exec(String(name));
  if (!m) unsupported(`named parameter :${String(name)}`);
  return Number(m![1]);
}

function columnName(c: Node): string {
  const name = typeof c === 'string' ? c : c?.expr?.value;
  if (typeof name !== 'string') unsupported('a computed column name');
  return name.toLowerCase();
}

function tableName(t: Node): string | null {
  if (t == null) return null;
  return typeof t === 'string' ? t : String(t.value);
}

function functionName(name: Node): string {
  const parts: Node[] = name?.name ?? [];
  return parts.map((p) => String(p.value)).join('.').toUpperCase();
}

function unsupported(what: string): never {
  throw new TranslateError(`unsupported SQL construct: ${what}`);
}

function firstLine(s: string): string {
  const line = s.split('\n')[0];
  return line.length > 160 ? `${line.slice(0, 160)}...` : line;
}
