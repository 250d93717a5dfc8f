// The fault-injection suite (`npm run test:faults`), kept out of `npm test`: worker processes
// SIGKILLed at seeded random points, the worker's MySQL connections killed, the Temporal dev server
// restarted mid-run, a busy writer on the source. Same global setup as the integration tests (one
// dev server, one workflow bundle); the restart test starts a dev server of its own.
// Run serially (`--runInBand`): the machine has 2 cores. CM_FAULT_SEED=<n> replays a seed.
const { transform, transformIgnorePatterns } = require('./jest.shared');
module.exports = {
  displayName: 'faults',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/faults/**/*.test.ts'],
  globalSetup: '<rootDir>/test/faults/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/test/setup/per-file.ts'],
  transform,
  transformIgnorePatterns,
};
