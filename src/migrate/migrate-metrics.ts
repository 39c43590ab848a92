import { Counter, Gauge, Registry } from 'prom-client';

/** What the gauges read when Prometheus scrapes. */
export interface MigrateMetricsSource {
  progressRatio(): number;
  /** 1 while the copy waits for a pause, a limit or the rows/s cap to let it go on. */
  throttled(): number;
}

/** The migration's Prometheus metrics, in a registry of its own. */
export class MigrateMetrics {
  readonly registry = new Registry();
  readonly rows: Counter;
  readonly chunks: Counter;
  readonly cutHold: Gauge;

  constructor(src: MigrateMetricsSource) {
    const registers = [this.registry];
    this.rows = new Counter({ name: 'metamorph_copy_rows_total', help: 'Rows copied to the target (committed with their chunk)', registers });
    this.chunks = new Counter({ name: 'metamorph_copy_chunks_total', help: 'Chunks copied to the target (committed)', registers });
    new Gauge({
      name: 'metamorph_copy_progress_ratio',
      help: 'Rows in done chunks / rows planned (0..1); 1 when the copy is complete',
      registers,
      collect() { this.set(src.progressRatio()); },
    });
    new Gauge({ name: 'metamorph_copy_throttled', help: '1 while the copy is paused or held by a throttle limit', registers, collect() { this.set(src.throttled()); } });
    this.cutHold = new Gauge({ name: 'metamorph_cut_hold_seconds', help: 'How long the last consistent cut held writes (lock sent to unlock acknowledged)', registers });
  }
}
