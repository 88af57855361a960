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

const SIGNAL_EXIT_ASSERT = "var assert = require('assert')";

/**
 * signal-exit 3 (proper-lockfile's, which registers its handler when it loads) requires `assert` for one
 * `assert.equal(typeof cb, 'function', …)`. Node's `assert` loads internal/util/colors, which reads
 * `process.stderr.isTTY` — creating the stderr stream (a `net.Socket` for a pipe) in the middle of every cold
 * extraction. The check is kept, without the module.
 */
const signalExitAssert = {
  name: 'signal-exit-assert',
  setup(build) {
    build.onLoad({ filter: /[\\/]proper-lockfile[\\/]node_modules[\\/]signal-exit[\\/]index\.js$/ }, async (args) => {
      const src = await fs.promises.readFile(args.path, 'utf8');
      if (!src.includes(SIGNAL_EXIT_ASSERT)) throw new Error(`${args.path}: signal-exit changed; update scripts/bundle-cli.mjs`);
      const local = "var assert = { equal: function (a, b, message) { if (a != b) throw new TypeError(message) } }";
      return { contents: src.replace(SIGNAL_EXIT_ASSERT, local), loader: 'js' };
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
 * Node built-in modules that node's own start does not load, and that the paths which run most (a warm `headers`, an
 * object-cache hit, `--version`) need only some of: each is required when one of its exports is first read, not when
 * the chunk that imports it loads. (`node:child_process` brings `net`, `dgram` and stream internals; `node:fs/promises`
 * brings `readline`'s; `node:crypto` 17 modules of its own.) Only a binding used solely as `binding.member` is made
 * lazy: one passed around whole (an interop helper copying its keys) keeps its eager `require`.
 */
const LAZY_BUILTINS = ['child_process', 'crypto', 'fs/promises', 'os', 'stream', 'stream/promises', 'string_decoder', 'timers/promises', 'zlib'];
/** The built-in `expr` requires when it is `require('node:<id>')` of a lazy built-in, else undefined. */
function lazyRequired(expr) {
  const arg = expr?.type === 'CallExpression' && expr.callee.type === 'Identifier' && expr.callee.name === 'require' ? expr.arguments[0] : undefined;
  const id = arg?.type === 'Literal' && typeof arg.value === 'string' && arg.value.startsWith('node:') ? arg.value.slice(5) : undefined;
  return id !== undefined && LAZY_BUILTINS.includes(id) ? id : undefined;
}

/** Names bound by `const <name> = require('node:<id>')` at a chunk's top level to a lazy built-in, by name. */
function lazyCandidates(ast) {
  const found = new Map();
  for (const st of ast.body) {
    if (st.type !== 'VariableDeclaration' || st.kind !== 'const' || st.declarations.length !== 1) continue;
    const { id, init } = st.declarations[0];
    const mod = lazyRequired(init);
    if (id.type === 'Identifier' && mod !== undefined) found.set(id.name, { id: mod, start: st.start, end: st.end, decl: id });
  }
  return found;
}

/**
 * Top-level `require('node:<id>');` statements of lazy built-ins: rollup writes one for each module a chunk's modules
 * import (tree-shaking is off), which would load the module for nothing; a built-in has no side effect to keep.
 */
function bareRequires(ast) {
  return ast.body.filter((st) => st.type === 'ExpressionStatement' && lazyRequired(st.expression) !== undefined);
}

/** Drop from `candidates` every name that is read anywhere other than as `<name>.<member>` (a parse-tree walk). */
function keepMemberOnly(node, parent, candidates) {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) keepMemberOnly(n, parent, candidates);
    return;
  }
  if (node.type === 'Identifier' && candidates.has(node.name)) {
    const asMember = parent?.type === 'MemberExpression' && parent.object === node;
    const notAReference =
      (parent?.type === 'MemberExpression' && parent.property === node && !parent.computed) ||
      (parent?.type === 'Property' && parent.key === node && !parent.computed && !parent.shorthand) ||
      candidates.get(node.name).decl === node;
    if (!asMember && !notAReference) candidates.delete(node.name);
  }
  for (const [k, v] of Object.entries(node)) if (k !== 'type' && v !== null && typeof v === 'object') keepMemberOnly(v, node, candidates);
}

const lazyBuiltins = {
  name: 'lazy-builtins',
  renderChunk(code) {
    const ast = this.parse(code);
    const candidates = lazyCandidates(ast);
    keepMemberOnly(ast, undefined, candidates);
    const edits = [...candidates].map(([name, c]) => {
      const load = `(${name}$lazy ??= require('node:${c.id}'))`;
      return { start: c.start, end: c.end, text: `let ${name}$lazy; const ${name} = new Proxy({}, { get: (_, k) => ${load}[k], has: (_, k) => k in ${load} });` };
    });
    for (const st of bareRequires(ast)) edits.push({ start: st.start, end: st.end, text: '' });
    if (edits.length === 0) return null;
    let out = code;
    for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
    return { code: out, map: null };
  },
};

/**
 * Bundle `entry` (an ESM module without top-level await) into `outDir` as the CLI is bundled: `<name>.cjs` plus
 * `chunks/`, where `<name>` defaults to the entry's file name without its extension. The tests bundle their own entries
 * with it, so "bundled like the CLI" stays true. Returns the path of the bundled entry.
 */
export async function bundleCli({ entry, outDir, name }) {
  const stem = path.basename(entry).replace(/\.[^.]*$/, ''); // esbuild names its output after the entry
  const outName = name ?? stem;
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
    outdir: stage,
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    plugins: [lazyChildProcess, globalProcess, signalExitAssert],
    logLevel: 'warning',
  });

  // Second pass: rollup re-chunks esbuild's output and writes it as CommonJS. esbuild makes one chunk per set of entry
  // points (each dynamic import is one) that reach a module, even when every importer of a dynamic chunk has already
  // loaded it; rollup leaves such modules where they already are: fewer files on each path (headers 25 → 11, an
  // object-cache hit 30 → 16). And CommonJS, because node's ESM loader costs what its CommonJS loader does not (URL
  // resolution, module jobs, files read through the thread pool): `--version` 12 ms less, a warm `headers` 10 ms less
  // (docs/performance.md). Dynamic imports between chunks become lazy `require`s. Nothing is tree-shaken or rewritten
  // beyond the module format and the lazy built-ins (above): treeshake is off, esbuild's chunks are taken as they are,
  // and any rollup warning (a circular chunk, an unresolved import) fails the build.
  const bundle = await rollup({
    input: path.join(stage, `${stem}.mjs`),
    external: (id) => id.startsWith('node:') || builtinModules.includes(id) || id === 'lzma-native',
    treeshake: false,
    onwarn: (w) => {
      throw new Error(`rollup: ${w.code}: ${w.message}`);
    },
  });
  await bundle.write({
    dir: outDir,
    format: 'cjs',
    entryFileNames: `${outName}.cjs`,
    chunkFileNames: 'chunks/[name]-[hash:8].cjs',
    generatedCode: 'es2015',
    plugins: [lazyBuiltins],
  });
  await bundle.close();
  fs.rmSync(stage, { recursive: true, force: true });
  return path.join(outDir, `${outName}.cjs`);
}

/**
 * Bundle the executable's launcher (`bin/launcher.ts` after tsc: installs the V8 code cache, then requires the CLI's
 * bundle beside it) into one CommonJS file of its own, `outFile`: it runs before any of the CLI's code is loaded.
 */
export async function bundleLauncher({ entry, outFile }) {
  await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    define: { 'import.meta.dirname': '__dirname' },
    outfile: outFile,
    logLevel: 'warning',
  });
}
