import type { JournalEntry } from '../journal/record.js';
import type { LogicalItem, Pack } from '../translate/pack.js';
import { REPAIR_TABLE } from './replay-schema.js';
import { sqlString } from './sql-literals.js';

const REASON_CHARS = 2000;

/**
 * What `--on-error=repair` queues for an entry: the pack's logical items, or, when the pack
 * names none, the entry itself, so that every skipped or doubtful entry leaves a row.
 */
export function repairItems(pack: Pack, entry: JournalEntry, fromError: LogicalItem[] = []): LogicalItem[] {
  const items = fromError.length > 0 ? fromError : (pack.itemsOf?.(entry) ?? []);
  const unique = new Map(items.map((i) => [`${i.type}\u0000${i.key}`, i]));
  return unique.size > 0 ? [...unique.values()] : [{ type: 'entry', key: String(entry.seq) }];
}

/** The INSERT that queues `items` for `seq`; runs inside the transaction that moves the position past it. */
export function queueSql(consumer: string, seq: number, items: LogicalItem[], reason: string): string {
  const why = sqlString(reason.length > REASON_CHARS ? `${reason.slice(0, REASON_CHARS)}...` : reason);
  const rows = items.map((i) => `(${sqlString(consumer)}, ${seq}, ${sqlString(i.type)}, ${sqlString(i.key)}, ${why}, SYSDATE(6))`);
  return `INSERT INTO ${REPAIR_TABLE} (consumer, seq, item_type, item_key, reason, queued_at) VALUES ${rows.join(', ')} ` +
    "ON DUPLICATE KEY UPDATE reason = CONCAT(reason, _utf8mb4 X'3b20', VALUES(reason)), queued_at = VALUES(queued_at)";
}
