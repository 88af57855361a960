import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lookupArch } from '../../lib/arch.js';
import { defaultCpu } from '../../lib/compile/cpu.js';
import { buildKernelPlan, buildPlainPlan, cflagsOf, KERNEL_CODEGEN_FLAGS, KERNEL_DEFINES, type FlagInputs } from '../../lib/compile/flags.js';
import { shellQuote } from '../../lib/cli/format.js';

const inputs = (arch = 'x86_64', userFlags: string[] = []): FlagInputs => ({
  source: '/src/prog/probe.bpf.c',
  output: '/out/.probe.bpf.o.tmp',
  arch: lookupArch(arch),
  cpu: 'v3',
  resourceDir: '/usr/lib/llvm-14/lib/clang/14.0.6',
  systemIncludeDirs: ['/usr/lib/llvm-14/lib/clang/14.0.6/include', '/usr/local/include', '/usr/include/x86_64-linux-gnu', '/usr/include'],
  libbpfInclude: '/usr/include',
  userFlags,
});
const headers = {
  sourceDir: '/S',
  buildDir: '/B',
  includeDirs: ['/S/arch/x86/include', '/B/arch/x86/include/generated', '/S/include', '/B/include'],
  kconfigHeader: '/S/include/linux/kconfig.h',
};

test('kernel plan: host-triple front end emitting IR, then opt and llc for BPF', () => {
  const p = buildKernelPlan(inputs('x86_64', ['-DFOO=1']), headers);
  const c = p.clang;
  assert.deepEqual(c.slice(0, 5), ['-target', 'x86_64-linux-gnu', '-nostdinc', '-isystem', '/usr/lib/llvm-14/lib/clang/14.0.6/include']);
  // kernel include order (as system dirs: warnings inside kernel headers are not the program's), then kconfig.h, then libbpf after everything
  assert.deepEqual(
    c.slice(5, 9),
    headers.includeDirs.map((d) => `-isystem${d}`),
  );
  assert.deepEqual(c.slice(9, 13), ['-include', '/S/include/linux/kconfig.h', '-idirafter', '/usr/include']);
  for (const d of KERNEL_DEFINES) assert.ok(c.includes(`-D${d}`), d);
  for (const f of KERNEL_CODEGEN_FLAGS) assert.ok(c.includes(f), f);
  assert.ok(c.includes('-D__TARGET_ARCH_x86'));
  assert.ok(c.includes('-fno-asynchronous-unwind-tables'), 'no .eh_frame');
  assert.ok(c.includes('-g'));
  assert.ok(c.includes('-fno-ident'));
  assert.ok(c.includes('-fdebug-prefix-map=/src/prog=.'));
  assert.ok(c.includes('-fdebug-prefix-map=/S=/kernel-source') && c.includes('-fdebug-prefix-map=/B=/kernel-build'));
  assert.ok(c.indexOf('-DFOO=1') > c.indexOf('-O2'), 'user flags come after ours');
  assert.deepEqual(c.slice(-7), ['-emit-llvm', '-Xclang', '-disable-llvm-passes', '-c', '/src/prog/probe.bpf.c', '-o', '-']);
  assert.deepEqual(p.opt, ['-O2', '-mtriple=bpfel-pc-linux']);
  assert.deepEqual(p.llc, ['-march=bpfel', '-mcpu=v3', '-filetype=obj', '-o', '/out/.probe.bpf.o.tmp']);
});

test('kernel plan for a big-endian cross target', () => {
  const p = buildKernelPlan(inputs('s390x'), { ...headers, includeDirs: [] });
  assert.deepEqual(p.clang.slice(0, 2), ['-target', 's390x-linux-gnu']);
  assert.ok(p.clang.includes('-D__TARGET_ARCH_s390'));
  assert.deepEqual(p.opt, ['-O2', '-mtriple=bpfeb-pc-linux']);
  assert.equal(p.llc[0], '-march=bpfeb');
});

test('kernel plan with one tree maps it once', () => {
  const p = buildKernelPlan(inputs(), { ...headers, buildDir: '/S' });
  assert.equal(p.clang.filter((a) => a.startsWith('-fdebug-prefix-map=/S')).length, 1);
});

test('plain plan: -target bpfel, -mcpu, clang system dirs via -idirafter', () => {
  const p = buildPlainPlan(inputs('aarch64'));
  assert.deepEqual(p.clang.slice(0, 4), ['-target', 'bpfel', '-D__TARGET_ARCH_arm64', '-mcpu=v3']);
  const after = p.clang.flatMap((a, i) => (a === '-idirafter' ? [p.clang[i + 1]] : []));
  assert.deepEqual(after, inputs().systemIncludeDirs);
  assert.ok(!p.clang.includes('-I/usr/include'), 'libbpf dir already a system dir: not added twice');
  assert.ok(!p.clang.includes('-emit-llvm'));
  assert.deepEqual(p.clang.slice(-4), ['-c', '/src/prog/probe.bpf.c', '-o', '/out/.probe.bpf.o.tmp']);
  const p2 = buildPlainPlan({ ...inputs('ppc64'), libbpfInclude: '/opt/libbpf/include' });
  assert.equal(p2.clang[1], 'bpfeb');
  assert.ok(p2.clang.includes('-I/opt/libbpf/include'));
});

test('argv building is pure: same inputs, same argv', () => {
  assert.deepEqual(buildKernelPlan(inputs(), headers), buildKernelPlan(inputs(), headers));
  assert.deepEqual(buildPlainPlan(inputs()), buildPlainPlan(inputs()));
});

test('cflags drop the input, output, IR-only and path-map flags', () => {
  const k = cflagsOf(buildKernelPlan(inputs(), headers));
  for (const gone of ['-c', '-o', '-emit-llvm', '-Xclang', '/src/prog/probe.bpf.c', '-']) assert.ok(!k.includes(gone), gone);
  assert.ok(!k.some((a) => a.startsWith('-fdebug-prefix-map')));
  assert.ok(k.includes('-nostdinc') && k.includes('-D__KERNEL__'));
  const p = cflagsOf(buildPlainPlan(inputs()));
  assert.deepEqual(p.slice(0, 4), ['-target', 'bpfel', '-D__TARGET_ARCH_x86', '-mcpu=v3']);
  assert.ok(!p.includes('/out/.probe.bpf.o.tmp'));
});

test('default -mcpu follows the target release', () => {
  assert.equal(defaultCpu('6.1.0-56-amd64'), 'v3');
  assert.equal(defaultCpu('5.1.0'), 'v3');
  assert.equal(defaultCpu('5.0.21'), 'v2');
  assert.equal(defaultCpu('4.14.1'), 'v2');
  assert.equal(defaultCpu('4.9.337'), 'v1');
  assert.equal(defaultCpu('weird'), 'v3');
});

test('shell quoting for Makefiles', () => {
  assert.equal(shellQuote('-I/usr/include'), '-I/usr/include');
  assert.equal(shellQuote('-DKBUILD_MODNAME="bpf"'), `'-DKBUILD_MODNAME="bpf"'`);
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellQuote(''), "''");
});
