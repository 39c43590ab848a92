import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { requireBinary } from '../harness/require-binaries.js';

export interface PhpWebServer {
  url: string;
  pid: number;
  /** php -S's own log (one line per request, PHP warnings). */
  log(): string;
  /** SIGTERM to the whole process group, SIGKILL after 5 s; resolves once the parent is gone. */
  stop(): Promise<void>;
}

export interface PhpWebServerOptions {
  /** The port the wiki's $wgServer names. */
  port: number;
  docroot: string;
  /** MW_CONFIG_FILE: where LocalSettings.php is. */
  configFile: string;
  workers: number;
  logFile: string;
}

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5000;

/**
 * `php -S` with PHP_CLI_SERVER_WORKERS. SIGTERM to the parent alone orphans the workers (they
 * keep listening), so it runs in its own session (detached = setsid) and is stopped by process group.
 */
export async function startPhpWebServer(o: PhpWebServerOptions): Promise<PhpWebServer> {
  const port = o.port;
  const out = openSync(o.logFile, 'a');
  const child = spawn(requireBinary('php'), ['-S', `127.0.0.1:${port}`, '-t', o.docroot], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, PHP_CLI_SERVER_WORKERS: String(o.workers), MW_CONFIG_FILE: o.configFile },
  });
  closeSync(out);
  const pid = child.pid as number;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const server: PhpWebServer = {
    url: `http://127.0.0.1:${port}`,
    pid,
    log: () => readFileSync(o.logFile, 'utf8'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signalGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
      signalGroup(pid, 'SIGKILL'); // workers that outlive their parent
    },
  };
  try {
    await untilAnswers(`${server.url}/api.php?action=query&meta=siteinfo&format=json`, () => child.exitCode !== null);
  } catch (err) {
    await server.stop();
    throw Object.assign(new Error(`php -S on port ${port} did not come up: ${(err as Error).message}\n${server.log().slice(-3000)}`), { code: 'PHP_SERVER_START_FAILED' });
  }
  return server;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

async function untilAnswers(url: string, died: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (died()) throw new Error('php exited');
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no HTTP 200 from ${url} within ${READY_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
