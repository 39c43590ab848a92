import type { ConnectionOptions } from 'mysql2/promise';
import { AdminConnection } from '../admin/admin-client.js';
import type { ReplayEngine } from '../apply/replay-engine.js';
import { APPLIED_TABLE } from '../apply/replay-schema.js';
import { TargetSession } from '../apply/target-session.js';
import type { SqlRunner } from '../translate/pack.js';
import { VerifyError } from './verify-error.js';

export interface AlignedSnapshotOptions {
  /** The proxy's admin socket. */
  adminSocket: string;
  /** The source database itself (not the proxy). */
  source: ConnectionOptions;
  target: ConnectionOptions;
  /**
   * The replayer feeding the target, in this process: it is paused at the source snapshot's seq
   * while the target snapshot opens. Without it the target snapshot opens once the consumer's
   * stored position has reached that seq, and may be later (see targetSeq).
   */
  engine?: ReplayEngine;
  /** Without engine: whose position in metamorph_replay.applied to wait for (default 'replay'). */
  consumer?: string;
  /** How long the proxy may wait for writing transactions (its `lock` timeout; default 5000). */
  lockTimeoutMs?: number;
  /** How long the target may take to reach the seq (default 60000). */
  catchUpTimeoutMs?: number;
}

export interface AlignedSnapshots {
  /** Journal seq the source snapshot shows. */
  seq: number;
  /** Journal seq the target snapshot shows: seq with an engine, else >= seq. */
  targetSeq: number;
  source: SqlRunner;
  target: SqlRunner;
  close(): Promise<void>;
}

const POLL_MS = 25;

/**
 * Consistent snapshots of both sides at the same journal seq: the proxy's gate holds writes for
 * a moment (`lock ... lease`: it unlocks by itself should this process die) while the source
 * snapshot opens, which then is the source at exactly the locked seq; the replayer is paused at
 * that seq while the target snapshot opens. Unlocks and resumes whatever fails.
 */
export async function openAlignedSnapshots(o: AlignedSnapshotOptions): Promise<AlignedSnapshots> {
  const [source, target] = await Promise.all([openSession(o.source, 'source'), openSession(o.target, 'target')]);
  try {
    const { seq, reached } = await snapshotSourceAtLock(o, source);
    let targetSeq = seq;
    try {
      if (reached) await reached;
      else await waitForPosition(target, o.consumer ?? 'replay', seq, o.catchUpTimeoutMs ?? 60_000);
      await target.exec('START TRANSACTION WITH CONSISTENT SNAPSHOT');
      if (!o.engine) targetSeq = (await storedPosition(target, o.consumer ?? 'replay')) ?? seq;
    } finally {
      o.engine?.resume();
    }
    const close = async () => {
      await Promise.all([source.close(), target.close()]);
    };
    return { seq, targetSeq, source, target, close };
  } catch (err) {
    await Promise.all([source.close(), target.close()]);
    throw err;
  }
}

/** A REPEATABLE READ session with its consistent snapshot open. */
export async function openSnapshot(opts: ConnectionOptions, side: 'source' | 'target'): Promise<TargetSession> {
  const s = await openSession(opts, side);
  try {
    await s.exec('START TRANSACTION WITH CONSISTENT SNAPSHOT');
  } catch (err) {
    await s.close();
    throw err;
  }
  return s;
}

async function openSession(opts: ConnectionOptions, side: 'source' | 'target'): Promise<TargetSession> {
  const s = await TargetSession.open(opts).catch((err: Error) => {
    throw new VerifyError('VERIFY_CONNECT_FAILED', `cannot connect to the ${side} ${opts.host ?? 'localhost'}:${opts.port ?? 3306} as ${opts.user ?? '(no user)'}: ${err.message}`, { cause: err });
  });
  try {
    await s.exec('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  } catch (err) {
    await s.close();
    throw err;
  }
  return s;
}

/** Lock, open the source snapshot (and pause the engine at the seq, before the journal can pass it), unlock. */
async function snapshotSourceAtLock(o: AlignedSnapshotOptions, source: TargetSession): Promise<{ seq: number; reached: Promise<void> | null }> {
  const timeout = o.lockTimeoutMs ?? 5000;
  const admin = await AdminConnection.open(o.adminSocket).catch((err: Error) => {
    throw new VerifyError('VERIFY_LOCK_FAILED', err.message, { cause: err });
  });
  try {
    const lock = await admin.request(`lock ${timeout} lease`, timeout + 10_000).catch((err: Error) => ({ ok: false, error: err.message }) as Record<string, unknown>);
    if (lock.ok !== true || typeof lock.seq !== 'number') {
      throw new VerifyError('VERIFY_LOCK_FAILED', `the proxy's write gate did not lock: ${String(lock.error ?? JSON.stringify(lock))}${blockersText(lock.blockers)}; ` +
        'let those transactions finish and verify again, or raise the lock timeout');
    }
    const seq = lock.seq;
    let failure: unknown = null;
    let reached: Promise<void> | null = null;
    try {
      await source.exec('START TRANSACTION WITH CONSISTENT SNAPSHOT');
      reached = o.engine ? o.engine.pauseAt(seq) : null;
      reached?.catch(() => {}); // awaited by the caller
    } catch (err) {
      failure = err;
    }
    const unlock = await admin.request('unlock', 10_000).catch((err: Error) => ({ ok: false, error: err.message }) as Record<string, unknown>);
    if (unlock.ok !== true || failure) o.engine?.resume();
    if (unlock.ok !== true) {
      throw new VerifyError('VERIFY_UNLOCK_FAILED', `the write gate was locked for a verification snapshot and unlocking it failed (${String(unlock.error)}); ` +
        `writes may be held: run \`metamorph admin unlock\` against ${o.adminSocket} now`);
    }
    if (failure) throw failure;
    return { seq, reached };
  } finally {
    admin.close();
  }
}

function blockersText(blockers: unknown): string {
  if (!Array.isArray(blockers) || blockers.length === 0) return '';
  const list = (blockers as { id?: number; user?: string; host?: string; lastStatement?: string }[])
    .map((b) => `connection ${b.id ?? '?'} (${b.user ?? '?'}@${b.host ?? '?'}, last statement: ${String(b.lastStatement ?? '').slice(0, 100)})`);
  return `; still writing: ${list.join('; ')}`;
}

async function storedPosition(target: SqlRunner, consumer: string): Promise<number | null> {
  const rows = await target.query<{ seq: unknown }>(`SELECT seq FROM ${APPLIED_TABLE} WHERE consumer = ?`, [consumer]).catch((err: { errno?: number }) => {
    if (err.errno === 1146 || err.errno === 1049) return []; // no replay has run against this target yet
    throw err;
  });
  return rows.length === 0 ? null : Number(rows[0].seq);
}

async function waitForPosition(target: SqlRunner, consumer: string, seq: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = await storedPosition(target, consumer);
    if (at !== null && at >= seq) return;
    if (Date.now() > deadline) {
      throw new VerifyError('VERIFY_NOT_ALIGNED', `the target's replay position for consumer "${consumer}" is ${at ?? 'missing'} and did not reach the source snapshot's seq ${seq} within ${timeoutMs} ms; ` +
        'is the replayer running (metamorph replay --follow), and is --consumer its --name?');
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
