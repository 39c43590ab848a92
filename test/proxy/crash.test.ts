import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JournalReader } from '../../src/journal/journal-reader.js';
import type { JournalEntry } from '../../src/journal/record.js';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { freePort } from '../harness/ports.js';
import { runCli, startProxyProcess, type ProxyProcess } from '../harness/proxy-process.js';
import { journaledIdCounts, WriteLoad, writeLoadTableSql } from '../harness/write-load.js';

const CYCLES = 5;
const WORKERS = 6;

let db: MariaDB;
let dir: string;
let proxy: ProxyProcess | null = null;

beforeAll(async () => {
  db = await startMariaDB({ name: 'crash' });
  await db.query(`CREATE DATABASE t; ${writeLoadTableSql('t.w')}`);
  dir = mkdtempSync('/dev/shm/metamorph-crash-');
});

afterAll(async () => {
  await proxy?.kill9();
  await db?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function readJournal(journalDir: string): Promise<JournalEntry[]> {
  const out: JournalEntry[] = [];
  for await (const e of new JournalReader(journalDir).entries()) out.push(e);
  return out;
}

it(`kill -9 of the proxy under write load, ${CYCLES} times: journal verify passes and every acknowledged write is journaled once`, async () => {
  const journalDir = join(dir, 'journal');
  const port = await freePort();
  // Small segments: the load rolls over to new ones many times, so kills also land around a roll.
  const config = { journal: { segmentBytes: 64 * 1024 } };
  const start = () => startProxyProcess({ port, upstreamPort: db.port, journalDir, config });
  proxy = await start();
  const load = WriteLoad.start({ port, database: 't', table: 'w', workers: WORKERS });

  for (let cycle = 0; cycle < CYCLES; cycle++) {
    await load.untilAcked(20); // the load is flowing through this proxy process
    await sleep(800 + Math.random() * 700);
    await proxy.kill9();
    proxy = await start();
  }
  await load.untilAcked(20); // and through the last one
  const result = await load.stop();
  expect(await proxy.stop()).toBe(0);
  proxy = null;

  // Each kill cut writes in flight: the clients saw it.
  expect(result.errors.length).toBeGreaterThanOrEqual(CYCLES);

  const verify = await runCli(['journal', 'verify', '--dir', journalDir]);
  expect(verify.stdout + verify.stderr).toMatch(/^ok:/m);
  expect(verify.code).toBe(0);
  expect(Number(/(\d+) segment\(s\)/.exec(verify.stdout)?.[1])).toBeGreaterThan(CYCLES);

  const counts = journaledIdCounts(await readJournal(journalDir));
  const missing = result.acked.filter((id) => !counts.has(id));
  expect(missing, 'acknowledged but not journaled').toEqual([]);
  const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  expect(twice, 'journaled more than once').toEqual([]);

  const onServer = new Set(((await db.query('SELECT id FROM t.w')) as { id: number }[]).map((r) => Number(r.id)));
  const notCommitted = [...counts.keys()].filter((id) => !onServer.has(id));
  expect(notCommitted, 'journaled but not on the server').toEqual([]);
  // Writes whose answer was lost may or may not have committed; no acknowledged one is lost.
  expect(result.acked.filter((id) => !onServer.has(id))).toEqual([]);
  expect(result.acked.length).toBeGreaterThan(CYCLES * 20);
}, 60_000);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
