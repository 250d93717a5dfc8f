// Deterministic PRNG (mulberry32) for reproducible sample data: same seed -> same sequence.
// Dates are computed in UTC and returned as strings so the host time zone never leaks in.

export interface Rng {
  /** Float in [0, 1). */
  next(): number;
  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
  /** Exact decimal string with `scale` fractional digits; integer part in [minInt, maxInt]. */
  decimal(minInt: number, maxInt: number, scale: number): string;
  /** 'YYYY-MM-DD' uniformly within [fromYear-01-01, toYear-12-31]. */
  date(fromYear: number, toYear: number): string;
  /** 'YYYY-MM-DD HH:MM:SS.mmm' uniformly within the years. */
  datetime(fromYear: number, toYear: number): string;
  bytes(length: number): Buffer;
}

/** 32-bit FNV-1a over the UTF-8 bytes; used to derive independent per-table streams. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** RNG whose stream depends on the seed and every label (e.g. company, table). */
export function createRng(seed: number, ...labels: string[]): Rng {
  return mulberry32(hashString([String(seed), ...labels].join('\u0000')));
}

const MS_PER_DAY = 86_400_000;

export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const epochMs = (fromYear: number, toYear: number): number => {
    const start = Date.UTC(fromYear, 0, 1);
    const end = Date.UTC(toYear + 1, 0, 1);
    return start + Math.floor(next() * (end - start));
  };
  return {
    next,
    int,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new Error('pick() from an empty list');
      return items[int(0, items.length - 1)];
    },
    chance: (p) => next() < p,
    decimal: (minInt, maxInt, scale) => {
      // BigInt keeps all fractional digits exact (no float rounding).
      let frac = '';
      for (let i = 0; i < scale; i++) frac += String(int(0, 9));
      const pow = 10n ** BigInt(scale);
      const whole = BigInt(int(minInt, maxInt));
      let units = whole * pow + (scale > 0 ? BigInt(frac) : 0n);
      if (whole < 0n) units -= 2n * (scale > 0 ? BigInt(frac) : 0n); // keep the fraction on the same side as the sign
      const neg = units < 0n;
      const digits = (neg ? -units : units).toString().padStart(scale + 1, '0');
      const intPart = digits.slice(0, digits.length - scale);
      return (neg ? '-' : '') + intPart + (scale > 0 ? '.' + digits.slice(digits.length - scale) : '');
    },
    date: (fromYear, toYear) => {
      const start = Date.UTC(fromYear, 0, 1);
      const days = Math.round((Date.UTC(toYear + 1, 0, 1) - start) / MS_PER_DAY);
      return new Date(start + int(0, days - 1) * MS_PER_DAY).toISOString().slice(0, 10);
    },
    datetime: (fromYear, toYear) => formatDateTime(epochMs(fromYear, toYear)),
    bytes: (length) => {
      const buf = Buffer.alloc(length);
      for (let i = 0; i < length; i++) buf[i] = int(0, 255);
      return buf;
    },
  };
}

/** UTC epoch milliseconds -> MySQL DATETIME(3) literal. */
export function formatDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
}
