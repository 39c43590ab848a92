import { performance } from 'node:perf_hooks';
import type { ConnectionOptions } from 'mysql2/promise';
import { AdminConnection } from '../admin/admin-client.js';
import { causeText, MigrateError } from './migrate-errors.js';
import { SourceSession } from './source-session.js';

/** A source connection that can open its snapshot at the cut. */
export interface SnapshotSession {
  beginSnapshot(): Promise<void>;
  close(): Promise<void>;
  destroy(): void;
}

export interface CutOptions<S extends SnapshotSession = SourceSession> {
  /** The proxy's admin socket. */
  adminSocket: string;
  /** The source database itself (not the proxy). */
  source: ConnectionOptions;
  /** Snapshot sessions to open: one per copy worker. */
  sessions: number;
  /** How long the proxy may wait for writing transactions to end (its `lock` timeout). */
  lockTimeoutMs: number;
  /** Opens one snapshot session (default: a raw-bytes SourceSession on `source`). */
  open?: () => Promise<S>;
}

export interface Cut<S extends SnapshotSession = SourceSession> {
  /** Journal seq of the quiesced state; every session's snapshot is the source at exactly this seq. */
  seq: number;
  /** Writes were held this long: `lock` sent -> `unlock` acknowledged. */
  holdMs: number;
  /** Of which the proxy waited for writing transactions to end. */
  lockWaitMs: number;
  sessions: S[];
}

interface LockReply {
  ok: boolean;
  seq?: number;
  waitedMs?: number;
  error?: string;
  blockers?: { id: number; user: string; host: string; writingSeconds: number | null; lastStatement: string }[];
}

/**
 * The consistent cut: the proxy's write gate holds new writes until none is in flight (`lock`
 * answers with the journal seq of that state), the copy sessions open their snapshots on the
 * source directly (START TRANSACTION WITH CONSISTENT SNAPSHOT, all in parallel), then `unlock`.
 * No write commits between lock and unlock, so every snapshot is the source at exactly `seq`:
 * replay from seq + 1 has neither gap nor overlap. No FLUSH TABLES WITH READ LOCK, no table
 * locks; the sessions connect before the lock, so the hold is a few round trips.
 */
export async function takeCut<S extends SnapshotSession = SourceSession>(opts: CutOptions<S>): Promise<Cut<S>> {
  const open = opts.open ?? (() => SourceSession.open(opts.source) as Promise<SnapshotSession> as Promise<S>);
  const sessions = await Promise.all(Array.from({ length: opts.sessions }, open)).catch((err: unknown) => {
    throw new MigrateError('MIGRATE_SOURCE_FAILED', `cannot open ${opts.sessions} connections to the source ${opts.source.host}:${opts.source.port}: ${causeText(err)}`, { cause: err });
  });
  const closeAll = () => sessions.forEach((s) => s.destroy());
  const started = performance.now();
  let lock: LockReply;
  // A lease: if this process dies between lock and unlock, the proxy unlocks by itself.
  let admin: AdminConnection;
  try {
    admin = await AdminConnection.open(opts.adminSocket);
    lock = (await admin.request(`lock ${opts.lockTimeoutMs} lease`, opts.lockTimeoutMs + 10_000)) as unknown as LockReply;
  } catch (err) {
    closeAll();
    throw new MigrateError('MIGRATE_LOCK_FAILED', `cannot lock the proxy's write gate: ${causeText(err)}`, { cause: err });
  }
  if (!lock.ok || typeof lock.seq !== 'number') {
    admin.close();
    closeAll();
    throw new MigrateError('MIGRATE_LOCK_FAILED', `the proxy's write gate did not lock: ${lock.error ?? JSON.stringify(lock)}${blockersText(lock)}; ` +
      'let those transactions finish (or end them) and run migrate again, or raise --lock-timeout');
  }
  let snapshotError: unknown = null;
  try {
    await Promise.all(sessions.map((s) => s.beginSnapshot()));
  } catch (err) {
    snapshotError = err;
  }
  let unlock: Record<string, unknown>;
  try {
    unlock = await admin.request('unlock', 10_000);
  } catch (err) {
    unlock = { ok: false, error: causeText(err) };
  } finally {
    admin.close();
  }
  const holdMs = performance.now() - started;
  if (unlock.ok !== true) {
    closeAll();
    throw new MigrateError('MIGRATE_UNLOCK_FAILED', `the write gate was locked for the cut and unlocking it failed (${String(unlock.error)}); ` +
      `writes are held: run \`metamorph admin unlock\` against ${opts.adminSocket} now`);
  }
  if (snapshotError) {
    closeAll();
    throw new MigrateError('MIGRATE_SOURCE_FAILED', `opening the snapshots on the source failed (the gate is unlocked again): ${causeText(snapshotError)}`, { cause: snapshotError });
  }
  return { seq: lock.seq, holdMs, lockWaitMs: lock.waitedMs ?? 0, sessions };
}

function blockersText(lock: LockReply): string {
  if (!lock.blockers || lock.blockers.length === 0) return '';
  const list = lock.blockers.map((b) => `connection ${b.id} (${b.user}@${b.host}, writing for ${b.writingSeconds ?? '?'} s, last statement: ${b.lastStatement.slice(0, 100)})`);
  return `; still writing: ${list.join('; ')}`;
}
