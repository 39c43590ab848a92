import type net from 'node:net';

const MAX_LINE = 4096;

/**
 * The operator line protocol on one connection: each line is a command, each answer one JSON
 * line, in command order even when an answer takes a while (a `lock` waits for quiescence).
 */
export function serveLines(socket: net.Socket, answer: (line: string) => Promise<Record<string, unknown>> | Record<string, unknown>): void {
  let buf = '';
  let chain = Promise.resolve();
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    buf += chunk;
    if (buf.length > MAX_LINE && !buf.includes('\n')) {
      socket.end(`${JSON.stringify({ ok: false, error: `line longer than ${MAX_LINE} bytes` })}\n`);
      return;
    }
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (!line.trim()) continue;
      chain = chain.then(async () => {
        const reply = await answer(line);
        if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
      });
    }
  });
}
