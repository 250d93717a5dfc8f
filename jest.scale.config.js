// The scale suite (`npm run test:scale`), kept out of `npm test` for its length (about 8 minutes on
// 2 cores): a 12,000-table tenant end to end, no payload in its histories over 512 KiB. Same global
// setup as the integration tests (one dev server, one workflow bundle, the on-premises source).
const { transform, transformIgnorePatterns } = require('./jest.shared');
module.exports = {
  displayName: 'scale',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/scale/**/*.test.ts'],
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/test/setup/per-file.ts'],
  transform,
  transformIgnorePatterns,
};
