import { performance } from 'node:perf_hooks';
import type { LogicalItem, Pack, SqlRunner } from '../translate/pack.js';
import { repairItems, verifyItems } from './item-verify.js';
import { repairTables } from './table-repair.js';
import { verifyTables } from './table-verify.js';
import { VerifyError } from './verify-error.js';

export { VerifyError };

/** Rows of one table by primary key: each key's column values as the hex of their bytes (as DifferenceRef keys). */
export interface ScopedRows {
  /** 'db.table' */
  table: string;
  keys: string[][];
}

export interface VerifyScope {
  /** 'db.table' compared whole (identity); undefined: every table. */
  tables?: string[];
  /** Identity: these rows compared too (those of a table in `tables` are compared with it). */
  rows?: ScopedRows[];
  /** Items (item packs); undefined: every item. */
  items?: LogicalItem[];
}

/** Where repair finds a difference again (the item text is for people). */
export type DifferenceRef =
  | { kind: 'row'; db: string; table: string; key: string[] }
  | { kind: 'table'; db: string; table: string }
  | { kind: 'item'; item: LogicalItem };

export interface Difference {
  /** e.g. `wikidb.t1 id=5`, `wikidb.t1` (a whole table), `page 0:Main_Page`. */
  item: string;
  side: 'source-only' | 'target-only' | 'both';
  /** For 'both': the differing columns (comma-separated) or projection path; '' for the whole item. */
  field: string;
  source?: unknown;
  target?: unknown;
  ref?: DifferenceRef;
}

export interface VerifyReport {
  clean: boolean;
  pack: string;
  differences: Difference[];
  /** maxDifferences was reached: more may differ. */
  truncated: boolean;
  checked: { tables: number; chunks: number; rows: number; items: number };
  ms: number;
  /** What was not compared, and why (e.g. item types the pack cannot project). */
  notes?: string[];
}

export interface VerifyOptions {
  pack: Pack;
  /** Read-only use; the caller sets their snapshot state. */
  source: SqlRunner;
  target: SqlRunner;
  /** Identity: databases to compare (default: all but the system ones and metamorph_*). */
  databases?: string[];
  /** Item packs: the database on each side (the runners USE it); identity: compare this source database with targetDb. */
  sourceDb?: string;
  targetDb?: string;
  scope?: VerifyScope;
  /** Rows per checksum chunk (identity; default 1000). */
  chunkRows?: number;
  /** Stop collecting after this many differences (default 1000); the report says truncated. */
  maxDifferences?: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * Identity: the source keeps being written and only its snapshot holds still. Tables a
   * snapshot does not cover (not InnoDB) are then left out with a note; a comparison with the
   * proxy's writes held covers them.
   */
  liveSource?: boolean;
}

export interface RepairOptions {
  pack: Pack;
  source: SqlRunner;
  target: SqlRunner;
  sourceDb?: string;
  targetDb?: string;
  databases?: string[];
}

export interface RepairResult {
  repaired: string[];
  /** Differences repair could not fix, with the reason. */
  failed: { item: string; reason: string }[];
}

/** Collects differences up to a limit, and what was checked. */
export class Findings {
  readonly differences: Difference[] = [];
  readonly notes: string[] = [];
  readonly checked = { tables: 0, chunks: 0, rows: 0, items: 0 };
  truncated = false;

  constructor(readonly max: number) {}

  add(d: Difference): void {
    if (this.differences.length >= this.max) {
      this.truncated = true;
      return;
    }
    this.differences.push(d);
  }
}

export const DEFAULT_CHUNK_ROWS = 1000;
const DEFAULT_MAX_DIFFERENCES = 1000;

/**
 * Compares the source with the target as the pack maps one onto the other: identity by chunked
 * checksums drilled down to rows, item packs by each item's projection on both sides.
 */
export async function verifyData(o: VerifyOptions): Promise<VerifyReport> {
  const started = performance.now();
  const max = o.maxDifferences ?? DEFAULT_MAX_DIFFERENCES;
  if (!Number.isInteger(max) || max < 1) throw new VerifyError('VERIFY_BAD_OPTION', `maxDifferences must be an integer >= 1, got ${o.maxDifferences}`);
  const found = new Findings(max);
  if (isTablePack(o.pack)) await verifyTables(o, found);
  else await verifyItems(o, found);
  return {
    clean: found.differences.length === 0 && !found.truncated,
    pack: o.pack.name,
    differences: found.differences,
    truncated: found.truncated,
    checked: found.checked,
    ms: Math.round(performance.now() - started),
    ...(found.notes.length > 0 ? { notes: found.notes } : {}),
  };
}

/**
 * Makes the target match the source for every difference of `report`: identity deletes the
 * differing rows on the target and inserts the source's (whole tables when the difference is
 * one); item packs convert each differing item again (pack.convertItem).
 */
export function repairDifferences(report: VerifyReport, o: RepairOptions): Promise<RepairResult> {
  return isTablePack(o.pack) ? repairTables(report.differences, o) : repairItems(report.differences, o);
}

/** The scope that re-checks exactly the items or tables of these differences. */
export function scopeOf(differences: Difference[]): VerifyScope {
  const tables = new Set<string>();
  const items = new Map<string, LogicalItem>();
  for (const d of differences) {
    if (d.ref?.kind === 'item') items.set(`${d.ref.item.type}\u0000${d.ref.item.key}`, d.ref.item);
    else if (d.ref) tables.add(`${d.ref.db}.${d.ref.table}`);
  }
  return { tables: [...tables], items: [...items.values()] };
}

/** Identity compares tables; every other pack compares logical items. */
export function isTablePack(pack: Pack): boolean {
  return pack.name === 'identity';
}
