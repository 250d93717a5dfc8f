// Output that fits the terminal: tables share its width between their columns, and text wraps at
// word boundaries (a word longer than a line is cut, never dropped).

/**
 * The width to fit: the terminal's, else $COLUMNS, else none (Infinity): output read by a program
 * (a pipe, a file) keeps its lines whole unless COLUMNS asks otherwise.
 */
export function outputWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout, env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number(env.COLUMNS);
  if (stream.isTTY && stream.columns) return stream.columns;
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Infinity;
}

/**
 * One line cut into lines of at most `width` characters: at a space where it can be, else after a
 * name's separator (. _ - / ,) so that `schema.table` breaks at the dot, else anywhere.
 */
export function wrapLine(line: string, width: number, indent = ''): string[] {
  if (line.length <= width) return [line];
  const out: string[] = [];
  let rest = line;
  let prefix = '';
  while (prefix.length + rest.length > width) {
    const room = Math.max(1, width - prefix.length);
    const space = rest.lastIndexOf(' ', room);
    let cut = space > 0 ? space : -1;
    if (cut < 0) for (let i = room - 1; i > 0 && cut < 0; i--) if ('._-/,'.includes(rest[i])) cut = i + 1;
    if (cut <= 0) cut = room;
    out.push(prefix + rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
    prefix = indent.length < width ? indent : '';
  }
  if (rest) out.push(prefix + rest);
  return out;
}

/** Every line of `text` wrapped to `width`; continuation lines indented by two spaces. */
export function fitLines(text: string, width: number): string {
  return text
    .split('\n')
    .flatMap((line) => wrapLine(line, width, '  '))
    .join('\n');
}

/**
 * Column widths (content only) that add up to at most `budget` where they can: a column of at most
 * `keep` characters (a status, a number, a time) keeps its width, and the wider ones share what is
 * left; one that needs less than its share keeps its width, none goes below `minimum`.
 */
export function shareWidths(natural: number[], budget: number, keep = 12, minimum = 6): number[] {
  const widths = [...natural];
  if (natural.reduce((a, b) => a + b, 0) <= budget) return widths;
  const kept = natural.filter((w) => w <= keep);
  // When even the narrow columns do not fit beside the others at their minimum, every column shares.
  const keepAll = kept.reduce((a, b) => a + b, 0) + (natural.length - kept.length) * minimum <= budget;
  const wide = natural.map((w, i) => ({ w, i })).filter(({ w }) => !keepAll || w > keep).sort((a, b) => a.w - b.w);
  let left = budget - (keepAll ? kept.reduce((a, b) => a + b, 0) : 0);
  wide.forEach(({ w, i }, k) => {
    const share = Math.floor(left / (wide.length - k));
    widths[i] = Math.min(w, Math.max(minimum, share));
    left -= widths[i];
  });
  return widths;
}
