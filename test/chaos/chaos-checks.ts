import { ReplayEngine, type ReplaySummary } from '../../src/apply/replay-engine.js';
import { TargetSession } from '../../src/apply/target-session.js';
import { JournalReader } from '../../src/journal/journal-reader.js';
import type { JournalEntry } from '../../src/journal/record.js';
import { identityPack } from '../../src/translate/identity.js';
import { verifyData, type VerifyReport } from '../../src/verify/verify.js';
import type { MariaDB } from '../harness/mariadb.js';
import mysql from 'mysql2/promise';
import { insertedId, writeLoadTableSql } from '../harness/write-load.js';
import { runCli } from '../harness/proxy-process.js';

/** Database t and its write-load table t.w, made through the proxy on `port` (so journaled too). */
export async function createLoadTable(port: number): Promise<void> {
  const setup = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root' });
  try {
    await setup.query('CREATE DATABASE t');
    await setup.query(writeLoadTableSql('t.w'));
  } finally {
    await setup.end();
  }
}

export async function readJournal(journalDir: string): Promise<JournalEntry[]> {
  const out: JournalEntry[] = [];
  for await (const e of new JournalReader(journalDir).entries()) out.push(e);
  return out;
}

/** `metamorph journal verify --dir D`, as an operator runs it: its output when it passes. */
export async function journalVerify(journalDir: string): Promise<string> {
  const r = await runCli(['journal', 'verify', '--dir', journalDir]);
  if (r.code !== 0 || !/^ok:/m.test(r.stdout)) throw new Error(`journal verify failed (exit ${r.code}): ${r.stdout}${r.stderr}`);
  return r.stdout.trim();
}

/** Applies the whole journal to `target` with the identity pack (the target's position says where to start). */
export async function replayAll(journalDir: string, target: MariaDB): Promise<ReplaySummary> {
  const engine = new ReplayEngine({ journalDir, target: { host: '127.0.0.1', port: target.port, user: 'root' }, pack: identityPack });
  await engine.start();
  return engine.finished();
}

export async function idsOn(server: MariaDB, table: string): Promise<Set<number>> {
  const rows = (await server.query(`SELECT id FROM ${table}`)) as { id: number | string }[];
  return new Set(rows.map((r) => Number(r.id)));
}

/** Sorted, for readable failures. */
export function without(ids: Iterable<number>, present: Set<number> | Map<number, unknown>): number[] {
  return [...ids].filter((id) => !present.has(id)).sort((a, b) => a - b);
}

/**
 * Journaled transactions that are not whole: the loads here write one INSERT (autocommit) or
 * INSERTs of ids N and N+1 in one transaction, so anything else is half a transaction. Also
 * checks the `last` flag is on exactly the last record. Returns readable descriptions.
 */
export function partialTransactions(entries: JournalEntry[]): string[] {
  const txns = new Map<number, JournalEntry[]>();
  for (const e of entries) txns.set(e.txn, [...(txns.get(e.txn) ?? []), e]);
  const bad: string[] = [];
  for (const [txn, records] of txns) {
    const ids = records.map(insertedId);
    if (ids.some((id) => id === null)) continue; // the setup's DDL
    const whole = ids.length === 1 || (ids.length === 2 && ids[1] === ids[0]! + 1);
    const flags = records.every((r, i) => r.last === (i === records.length - 1));
    if (!whole || !flags) bad.push(`txn ${txn}: ${records.map((r) => `${r.sql.toString('utf8')} (last=${r.last})`).join('; ')}`);
  }
  return bad;
}

/** `metamorph verify`'s identity comparison of `databases` (quiet servers: no snapshot needed). */
export async function verifyIdentity(source: MariaDB, target: MariaDB, databases: string[]): Promise<VerifyReport> {
  const open = (s: MariaDB) => TargetSession.open({ host: '127.0.0.1', port: s.port, user: 'root' });
  const [s, t] = [await open(source), await open(target)];
  try {
    return await verifyData({ pack: identityPack, source: s, target: t, databases, maxDifferences: 100_000 });
  } finally {
    await Promise.all([s.close(), t.close()]);
  }
}
