/**
 * Tailored BTF for real objects: the CO-RE examples, the core-tracepoint template and a fixture with every
 * relocation kind, compiled against this machine's BTF; tailored with `bpf-compile btfgen`; compared with
 * `bpftool gen min_core_btf` (type counts and sizes in the log); each object loaded by a libbpf loader built here
 * (`btf_custom_path` = the tailored file, then = the full BTF) — the verifier accepts it and the relocated
 * instructions (`bpftool prog dump xlated`) are the same.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { parseBtf, SYSFS_VMLINUX, type Btf } from '../../lib/btf/index.js';
import { vmlinuxHeaderFromCache } from '../../lib/btf/cache.js';
import { CandidateIndex, loadBpfObject, relocatedNames, resolveRelos } from '../../lib/btfgen/index.js';
import { ReloKindNumber } from '../../lib/btfgen/kinds.js';
import { bpfLoadPermitted, coreClangArgs } from '../helpers/bpf.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/bpf-compile.ts');
const LOADER_SRC = path.join(ROOT, 'test/helpers/core-loader.c');
const SOURCES: Record<string, string> = {
  core_kprobe: 'examples/core_kprobe.bpf.c',
  core_exec: 'examples/core_exec.bpf.c',
  core_kfunc: 'examples/core_kfunc.bpf.c',
  core_tracepoint: 'templates/core-tracepoint/src/core_tracepoint.bpf.c',
  relos: 'test/fixtures/core/relos.bpf.c',
};

function skipReason(): string | false {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'the objects are compiled for x86-64 Linux';
  if (!fs.existsSync(SYSFS_VMLINUX)) return `${SYSFS_VMLINUX} is missing (kernel without CONFIG_DEBUG_INFO_BTF)`;
  if (!fs.existsSync('/usr/include/bpf/bpf_helpers.h')) return 'libbpf headers (/usr/include/bpf) are not installed';
  return false;
}

const skip = skipReason();
const release = os.release();
let tmp: string;
let headerDir: string;
let header: string;
const objects: Record<string, string> = {};
let bpftool: string | false = false;
let loader: string | false = false;
let load: { ok: true } | { ok: false; reason: string } = { ok: false, reason: 'not probed' };
/** The objects built: SOURCES, plus `relos_matches` (the fixture with type_matches) when a clang >= 15 is installed. */
const names: string[] = [];
let matchesClang: string | undefined;

async function clang(cc: string, src: string, out: string, extra: string[] = []): Promise<void> {
  const r = await execa(cc, coreClangArgs(headerDir, src, out, extra), { reject: false, all: true });
  assert.equal(r.exitCode, 0, `${cc} ${src}:\n${String(r.all)}`);
}

async function cli(...args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa('node', ['--import', 'tsx', BIN, ...args], { reject: false });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

async function ours(names: readonly string[], out: string): Promise<string> {
  const r = await cli('btfgen', ...names.map((n) => objects[n]!), '--btf', SYSFS_VMLINUX, '-o', out);
  assert.equal(r.exitCode, 0, r.stderr);
  return path.join(out, `${release}.btf`);
}

async function theirs(names: readonly string[], out: string): Promise<string> {
  const r = await execa('bpftool', ['gen', 'min_core_btf', SYSFS_VMLINUX, out, ...names.map((n) => objects[n]!)], { reject: false, all: true });
  assert.equal(r.exitCode, 0, String(r.all));
  return out;
}

/** One line per type (kind, name, members/values by name) — for comparing two BTFs' content regardless of ids. */
function signatures(btf: Btf): string[] {
  return btf.types.slice(1).map((t) => {
    switch (t.kind) {
      case 'struct':
      case 'union':
        return `${t.kind} ${t.name} ${t.size} {${t.members.map((m) => `${m.name}@${m.bitOffset}`).join(',')}}`;
      case 'enum':
      case 'enum64':
        return `${t.kind} ${t.name} {${t.values.length}}`;
      default:
        return `${t.kind} ${t.name}`;
    }
  });
}

/** Load `obj` with `btf` as btf_custom_path; the xlated dump of each program (map ids normalised), then unpin. */
async function loadedXlated(obj: string, btf: string): Promise<Map<string, string>> {
  assert.ok(loader);
  const dir = `/sys/fs/bpf/bpfc_btfgen_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  try {
    const r = await execa(loader, [obj, btf, dir], { reject: false, all: true });
    assert.equal(r.exitCode, 0, `load of ${path.basename(obj)} with ${btf}:\n${String(r.all).slice(-3000)}`);
    const dumps = new Map<string, string>();
    for (const prog of String(r.stdout).split('\n').filter(Boolean)) {
      const d = await execa('bpftool', ['prog', 'dump', 'xlated', 'pinned', path.join(dir, prog)]);
      dumps.set(prog, String(d.stdout).replace(/map\[id:\d+\]/g, 'map[id:*]'));
    }
    return dumps;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('btfgen on real objects', { skip }, () => {
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-btfgen-'));
    const h = await vmlinuxHeaderFromCache({ cache: { cacheDir: path.join(tmp, 'cache') } });
    headerDir = h.dir;
    header = fs.readFileSync(h.header, 'utf8');
    for (const [name, src] of Object.entries(SOURCES)) {
      objects[name] = path.join(tmp, `${name}.bpf.o`);
      await clang('clang', path.join(ROOT, src), objects[name]);
      names.push(name);
    }
    matchesClang = ['clang-19', 'clang-18', 'clang-17', 'clang-16', 'clang-15'].find((c) => fs.existsSync(`/usr/bin/${c}`));
    if (matchesClang !== undefined) {
      objects['relos_matches'] = path.join(tmp, 'relos_matches.bpf.o');
      await clang(matchesClang, path.join(ROOT, SOURCES['relos']!), objects['relos_matches'], ['-DWITH_TYPE_MATCHES']);
      names.push('relos_matches');
    } else {
      console.log('# no clang >= 15 installed: the type_matches fixture is not built (clang 14 cannot emit TYPE_MATCHES)');
    }
    const help = await execa('bpftool', ['gen', 'help'], { reject: false, all: true });
    bpftool = help.exitCode === 0 && String(help.all).includes('min_core_btf') ? 'bpftool' : false;
    if (!bpftool) console.log('# bpftool with `gen min_core_btf` is not installed: the comparison skips');
    const gcc = await execa('gcc', ['-O1', '-o', path.join(tmp, 'core-loader'), LOADER_SRC, '-lbpf'], { reject: false, all: true });
    loader = gcc.exitCode === 0 ? path.join(tmp, 'core-loader') : false;
    if (!loader) console.log(`# the libbpf loader did not build (gcc + libbpf-dev needed): ${String(gcc.all).slice(-300)}`);
    load = await bpfLoadPermitted();
    if (!load.ok) console.log(`# objects will not be loaded: ${load.reason}`);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('keeps no more types than bpftool gen min_core_btf, and the same ones (per object and for all together)', async (t) => {
    if (!bpftool) return t.skip('bpftool gen min_core_btf is not available');
    const sets: [string, string[]][] = [...names.map((n): [string, string[]] => [n, [n]]), ['all', names]];
    for (const [label, set] of sets) {
      const mine = fs.readFileSync(await ours(set, path.join(tmp, `ours-${label}`)));
      const ref = fs.readFileSync(await theirs(set, path.join(tmp, `bpftool-${label}.btf`)));
      const a = parseBtf(mine);
      const b = parseBtf(ref);
      console.log(`# ${label}: bpf-compile ${a.count - 1} types / ${mine.length} bytes; bpftool ${b.count - 1} types / ${ref.length} bytes`);
      assert.ok(a.count <= b.count, `${label}: ${a.count - 1} types > bpftool's ${b.count - 1}`);
      assert.ok(mine.length <= ref.length, `${label}: ${mine.length} bytes > bpftool's ${ref.length}`);
      assert.deepEqual(signatures(a), signatures(b), `${label}: the same types, members and order`);
    }
  });

  it('every object loads with its tailored BTF as btf_custom_path, relocated exactly as with the full BTF', async (t) => {
    if (!loader) return t.skip('the libbpf loader could not be built');
    if (!load.ok) return t.skip(`not loaded: ${load.reason}`);
    const kernel = parseBtf(fs.readFileSync(SYSFS_VMLINUX));
    for (const name of names) {
      if (name === 'core_kfunc' && !/\bbpf_task_acquire\(struct task_struct \*\w*\) __weak __ksym;/.test(header)) {
        console.log('# core_kfunc skipped: this kernel has no bpf_task_acquire kfunc');
        continue;
      }
      const file = await ours([name], path.join(tmp, `load-${name}`));
      const tailored = parseBtf(fs.readFileSync(file));
      const withTailored = await loadedXlated(objects[name]!, file);
      const withFull = await loadedXlated(objects[name]!, SYSFS_VMLINUX);
      assert.deepEqual([...withTailored.keys()], [...withFull.keys()]);
      // target_type_id is the id in the BTF loaded against: the same-named type's id in each
      const obj = await loadBpfObject(objects[name]!);
      const idsFull = resolveRelos(obj, kernel, 'full', new CandidateIndex(kernel, relocatedNames([obj])));
      const idsSmall = resolveRelos(obj, tailored, 'tailored', new CandidateIndex(tailored, relocatedNames([obj])));
      const idPairs = new Set<string>();
      idsFull.forEach((f, i) => {
        const s = idsSmall[i]!;
        if (f.relo.kind === ReloKindNumber.TYPE_ID_TARGET && !f.value.poison && !s.value.poison) {
          assert.equal(tailored.nameOf(Number(s.value.value)), kernel.nameOf(Number(f.value.value)));
          idPairs.add(`0x${f.value.value.toString(16)}>0x${s.value.value.toString(16)}`);
        } else {
          assert.deepEqual(s.value, f.value, `${name} relo ${i} (${f.kindName} ${f.access})`);
        }
      });
      let differing = 0;
      for (const [prog, full] of withFull) {
        const a = full.split('\n');
        const b = withTailored.get(prog)!.split('\n');
        assert.equal(b.length, a.length, `${name}/${prog}: same instruction count`);
        a.forEach((line, i) => {
          if (line === b[i]) return;
          differing++;
          const fa = /= (0x[0-9a-f]+)$/.exec(line)?.[1];
          const fb = /= (0x[0-9a-f]+)$/.exec(b[i]!)?.[1];
          assert.ok(
            fa !== undefined && fb !== undefined && idPairs.has(`${fa}>${fb}`),
            `${name}/${prog} line ${i} differs beyond a target type id:\n  full:     ${line}\n  tailored: ${b[i]}`,
          );
        });
      }
      console.log(`# ${name}: ${withFull.size} program(s), ${tailored.count - 1} tailored types; xlated equal but for ${differing} target type id(s)`);
    }
  });

  it('reports the relocations this kernel cannot satisfy, per object', async () => {
    const r = await cli('btfgen', objects['relos']!, '--btf', SYSFS_VMLINUX, '-o', path.join(tmp, 'report'), '--json');
    assert.equal(r.exitCode, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { kernels: { unresolved: { kind: string; access: string; outcome: string; object: string }[] }[] };
    const u = j.kernels[0]!.unresolved.map((x) => `${x.kind} ${x.access.split(' ')[0]} ${x.outcome}`);
    assert.deepEqual(u, ['field_exists task_struct___old.state zero', 'byte_off task_struct___old.state poisoned', 'type_exists bpfc_no_such_type zero']);
    const human = await cli('btfgen', objects['relos']!, '--btf', SYSFS_VMLINUX, '-o', path.join(tmp, 'report'));
    assert.match(human.stdout, /3 relocation\(s\) unresolved/);
    assert.match(human.stdout, /byte_off task_struct___old\.state .*poisoned/);
  });

  it('a btfhub-archive layout (.btf.tar.xz under <id>/<version>/<arch>/) is mirrored into the output', async () => {
    const stage = path.join(tmp, 'stage');
    fs.mkdirSync(stage);
    fs.copyFileSync(SYSFS_VMLINUX, path.join(stage, `${release}.btf`));
    const hub = path.join(tmp, 'hub', 'debian', '12', 'x86_64');
    fs.mkdirSync(hub, { recursive: true });
    await execa('tar', ['-C', stage, '-cJf', path.join(hub, `${release}.btf.tar.xz`), `${release}.btf`]);
    fs.mkdirSync(path.join(tmp, 'hub', 'fedora', '38', 'x86_64'), { recursive: true });
    fs.copyFileSync(SYSFS_VMLINUX, path.join(tmp, 'hub', 'fedora', '38', 'x86_64', 'other-release.btf'));
    const out = path.join(tmp, 'hub-out');
    const r = await cli('btfgen', objects['core_kprobe']!, '--btf', path.join(tmp, 'hub'), '-o', out);
    assert.equal(r.exitCode, 0, r.stderr);
    const direct = fs.readFileSync(await ours(['core_kprobe'], path.join(tmp, 'direct')));
    assert.deepEqual(fs.readFileSync(path.join(out, 'debian/12/x86_64', `${release}.btf`)), direct);
    assert.deepEqual(fs.readFileSync(path.join(out, 'fedora/38/x86_64/other-release.btf')), direct);
    assert.match(r.stdout, /tailored BTF for 2 of 2 kernel/);
  });

  it('build --btfgen DIR writes the tailored BTF of the CO-RE objects it builds', async () => {
    const out = path.join(tmp, 'build');
    const srcs = ['core_kprobe', 'core_exec'].map((n) => path.join(ROOT, SOURCES[n]!));
    const r = await cli('build', ...srcs, '--out-dir', out, '--btfgen', path.join(out, 'btf'), '--btfgen-btf', SYSFS_VMLINUX, '--cache-dir', path.join(tmp, 'cache'));
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /2 built, 0 failed .*; tailored BTF for 1 of 1 kernel/);
    const built = parseBtf(fs.readFileSync(path.join(out, 'btf', `${release}.btf`)));
    const direct = parseBtf(fs.readFileSync(await ours(['core_kprobe', 'core_exec'], path.join(tmp, 'build-direct'))));
    assert.deepEqual(signatures(built), signatures(direct));
  });

  it('type_matches (clang >= 15) keeps the matched struct with all its members', async (t) => {
    if (matchesClang === undefined) return t.skip('no clang >= 15 installed (bpf_core_type_matches needs it; clang 14 cannot emit TYPE_MATCHES)');
    const mine = parseBtf(fs.readFileSync(await ours(['relos_matches'], path.join(tmp, 'matches'))));
    const lh = mine.findByName('list_head', 'struct');
    assert.ok(lh?.kind === 'struct');
    assert.deepEqual(
      lh.members.map((m) => m.name),
      ['next', 'prev'],
    );
    const obj = await loadBpfObject(objects['relos_matches']!);
    assert.ok(
      obj.relos.some((r) => r.kind === ReloKindNumber.TYPE_MATCHES),
      `${matchesClang} emitted a type_matches relocation`,
    );
  });
});
