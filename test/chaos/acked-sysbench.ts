import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { requireBinary } from '../harness/require-binaries.js';

const SCRIPT = resolve(import.meta.dirname, 'acked-writes.lua');
/** The first id for a mysql2 WriteLoad beside this load: far above every sysbench id. */
export const MYSQL2_FIRST_ID = 900_000_000_000;
/** Ids per run: acked-writes.lua gives each thread 10M of them. */
const RUN_STRIDE = 100_000_000;
/** Runs stay below the ids the tests give the mysql2 load (MYSQL2_FIRST_ID). */
const MAX_RUNS = 8000;

export interface AckedSysbenchOptions {
  port: number;
  database: string;
  /** A table `(id BIGINT PRIMARY KEY, w INT NOT NULL)`. */
  table: string;
  /** At most 10: each thread has its own 10M ids within a run. */
  threads: number;
  /** Pause before starting a new run after one ended. */
  retryMs?: number;
}

export interface AckedSysbenchResult {
  /** Ids whose autocommit OK or COMMIT OK reached sysbench. */
  acked: number[];
  /** sysbench runs: a lost connection ends one, the next one starts with new ids. */
  runs: number;
  /** How the runs ended, e.g. { '1': 20, '0': 1 }. */
  exits: Record<string, number>;
  /** The MySQL errors that ended runs, by errno (from sysbench's "returned error N" lines). */
  errnos: Record<string, number>;
  /** The tail of the last failed run's output. */
  lastFailure: string;
}

/**
 * sysbench running acked-writes.lua (prepared INSERTs, autocommit and in transactions) through
 * a proxy that may die and come back: every run that ends on a lost connection is followed by a
 * new one, until stop(). Only ids printed after their OK count as acknowledged.
 */
export class AckedSysbench {
  private readonly acked: number[] = [];
  private readonly exits: Record<string, number> = {};
  private readonly errnos: Record<string, number> = {};
  private lastFailure = '';
  private runs = 0;
  private child: ChildProcess | null = null;
  private stopping = false;
  private readonly looping: Promise<void>;

  private constructor(private readonly o: AckedSysbenchOptions) {
    this.looping = this.loop();
  }

  static start(o: AckedSysbenchOptions): AckedSysbench {
    if (o.threads < 1 || o.threads > 10) throw new Error(`AckedSysbench: threads must be 1 to 10, got ${o.threads}`);
    return new AckedSysbench(o);
  }

  get ackedCount(): number {
    return this.acked.length;
  }

  /** Resolves once `count` more ids have been acknowledged; rejects after `timeoutMs`. */
  async untilAcked(count: number, timeoutMs = 15_000): Promise<void> {
    const target = this.acked.length + count;
    const deadline = Date.now() + timeoutMs;
    while (this.acked.length < target) {
      if (Date.now() > deadline) {
        throw new Error(`sysbench: ${this.acked.length} of ${target} acknowledgements within ${timeoutMs} ms after ${this.runs} runs; last failure: ${this.lastFailure}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Ends the current run (SIGTERM: writes in flight get no "ack") and the loop. */
  async stop(): Promise<AckedSysbenchResult> {
    this.stopping = true;
    this.child?.kill('SIGTERM');
    await this.looping;
    return { acked: [...this.acked], runs: this.runs, exits: { ...this.exits }, errnos: { ...this.errnos }, lastFailure: this.lastFailure };
  }

  private async loop(): Promise<void> {
    while (!this.stopping && this.runs < MAX_RUNS) {
      const how = await this.run(1 + this.runs++ * RUN_STRIDE);
      this.exits[how] = (this.exits[how] ?? 0) + 1;
      if (!this.stopping) await new Promise((r) => setTimeout(r, this.o.retryMs ?? 50));
    }
  }

  private run(firstId: number): Promise<string> {
    const o = this.o;
    const args = [SCRIPT, '--db-driver=mysql', '--mysql-host=127.0.0.1', `--mysql-port=${o.port}`, '--mysql-user=root',
      `--mysql-db=${o.database}`, `--table-name=${o.table}`, `--first-id=${firstId}`, `--threads=${o.threads}`,
      '--time=0', '--events=0', 'run'];
    // setpriv --pdeathsig: sysbench dies with the test process even if that one is SIGKILLed.
    const child = spawn(requireBinary('setpriv'), ['--pdeathsig', 'KILL', requireBinary('sysbench'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let out = '';
    createInterface({ input: child.stdout }).on('line', (line) => {
      const id = /^ack (\d+)$/.exec(line)?.[1];
      if (id) this.acked.push(Number(id));
      else out += `${line}\n`;
    });
    child.stderr.on('data', (b: Buffer) => { out += b.toString('utf8'); });
    return new Promise((r) => child.once('close', (code, signal) => {
      const how = String(signal ?? code);
      if (how !== 'SIGTERM') this.lastFailure = out.slice(-500);
      for (const m of out.matchAll(/returned error (\d+)/g)) this.errnos[m[1]] = (this.errnos[m[1]] ?? 0) + 1;
      r(how);
    }));
  }
}
