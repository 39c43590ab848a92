import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Replica } from '../provision/provider.js';

/**
 * In order: provision, accounts, migrate, replay (start following), verify (until a clean pass),
 * waiting (for the operator), switchover, switched (the new side serves; rollback possible),
 * then finished or aborted. A rollback goes back to verify with the old side serving.
 */
export const UPGRADE_PHASES = ['provision', 'accounts', 'migrate', 'replay', 'verify', 'waiting', 'switchover', 'switched', 'finished', 'aborted'] as const;
export type UpgradePhase = (typeof UPGRADE_PHASES)[number];

export type Direction = 'forward' | 'reverse';

/** One flip of the proxy: forward = to the new server, reverse = back to the old one (rollback). */
export interface FlipRecord { direction: Direction; seq: number; at: string; holdMs: number | null }

export interface VerificationSummary {
  /** The journal seq both sides were compared at. */
  seq: number;
  at: string;
  clean: boolean;
  differences: number;
  checked: { tables: number; chunks: number; rows: number; items: number };
  ms: number;
  /** 'full' pass of the verify loop, or 'scoped' inside a switchover hold. */
  kind: 'full' | 'scoped';
  repaired: number;
  pack: string;
}

export interface SwitchoverSummary {
  direction: Direction;
  ok: boolean;
  rehearsal: boolean;
  aborted: { step: string; reason: string } | null;
  holdMs: number;
  lockedSeq: number | null;
  steps: { name: string; ms: number }[];
  totalMs: number;
  at: string;
}

/**
 * Everything `metamorph upgrade` needs to resume after a kill: written atomically (tmp, fsync,
 * rename) at every transition. It holds the replica's DSN with its password, hence mode 0600.
 */
export interface UpgradeState {
  version: 1;
  /** Names this upgrade's replay consumers: another upgrade of the same servers never shares their positions. */
  id: string;
  phase: UpgradePhase;
  startedAt: string;
  /** Provision began: a kill before the replica was recorded may have left a half-made one. */
  provisionStarted: boolean;
  replica: Replica | null;
  /** Where the proxy sent queries before the upgrade: the rollback flip target (identity). */
  originalUpstream: { host: string; port: number } | null;
  accountsCopied: string[];
  cutSeq: number | null;
  copy: { rows: number; chunks: number; items: number; keptChunks: number; holdMs: number | null };
  flips: FlipRecord[];
  /** Which server the proxy serves from. */
  active: 'old' | 'new';
  /** A switchover was started and not yet recorded as done or not (a kill mid-switchover). */
  pendingSwitchover: { direction: Direction; target: { host: string; port: number }; at: string } | null;
  /** Both sides were found equal through this seq (a full pass or a switchover's scoped check). */
  verifiedThroughSeq: number | null;
  lastVerification: VerificationSummary | null;
  /** When the last clean full pass began (before its snapshots): writes the proxy lost in a crash are found only by one. */
  lastCleanFullPassAt?: string;
  verifications: number;
  switchovers: SwitchoverSummary[];
  /** Summed over runs, per phase. */
  phaseMs: Record<string, number>;
  statementsReplayed: number;
  peakLagSeconds: number;
  /** The last failure that ended a run, for status. */
  lastError: string | null;
}

export function initialState(): UpgradeState {
  return {
    version: 1, id: randomBytes(4).toString('hex'), phase: 'provision', startedAt: new Date().toISOString(), provisionStarted: false, replica: null, originalUpstream: null,
    accountsCopied: [], cutSeq: null, copy: { rows: 0, chunks: 0, items: 0, keptChunks: 0, holdMs: null }, flips: [], active: 'old',
    pendingSwitchover: null, verifiedThroughSeq: null, lastVerification: null, verifications: 0, switchovers: [], phaseMs: {},
    statementsReplayed: 0, peakLagSeconds: 0, lastError: null,
  };
}

export class StateError extends Error {
  readonly code = 'UPGRADE_STATE_INVALID';
}

/** state.json in the upgrade's state directory. */
export class StateFile {
  readonly path: string;

  constructor(readonly dir: string) {
    this.path = join(dir, 'state.json');
  }

  /** The saved state, or null when this upgrade has not started yet. */
  load(): UpgradeState | null {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    let state: UpgradeState;
    try {
      state = JSON.parse(text) as UpgradeState;
    } catch (err) {
      throw new StateError(`${this.path} is not JSON (${(err as Error).message}): it is written by rename, so something else wrote it; restore it or remove the state directory to start over`);
    }
    if (state.version !== 1) throw new StateError(`${this.path} has version ${String(state.version)}, this metamorph reads version 1`);
    return { ...initialState(), ...state };
  }

  /** tmp + fsync + rename + fsync of the directory: after a crash the file is the old one or the new one, whole. */
  save(state: UpgradeState): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `.state.${process.pid}.tmp`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(state, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }
}
