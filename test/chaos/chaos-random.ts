/**
 * Seeded randomness for chaos tests: the same seed gives the same delays, so a failing run can be
 * repeated with CHAOS_SEED=<seed printed in its log>.
 */
export interface ChaosRandom {
  seed: number;
  /** A uniform integer in [min, max]. */
  between(min: number, max: number): number;
}

export function chaosRandom(defaultSeed: number): ChaosRandom {
  const seed = Number(process.env.CHAOS_SEED ?? defaultSeed) >>> 0;
  let s = seed;
  // mulberry32
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { seed, between: (min, max) => min + Math.floor(next() * (max - min + 1)) };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
