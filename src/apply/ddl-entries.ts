import type { JournalEntry } from '../journal/record.js';
import { classify } from '../sql/classify.js';

/**
 * DDL commits on its own in MySQL/MariaDB, so it cannot share a transaction with the position
 * update. The engine commits the batch before it and records `ddl_seq` (the DDL has started),
 * runs it, then moves the position past it. A crash in between leaves `ddl_seq` = position + 1:
 * on restart that one DDL runs again, and the errors below then mean "it had already taken
 * effect" (MariaDB's DDL is atomic: it either happened or not).
 */
export function commitsOnItsOwn(e: JournalEntry): boolean {
  return e.kind === 'ddl' && classify(e.sql).implicitCommit;
}

// exists / does not exist, for databases, tables, columns, keys, routines, triggers, users, foreign keys.
const ALREADY_APPLIED = new Set([1007, 1008, 1050, 1051, 1054, 1060, 1061, 1091, 1146, 1304, 1305, 1359, 1360, 1396, 1826]);

/** When re-running a DDL that may have taken effect before a crash: does this error say it had? */
export function meansAlreadyApplied(errno: number): boolean {
  return ALREADY_APPLIED.has(errno);
}
