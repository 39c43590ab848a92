import { redactDsn } from '../provision/dsn.js';
import type { UpgradeState } from './upgrade-state.js';

export type UpgradeResult = 'finished' | 'aborted' | 'rehearsed' | 'stopped';

export interface UpgradeReport {
  result: UpgradeResult;
  phase: UpgradeState['phase'];
  /** Which server the proxy serves from at the end. */
  active: 'old' | 'new';
  replica: string | null;
  phases: { name: string; ms: number }[];
  cutSeq: number | null;
  copied: UpgradeState['copy'];
  accounts: string[];
  statementsReplayed: number;
  peakLagSeconds: number;
  flips: UpgradeState['flips'];
  /** The switchovers (and rehearsals, rollbacks) with their write-hold windows. */
  switchovers: UpgradeState['switchovers'];
  verification: UpgradeState['lastVerification'];
  verifications: number;
}

export function buildReport(state: UpgradeState, result: UpgradeResult): UpgradeReport {
  return {
    result, phase: state.phase, active: state.active,
    replica: state.replica ? redactDsn(state.replica.dsn) : null,
    phases: Object.entries(state.phaseMs).map(([name, ms]) => ({ name, ms: Math.round(ms) })),
    cutSeq: state.cutSeq, copied: state.copy, accounts: state.accountsCopied,
    statementsReplayed: state.statementsReplayed, peakLagSeconds: round3(state.peakLagSeconds),
    flips: state.flips, switchovers: state.switchovers, verification: state.lastVerification, verifications: state.verifications,
  };
}

/** The report for a terminal: one fact a line. */
export function formatReport(r: UpgradeReport): string {
  const lines = [`upgrade ${r.result}: phase ${r.phase}, the proxy serves from the ${r.active} server${r.replica ? ` (new: ${r.replica})` : ''}`];
  lines.push(`  phases: ${r.phases.map((p) => `${p.name} ${fmtMs(p.ms)}`).join(', ') || '(none)'}`);
  if (r.cutSeq !== null) lines.push(`  cut at seq ${r.cutSeq}; copied ${r.copied.rows} rows in ${r.copied.chunks} chunks${r.copied.items ? `, ${r.copied.items} items` : ''}${r.copied.holdMs === null ? '' : ` (cut held writes ${r.copied.holdMs.toFixed(1)} ms)`}`);
  if (r.accounts.length > 0) lines.push(`  accounts copied: ${r.accounts.join(', ')}`);
  lines.push(`  statements replayed: ${r.statementsReplayed}; peak replay lag ${r.peakLagSeconds.toFixed(3)} s`);
  for (const s of r.switchovers) {
    const what = s.rehearsal ? 'rehearsal' : s.direction === 'forward' ? 'switchover' : 'rollback';
    const outcome = s.ok ? 'ok' : `aborted at ${s.aborted?.step}: ${s.aborted?.reason}`;
    lines.push(`  ${what}: ${outcome}; writes held ${s.holdMs.toFixed(1)} ms${s.lockedSeq === null ? '' : ` at seq ${s.lockedSeq}`}; ` +
      `steps ${s.steps.map((x) => `${x.name} ${x.ms.toFixed(1)} ms`).join(', ')}`);
  }
  const v = r.verification;
  if (v) lines.push(`  last verification (${v.kind}, seq ${v.seq}): ${v.clean ? 'clean' : `${v.differences} difference(s)`}; ${v.checked.rows} rows, ${v.checked.items} items in ${fmtMs(v.ms)}; ${r.verifications} pass(es)`);
  return lines.join('\n');
}

function fmtMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
