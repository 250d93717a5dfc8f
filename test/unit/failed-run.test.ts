import { failedRunResult } from '../../lib/errors';

it('finds a failed run\'s result anywhere in the failure chain, and nothing in other failures', () => {
  const result = { run: 3, status: 'Failed', tables: [], failure: '1 table(s) failed: a.b' };
  const chain = { message: 'Child Workflow execution failed', cause: { message: 'wrapped', cause: { type: 'RunFailed', message: result.failure, details: [result] } } };
  expect(failedRunResult(chain)).toEqual(result);
  expect(failedRunResult({ message: 'x', cause: { type: 'Other', details: [result] } })).toBeUndefined();
  expect(failedRunResult(new Error('plain'))).toBeUndefined();
  expect(failedRunResult(undefined)).toBeUndefined();
});
