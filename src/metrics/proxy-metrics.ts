import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { GATE_STATES, type WriteGate } from '../proxy/write-gate.js';
import type { InterceptionLag } from '../proxy/interception-lag.js';

/** What the proxy's metrics read when Prometheus scrapes. */
export interface ProxyMetricsSource {
  gate: WriteGate;
  lag: InterceptionLag;
  connections(): number;
  journalHeadSeq(): number;
  journalBytes(): number;
  statements(): Map<string, number>;
}

/** The proxy's Prometheus metrics; values are read from live state at scrape time. */
export class ProxyMetrics {
  readonly registry = new Registry();
  readonly fsyncSeconds: Histogram;
  readonly gateHoldSeconds: Histogram;

  constructor(src: ProxyMetricsSource) {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    const registers = [r];
    new Gauge({
      name: 'metamorph_interception_lag_seconds',
      help: 'Age of the oldest journaled write not yet applied by the slowest registered consumer; 0 when caught up',
      registers,
      async collect() {
        this.set((await src.lag.measure()).seconds);
      },
    });
    new Gauge({
      name: 'metamorph_journal_consumer_seq',
      help: 'Last journal seq each registered consumer has applied',
      labelNames: ['consumer'],
      registers,
      async collect() {
        this.reset();
        for (const c of (await src.lag.measure()).consumers) this.set({ consumer: c.name }, c.seq);
      },
    });
    new Gauge({ name: 'metamorph_journal_head_seq', help: 'Last durable journal seq', registers, collect() { this.set(src.journalHeadSeq()); } });
    new Counter({
      name: 'metamorph_journal_bytes_total', help: 'Bytes written to the journal', registers,
      collect() { this.reset(); this.inc(src.journalBytes()); },
    });
    new Counter({
      name: 'metamorph_statements_total', help: 'Statements forwarded by the proxy, by kind', labelNames: ['kind'], registers,
      collect() {
        this.reset();
        for (const [kind, n] of src.statements()) this.inc({ kind }, n);
      },
    });
    new Gauge({ name: 'metamorph_client_connections', help: 'Open client connections', registers, collect() { this.set(src.connections()); } });
    new Gauge({
      name: 'metamorph_gate_state', help: `Write gate state: ${GATE_STATES.map((s, i) => `${i} ${s}`).join(', ')}`, registers,
      collect() { this.set(GATE_STATES.indexOf(src.gate.state)); },
    });
    new Gauge({ name: 'metamorph_gate_held_writes', help: 'Writes waiting at the write gate', registers, collect() { this.set(src.gate.heldWrites); } });
    this.fsyncSeconds = new Histogram({
      name: 'metamorph_journal_fsync_seconds', help: 'Duration of journal data fsyncs (one per group commit)', registers,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    });
    this.gateHoldSeconds = new Histogram({
      name: 'metamorph_gate_hold_seconds', help: 'How long writes waited at the write gate', registers,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
  }
}
