import net from 'node:net';

export type Reply = Record<string, any>;

/**
 * A raw connection to the admin line protocol (Unix socket path or loopback TCP): write any
 * text, read the JSON reply lines in the order they arrive.
 */
export class AdminLines {
  private buf = '';
  private readonly replies: Reply[] = [];
  private waiter: (() => void) | null = null;
  private closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        this.replies.push(JSON.parse(this.buf.slice(0, nl)) as Reply);
        this.buf = this.buf.slice(nl + 1);
      }
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  static open(where: string | { host: string; port: number }): Promise<AdminLines> {
    return new Promise((resolve, reject) => {
      const s = typeof where === 'string' ? net.connect(where) : net.connect(where.port, where.host);
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        s.on('error', () => undefined); // a reset after the test is done with it is not a failure
        resolve(new AdminLines(s));
      });
    });
  }

  /** Writes `text` as is (several lines, half a line...). */
  write(text: string): void {
    this.socket.write(text);
  }

  /** The next `n` replies; fails when they do not all come within `timeoutMs`. */
  async next(n = 1, timeoutMs = 10_000): Promise<Reply[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length < n) {
      if (this.closed) throw new Error(`admin connection closed after ${this.replies.length} of ${n} replies`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`got ${this.replies.length} of ${n} admin replies within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => { clearTimeout(t); r(); };
      });
      this.waiter = null;
    }
    return this.replies.splice(0, n);
  }

  /** Sends one command line and resolves to its reply. */
  async send(line: string, timeoutMs?: number): Promise<Reply> {
    this.write(`${line}\n`);
    return (await this.next(1, timeoutMs))[0];
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One command on a fresh connection. */
export async function adminOnce(where: string | { host: string; port: number }, line: string): Promise<Reply> {
  const c = await AdminLines.open(where);
  try {
    return await c.send(line);
  } finally {
    c.close();
  }
}
