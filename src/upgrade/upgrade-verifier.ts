import type { ConnectionOptions } from 'mysql2/promise';
import type { ReplayEngine } from '../apply/replay-engine.js';
import { TargetSession } from '../apply/target-session.js';
import type { Logger } from '../log.js';
import type { Pack, SqlRunner } from '../translate/pack.js';
import { openAlignedSnapshots } from '../verify/aligned-snapshots.js';
import { changedScope } from '../verify/changed-scope.js';
import { coveredBySnapshot } from '../verify/table-verify.js';
import { repairDifferences, verifyData, type VerifyOptions, type VerifyReport } from '../verify/verify.js';
import type { UpgradeConfig } from './upgrade-config.js';

/** The two sides as verification sees them: the serving one is the source. */
export interface Sides {
  source: ConnectionOptions;
  target: ConnectionOptions;
  /** The old server serves (the item packs' source database is then the old one's). */
  forward: boolean;
}

export interface FullPass { report: VerifyReport; seq: number; repaired: number }

/** The upgrade's verifications: full passes of the verify loop, and the scoped one inside a switchover hold. */
export class UpgradeVerifier {
  constructor(private readonly config: UpgradeConfig, private readonly pack: Pack, private readonly log: Logger) {}

  /** Both sides at the same journal seq (the proxy's gate and the standby paused), compared in full; repaired if configured. */
  async fullPass(sides: Sides, engine: ReplayEngine): Promise<FullPass> {
    const snap = await openAlignedSnapshots({
      adminSocket: this.config.proxy.adminSocket, source: sides.source, target: sides.target, engine, lockTimeoutMs: this.config.verify.lockTimeoutMs,
    });
    let report: VerifyReport;
    try {
      report = await verifyData({ ...this.options(sides.forward, snap.source, snap.target), liveSource: true });
    } finally {
      await snap.close();
    }
    const repaired = !report.clean && this.config.verify.repair ? await this.repair(sides, report) : 0;
    return { report, seq: snap.seq, repaired };
  }

  /**
   * What the journal changed in (sinceSeq, toSeq], compared on plain connections: it runs with
   * the gate locked and the standby caught up, so neither side moves.
   */
  async scoped(sides: Sides, sinceSeq: number, toSeq: number): Promise<VerifyReport> {
    const [source, target] = await openPair(sides);
    try {
      const databases = this.config.migrate.databases;
      const scope = await changedScope(this.config.proxy.journalDir, sinceSeq, toSeq, this.pack, { source, ...(databases ? { databases } : {}) });
      // Full passes leave out what a snapshot does not cover: with writes held, compare it whole.
      if (scope.tables) scope.tables = [...new Set([...scope.tables, ...await notSnapshotCovered(source, databases)])];
      return await verifyData({ ...this.options(sides.forward, source, target), scope });
    } finally {
      await Promise.all([source.close(), target.close()]);
    }
  }

  private async repair(sides: Sides, report: VerifyReport): Promise<number> {
    const [source, target] = await openPair(sides);
    try {
      const { repaired, failed } = await repairDifferences(report, this.options(sides.forward, source, target));
      this.log.warn({ repaired: repaired.length, failed }, 'differences repaired from the serving side');
      return repaired.length;
    } finally {
      await Promise.all([source.close(), target.close()]);
    }
  }

  private options(forward: boolean, source: SqlRunner, target: SqlRunner): VerifyOptions {
    const c = this.config;
    const [sourceDb, targetDb] = forward ? [c.migrate.sourceDb, c.migrate.targetDb] : [c.migrate.targetDb, c.migrate.sourceDb];
    return {
      pack: this.pack, source, target,
      ...(c.migrate.databases ? { databases: c.migrate.databases } : {}),
      ...(sourceDb ? { sourceDb } : {}), ...(targetDb ? { targetDb } : {}),
      ...(c.verify.chunkRows ? { chunkRows: c.verify.chunkRows } : {}), ...(c.verify.maxDifferences ? { maxDifferences: c.verify.maxDifferences } : {}),
    };
  }
}

/** 'db.table' of the source's base tables a snapshot does not cover (only identity scopes are by table). */
async function notSnapshotCovered(source: SqlRunner, databases: string[] | null): Promise<string[]> {
  const rows = await source.query<{ db: string; t: string; engine: string | null }>(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS t, ENGINE AS engine FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE'
       AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') AND TABLE_SCHEMA NOT LIKE 'metamorph\\_%'`);
  return rows.filter((r) => (!databases || databases.includes(String(r.db))) && !coveredBySnapshot(String(r.engine ?? '')))
    .map((r) => `${String(r.db)}.${String(r.t)}`);
}

async function openPair(sides: Sides): Promise<[TargetSession, TargetSession]> {
  const source = await TargetSession.open(sides.source);
  try {
    return [source, await TargetSession.open(sides.target)];
  } catch (err) {
    await source.close();
    throw err;
  }
}
