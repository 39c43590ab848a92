// A seeded PRNG, so that any failing input can be produced again from its seed.

/** mulberry32: small, fast, good enough to spread mutations. Returns floats in [0, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export function int(rand, n) {
  return Math.floor(rand() * n);
}

export function pick(rand, items) {
  return items[int(rand, items.length)];
}

/** The seed of the i-th case of a run: each case can be replayed alone. */
export function caseSeed(runSeed, i) {
  return (Math.imul(runSeed >>> 0, 0x9e3779b1) + Math.imul(i + 1, 0x85ebca6b)) >>> 0;
}
