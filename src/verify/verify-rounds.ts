import type { AlignedSnapshots } from './aligned-snapshots.js';
import { scopeOf, verifyData, type Difference, type VerifyOptions, type VerifyReport } from './verify.js';

export interface RoundsResult {
  report: VerifyReport;
  /** Rounds run: 1 when the first was clean or exactly aligned. */
  rounds: number;
  /** The snapshots of the last round, still open (repair reads the source from them); close them. */
  last: AlignedSnapshots;
}

/**
 * Verification against a target that keeps replaying: a round whose target snapshot is later
 * than the source's (targetSeq > seq) may show differences that are only writes the source
 * snapshot does not have yet. Those are checked again, in up to `rounds` rounds of new aligned
 * snapshots, each scoped to what still differed; a difference is reported only when every round
 * found it (same item, side and field). A round aligned exactly (targetSeq = seq) is final.
 */
export async function verifyInRounds(open: () => Promise<AlignedSnapshots>, o: Omit<VerifyOptions, 'source' | 'target'>, rounds: number): Promise<RoundsResult> {
  let snaps = await open();
  let report: VerifyReport;
  try {
    report = await verifyData({ ...o, source: snaps.source, target: snaps.target });
  } catch (err) {
    await snaps.close();
    throw err;
  }
  const first = report;
  let round = 1;
  while (!report.clean && snaps.targetSeq !== snaps.seq && round < rounds) {
    const scope = scopeOf(report.differences);
    await snaps.close();
    snaps = await open();
    round++;
    try {
      report = persisting(await verifyData({ ...o, scope, source: snaps.source, target: snaps.target }), report.differences, snaps.targetSeq === snaps.seq);
    } catch (err) {
      await snaps.close();
      throw err;
    }
  }
  const merged: VerifyReport = round === 1 ? report
    : { ...report, checked: first.checked, truncated: first.truncated, ms: first.ms + report.ms, clean: report.clean && !first.truncated, notes: first.notes };
  return { report: merged, rounds: round, last: snaps };
}

/** The differences also found in the round before (all of them when this round is exactly aligned). */
function persisting(report: VerifyReport, before: Difference[], exact: boolean): VerifyReport {
  if (exact) return report;
  const key = (d: Difference) => `${d.item}\u0000${d.side}\u0000${d.field}`;
  const seen = new Set(before.map(key));
  const differences = report.differences.filter((d) => seen.has(key(d)));
  return { ...report, differences, clean: differences.length === 0 && !report.truncated };
}
