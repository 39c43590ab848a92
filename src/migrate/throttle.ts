import { setTimeout as sleep } from 'node:timers/promises';

/** 0 means no limit. */
export interface ThrottleLimits {
  rowsPerSec: number;
  threadsRunning: number;
  replayLagSeconds: number;
}

/** What the throttle watches; each probe runs only while its limit is set. */
export interface ThrottleProbes {
  /** The source's Threads_running. */
  threadsRunning(): Promise<number>;
  /** The slowest registered journal consumer's lag, in seconds. */
  replayLagSeconds(): Promise<number>;
}

export class StopRequested extends Error {
  readonly code = 'MIGRATE_STOPPED';
  constructor() {
    super('stop requested while the copy was paused or throttled');
  }
}

const PROBE_MS = 250;

/**
 * Paces the copy: workers call admit(rows) before each insert batch. It waits while an operator
 * paused the copy, while the source's Threads_running or the replay lag is above its limit, and
 * spaces batches so rows/s stays at the cap (a shared schedule: the cap holds across workers).
 * Limits change at runtime (the migrate admin socket).
 */
export class Throttle {
  readonly limits: ThrottleLimits;
  private paused = false;
  private stopping = false;
  /** Why admission is held now, from the last probe ('' when it is not). */
  private probeReason = '';
  private nextFreeAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private probing = false;
  private readonly waiters = new Set<() => void>();
  /** Last probed values, for status. */
  lastThreadsRunning: number | null = null;
  lastReplayLagSeconds: number | null = null;

  constructor(limits: Partial<ThrottleLimits>, private readonly probes: ThrottleProbes, private readonly onProbeError: (err: Error) => void = () => {}) {
    this.limits = { rowsPerSec: 0, threadsRunning: 0, replayLagSeconds: 0, ...limits };
  }

  start(): void {
    this.timer = setInterval(() => void this.probe(), PROBE_MS);
    this.timer.unref();
    void this.probe();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Admissions held by a pause or a limit give up (StopRequested); the rows/s cap no longer applies. */
  requestStop(): void {
    this.stopping = true;
    this.wakeAll();
  }

  set(name: keyof ThrottleLimits, value: number): void {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a number >= 0 (0: no limit), got ${value}`);
    this.limits[name] = value;
    if (name !== 'rowsPerSec') this.probeReason = ''; // re-judged at the next probe
    this.nextFreeAt = Math.min(this.nextFreeAt, Date.now());
    this.wakeAll();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wakeAll();
  }

  /** Why a batch would wait now; null when it would go. */
  heldBecause(): string | null {
    if (this.paused) return 'paused by the operator';
    return this.probeReason || null;
  }

  /** Resolves when a batch of `rows` may be written: its rows/s slot has come and nothing holds the copy. */
  async admit(rows: number): Promise<void> {
    const rate = this.limits.rowsPerSec;
    if (rate > 0) {
      const now = Date.now();
      const at = Math.max(now, this.nextFreeAt);
      this.nextFreeAt = at + (rows * 1000) / rate;
      // A stop finishes the chunks in hand at full speed rather than at the cap.
      while (!this.stopping && Date.now() < at) await sleep(Math.min(PROBE_MS, at - Date.now()));
    }
    while (this.heldBecause()) {
      if (this.stopping) throw new StopRequested();
      await new Promise<void>((resolve) => {
        this.waiters.add(resolve);
        setTimeout(resolve, PROBE_MS).unref();
      });
    }
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      const reasons: string[] = [];
      const { threadsRunning, replayLagSeconds } = this.limits;
      if (threadsRunning > 0) {
        const n = (this.lastThreadsRunning = await this.probes.threadsRunning());
        if (n > threadsRunning) reasons.push(`source Threads_running ${n} > ${threadsRunning}`);
      }
      if (replayLagSeconds > 0) {
        const lag = (this.lastReplayLagSeconds = await this.probes.replayLagSeconds());
        if (lag > replayLagSeconds) reasons.push(`replay lag ${lag.toFixed(1)} s > ${replayLagSeconds} s`);
      }
      this.probeReason = reasons.join(', ');
      if (!this.probeReason) this.wakeAll();
    } catch (err) {
      this.onProbeError(err as Error);
    } finally {
      this.probing = false;
    }
  }

  private wakeAll(): void {
    for (const w of this.waiters) w();
    this.waiters.clear();
  }
}
