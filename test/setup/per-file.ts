import { DefaultLogger, Runtime } from '@temporalio/worker';

// Integration tests wait on real servers: give them room (they never assert on wall-clock time).
jest.setTimeout(10 * 60 * 1000);
// Each test file has its own module registry, hence its own SDK runtime: keep it quiet.
Runtime.install({ logger: new DefaultLogger('WARN') });
