import net from 'node:net';

/** Sends one command line to an admin socket and resolves to its JSON reply. */
export function adminRequest(socketPath: string, line: string, timeoutMs = 120_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no reply from ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding('utf8');
    s.once('connect', () => s.write(`${line}\n`));
    s.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      s.end();
      try {
        resolve(JSON.parse(buf.slice(0, nl)));
      } catch (e) {
        reject(new Error(`admin reply is not JSON: ${(e as Error).message}`));
      }
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(`cannot reach the admin socket ${socketPath} (${e.code ?? e.message}): is the proxy running, and is this its admin.socket?`));
    });
  });
}

/**
 * Several requests over one admin connection, answered in order. A `lock … lease` belongs to the
 * connection that took it: closing it (or the process dying) unlocks the gate.
 */
export class AdminConnection {
  private buf = '';
  private readonly waiting: { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void; timer: NodeJS.Timeout | null }[] = [];
  private failure: Error | null = null;

  private constructor(private readonly socket: net.Socket, private readonly path: string) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => this.onData(d));
    socket.on('error', (e) => this.fail(new Error(`admin connection to ${path} failed: ${e.message}`)));
    socket.on('close', () => this.fail(new Error(`admin connection to ${path} closed`)));
  }

  static open(socketPath: string, timeoutMs = 10_000): Promise<AdminConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect(socketPath);
      const timer = setTimeout(() => { s.destroy(); reject(new Error(`cannot reach the admin socket ${socketPath} within ${timeoutMs} ms`)); }, timeoutMs);
      s.once('connect', () => { clearTimeout(timer); s.removeAllListeners('error'); resolve(new AdminConnection(s, socketPath)); });
      s.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new Error(`cannot reach the admin socket ${socketPath} (${e.code ?? e.message}): is the proxy running, and is this its admin.socket?`));
      });
    });
  }

  /** Resolves to the JSON reply (`ok: false` is a reply, not a rejection); rejects when the connection fails. */
  request(line: string, timeoutMs = 120_000): Promise<Record<string, unknown>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const w = { resolve, reject, timer: null as NodeJS.Timeout | null };
      w.timer = setTimeout(() => this.fail(new Error(`no reply to "${line.split(/\s+/)[0]}" from ${this.path} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push(w);
      this.socket.write(`${line}\n`);
    });
  }

  close(): void {
    this.socket.end();
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const text = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const w = this.waiting.shift();
      if (!w) continue;
      if (w.timer) clearTimeout(w.timer);
      try {
        w.resolve(JSON.parse(text));
      } catch (e) {
        w.reject(new Error(`admin reply is not JSON: ${(e as Error).message}`));
      }
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.splice(0)) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(e);
    }
    this.socket.destroy();
  }
}
