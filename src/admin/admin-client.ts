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
