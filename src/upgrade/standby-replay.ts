import mysql, { type ConnectionOptions } from 'mysql2/promise';
import { ReplayEngine } from '../apply/replay-engine.js';
import { APPLIED_TABLE } from '../apply/replay-schema.js';
import type { Logger } from '../log.js';
import type { Pack } from '../translate/pack.js';
import type { Direction } from './upgrade-state.js';
import { UpgradeError } from './upgrade-errors.js';

export interface StandbyOptions {
  journalDir: string;
  /** forward: into the new server; reverse: back into the old one (after an identity flip). */
  direction: Direction;
  /** How many flips happened before this replay: each stretch between flips has its own consumer. */
  generation: number;
  /** The upgrade's id (state.json). */
  upgradeId: string;
  target: ConnectionOptions;
  targetDb: string | null;
  pack: Pack;
  /** The first seq this stretch applies: the cut + 1, or the last flip's seq + 1. */
  from: number;
  log: Logger;
}

const ER_NO_SUCH_TABLE = 1146;
const ER_BAD_DB = 1049;

/**
 * The consumer of one stretch of replay. A fresh name per stretch (up-<id>-forward-0, -reverse-1,
 * -forward-2, ...) means a stretch never inherits the position a previous stretch (or another
 * upgrade) left in the same target, so starting one needs no --force-from (which would queue
 * the seqs in between as skipped).
 */
export function consumerName(upgradeId: string, direction: Direction, generation: number): string {
  return `up-${upgradeId}-${direction}-${generation}`;
}

/**
 * Starts (or, after a kill, resumes) the replay that keeps the standby side current: from the
 * target's own position when this stretch has one, from `from` otherwise.
 */
export async function startStandby(o: StandbyOptions): Promise<ReplayEngine> {
  const consumer = consumerName(o.upgradeId, o.direction, o.generation);
  const stored = await storedPosition(o.target, consumer);
  if (stored !== null && stored < o.from - 1) {
    throw new UpgradeError('UPGRADE_REPLAY_FAILED', `the target's position for consumer "${consumer}" is seq ${stored}, before this stretch's start ${o.from}: ` +
      `it was left by another upgrade of this target; delete it (DELETE FROM ${APPLIED_TABLE} WHERE consumer = '${consumer}') or start over with a fresh state directory`);
  }
  const engine = new ReplayEngine({
    journalDir: o.journalDir, target: o.target, targetDb: o.targetDb, pack: o.pack, consumer, follow: true, log: o.log,
    ...(stored === null ? { from: o.from } : {}),
  });
  await engine.start();
  return engine;
}

async function storedPosition(target: ConnectionOptions, consumer: string): Promise<number | null> {
  const conn = await mysql.createConnection(target).catch((err: Error) => {
    throw new UpgradeError('UPGRADE_REPLAY_FAILED', `cannot connect to the replay target ${target.host ?? 'localhost'}:${target.port ?? 3306}: ${err.message}`, { cause: err });
  });
  try {
    const [rows] = await conn.query(`SELECT seq FROM ${APPLIED_TABLE} WHERE consumer = ?`, [consumer]);
    const r = (rows as { seq: number | string }[])[0];
    return r ? Number(r.seq) : null;
  } catch (err) {
    const errno = (err as { errno?: number }).errno;
    if (errno === ER_NO_SUCH_TABLE || errno === ER_BAD_DB) return null;
    throw err;
  } finally {
    await conn.end();
  }
}
