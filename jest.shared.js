// What both jest configurations compile. @vlasky/zongji (binlog decoding) ships as ES modules only;
// jest on Node 20 loads CommonJS, so it is compiled like the sources (Node itself, outside jest,
// requires it as it is).
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }],
  '/node_modules/@vlasky/zongji/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022', esModuleInterop: true }, diagnostics: false }],
};
const transformIgnorePatterns = ['/node_modules/(?!@vlasky/zongji/)'];
module.exports = { transform, transformIgnorePatterns };
