import { Counter, Gauge, Registry } from 'prom-client';

/** What the gauges read when Prometheus scrapes. */
export interface ReplayMetricsSource {
  appliedSeq(): number;
  lagSeconds(): number;
}

/** The replayer's Prometheus metrics (its own registry: several engines may share a process). */
export class ReplayMetrics {
  readonly registry = new Registry();
  readonly statements: Counter;
  readonly transactions: Counter;
  readonly flagged: Counter;
  readonly queued: Counter;

  constructor(src: ReplayMetricsSource) {
    const registers = [this.registry];
    new Gauge({ name: 'metamorph_replay_applied_seq', help: 'Last journal seq committed on the target', registers, collect() { this.set(src.appliedSeq()); } });
    new Gauge({
      name: 'metamorph_replay_lag_seconds',
      help: 'Now minus the journal time of the last applied entry; 0 when caught up with the journal head (follow mode)',
      registers,
      collect() { this.set(src.lagSeconds()); },
    });
    this.statements = new Counter({ name: 'metamorph_replay_statements_total', help: 'Journal entries applied (committed) on the target', registers });
    this.transactions = new Counter({ name: 'metamorph_replay_transactions_total', help: 'Journal transactions applied (committed) on the target', registers });
    this.flagged = new Counter({ name: 'metamorph_replay_flagged_total', help: 'Applied entries the proxy flagged as possibly non-deterministic', registers });
    this.queued = new Counter({ name: 'metamorph_replay_repair_queued_total', help: 'Entries whose items went to the repair queue (--on-error=repair)', registers });
  }
}
