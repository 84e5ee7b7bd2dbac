/**
 * Loads an ESM-only package (file-type 21) from this CommonJS build with Node's own
 * require, which loads ES modules since Node 20.19 and 22.12 (our `engines`). Not a dynamic
 * `import()`: under Jest's CommonJS transform it becomes Jest's require, which cannot load
 * ESM, and a kept `import()` needs --experimental-vm-modules there. process.getBuiltinModule
 * hands out the real `node:module` even where a test runner replaces `require('module')`.
 */
export function requireEsm<T>(name: string): T {
  const { createRequire } = process.getBuiltinModule('node:module');
  return createRequire(__filename)(name) as T;
}
