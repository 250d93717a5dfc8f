// Which capture an activity works with, from the mode its workflow carries (chosen at setup and on
// the record): triggers and their logs on the source, or the binary log staged on the target.
import type { CaptureMode } from '../lib/types';
import { stageBinlogChanges } from './binlog-capture';
import { triggerSite, type CaptureSite } from './capture';
import type { ConnectionRegistry } from './connections';

export interface CaptureAddress {
  tenant: string;
  sourceConnection: string;
  targetConnection?: string;
  /** Absent in histories from before binlog capture: triggers. */
  capture?: CaptureMode;
}

export function captureSiteFor(conns: ConnectionRegistry, input: CaptureAddress, beat?: () => void): CaptureSite {
  const source = conns.pool(input.sourceConnection);
  if (input.capture !== 'binlog') return triggerSite(source);
  if (!input.targetConnection) throw new Error('binlog capture needs the target connection (its change logs live there)');
  const target = conns.pool(input.targetConnection);
  return {
    mode: 'binlog', store: target, source,
    catchUp: async () => {
      await stageBinlogChanges({ tenant: input.tenant, source, sourceOptions: conns.options(input.sourceConnection), target, onProgress: beat });
    },
  };
}
