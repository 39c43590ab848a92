import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../harness/ports.js';
import { requireBinary } from '../harness/require-binaries.js';

export interface PromSample { metric: Record<string, string>; value: [number, string] }

/** A real Prometheus (Debian package) scraping `targets` every second, in a temp dir of its own. */
export class PrometheusServer {
  private log = '';
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess, private readonly dir: string, readonly api: string) {
    for (const s of [child.stdout, child.stderr]) s?.on('data', (c: Buffer) => { this.log = (this.log + c.toString()).slice(-20_000); });
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }

  static async start(job: string, targets: string[]): Promise<PrometheusServer> {
    const binary = requireBinary('prometheus');
    const dir = mkdtempSync(join(tmpdir(), 'metamorph-prometheus-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, [
      'global: { scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 900ms }',
      'scrape_configs:',
      `  - { job_name: ${job}, static_configs: [{ targets: ${JSON.stringify(targets)} }] }`,
      '',
    ].join('\n'));
    const port = await freePort();
    // setpriv --pdeathsig: Prometheus dies with the test process even if that one is SIGKILLed.
    const child = spawn(requireBinary('setpriv'), ['--pdeathsig', 'KILL', binary,
      `--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const prom = new PrometheusServer(child, dir, `http://127.0.0.1:${port}`);
    await prom.until('prometheus to be ready', async () => (await fetch(`${prom.api}/-/ready`)).ok, 15_000);
    return prom;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** The instant vector of `expr`; throws on a query error. */
  async query(expr: string): Promise<PromSample[]> {
    const res = await fetch(`${this.api}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { result: PromSample[] } };
    if (body.status !== 'success') throw new Error(`prometheus query ${expr} failed: ${body.error}`);
    return body.data!.result;
  }

  /** Polls `check` every 200 ms until it is true; fails after `timeoutMs` with Prometheus's log. */
  async until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`prometheus exited (${this.child.exitCode ?? this.child.signalCode}) while waiting for ${what}:\n${this.log}`);
      }
      if (await check().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; prometheus log:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** SIGTERM to its pid (SIGKILL after 5 s), then removes its directory. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      process.kill(this.pid, 'SIGTERM');
      const killer = setTimeout(() => process.kill(this.pid, 'SIGKILL'), 5000);
      await this.exited;
      clearTimeout(killer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
