// splitKeyRange lives in activities/index.ts; importing it pulls in mysql2 and @temporalio/activity, which is fine here.
import { splitKeyRange } from '../../activities/index';
import type { KeyRange } from '../../lib/types';

/** Checks the ranges are numbered, chained (each starts where the previous ends) and open at both ends. */
function checkContiguous(ranges: KeyRange[], lo: bigint, hi: bigint): void {
  expect(ranges.length).toBeGreaterThan(0);
  ranges.forEach((r, i) => expect(r.index).toBe(i));
  expect(ranges[0].after).toBeUndefined();
  expect(ranges[ranges.length - 1].upTo).toBeUndefined();
  for (let i = 1; i < ranges.length; i++) {
    expect(ranges[i].after).toBe(ranges[i - 1].upTo);
    expect(BigInt(ranges[i].after!)).toBeGreaterThanOrEqual(lo);
    expect(BigInt(ranges[i].after!)).toBeLessThan(hi);
  }
  for (const r of ranges) {
    if (r.after !== undefined && r.upTo !== undefined) expect(BigInt(r.upTo)).toBeGreaterThan(BigInt(r.after));
  }
}

/** Which range (index) a key falls in, with after < key <= upTo. */
function owner(ranges: KeyRange[], key: bigint): number[] {
  return ranges
    .filter((r) => (r.after === undefined || key > BigInt(r.after)) && (r.upTo === undefined || key <= BigInt(r.upTo)))
    .map((r) => r.index);
}

describe('splitKeyRange', () => {
  it('splits evenly divisible spans', () => {
    expect(splitKeyRange(1, 100, 4)).toEqual([
      { index: 0, after: undefined, upTo: '25' },
      { index: 1, after: '25', upTo: '50' },
      { index: 2, after: '50', upTo: '75' },
      { index: 3, after: '75', upTo: undefined },
    ]);
  });

  it('rounds the width up, so the last range is the short one', () => {
    expect(splitKeyRange(1, 10, 3)).toEqual([
      { index: 0, after: undefined, upTo: '4' },
      { index: 1, after: '4', upTo: '8' },
      { index: 2, after: '8', upTo: undefined },
    ]);
  });

  it('stops early when fewer ranges cover the span', () => {
    // width ceil(9/4) = 3: (..3] (3..6] (6..) — three ranges, not four
    expect(splitKeyRange(1, 9, 4)).toEqual([
      { index: 0, after: undefined, upTo: '3' },
      { index: 1, after: '3', upTo: '6' },
      { index: 2, after: '6', upTo: undefined },
    ]);
  });

  it('gives one range per key at most when n is larger than the span', () => {
    expect(splitKeyRange(5, 7, 10)).toEqual([
      { index: 0, after: undefined, upTo: '5' },
      { index: 1, after: '5', upTo: '6' },
      { index: 2, after: '6', upTo: undefined },
    ]);
  });

  it('gives one open range when lo equals hi', () => {
    expect(splitKeyRange(42, 42, 8)).toEqual([{ index: 0, after: undefined, upTo: undefined }]);
  });

  it('gives one open range for n of 1, 0 or negative', () => {
    for (const n of [1, 0, -3]) expect(splitKeyRange(1, 1000, n)).toEqual([{ index: 0, after: undefined, upTo: undefined }]);
  });

  it('gives one open range for an empty table (null bounds)', () => {
    expect(splitKeyRange(null, null, 4)).toEqual([{ index: 0 }]);
    expect(splitKeyRange(undefined, undefined, 4)).toEqual([{ index: 0 }]);
    expect(splitKeyRange(1, null, 4)).toEqual([{ index: 0 }]);
    expect(splitKeyRange(null, 5, 4)).toEqual([{ index: 0 }]);
  });

  it('handles negative keys', () => {
    expect(splitKeyRange(-10, 9, 2)).toEqual([
      { index: 0, after: undefined, upTo: '-1' },
      { index: 1, after: '-1', upTo: undefined },
    ]);
  });

  it('accepts bounds as strings (BIGINT columns come back as strings)', () => {
    expect(splitKeyRange('1', '100', 2)).toEqual(splitKeyRange(1, 100, 2));
  });

  it('keeps BIGINT values beyond 2^53 exact, as strings', () => {
    const lo = '9007199254740993'; // 2^53 + 1: not representable as a double
    const hi = '9007199254741000';
    expect(splitKeyRange(lo, hi, 2)).toEqual([
      { index: 0, after: undefined, upTo: '9007199254740996' },
      { index: 1, after: '9007199254740996', upTo: undefined },
    ]);
  });

  it('covers the whole unsigned BIGINT domain without precision loss', () => {
    const hi = '18446744073709551615';
    const ranges = splitKeyRange('0', hi, 4);
    expect(ranges).toEqual([
      { index: 0, after: undefined, upTo: '4611686018427387903' },
      { index: 1, after: '4611686018427387903', upTo: '9223372036854775807' },
      { index: 2, after: '9223372036854775807', upTo: '13835058055282163711' },
      { index: 3, after: '13835058055282163711', upTo: undefined },
    ]);
    checkContiguous(ranges, 0n, BigInt(hi));
  });

  it('puts every key of [lo, hi] (and beyond) in exactly one range, for many shapes', () => {
    for (const [lo, hi] of [[1, 1], [1, 2], [0, 99], [3, 17], [-5, 5], [100, 1000]]) {
      for (const n of [1, 2, 3, 4, 7, 16, 50]) {
        const ranges = splitKeyRange(lo, hi, n);
        expect(ranges.length).toBeLessThanOrEqual(Math.max(1, n));
        expect(ranges.length).toBeLessThanOrEqual(hi - lo + 1);
        checkContiguous(ranges, BigInt(lo), BigInt(hi));
        for (let k = lo - 2; k <= hi + 2; k++) expect(owner(ranges, BigInt(k))).toHaveLength(1);
        // Rows added after planning, below lo or above hi, are still copied.
        expect(owner(ranges, BigInt(lo) - 1000n)).toEqual([0]);
        expect(owner(ranges, BigInt(hi) + 1000n)).toEqual([ranges.length - 1]);
      }
    }
  });
});
