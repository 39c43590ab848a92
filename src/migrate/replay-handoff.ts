import mysql, { type ConnectionOptions } from 'mysql2/promise';
import { ReplayEngine } from '../apply/replay-engine.js';
import { APPLIED_TABLE } from '../apply/replay-schema.js';
import type { Logger } from '../log.js';
import type { Pack } from '../translate/pack.js';
import { MigrateError } from './migrate-errors.js';

export interface HandoffOptions {
  journalDir: string;
  target: ConnectionOptions;
  pack: Pack;
  /** The database the pack writes into (item packs); null: each entry's own. */
  targetDb?: string | null;
  cutSeq: number;
  consumer?: string;
  log: Logger;
}

const ER_NO_SUCH_TABLE = 1146;

/**
 * Starts following the journal from the copy's cut + 1, or, when the target already holds a
 * replay position at or past the cut (migrate --replay run again), from there.
 */
export async function startReplayAfterCopy(o: HandoffOptions): Promise<ReplayEngine> {
  const consumer = o.consumer ?? 'replay';
  const stored = await storedPosition(o.target, consumer);
  if (stored !== null && stored < o.cutSeq) {
    throw new MigrateError('MIGRATE_TARGET_FAILED', `the target's replay position for consumer "${consumer}" is seq ${stored}, before the copy's cut ${o.cutSeq}: ` +
      'it belongs to an older copy of this target; replaying from it would apply changes the copy already holds. Delete that row ' +
      `(DELETE FROM ${APPLIED_TABLE} WHERE consumer = '${consumer}') if the copy is the one to keep`);
  }
  const engine = new ReplayEngine({
    journalDir: o.journalDir, target: o.target, targetDb: o.targetDb ?? null, pack: o.pack, consumer, follow: true, log: o.log,
    ...(stored === null ? { from: o.cutSeq + 1 } : {}),
  });
  await engine.start();
  return engine;
}

async function storedPosition(target: ConnectionOptions, consumer: string): Promise<number | null> {
  const conn = await mysql.createConnection(target);
  try {
    const [rows] = await conn.query(`SELECT seq FROM ${APPLIED_TABLE} WHERE consumer = ?`, [consumer]);
    const r = (rows as { seq: number | string }[])[0];
    return r ? Number(r.seq) : null;
  } catch (err) {
    if ((err as { errno?: number }).errno === ER_NO_SUCH_TABLE) return null;
    throw err;
  } finally {
    await conn.end();
  }
}
