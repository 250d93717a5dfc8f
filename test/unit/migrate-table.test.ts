import { tableStatus } from '../../activities/migrate-table';

describe('tableStatus', () => {
  it('is Successful with no errors and no standing warning', () => {
    expect(tableStatus(true, 0)).toBe('Successful');
    expect(tableStatus(false, 0)).toBe('Successful'); // an empty table copied cleanly
    expect(tableStatus(true, 0, '')).toBe('Successful');
  });
  it('is Warning with a standing warning and no errors', () => {
    expect(tableStatus(true, 0, 'no primary key')).toBe('Warning');
    expect(tableStatus(false, 0, 'no primary key')).toBe('Warning');
  });
  it('is Warning when some rows were rejected but others made it', () => {
    expect(tableStatus(true, 1)).toBe('Warning');
    expect(tableStatus(true, 500, 'no primary key')).toBe('Warning');
  });
  it('is Failed when rows were rejected and none made it, whatever the warning', () => {
    expect(tableStatus(false, 1)).toBe('Failed');
    expect(tableStatus(false, 3, 'no primary key')).toBe('Failed');
  });
});
