// Unit tests need nothing; integration tests share one Temporal dev server and one workflow bundle,
// started by the global setup. Everything runs serially (`--runInBand`): the machine has 2 cores.
const { transform, transformIgnorePatterns } = require('./jest.shared');
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/setup/per-file.ts'],
      transform,
      transformIgnorePatterns,
    },
  ],
};
