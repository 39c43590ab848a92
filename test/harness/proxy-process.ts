import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { requireBinary } from './require-binaries.js';

export const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

export interface ProxyProcessOptions {
  port: number;
  upstreamPort: number;
  journalDir: string;
  /** Written to a JSON config file passed with --config; the flags above override its keys. */
  config?: Record<string, unknown>;
  /** `--metrics HOST:PORT`; default a free port, so parallel proxies don't collide on 9464. */
  metrics?: string;
  /** How long to wait for the "proxy listening" line. */
  readyTimeoutMs?: number;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `metamorph proxy` as a child process, as an operator runs it. */
export interface ProxyProcess {
  pid: number;
  port: number;
  /** Its JSON log lines (stdout), parsed. */
  logs: Record<string, unknown>[];
  stderr(): string;
  kill9(): Promise<void>;
  /** SIGTERM (graceful stop); resolves to the exit code, or the signal that ended it. */
  stop(timeoutMs?: number): Promise<number | string>;
}

// Relative config paths and ./proxy.config.json are looked up in the working directory: each
// run gets an empty one of its own, removed when the run ends.
function emptyCwd(): string {
  return mkdtempSync(join(tmpdir(), 'metamorph-cli-'));
}

function requireBuild(): void {
  if (!existsSync(CLI)) {
    throw Object.assign(new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`), { code: 'NOT_BUILT' });
  }
}

export async function startProxyProcess(opts: ProxyProcessOptions): Promise<ProxyProcess> {
  requireBuild();
  const args = ['proxy', '--listen', `127.0.0.1:${opts.port}`, '--upstream', `127.0.0.1:${opts.upstreamPort}`, '--journal-dir', opts.journalDir,
    '--metrics', opts.metrics ?? '127.0.0.1:0'];
  const cwd = emptyCwd();
  if (opts.config) {
    const file = join(cwd, 'proxy.config.json');
    writeFileSync(file, JSON.stringify(opts.config));
    args.push('--config', file);
  }
  // setpriv --pdeathsig: the proxy dies with the test process even if that one is SIGKILLed.
  const child = spawn(requireBinary('setpriv'), ['--pdeathsig', 'KILL', process.execPath, CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.once('exit', () => rmSync(cwd, { recursive: true, force: true }));
  const proc = new ChildProxy(child, opts.port);
  await proc.ready(opts.readyTimeoutMs ?? 10_000);
  return proc;
}

/** Runs `metamorph ARGS` to completion (e.g. `journal verify --dir D`). */
export function runCli(args: string[], timeoutMs = 30_000): Promise<CliResult> {
  requireBuild();
  const cwd = emptyCwd();
  return new Promise((resolvePromise, reject) => {
    execFile(process.execPath, [CLI, ...args], { cwd, timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      rmSync(cwd, { recursive: true, force: true });
      if (err && typeof err.code !== 'number') return reject(err);
      resolvePromise({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

class ChildProxy implements ProxyProcess {
  readonly pid: number;
  readonly logs: Record<string, unknown>[] = [];
  private err = '';
  private readonly exited: Promise<number | string>;

  constructor(private readonly child: ChildProcess, readonly port: number) {
    this.pid = child.pid ?? 0;
    this.exited = new Promise((r) => child.once('exit', (code, signal) => r(signal ?? code ?? -1)));
    child.stderr!.on('data', (c: Buffer) => { this.err += c.toString('utf8'); });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        this.logs.push({ msg: line, unparsed: true });
      }
    });
  }

  stderr(): string {
    return this.err;
  }

  async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let gone: number | string | null = null;
    void this.exited.then((how) => { gone = how; });
    while (!this.logs.some((l) => l.msg === 'proxy listening')) {
      if (gone !== null || Date.now() > deadline) {
        this.child.kill('SIGKILL');
        throw new Error(`metamorph proxy on port ${this.port} did not log "proxy listening" within ${timeoutMs} ms (${gone === null ? 'still running' : `exited: ${gone}`}); stderr: ${this.err.slice(-2000)}; stdout: ${JSON.stringify(this.logs.slice(-5))}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async kill9(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(timeoutMs = 20_000): Promise<number | string> {
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
    const how = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (how !== 'timeout') return how;
    await this.kill9();
    throw new Error(`metamorph proxy (pid ${this.pid}) did not exit within ${timeoutMs} ms of SIGTERM; killed`);
  }
}
