// Bundles the CLI (`npm run build`, after tsc): dist/bin/bpf-compile.js → dist/bin/cli.cjs + chunks/, the way
// `bundle-cli.mjs` describes (esbuild, then rollup into CommonJS), and dist/bin/launcher.js → dist/bin/bpf-compile.cjs,
// the executable (package.json `bin`), which loads the CLI through the V8 code cache.
import fs from 'node:fs';
import path from 'node:path';
import { bundleCli, bundleLauncher } from './bundle-cli.mjs';

const bin = path.join(path.resolve(import.meta.dirname, '..'), 'dist/bin');
for (const f of ['bpf-compile.mjs', 'bpf-compile.cjs', 'cli.cjs', '.v8-cache']) fs.rmSync(path.join(bin, f), { recursive: true, force: true });
// dist/bin/cli.cjs + chunks/: the CLI; dist/bin/bpf-compile.cjs: the executable, which loads them through the V8
// code cache (lib/system/code-cache.ts; bytecode of an earlier build is removed with it above)
await bundleCli({ entry: path.join(bin, 'bpf-compile.js'), outDir: bin, name: 'cli' });
await bundleLauncher({ entry: path.join(bin, 'launcher.js'), outFile: path.join(bin, 'bpf-compile.cjs') });
// The executable was dist/bin/bpf-compile.mjs before the bundle became CommonJS; links made to it then (npx keeps its
// own copies of a project's bin links, keyed by the project's directory, and does not renew them) keep working.
fs.writeFileSync(
  path.join(bin, 'bpf-compile.mjs'),
  "#!/usr/bin/env node\n// The executable is bpf-compile.cjs (package.json bin); this keeps links made to the earlier .mjs name working.\nimport { createRequire } from 'node:module';\n\ncreateRequire(import.meta.url)('./bpf-compile.cjs');\n",
);
for (const f of ['bpf-compile.cjs', 'cli.cjs', 'bpf-compile.mjs', 'bpf-compile.js']) fs.chmodSync(path.join(bin, f), 0o755);
