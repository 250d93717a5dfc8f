// Progress of a run in the terminal: an overall bar plus one bar per table being copied; each
// finished table leaves a line behind. Without a terminal, only those lines are printed.
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { RunProgress, RunProgressTable } from '../lib/types';

import { FINISHED } from '../workflows/run-progress';
const MARK: Record<string, string> = { Successful: '✔', Warning: '!', Failed: '✖', 'Not Migrated': '-' };

export class ProgressView {
  private readonly bars = new Map<string, SingleBar>();
  private readonly reported = new Set<string>();
  private readonly multi?: MultiBar;
  private overall?: SingleBar;

  constructor(private readonly out: NodeJS.WriteStream) {
    if (out.isTTY) {
      this.multi = new MultiBar(
        { format: ' {bar} {percentage}% | {name} | {value}/{total} {unit}', hideCursor: true, clearOnComplete: false, stopOnComplete: false, stream: out },
        Presets.shades_classic,
      );
    }
  }

  private line(text: string): void {
    if (this.multi) this.multi.log(`${text}\n`);
    else this.out.write(`${text}\n`);
  }

  update(p: RunProgress): void {
    const done = [...FINISHED].reduce((n, s) => n + (p.counts[s as keyof RunProgress['counts']] ?? 0), 0);
    if (this.multi) {
      this.overall ??= this.multi.create(p.total, 0, { name: `Run #${p.run} (${p.kind === 'full' ? 'full copy' : 'changes'})`, unit: 'tables' });
      this.overall.setTotal(p.total);
      this.overall.update(done);
    }
    // Tables in progress that the answer no longer lists have finished: their bars go (their line comes with the answer that lists them).
    const working = new Set(p.tables.filter((t) => t.status === 'In Progress').map((t) => t.key));
    for (const [key, bar] of this.bars) {
      if (!working.has(key)) {
        this.multi!.remove(bar);
        this.bars.delete(key);
      }
    }
    for (const t of p.tables) {
      if (FINISHED.has(t.status)) this.finish(t);
      else if (t.status === 'In Progress' && this.multi) this.show(t);
    }
  }

  private show(t: RunProgressTable): void {
    let bar = this.bars.get(t.key);
    const total = Math.max(t.estimatedRows, t.rows, 1);
    if (!bar) {
      bar = this.multi!.create(total, t.rows, { name: t.key, unit: 'rows' });
      this.bars.set(t.key, bar);
    }
    bar.setTotal(total);
    bar.update(t.rows);
  }

  private finish(t: RunProgressTable): void {
    if (this.reported.has(t.key)) return;
    this.reported.add(t.key);
    const bar = this.bars.get(t.key);
    if (bar) {
      this.multi!.remove(bar);
      this.bars.delete(t.key);
    }
    // A table with nothing to do gets no line of its own: the run's summary counts it.
    if (t.status === 'Successful' && t.rows === 0) return;
    this.line(`${MARK[t.status] ?? ' '} ${t.key}: ${t.status}, ${t.rows.toLocaleString('en-US')} rows`);
  }

  stop(): void {
    this.multi?.stop();
  }
}
