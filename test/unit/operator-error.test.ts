import { operatorError } from '../../client/operations';
import { UserFacingError } from '../../lib/errors';

it('says no worker answered when the cause says so, under the client\'s bare "Failed to query Workflow"', () => {
  const err = Object.assign(new Error('Failed to query Workflow'), { cause: Object.assign(new Error('9 FAILED_PRECONDITION: no poller seen for task queue recently, worker may be down'), { code: 9 }) });
  const out = operatorError('demo', err);
  expect(out).toBeInstanceOf(UserFacingError);
  expect((out as Error).message).toMatch(/^no worker answered for tenant 'demo' .*cm worker/);
  expect((operatorError('x', new Error('workflow not found for ID: cloud-migration/x')) as Error).message).toMatch(/^unknown tenant 'x'/);
  const other = new Error('something else');
  expect(operatorError('x', other)).toBe(other);
});
