// Formatting for docs/BENCHMARKS.md: every figure beside its anchor, ratio and verdict.
export const ms = (v: number): string => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(0)} ms`);
export const times = (v: number): string => `${v.toFixed(2)}×`;
export const n = (v: number): string => v.toLocaleString('en-US');

/** "met", or "**missed** by …" with how far off the figure is. */
export function verdict(ok: boolean, missedBy?: string): string {
  return ok ? 'met' : `**missed**${missedBy ? ` by ${missedBy}` : ''}`;
}

/** A scenario's part of the report: table rows under the common header, then prose. */
export interface Section {
  heading: string;
  rows: string[];
  notes: string[];
}

export const TABLE_HEAD = ['| scenario | figure | anchor / detail | target | |', '| --- | --- | --- | --- | --- |'];

export function renderSection(s: Section): string[] {
  return [`## ${s.heading}`, '', ...TABLE_HEAD, ...s.rows, '', ...s.notes.flatMap((p) => [p, ''])];
}
