import { Semaphore } from '../../workflows/semaphore';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
/** Lets every pending promise callback run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('Semaphore', () => {
  it('returns the result of fn', async () => {
    const s = new Semaphore(1);
    await expect(s.run(async () => 42)).resolves.toBe(42);
  });

  it('never has more than N in flight, and runs every task', async () => {
    const s = new Semaphore(2);
    let inFlight = 0;
    let peak = 0;
    const gates = Array.from({ length: 6 }, () => deferred<void>());
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      s.run(async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        started.push(i);
        await g.promise;
        inFlight--;
        return i;
      }),
    );
    await settle();
    expect(started).toEqual([0, 1]);
    expect(inFlight).toBe(2);

    gates[1].resolve();
    await settle();
    expect(started).toEqual([0, 1, 2]);
    expect(inFlight).toBe(2);

    gates[0].resolve();
    gates[2].resolve();
    await settle();
    expect(started).toEqual([0, 1, 2, 3, 4]);

    gates.forEach((g) => g.resolve());
    await expect(Promise.all(runs)).resolves.toEqual([0, 1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
    expect(inFlight).toBe(0);
  });

  it('starts waiters in FIFO order', async () => {
    const s = new Semaphore(1);
    const first = deferred<void>();
    const order: string[] = [];
    const runs = [s.run(() => first.promise.then(() => order.push('a')))];
    for (const name of ['b', 'c', 'd', 'e']) runs.push(s.run(async () => order.push(name)));
    await settle();
    expect(order).toEqual([]);
    first.resolve();
    await Promise.all(runs);
    expect(order).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('with one permit, runs tasks strictly one after the other', async () => {
    const s = new Semaphore(1);
    const log: string[] = [];
    const task = (n: number) => async () => {
      log.push(`start ${n}`);
      await settle();
      log.push(`end ${n}`);
    };
    await Promise.all([s.run(task(1)), s.run(task(2)), s.run(task(3))]);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  });

  it('releases its permit when fn rejects, and passes the rejection on', async () => {
    const s = new Semaphore(1);
    const boom = new Error('boom');
    const failing = s.run(async () => {
      await settle();
      throw boom;
    });
    const next = s.run(async () => 'after');
    await expect(failing).rejects.toBe(boom);
    await expect(next).resolves.toBe('after');
    // The permit is free again: a fresh task starts at once.
    let ran = false;
    const again = s.run(async () => {
      ran = true;
    });
    await settle();
    expect(ran).toBe(true);
    await again;
  });

  it('releases its permit when fn throws synchronously', async () => {
    const s = new Semaphore(1);
    await expect(
      s.run(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await expect(s.run(async () => 'ok')).resolves.toBe('ok');
  });

  it('does not grow its permits after rejections (still at most N)', async () => {
    const s = new Semaphore(2);
    for (let i = 0; i < 5; i++) await expect(s.run(async () => Promise.reject(new Error(`x${i}`)))).rejects.toThrow(`x${i}`);
    let inFlight = 0;
    let peak = 0;
    const gate = deferred<void>();
    const runs = Array.from({ length: 5 }, () =>
      s.run(async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await gate.promise;
        inFlight--;
      }),
    );
    await settle();
    expect(inFlight).toBe(2);
    gate.resolve();
    await Promise.all(runs);
    expect(peak).toBe(2);
  });
});
