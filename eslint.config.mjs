import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The rooms of src/, from the ground up (docs/development.md draws them). A room imports
 * only rooms of a lower layer or its own; a feature room (and the turn) is reached from
 * outside only through its index.ts, what its module exports.
 */
const LAYERS = [
  ['common', 'generated', 'types'],
  ['config'],
  ['database', 'logging', 'lifecycle'],
  ['auth', 'cluster'],
  ['metrics'],
  ['llm'],
  ['tools'],
  ['prompts'],
  ['history'],
  ['conversations', 'messages', 'memory', 'files'],
  ['chat'],
  ['websocket', 'openai', 'responses', 'cli', 'health', 'startup'],
];
// openai is a door another door builds on (responses: store:false), through its index.ts.
const FEATURES = ['conversations', 'messages', 'memory', 'files', 'chat', 'openai'];
const TOP_FILES = ['app.module', 'main', 'server', 'setup-app', 'openapi', 'write-openapi'];

/** One `files` block per room: every room above it (and the top files) is out of bounds. */
function roomBoundaries() {
  return LAYERS.flatMap((rooms, level) => {
    const above = LAYERS.slice(level + 1).flat();
    // Rooms of the same layer may not reach each other either, except features through index.ts.
    return rooms.map((room) => {
      const peers = rooms.filter((r) => r !== room && !FEATURES.includes(r));
      const forbidden = [...above.filter((r) => !FEATURES.includes(r)), ...peers];
      const features = FEATURES.filter((r) => r !== room);
      const upward = features.filter((r) => above.includes(r));
      const patterns = [
        {
          regex: `^(\\.\\./)+(${[...forbidden, ...upward, ...TOP_FILES].join('|')})(/|$)`,
          message: `src/${room}/ imports only rooms below it (see LAYERS): move what both need down, or invert the call.`,
        },
        {
          regex: `^(\\.\\./)+(${features.join('|')})/`,
          message: `Import another feature room through its index.ts (what its module exports), never its files.`,
        },
      ];
      return {
        files: [`src/${room}/**/*.ts`],
        ignores: ['**/*.spec.ts'],
        rules: { 'no-restricted-imports': ['error', { patterns }] },
      };
    });
  });
}

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'src/generated/**',
      'node_modules/**',
      'coverage/**',
      'scripts/*.js',
      'jest.config.js',
      'eslint.config.mjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/unbound-method': 'off',
      'sort-imports': ['error', { ignoreDeclarationSort: true, ignoreCase: true }],
    },
  },
  {
    // A function a reader can hold in their head; tests' describe blocks are exempt.
    files: ['src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }],
    },
  },
  ...roomBoundaries(),
  {
    files: ['test/**/*.ts', '**/*.spec.ts'],
    rules: {
      // supertest bodies are untyped JSON; asserting on them is the point of the tests.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
