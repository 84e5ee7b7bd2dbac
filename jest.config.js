// Two projects: fast unit specs beside the code, and e2e specs that boot the real app
// on a real (embedded) PostgreSQL started once per run by the global setup.
// ts-jest in transpile-only mode: the decorator metadata Nest's DI needs, without a
// type-check per file (`npm run typecheck` does that once).
// CommonJS output also turns the generated Prisma client's dynamic import()s into
// require()s, which Jest's module system needs.
const transform = {
  '^.+\\.ts$': [
    'ts-jest',
    {
      tsconfig: {
        module: 'commonjs',
        moduleResolution: 'node10',
        target: 'ES2022',
        isolatedModules: true,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        esModuleInterop: true,
        resolveJsonModule: true,
        sourceMap: true,
      },
    },
  ],
};

// The generated Prisma client imports its siblings as `./x.js` (NodeNext style).
const moduleNameMapper = { '^(\\.{1,2}/.*)\\.js$': '$1' };

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      moduleNameMapper,
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      transform,
      moduleNameMapper,
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
  ],
};
