// The fault suite's seeded randomness: one seed (CM_FAULT_SEED, else a fresh one) drives every kill
// point and every generated change, so a failing run can be replayed. No test imports here, so the
// global setup can use it too.
import { createHash, randomInt } from 'node:crypto';

/** The suite's seed: CM_FAULT_SEED, or a fresh one. Printed by every file so a failure can be replayed. */
export function faultSeed(): number {
  const fromEnv = process.env.CM_FAULT_SEED;
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 0) throw new Error(`CM_FAULT_SEED must be a non-negative integer, not '${fromEnv}'`);
    return n;
  }
  return randomInt(1, 2 ** 31 - 1);
}

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  /** Uniform real in [lo, hi). */
  between(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

/** mulberry32, keyed by the seed and a label (so each file draws its own stream from one seed). */
export function seededRng(seed: number, label: string): Rng {
  let a = (seed ^ createHash('sha256').update(label).digest().readUInt32LE(0)) >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    between: (lo, hi) => lo + next() * (hi - lo),
    pick: (items) => items[Math.floor(next() * items.length)],
    chance: (p) => next() < p,
  };
}

/** Prints the seed where a CI log shows it, with the line that replays it. */
export function announceSeed(file: string, seed: number): void {
  process.stderr.write(`[faults] ${file}: seed ${seed} (replay with CM_FAULT_SEED=${seed} npm run test:faults)\n`);
}

