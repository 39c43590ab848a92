import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql, { type Connection } from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startProxy, type ProxyFixture } from '../proxy/proxy-fixture.js';
import { writeCheckpoint } from '../../src/journal/consumer-checkpoints.js';
import { adminRequest } from '../../src/admin/admin-client.js';
import { parseExposition, sampleValue, type Exposition } from './exposition.js';
import { PrometheusServer } from './prometheus-server.js';

// Acceptance: a real Prometheus (Debian package) scrapes the proxy; the test reads
// metamorph_interception_lag_seconds back from Prometheus's HTTP API. Also the proxy's own
// /metrics: every metric with its TYPE and live values.

const CONSUMER = 'replay-test';

let db: MariaDB;
let proxy: ProxyFixture;
let client: Connection;

async function scrape(): Promise<Exposition> {
  const a = proxy.server.metricsAddress!;
  const res = await fetch(`http://${a.host}:${a.port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

async function headSeq(): Promise<number> {
  return (await proxy.entries()).at(-1)!.seq;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  db = await startMariaDB({ name: 'prometheus' });
  await db.query('CREATE DATABASE pm; CREATE TABLE pm.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))');
  proxy = await startProxy(db.port);
  client = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: 'pm' });
  for (let i = 0; i < 5; i++) await client.query("INSERT INTO t (v) VALUES ('row')");
  await client.query('SELECT COUNT(*) FROM t');
  // A replayer that has applied only the first record: the rest is behind it.
  await writeCheckpoint(proxy.journalDir, CONSUMER, 1);
});

afterAll(async () => {
  client?.destroy();
  await proxy?.stop();
  await db?.stop();
});

describe("the proxy's /metrics", () => {
  it('has every metric with the right TYPE', async () => {
    const m = await scrape();
    const expected: Record<string, string> = {
      metamorph_interception_lag_seconds: 'gauge',
      metamorph_journal_consumer_seq: 'gauge',
      metamorph_journal_head_seq: 'gauge',
      metamorph_journal_bytes_total: 'counter',
      metamorph_journal_fsync_seconds: 'histogram',
      metamorph_statements_total: 'counter',
      metamorph_client_connections: 'gauge',
      metamorph_gate_state: 'gauge',
      metamorph_gate_held_writes: 'gauge',
      metamorph_gate_hold_seconds: 'histogram',
      process_cpu_seconds_total: 'counter',
    };
    for (const [name, type] of Object.entries(expected)) expect(m.types.get(name), name).toBe(type);
  });

  it('reads live values: journal, statements by kind, connections, consumer, lag, CPU', async () => {
    const m = await scrape();
    const head = await headSeq();
    expect(head).toBe(5); // the five autocommit inserts; the schema was made directly
    expect(sampleValue(m, 'metamorph_journal_head_seq')).toBe(head);
    expect(sampleValue(m, 'metamorph_journal_bytes_total')).toBeGreaterThan(0);
    expect(sampleValue(m, 'metamorph_statements_total', { kind: 'insert' })).toBe(5);
    expect(sampleValue(m, 'metamorph_statements_total', { kind: 'read' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(m, 'metamorph_client_connections')).toBe(proxy.server.sessions.size);
    expect(sampleValue(m, 'metamorph_client_connections')).toBeGreaterThanOrEqual(1);
    expect(sampleValue(m, 'metamorph_journal_consumer_seq', { consumer: CONSUMER })).toBe(1);
    expect(sampleValue(m, 'metamorph_interception_lag_seconds')).toBeGreaterThan(0);
    expect(sampleValue(m, 'process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('journal fsync histogram has a sample per group commit, buckets cumulative', async () => {
    const m = await scrape();
    const count = sampleValue(m, 'metamorph_journal_fsync_seconds_count');
    expect(count).toBeGreaterThanOrEqual(5);
    expect(sampleValue(m, 'metamorph_journal_fsync_seconds_sum')).toBeGreaterThan(0);
    expect(sampleValue(m, 'metamorph_journal_fsync_seconds_bucket', { le: '+Inf' })).toBe(count);
    const buckets = m.samples.filter((s) => s.name === 'metamorph_journal_fsync_seconds_bucket').map((s) => s.value);
    expect(buckets.length).toBeGreaterThan(2);
    expect([...buckets].sort((a, b) => a - b)).toEqual(buckets);
  });

  it('gate: state 0 open, 2 locked with a held write counted; the hold lands in the histogram', async () => {
    let m = await scrape();
    expect(sampleValue(m, 'metamorph_gate_state')).toBe(0);
    expect(sampleValue(m, 'metamorph_gate_held_writes')).toBe(0);
    expect(sampleValue(m, 'metamorph_gate_hold_seconds_count')).toBe(0);
    expect(await adminRequest(proxy.adminSocket, 'lock 2000')).toMatchObject({ ok: true, state: 'locked' });
    const held = client.query("INSERT INTO t (v) VALUES ('held')");
    try {
      await until('the write to be held', async () => sampleValue(await scrape(), 'metamorph_gate_held_writes') === 1);
      m = await scrape();
      expect(sampleValue(m, 'metamorph_gate_state')).toBe(2);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      expect(await adminRequest(proxy.adminSocket, 'unlock')).toMatchObject({ ok: true, released: 1 });
      await held;
    }
    m = await scrape();
    expect(sampleValue(m, 'metamorph_gate_state')).toBe(0);
    expect(sampleValue(m, 'metamorph_gate_held_writes')).toBe(0);
    expect(sampleValue(m, 'metamorph_gate_hold_seconds_count')).toBe(1);
    expect(sampleValue(m, 'metamorph_gate_hold_seconds_sum')).toBeGreaterThanOrEqual(0.05);
    expect(sampleValue(m, 'metamorph_statements_total', { kind: 'insert' })).toBe(6);
  });
});

describe('a real Prometheus scraping the proxy', () => {
  let prom: PrometheusServer;

  beforeAll(async () => {
    const a = proxy.server.metricsAddress!;
    prom = await PrometheusServer.start('metamorph', [`${a.host}:${a.port}`]);
  });

  afterAll(async () => {
    await prom?.stop();
  });

  async function lag(): Promise<number | null> {
    const r = await prom.query('metamorph_interception_lag_seconds');
    return r.length === 1 ? Number(r[0].value[1]) : null;
  }

  it('reads a growing interception lag while the consumer is behind, then 0 once it reaches the head', async () => {
    let first: number | null = null;
    await prom.until('a first lag sample', async () => (first = await lag()) !== null, 20_000);
    expect(first).toBeGreaterThan(0);
    const [up] = await prom.query('up{job="metamorph"}');
    expect(up.value[1]).toBe('1');
    const [consumer] = await prom.query(`metamorph_journal_consumer_seq{consumer="${CONSUMER}"}`);
    expect(consumer.value[1]).toBe('1');

    await prom.until('the lag to grow', async () => (await lag())! > first! + 0.5, 10_000);

    const head = await headSeq();
    await writeCheckpoint(proxy.journalDir, CONSUMER, head);
    await prom.until('the lag to read 0', async () => (await lag()) === 0, 10_000);
    const [caughtUp] = await prom.query(`metamorph_journal_consumer_seq{consumer="${CONSUMER}"}`);
    expect(Number(caughtUp.value[1])).toBe(head);
    const [promHead] = await prom.query('metamorph_journal_head_seq');
    expect(Number(promHead.value[1])).toBe(head);
  });
});
