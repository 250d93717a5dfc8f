// Formatting for docs/BENCHMARKS.md: every figure beside its anchor, ratio and verdict.
export const ms = (v: number): string => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(0)} ms`);
export const times = (v: number): string => `${v.toFixed(2)}×`;
export const n = (v: number): string => v.toLocaleString('en-US');

/** The middle of some measurements (figures move from run to run: one sample can mislead). */
export const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Every round of a figure, for the reader: `5.5 s, 6.1 s, 6.4 s`. */
export const roundsOf = (v: number[]): string => v.map(ms).join(', ');

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

/** A heading's name: what comes before its first colon (the rest carries figures that change). */
const headingName = (heading: string): string => heading.split(':')[0].trim();

/**
 * The document with `sections` in place of its sections of the same name, each saying when it ran;
 * sections it does not have yet are added at the end. What a partial run (`--only`) writes.
 */
export function mergeSections(doc: string, sections: Section[], ranAt: string): string {
  const parts = doc.split(/\n(?=## )/);
  for (const s of sections) {
    const text = [...renderSection(s), `(This section from a run of \`npm run bench -- --only\` on ${ranAt}; the others from the run in the header.)`, ''].join('\n');
    const i = parts.findIndex((p) => p.startsWith('## ') && headingName(p.slice(3).split('\n')[0]) === headingName(s.heading));
    if (i >= 0) parts[i] = text;
    else parts.push(text);
  }
  return parts.join('\n');
}
