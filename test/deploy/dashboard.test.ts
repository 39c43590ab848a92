import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { freePort } from '../harness/ports.js';
import { findBinary, requireBinary } from '../harness/require-binaries.js';

// The Grafana dashboard, checked for shape and then run: every panel query is evaluated by a
// real Prometheus scraping an exporter that serves the metric names the proxy documents.

const ROOT = resolve(import.meta.dirname, '../..');
const DASHBOARD_FILE = join(ROOT, 'grafana/dashboards/metamorph.json');

/** The metric names the proxy and the replayer export (histograms without _bucket/_sum/_count). */
const DOCUMENTED_METRICS = new Set([
  'metamorph_interception_lag_seconds',
  'metamorph_replay_lag_seconds',
  'metamorph_replay_applied_seq',
  'metamorph_journal_consumer_seq',
  'metamorph_journal_head_seq',
  'metamorph_journal_bytes_total',
  'metamorph_journal_fsync_seconds',
  'metamorph_statements_total',
  'metamorph_client_connections',
  'metamorph_gate_state',
  'metamorph_gate_held_writes',
  'metamorph_gate_hold_seconds',
]);

const REQUIRED_PANELS = [
  'Interception lag', 'Replay lag', 'Gate state', 'Held writes', 'Gate hold time p99', 'Statements/s by kind',
  'Journal fsync latency p50/p99', 'Journal write rate', 'Journal head seq', 'Client connections',
];

const EXPECTED_UNITS: Record<string, string> = {
  'Interception lag': 's',
  'Replay lag': 's',
  'Gate hold time p99': 's',
  'Journal fsync latency p50/p99': 's',
  'Statements/s by kind': 'ops',
  'Journal write rate': 'Bps',
};

interface Target { expr: string; legendFormat?: string; datasource?: { uid?: string } }
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos: { x: number; y: number; w: number; h: number };
  fieldConfig?: { defaults?: { unit?: string; mappings?: { type: string; options: Record<string, { text: string }> }[] } };
  targets: Target[];
}
interface Dashboard { uid: string; title: string; schemaVersion: number; panels: Panel[] }

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
const panels = dashboard.panels;
const targets = panels.flatMap((panel) => panel.targets.map((target) => ({ panel: panel.title, ...target })));

function panel(title: string): Panel {
  const found = panels.find((p) => p.title === title);
  if (!found) throw new Error(`dashboard has no panel titled "${title}"`);
  return found;
}

function metricNames(expr: string): string[] {
  return [...expr.matchAll(/metamorph_[a-z_]+/g)].map(([name]) => name.replace(/_(bucket|sum|count)$/, ''));
}

function overlaps(a: Panel['gridPos'], b: Panel['gridPos']): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

describe('dashboard file', () => {
  it('has the uid, title and schema version Grafana provisions it by', () => {
    expect(dashboard.uid).toBe('metamorph');
    expect(dashboard.title).toBe('metamorph — online upgrade');
    expect(dashboard.schemaVersion).toBe(39);
  });

  it('has every required panel', () => {
    expect(panels.map((p) => p.title)).toEqual(expect.arrayContaining(REQUIRED_PANELS));
  });

  it('gives every panel and every query the prometheus datasource uid, and each panel a unique id', () => {
    for (const p of panels) {
      expect(p.datasource?.uid, p.title).toBe('prometheus');
      for (const t of p.targets) expect(t.datasource?.uid ?? p.datasource?.uid, p.title).toBe('prometheus');
      expect(p.targets.length, p.title).toBeGreaterThan(0);
    }
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('lays panels out inside 24 columns without overlaps', () => {
    for (const p of panels) {
      const { x, y, w, h } = p.gridPos;
      expect([x, y, w, h].every(Number.isInteger), p.title).toBe(true);
      expect(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 24, `${p.title} at ${JSON.stringify(p.gridPos)}`).toBe(true);
    }
    for (let i = 0; i < panels.length; i++) {
      for (let j = i + 1; j < panels.length; j++) {
        expect(overlaps(panels[i].gridPos, panels[j].gridPos), `${panels[i].title} overlaps ${panels[j].title}`).toBe(false);
      }
    }
  });

  it('queries only documented metric names', () => {
    for (const t of targets) {
      const names = metricNames(t.expr);
      expect(names.length, `${t.panel}: ${t.expr}`).toBeGreaterThan(0);
      for (const name of names) expect(DOCUMENTED_METRICS.has(name), `${t.panel}: ${name} is not a documented metric`).toBe(true);
    }
  });

  it('sets units on every timeseries panel, seconds, ops and bytes/s where they apply', () => {
    for (const p of panels.filter((p) => p.type === 'timeseries')) expect(p.fieldConfig?.defaults?.unit, p.title).toBeTruthy();
    for (const [title, unit] of Object.entries(EXPECTED_UNITS)) expect(panel(title).fieldConfig?.defaults?.unit, title).toBe(unit);
  });

  it('maps gate states 0..3 to open, locking, locked, rejecting', () => {
    const mapping = panel('Gate state').fieldConfig?.defaults?.mappings?.find((m) => m.type === 'value');
    const texts = Object.fromEntries(Object.entries(mapping?.options ?? {}).map(([value, o]) => [value, o.text]));
    expect(texts).toEqual({ 0: 'open', 1: 'locking', 2: 'locked', 3: 'rejecting' });
  });
});

// --- A real Prometheus evaluating every panel query -------------------------------------------

const GATE_LOCKED = 2;
const KINDS = ['read', 'insert', 'update', 'commit'];
const CONSUMERS = ['replay-main', 'verify'];

/** An exporter that advances its counters and histograms on every scrape, so rates are non-zero. */
function fakeExporter(): { registry: Registry; advance: () => void } {
  const registry = new Registry();
  const gauge = (name: string, labelNames: string[] = []) => new Gauge({ name, help: name, labelNames, registers: [registry] });
  const interception = gauge('metamorph_interception_lag_seconds');
  const replayLag = gauge('metamorph_replay_lag_seconds', ['consumer']);
  const applied = gauge('metamorph_replay_applied_seq', ['consumer']);
  const consumerSeq = gauge('metamorph_journal_consumer_seq', ['consumer']);
  const head = gauge('metamorph_journal_head_seq');
  const connections = gauge('metamorph_client_connections');
  const gateState = gauge('metamorph_gate_state');
  const held = gauge('metamorph_gate_held_writes');
  const bytes = new Counter({ name: 'metamorph_journal_bytes_total', help: 'bytes', registers: [registry] });
  const statements = new Counter({ name: 'metamorph_statements_total', help: 'statements', labelNames: ['kind'], registers: [registry] });
  const buckets = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
  const fsync = new Histogram({ name: 'metamorph_journal_fsync_seconds', help: 'fsync', buckets, registers: [registry] });
  const hold = new Histogram({ name: 'metamorph_gate_hold_seconds', help: 'hold', buckets, registers: [registry] });
  let seq = 0;
  const advance = () => {
    seq += 100;
    head.set(seq);
    interception.set(1.5);
    connections.set(12);
    gateState.set(GATE_LOCKED);
    held.set(3);
    bytes.inc(4096);
    for (const [i, consumer] of CONSUMERS.entries()) {
      replayLag.set({ consumer }, 0.25 * (i + 1));
      applied.set({ consumer }, seq - 10 * (i + 1));
      consumerSeq.set({ consumer }, seq - 10 * (i + 1));
    }
    for (const kind of KINDS) statements.inc({ kind }, 10);
    for (const seconds of [0.0008, 0.002, 0.004, 0.03]) fsync.observe(seconds);
    for (const seconds of [0.02, 0.2]) hold.observe(seconds);
  };
  return { registry, advance };
}

async function startExporter(): Promise<{ server: Server; port: number }> {
  const { registry, advance } = fakeExporter();
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    advance();
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (e: Error) => res.writeHead(500).end(e.message),
    );
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('exporter has no address');
  return { server, port: address.port };
}

// Tests never skip: a missing prometheus binary fails with the command that installs it.
function requirePrometheus(): string {
  const path = findBinary('prometheus');
  if (path) return path;
  throw Object.assign(
    new Error('missing binary: prometheus; run `bash scripts/install-deps.sh` (as root) or ' +
      'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus'),
    { code: 'MISSING_BINARIES' },
  );
}

interface PromSample { metric: Record<string, string>; value: [number, string] }
interface PromAnswer { status: string; error?: string; data?: { resultType: string; result: PromSample[] } }

let exporter: Server;
let prometheus: ChildProcess;
let prometheusLog = '';
let workDir: string;
let api: string;

async function query(expr: string): Promise<PromAnswer> {
  const response = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await response.json()) as PromAnswer;
}

function hasFiniteData(answer: PromAnswer): boolean {
  const result = answer.data?.result ?? [];
  return answer.status === 'success' && result.length > 0 && result.every((s) => Number.isFinite(Number(s.value[1])));
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; prometheus log:\n${prometheusLog}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function startPrometheus(targetPort: number): Promise<void> {
  const binary = requirePrometheus();
  workDir = mkdtempSync(join(tmpdir(), 'metamorph-prometheus-'));
  const config = join(workDir, 'prometheus.yml');
  writeFileSync(config, [
    'global: { scrape_interval: 1s, evaluation_interval: 1s }',
    'scrape_configs:',
    `  - { job_name: fake, static_configs: [{ targets: ["127.0.0.1:${targetPort}"] }] }`,
    '',
  ].join('\n'));
  // freePort() reserves nothing: another process may take the port first, then try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchPrometheus(binary, config, await freePort());
    } catch (e) {
      if (attempt === 3 || !/address already in use/.test(prometheusLog)) throw e;
    }
  }
}

async function launchPrometheus(binary: string, config: string, port: number): Promise<void> {
  api = `http://127.0.0.1:${port}`;
  prometheusLog = '';
  // setpriv --pdeathsig: Prometheus dies with the test process even if that one is SIGKILLed.
  prometheus = spawn(requireBinary('setpriv'), ['--pdeathsig', 'KILL', binary,
    `--config.file=${config}`, `--storage.tsdb.path=${join(workDir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [prometheus.stdout, prometheus.stderr]) stream?.on('data', (chunk: Buffer) => { prometheusLog += chunk.toString(); });
  const exited = new Promise<never>((_, reject) => prometheus.once('exit', (code) => reject(new Error(`prometheus exited with ${code}:\n${prometheusLog}`))));
  await Promise.race([exited, waitFor('prometheus /-/ready', async () => (await fetch(`${api}/-/ready`)).ok, 15_000)]);
}

async function stopPrometheus(): Promise<void> {
  if (!prometheus || prometheus.exitCode !== null || prometheus.signalCode !== null) return;
  const exited = new Promise((r) => prometheus.once('exit', r));
  prometheus.kill('SIGTERM');
  const killer = setTimeout(() => prometheus.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(killer);
}

describe('panel queries on a real Prometheus', () => {
  const answers = new Map<string, PromAnswer>();

  beforeAll(async () => {
    const started = await startExporter();
    exporter = started.server;
    await startPrometheus(started.port);
    // rate() over [1m] needs two scrapes; histogram_quantile needs both to have observations.
    await waitFor('every panel query to return data', async () => {
      for (const { expr } of targets) answers.set(expr, await query(expr));
      return [...answers.values()].every(hasFiniteData);
    }, 20_000).catch(() => undefined); // the tests below name the queries that stayed empty
  });

  afterAll(async () => {
    await stopPrometheus();
    await new Promise((r) => exporter?.close(r));
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('evaluates every panel query successfully, with finite data', () => {
    expect(targets.length).toBeGreaterThanOrEqual(REQUIRED_PANELS.length);
    for (const { panel: title, expr } of targets) {
      const answer = answers.get(expr);
      expect(answer?.status, `${title}: ${expr}: ${answer?.error ?? ''}`).toBe('success');
      expect(hasFiniteData(answer as PromAnswer), `${title}: ${expr} returned ${JSON.stringify(answer?.data)}`).toBe(true);
    }
  });

  it('keeps every label a legend names after aggregation', () => {
    for (const { panel: title, expr, legendFormat } of targets) {
      const labels = [...(legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map(([, label]) => label);
      for (const sample of answers.get(expr)?.data?.result ?? []) {
        for (const label of labels) expect(sample.metric[label], `${title}: ${expr} drops label ${label}`).toBeDefined();
      }
    }
  });

  it('shows the fed values: one series per kind and consumer, the gate state, ordered quantiles', () => {
    const series = (expr: string) => answers.get(expr)?.data?.result ?? [];
    const value = (expr: string) => Number(series(expr)[0]?.value[1]);
    const statements = panel('Statements/s by kind').targets[0].expr;
    expect(series(statements).map((s) => s.metric.kind).sort()).toEqual([...KINDS].sort());
    const replay = panel('Replay lag').targets[0].expr;
    expect(series(replay).map((s) => s.metric.consumer).sort()).toEqual([...CONSUMERS].sort());
    expect(value(panel('Gate state').targets[0].expr)).toBe(GATE_LOCKED);
    const [p50, p99] = panel('Journal fsync latency p50/p99').targets.map((t) => value(t.expr));
    expect(p50).toBeGreaterThan(0);
    expect(p99).toBeGreaterThan(p50);
    expect(value(panel('Journal write rate').targets[0].expr)).toBeGreaterThan(0);
  });
});
