// Bundles the CLI (`npm run build`, after tsc): dist/bin/bpf-compile.js → dist/bin/bpf-compile.mjs + chunks/.
// Code splitting keeps each command's code (and undici, openpgp, …) out of start-up: main.ts imports a command's
// module only when that command runs. One dependency patch, measured: commander requires node:child_process at load
// (only for executable subcommands, which bpf-compile has none of), which pulls net/dgram/stream internals into every
// start; here it is required on first use instead (docs/performance.md has the measurements).
// And `import … from 'node:process'` (env-paths, execa) binds to the global `process`: node's ESM wrapper of a builtin
// reads every export of it, so that import alone creates `process.stdin` (a tty/pipe stream and its modules).
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const COMMANDER_REQUIRE = "const childProcess = require('node:child_process');";

/** commander's child_process, required on first use. */
const lazyChildProcess = {
  name: 'commander-lazy-child-process',
  setup(build) {
    build.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const src = await fs.promises.readFile(args.path, 'utf8');
      if (!src.includes(COMMANDER_REQUIRE)) throw new Error(`${args.path}: commander changed; update scripts/bundle.mjs`);
      const lazy = "let childProcessModule; const childProcess = new Proxy({}, { get: (_, k) => (childProcessModule ??= require('node:child_process'))[k] });";
      return { contents: src.replace(COMMANDER_REQUIRE, lazy), loader: 'js' };
    });
  },
};

/** `node:process` as the global object (the named exports dependencies import, read when imported, as node does). */
const globalProcess = {
  name: 'global-process',
  setup(build) {
    // ESM imports only: a CommonJS `require('node:process')` (commander's) already gets the process object itself
    build.onResolve({ filter: /^(node:)?process$/ }, (args) => (args.kind === 'import-statement' ? { path: 'process', namespace: 'bpfc-global-process' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'bpfc-global-process' }, () => ({
      contents: 'const p = globalThis.process; export default p; export const { env, argv, platform, execPath, execArgv, hrtime, cwd } = p;',
      loader: 'js',
    }));
  },
};

fs.rmSync(path.join(root, 'dist/bin/chunks'), { recursive: true, force: true });
await esbuild.build({
  entryPoints: [path.join(root, 'dist/bin/bpf-compile.js')],
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['lzma-native'],
  banner: { js: "import { createRequire as __bpfcRequire } from 'node:module'; const require = __bpfcRequire(import.meta.url);" },
  outdir: path.join(root, 'dist/bin'),
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  plugins: [lazyChildProcess, globalProcess],
  logLevel: 'warning',
});
for (const f of ['bpf-compile.mjs', 'bpf-compile.js']) fs.chmodSync(path.join(root, 'dist/bin', f), 0o755);
