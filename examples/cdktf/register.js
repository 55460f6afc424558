/**
 * Runs TypeScript without a build step or ts-node: a CommonJS require hook that transpiles each `.ts` file
 * with `typescript.transpileModule` (no type check; `npm run typecheck` does that). Used by `npm run synth`
 * and by `cdktf.json`'s `app`: `node -r ./examples/cdktf/register.js examples/cdktf/main.ts`.
 */
'use strict';
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      resolveJsonModule: true,
      inlineSourceMap: true,
    },
  });
  module._compile(outputText, filename);
};
