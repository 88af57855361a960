// lib/system/code-cache.ts: the bundle's files loaded through V8 bytecode kept beside them. Every run is a process of
// its own (test/helpers/code-cache-run.ts): within one process V8's in-memory compilation cache would answer a second
// compile of the same source and never look at the bytecode, so an in-process "second run" would pass vacuously.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { commandVariant, installCodeCache, trustedCacheDir } from '../../lib/system/code-cache.js';

const RUNNER = path.resolve(import.meta.dirname, '../helpers/code-cache-run.ts');
const isRoot = process.getuid?.() === 0;
const uid = process.getuid?.() ?? -1;
let tmp: string;
let bundle: string;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-code-cache-'));
  bundle = path.join(tmp, 'bin');
  fs.mkdirSync(path.join(bundle, 'chunks'), { recursive: true });
  fs.writeFileSync(
    path.join(bundle, 'main.cjs'),
    "#!/usr/bin/env node\n'use strict';\nconst b = require('./chunks/b.cjs');\nexports.answer = () => b.twice(21);\nexports.where = () => b.where();\n",
  );
  fs.writeFileSync(path.join(bundle, 'chunks/b.cjs'), "'use strict';\nexports.twice = (n) => n * 2;\nexports.where = () => new Error('here').stack;\n");
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run {
  installed: boolean;
  answer: number;
  where: string;
  hits: string[];
  misses: string[];
  written: string[];
}

/** One process: install the loader, load main.cjs, write the bytecode (at the end, or in the exit handler). */
function run(options: Record<string, unknown> = {}): Run {
  const r = spawnSync(process.execPath, ['--import', 'tsx', RUNNER, bundle, JSON.stringify(options)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Run;
}
const v8Dir = (): string => path.join(bundle, '.v8-cache');
const v8Files = (dir = v8Dir()): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);
const names = (files: readonly string[]): string[] => files.map((f) => path.basename(f)).sort();

test('a first run compiles from source and writes bytecode on exit; the next process uses it and writes nothing', () => {
  const first = run({ exitOnly: true });
  assert.equal(first.answer, 42);
  assert.deepEqual(first.hits, []);
  assert.deepEqual(names(first.misses), ['b.cjs', 'main.cjs']);
  assert.equal(fs.statSync(v8Dir()).mode & 0o777, 0o700);
  const files = v8Files();
  assert.equal(files.length, 2, 'written by the exit handler');
  for (const f of files) {
    assert.match(f, /^(main|b)\.cjs\.any\.\d+\.\d+\.v8$/);
    assert.equal(fs.statSync(path.join(v8Dir(), f)).mode & 0o777, 0o600);
  }
  const stamps = files.map((f) => fs.statSync(path.join(v8Dir(), f)).mtimeMs);
  const second = run({ exitOnly: true });
  assert.equal(second.answer, 42);
  assert.deepEqual(names(second.hits), ['b.cjs', 'main.cjs'], 'both files compiled with the bytecode');
  assert.deepEqual(second.misses, []);
  assert.deepEqual(v8Files(), files);
  assert.deepEqual(
    files.map((f) => fs.statSync(path.join(v8Dir(), f)).mtimeMs),
    stamps,
    'nothing rewritten',
  );
});

test("positions in stack traces stay the file's own (the shebang is blanked, not removed; the wrapper is on line 1)", () => {
  for (const r of [run(), run()]) assert.match(r.where, /chunks\/b\.cjs:3:/);
});

test("each command has its own bytecode; a changed file replaces its own variant's bytecode only", () => {
  run({ variant: 'compile' });
  run({ variant: 'headers' });
  assert.equal(v8Files().length, 4);
  assert.equal(v8Files().filter((f) => f.includes('.compile.')).length, 2);
  assert.deepEqual(names(run({ variant: 'headers' }).hits), ['b.cjs', 'main.cjs']);
  // a new build: same name, other contents and time
  fs.writeFileSync(path.join(bundle, 'chunks/b.cjs'), "'use strict';\nexports.twice = (n) => n + n;\nexports.where = () => 'elsewhere';\n");
  fs.utimesSync(path.join(bundle, 'chunks/b.cjs'), new Date(2_000_000_000_000), new Date(2_000_000_000_000));
  const r = run({ variant: 'compile' });
  assert.equal(r.answer, 42);
  assert.deepEqual(names(r.misses), ['b.cjs']);
  const bs = v8Files().filter((f) => f.startsWith('b.cjs.'));
  assert.equal(bs.filter((f) => f.includes('.compile.')).length, 1, "the compile variant's old bytecode of b.cjs is gone");
  assert.equal(bs.filter((f) => f.includes('.headers.')).length, 1, "the headers variant's is left (its next run replaces it)");
  run({ variant: '../x' });
  assert.ok(
    v8Files().some((f) => f.includes('.any.')),
    'a variant that is not a word is `any`',
  );
  assert.equal(commandVariant(['node', 'bpf-compile', 'compile', 'x.c']), 'compile');
  assert.equal(commandVariant(['node', 'bpf-compile', '--version']), 'any');
  assert.equal(commandVariant(['node', 'bpf-compile', '../../etc']), 'any');
  assert.equal(commandVariant(['node', 'bpf-compile']), 'any');
});

test('bytecode V8 rejects (garbage, truncated) is ignored and replaced; the module still loads', () => {
  run();
  const [one, two] = v8Files();
  fs.writeFileSync(path.join(v8Dir(), one as string), Buffer.alloc(64, 0xa5));
  const good = fs.readFileSync(path.join(v8Dir(), two as string));
  fs.writeFileSync(path.join(v8Dir(), two as string), good.subarray(0, 16));
  const r = run();
  assert.equal(r.answer, 42);
  assert.deepEqual(r.hits, []);
  assert.equal(r.written.length, 2);
  assert.deepEqual(names(run().hits), ['b.cjs', 'main.cjs'], 'the replaced bytecode is accepted next time');
});

test('an untrusted bytecode directory is neither read nor written: a symbolic link, group- or world-writable', () => {
  const real = path.join(tmp, 'elsewhere');
  fs.mkdirSync(real, { mode: 0o700 });
  run({ cacheDir: real });
  assert.equal(v8Files(real).length, 2);
  assert.equal(run({ cacheDir: real }).hits.length, 2, 'valid bytecode for both files');
  const link = path.join(bundle, '.v8-link');
  fs.symlinkSync(real, link);
  assert.equal(trustedCacheDir(link, uid), false);
  const viaLink = run({ cacheDir: link });
  assert.deepEqual(viaLink.hits, [], 'bytecode behind a link is not used');
  assert.deepEqual(viaLink.written, []);
  for (const mode of [0o770, 0o707]) {
    fs.chmodSync(real, mode);
    assert.equal(trustedCacheDir(real, uid), false, `mode ${mode.toString(8)}`);
    const r = run({ cacheDir: real });
    assert.deepEqual(r.hits, []);
    assert.deepEqual(r.written, []);
    assert.equal(r.answer, 42);
  }
});

test("another user's bytecode is not used, and none is created in a bundle directory of another user", (t) => {
  if (!isRoot) {
    t.skip('needs root to give files to another user');
    return;
  }
  run();
  fs.chownSync(v8Dir(), 4242, 4242);
  const r = run({ uid: 1000 });
  assert.deepEqual(r.hits, [], "a directory owned by neither the user nor root is someone else's");
  assert.deepEqual(r.written, []);
  fs.rmSync(v8Dir(), { recursive: true });
  const notMine = run({ uid: 4242 });
  assert.deepEqual(notMine.written, [], "the bundle directory is root's, not user 4242's");
  assert.equal(fs.existsSync(v8Dir()), false);
  run();
  assert.equal(run({ uid: 4242 }).hits.length, 2, "root's bytecode is trusted like root's code");
});

test('BPF_COMPILE_CODE_CACHE=0 switches it off', () => {
  for (const off of ['0', 'off', 'FALSE', 'no']) {
    assert.equal(installCodeCache({ dir: bundle, env: { BPF_COMPILE_CODE_CACHE: off } }), undefined);
    const r = run({ env: { BPF_COMPILE_CODE_CACHE: off } });
    assert.equal(r.installed, false);
    assert.equal(r.answer, 42);
  }
  assert.deepEqual(v8Files(), []);
});

test('files outside the bundle directory load as usual', () => {
  fs.renameSync(path.join(bundle, 'main.cjs'), path.join(tmp, 'main.cjs'));
  fs.writeFileSync(path.join(bundle, 'main.cjs'), "module.exports = require('../main.cjs');\n");
  fs.writeFileSync(path.join(tmp, 'main.cjs'), "const b = require('./bin/chunks/b.cjs');\nexports.answer = () => b.twice(21);\nexports.where = () => b.where();\n");
  const r = run();
  assert.equal(r.answer, 42);
  assert.deepEqual(names(r.misses), ['b.cjs', 'main.cjs'], 'the bundle main.cjs and b.cjs, not ../main.cjs');
  assert.equal(r.misses.filter((m) => m === path.join(tmp, 'main.cjs')).length, 0);
});

test('a bundle file that does not compile throws as require would, and writes nothing', () => {
  fs.writeFileSync(path.join(bundle, 'chunks/b.cjs'), "'use strict';\nexports.twice = (n) => {\n");
  const r = spawnSync(process.execPath, ['--import', 'tsx', RUNNER, bundle, '{}'], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /SyntaxError/);
  assert.match(r.stderr, /chunks\/b\.cjs/);
  assert.deepEqual(
    v8Files().filter((f) => f.startsWith('b.cjs')),
    [],
  );
});

test("the bundle's relative requires are loaded by the cache's loader into node's module cache: one module per file, cycles, errors as node's", () => {
  // main requires b and c; c requires b again, main back (a cycle, as the chunks require the entry), a missing file
  // and a JSON file (not the bundle's: node's own require)
  fs.writeFileSync(
    path.join(bundle, 'main.cjs'),
    [
      "'use strict';",
      'exports.early = true;',
      "const b = require('./chunks/b.cjs');",
      "const c = require('./chunks/c.cjs');",
      'exports.answer = () => (c.sameB(b) ? 1 : 0) + (c.sawMain() ? 10 : 0) + (c.missing() === "MODULE_NOT_FOUND" ? 100 : 0) + (c.data().x === 7 ? 1000 : 0);',
      "exports.where = () => '';",
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(bundle, 'chunks/c.cjs'),
    [
      "'use strict';",
      "const b = require('./b.cjs');",
      "const main = require('../main.cjs');",
      'exports.sameB = (other) => other === b;',
      'exports.sawMain = () => main.early === true && typeof main.answer === "function";',
      "exports.missing = () => { try { require('./nope.cjs'); return 'loaded'; } catch (e) { return e.code; } };",
      "exports.data = () => require('./data.json');",
      '',
    ].join('\n'),
  );
  fs.writeFileSync(path.join(bundle, 'chunks/data.json'), '{"x": 7}');
  const first = run();
  assert.equal(first.answer, 1111);
  assert.deepEqual(names(first.misses), ['b.cjs', 'c.cjs', 'main.cjs'], 'each file compiled once');
  const second = run();
  assert.equal(second.answer, 1111);
  assert.deepEqual(names(second.hits), ['b.cjs', 'c.cjs', 'main.cjs']);
});
