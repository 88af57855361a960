// How the CLI is bundled (`scripts/bundle.mjs` runs it on dist/bin/bpf-compile.js after tsc), in two passes: esbuild bundles the dependencies and splits the code; rollup then merges its chunks into CommonJS (below).
// Code splitting keeps each command's code (and undici, openpgp, …) out of start-up: main.ts imports a command's
// module only when that command runs. One dependency patch, measured: commander requires node:child_process at load
// (only for executable subcommands, which bpf-compile has none of), which pulls net/dgram/stream internals into every
// start; here it is required on first use instead (docs/performance.md has the measurements).
// And `import … from 'node:process'` (env-paths) binds to the global `process`: node's ESM wrapper of a builtin
// reads every export of it, so that import alone creates `process.stdin` (a tty/pipe stream and its modules).
import fs from 'node:fs';
import path from 'node:path';
import { builtinModules } from 'node:module';
import * as esbuild from 'esbuild';
import { rollup } from 'rollup';

const COMMANDER_REQUIRE = "const childProcess = require('node:child_process');";

/** commander's child_process, required on first use. */
const lazyChildProcess = {
  name: 'commander-lazy-child-process',
  setup(build) {
    build.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const src = await fs.promises.readFile(args.path, 'utf8');
      if (!src.includes(COMMANDER_REQUIRE)) throw new Error(`${args.path}: commander changed; update scripts/bundle-cli.mjs`);
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

/**
 * Bundle `entry` (an ESM module without top-level await) into `outDir` as the CLI is bundled: `<name>.cjs` plus
 * `chunks/`, where `<name>` is the entry's file name without its extension. The tests bundle their own entries with
 * it, so "bundled like the CLI" stays true. Returns the path of the bundled entry.
 */
export async function bundleCli({ entry, outDir }) {
  const stage = path.join(outDir, '.esbuild');
  fs.rmSync(path.join(outDir, 'chunks'), { recursive: true, force: true });
  fs.rmSync(stage, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['lzma-native'],
    banner: { js: "import { createRequire as __bpfcRequire } from 'node:module'; const require = __bpfcRequire(import.meta.url);" },
    outdir: stage,
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    plugins: [lazyChildProcess, globalProcess],
    logLevel: 'warning',
  });

  // Second pass: rollup re-chunks esbuild's output and writes it as CommonJS. esbuild makes one chunk per set of entry
  // points (each dynamic import is one) that reach a module, even when every importer of a dynamic chunk has already
  // loaded it; rollup leaves such modules where they already are: fewer files on each path (headers 25 → 11, an
  // object-cache hit 30 → 16). And CommonJS, because node's ESM loader costs what its CommonJS loader does not (URL
  // resolution, module jobs, files read through the thread pool): `--version` 12 ms less, a warm `headers` 10 ms less
  // (docs/performance.md). Dynamic imports between chunks become lazy `require`s. Nothing is tree-shaken or rewritten
  // beyond the module format: treeshake is off, esbuild's chunks are taken as they are, and any rollup warning (a
  // circular chunk, an unresolved import) fails the build.
  const name = path.basename(entry).replace(/\.[^.]*$/, '');
  const bundle = await rollup({
    input: path.join(stage, `${name}.mjs`),
    external: (id) => id.startsWith('node:') || builtinModules.includes(id) || id === 'lzma-native',
    treeshake: false,
    onwarn: (w) => {
      throw new Error(`rollup: ${w.code}: ${w.message}`);
    },
  });
  await bundle.write({ dir: outDir, format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'chunks/[name]-[hash:8].cjs', generatedCode: 'es2015' });
  await bundle.close();
  fs.rmSync(stage, { recursive: true, force: true });
  return path.join(outDir, `${name}.cjs`);
}
