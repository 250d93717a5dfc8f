import { forEachLimited } from '../../activities/sql';

it('stops taking items once one fails, and answers only after every item in flight has finished', async () => {
  const started: number[] = [];
  let inFlight = 0;
  const items = Array.from({ length: 20 }, (_, i) => i);
  const outcome = forEachLimited(items, 4, async (i) => {
    started.push(i);
    inFlight++;
    await new Promise((r) => setTimeout(r, i === 1 ? 5 : 30));
    inFlight--;
    if (i === 1) throw new Error('item 1 failed');
  });
  await expect(outcome).rejects.toThrow('item 1 failed');
  expect(inFlight).toBe(0); // nothing still running behind the caller's back (it may restore meanwhile)
  expect(started.length).toBeLessThanOrEqual(5); // the four first, and at most the one lane 1 took before failing
});
