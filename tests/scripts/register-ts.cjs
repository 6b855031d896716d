// `node -r ./tests/scripts/register-ts.cjs x.ts`: runs a TypeScript entry point as it is, compiled on load
// by @swc/core as jest compiles it, so that a test can run a CLI's real `require.main` path in its own
// process without a build.
const { readFileSync } = require('node:fs');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    module: { type: 'commonjs' },
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
  });
  module._compile(code, filename);
};
