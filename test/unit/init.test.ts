import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Command, CommanderError } from 'commander';
import { initProject, listTemplates, projectNameOf, substitute } from '../../lib/init/index.js';
import { register as registerInit } from '../../lib/cli/commands/init.js';
import { cliContext } from '../../lib/cli/context.js';
import { isBpfCompileError } from '../../lib/errors.js';

let tmp: string;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'bpfc-init-'));
});
after(async () => fs.rm(tmp, { recursive: true, force: true }));

/** Run `bpf-compile init …` through the command; collect stdout. */
async function runInit(args: string[]): Promise<string> {
  const out: string[] = [];
  const program = new Command('bpf-compile').exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  registerInit(program, cliContext(program, { stdout: (s) => out.push(s), stderr: () => undefined }));
  await program.parseAsync(['node', 'bpf-compile', 'init', ...args]);
  return out.join('');
}

test('the three templates are listed with descriptions', async () => {
  const all = await listTemplates();
  assert.deepEqual(
    all.map((t) => t.name),
    ['core-tracepoint', 'kprobe', 'xdp-counter'],
  );
  for (const t of all) assert.ok(t.description.length > 10, t.name);
});

test('init --list prints one template per line, name first', async () => {
  const lines = (await runInit(['--list'])).trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.deepEqual(
    lines.map((l) => l.split(/\s+/)[0]),
    ['core-tracepoint', 'kprobe', 'xdp-counter'],
  );
  assert.match(lines[2] ?? '', /^xdp-counter\s+XDP packet counter/);
});

test('init writes the files with {{name}} substituted from the dir name', async () => {
  const dir = path.join(tmp, 'My Tool');
  const out = await runInit(['xdp-counter', dir]);
  assert.match(out, /created src\/xdp_counter\.bpf\.c/);
  const pkg = JSON.parse(await fs.readFile(path.join(dir, 'package.json'), 'utf8')) as { name: string; scripts: Record<string, string>; dependencies: Record<string, string> };
  assert.equal(pkg.name, 'my-tool');
  assert.equal(pkg.scripts['prebuild'], 'bpf-compile build src/*.bpf.c --out-dir build');
  assert.equal(pkg.scripts['start'], 'node index.mjs');
  assert.match(pkg.dependencies['bpf-compile'] ?? '', /^\^\d+\.\d+\.\d+/);
  for (const f of ['README.md', 'index.mjs', 'src/xdp_counter.bpf.c']) {
    const text = await fs.readFile(path.join(dir, f), 'utf8');
    assert.doesNotMatch(text, /\{\{\w+\}\}/, f);
  }
  assert.match(await fs.readFile(path.join(dir, 'README.md'), 'utf8'), /^# my-tool$/m);
  await assert.rejects(fs.access(path.join(dir, 'template.json')));
});

test('init refuses to overwrite, listing the conflicts; --force overwrites', async () => {
  const dir = path.join(tmp, 'again');
  await initProject({ template: 'kprobe', dir });
  await fs.writeFile(path.join(dir, 'README.md'), 'mine\n');
  await assert.rejects(
    initProject({ template: 'kprobe', dir }),
    (err: unknown) => isBpfCompileError(err, 'USAGE') && /README\.md/.test(err.message) && /src\/kprobe\.bpf\.c/.test(err.message) && /--force/.test(err.hint ?? ''),
  );
  assert.equal(await fs.readFile(path.join(dir, 'README.md'), 'utf8'), 'mine\n');
  const r = await initProject({ template: 'kprobe', dir, force: true });
  assert.ok(r.overwritten.includes('README.md'));
  assert.match(await fs.readFile(path.join(dir, 'README.md'), 'utf8'), /^# again$/m);
});

test('init into a dir holding other files is fine (no conflict)', async () => {
  const dir = path.join(tmp, 'other');
  await fs.mkdir(dir);
  await fs.writeFile(path.join(dir, 'notes.txt'), 'x');
  const r = await initProject({ template: 'core-tracepoint', dir, name: 'exec-spy' });
  assert.equal(r.name, 'exec-spy');
  assert.match(await fs.readFile(path.join(dir, 'src/core_tracepoint.bpf.c'), 'utf8'), /exec-spy: a CO-RE tracepoint/);
});

test('unknown template and missing template name are USAGE errors', async () => {
  await assert.rejects(initProject({ template: 'nope', dir: path.join(tmp, 'nope') }), (err: unknown) => isBpfCompileError(err, 'USAGE') && /kprobe/.test(err.hint ?? ''));
  await assert.rejects(runInit([]), (err: unknown) => isBpfCompileError(err, 'USAGE') || err instanceof CommanderError);
});

test('projectNameOf and substitute', () => {
  assert.equal(projectNameOf('/a/b/My_Project!'), 'my_project-');
  assert.equal(projectNameOf('/a/.hidden'), 'hidden');
  assert.equal(substitute('{{name}} {{other}}', { name: 'x' }), 'x {{other}}');
});
