import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type net from 'node:net';
import mysql from 'mysql2/promise';
import { frame } from '../../src/protocol/frame.js';
import { FakeUpstream } from '../harness/fake-upstream.js';
import { freePort } from '../harness/ports.js';
import { startProxyProcess, type ProxyProcess } from '../harness/proxy-process.js';
import { loadFixtures } from './fixtures.mjs';

// Replays, against the proxy as operators run it (dist/cli.js, `npm run build` first), server
// answers the fuzzers found to crash it, so that a crash is seen as what it is: the process
// dies and every client with it. Each answer comes after a normal greeting and login.

const GREETING = loadFixtures().server.handshake.find((p: Buffer) => p[0] === 0x0a)!;
const LOGIN_OK = Buffer.from([0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]);

let fake: FakeUpstream;
let proxy: ProxyProcess;
let dir: string;

/** Greets, accepts the login, then answers the first command with `answer` (whole frames, seq 1). */
function serverAnswering(answer: Buffer): (s: net.Socket) => void {
  return (s) => {
    s.write(Buffer.concat(frame(0, GREETING).buffers));
    let packets = 0;
    s.on('data', () => {
      packets++;
      s.write(packets === 1 ? Buffer.concat(frame(2, LOGIN_OK).buffers) : answer);
    });
  };
}

beforeAll(async () => {
  dir = mkdtempSync('/dev/shm/metamorph-fuzz-crash-');
  fake = await FakeUpstream.start(); // every connection is scripted: nothing is relayed
  proxy = await startProxyProcess({
    port: await freePort(), upstreamPort: fake.port, journalDir: join(dir, 'journal'),
    config: { admin: { socket: join(dir, 'admin.sock') }, shutdown: { drainMs: 500 } },
  });
});

afterAll(async () => {
  await proxy?.stop().catch(() => undefined);
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ANSWERS = [
  // ResponseTracker.columnCount formats p[0] of an empty payload: TypeError, rethrown by
  // Session.protocolFailure from the upstream socket's 'data' handler.
  { name: 'an empty packet as the first packet of a query result', bytes: Buffer.from([0x00, 0x00, 0x00, 0x01]) },
];

describe('server answers that once crashed the proxy', () => {
  it.each(ANSWERS)('$name: that client gets an error, the proxy keeps serving', async ({ bytes }) => {
    fake.next(serverAnswering(bytes));
    const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'fuzz' });
    await expect(c.query('SELECT 1')).rejects.toThrow();
    c.destroy();
    await new Promise((r) => setTimeout(r, 300));
    // Still alive: a second client is greeted and logged in (through a well-behaved script).
    fake.next(serverAnswering(Buffer.concat(frame(1, Buffer.from([0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00])).buffers)));
    const again = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'fuzz', connectTimeout: 3000 })
      .catch((e: Error) => { throw new Error(`the proxy no longer serves (${e.message}); its stderr:\n${proxy.stderr().slice(0, 2000)}`); });
    await again.query('DO 1');
    again.destroy();
  });
});
