// A position in a source's binary log: pure, so workflows and activities share it.

export interface BinlogPosition {
  file: string;
  pos: number;
  /** The server's GTID position then (MariaDB gtid_binlog_pos, MySQL gtid_executed): for the record. */
  gtid?: string;
}

export const positionText = (p: BinlogPosition | undefined): string => (p ? `${p.file}:${p.pos}${p.gtid ? ` (GTID ${p.gtid})` : ''}` : 'none');

/** Whether `a` is at or past `b`: binary log file names end in a fixed-width sequence number. */
export function reached(a: Pick<BinlogPosition, 'file' | 'pos'>, b: Pick<BinlogPosition, 'file' | 'pos'>): boolean {
  return a.file > b.file || (a.file === b.file && a.pos >= b.pos);
}
