import { Gauge, Registry } from 'prom-client';
import { UPGRADE_PHASES, type UpgradePhase } from './upgrade-state.js';

/** What the gauges read when Prometheus scrapes. */
export interface UpgradeMetricsSource {
  phase(): UpgradePhase;
  copyProgressRatio(): number;
  replayAppliedSeq(): number;
  replayLagSeconds(): number;
  /** Differences the last verification found; -1 before the first one. */
  lastDifferences(): number;
  /** Write-hold window of the last switchover (s); 0 before the first. */
  lastHoldSeconds(): number;
  flips(): number;
  /** 1 while the new server serves. */
  newActive(): number;
}

/** The orchestrator's Prometheus metrics, in a registry of its own. */
export class UpgradeMetrics {
  readonly registry = new Registry();

  constructor(src: UpgradeMetricsSource) {
    const registers = [this.registry];
    new Gauge({
      name: 'metamorph_upgrade_phase', help: 'The upgrade\'s current phase: 1 for it, 0 for the others', labelNames: ['phase'], registers,
      collect() {
        const now = src.phase();
        for (const p of UPGRADE_PHASES) this.set({ phase: p }, p === now ? 1 : 0);
      },
    });
    const gauge = (name: string, help: string, read: () => number) => new Gauge({ name, help, registers, collect() { this.set(read()); } });
    gauge('metamorph_upgrade_copy_progress_ratio', 'Copy progress (0..1); 1 once the copy is complete', () => src.copyProgressRatio());
    gauge('metamorph_upgrade_replay_applied_seq', 'Last journal seq the running replay committed on its target', () => src.replayAppliedSeq());
    gauge('metamorph_upgrade_replay_lag_seconds', 'Age of the oldest journaled write the running replay has not applied', () => src.replayLagSeconds());
    gauge('metamorph_upgrade_verify_differences', 'Differences found by the last verification (-1: none ran yet)', () => src.lastDifferences());
    gauge('metamorph_upgrade_hold_seconds', 'Write-hold window of the last switchover', () => src.lastHoldSeconds());
    gauge('metamorph_upgrade_flips', 'Flips of the proxy so far (switchovers and rollbacks)', () => src.flips());
    gauge('metamorph_upgrade_new_active', '1 while the proxy serves from the new server', () => src.newActive());
  }
}
