import { createServer } from 'node:net';

// The port is free when this resolves but nothing reserves it: callers that bind it later
// must handle losing the race (startMariaDB retries on EADDRINUSE).
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('listen on 127.0.0.1:0 returned no port'))));
    });
  });
}
