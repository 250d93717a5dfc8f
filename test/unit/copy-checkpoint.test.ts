import { resumable, type CopyCheckpoint } from '../../activities/copy-checkpoint';

describe('resumable', () => {
  const saved: CopyCheckpoint = { rows: 5_000, rejected: 0, lastKey: [5_000], captureId: 7, done: true };
  it('resumes a copy made under the same capture, owing the same copy', () => {
    expect(resumable(saved, { id: 7 })).toBe(saved);
    expect(resumable({ ...saved, owed: 'TRUNCATE at binlog.000002:120' }, { id: 7, copyOwed: 'TRUNCATE at binlog.000002:120' })).toBeDefined();
  });
  it('starts over when the capture was put back, or when a new full copy became owed since (a TRUNCATE, a schema change)', () => {
    expect(resumable(saved, { id: 8 })).toBeUndefined();
    // The finished copy predates a TRUNCATE the source made later: resuming it would skip the copy the TRUNCATE owes.
    expect(resumable(saved, { id: 7, copyOwed: 'TRUNCATE at binlog.000002:120' })).toBeUndefined();
    expect(resumable({ ...saved, owed: 'capture lost' }, { id: 7, copyOwed: 'TRUNCATE at binlog.000002:120' })).toBeUndefined();
    expect(resumable(undefined, { id: 7 })).toBeUndefined();
  });
});
