import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { buildDoctorReport, formatDoctorReport, type DoctorProbes, type SourceReport, type ToolchainReport } from '../../lib/doctor/index.js';
import { register as registerDoctor } from '../../lib/cli/commands/doctor.js';
import { cliContext } from '../../lib/cli/context.js';
import { exitCodeOfVerdict } from '../../lib/cli/exit-codes.js';

const tools = (major: number): ToolchainReport => ({
  clangOk: true,
  backendOk: true,
  tools: ['clang', 'opt', 'llc', 'llvm-strip'].map((name) => ({ name, path: `/usr/bin/${name}`, major, version: `${major}.0.6` })),
  agree: true,
  majors: [major],
});

const found = (name: string, kind: SourceReport['kind']): SourceReport => ({ name, kind, found: true, detail: `/fake/${name}`, warnings: [] });
const missing = (name: string, kind: SourceReport['kind']): SourceReport => ({ name, kind, found: false, reason: `${name}: nothing here`, warnings: [] });

/** Probes of a machine where everything works; override what a test breaks. */
function good(over: Partial<DoctorProbes> = {}): Partial<DoctorProbes> {
  return {
    toolchain: async () => tools(14),
    libbpf: async () => ({ ok: true, dir: '/usr/include' }),
    sources: async () => [missing('override', 'kernel-tree'), found('modules', 'kernel-tree'), missing('kheaders', 'kernel-tree'), found('btf', 'vmlinux')],
    btf: async () => ({ path: '/sys/kernel/btf/vmlinux', present: true }),
    cache: async () => ({ path: '/var/cache/bpf-compile', origin: 'system', exists: true, ok: true }),
    bpf: async () => ({ permitted: true, root: true, bpftool: 'bpftool v7.1.0' }),
    installCommand: async (_root, rel) => `apt-get install linux-headers-${rel}`,
    ...over,
  };
}

const REL = '6.1.0-99-amd64';

test('all good: exit 0, both kinds of programs, a compile next step', async () => {
  const r = await buildDoctorReport({ kernelRelease: REL, arch: 'x86_64' }, good());
  assert.equal(exitCodeOfVerdict(r.verdict.status), 0);
  assert.equal(r.verdict.status, 'ok');
  assert.equal(r.verdict.kernelHeaders, true);
  assert.equal(r.verdict.core, true);
  assert.equal(r.target.release, REL);
  assert.equal(r.target.running, false);
  assert.deepEqual(r.nextSteps, [`compile: bpf-compile compile prog.bpf.c -o prog.bpf.o --kernel-release ${REL}`]);
  const text = formatDoctorReport(r);
  assert.match(text, /one LLVM major: yes \(14\)/);
  assert.match(text, /modules\s+found: \/fake\/modules/);
  assert.match(text, /kheaders\s+no: kheaders: nothing here/);
  assert.match(text, /bpf\(\) loading: permitted/);
});

test('no clang: exit 4 with the install step first', async () => {
  const noClang: ToolchainReport = {
    clangOk: false,
    backendOk: false,
    tools: ['clang', 'opt', 'llc', 'llvm-strip'].map((name) => ({ name, path: undefined, major: undefined, version: undefined })),
    agree: true,
    majors: [],
    error: 'clang not found',
    hint: 'install clang and llvm (Debian/Ubuntu: apt-get install clang llvm)',
  };
  const r = await buildDoctorReport({ kernelRelease: REL, arch: 'x86_64' }, good({ toolchain: async () => noClang }));
  assert.equal(exitCodeOfVerdict(r.verdict.status), 4);
  assert.equal(r.verdict.status, 'toolchain');
  assert.match(r.verdict.summary, /clang not found/);
  assert.match(r.nextSteps[0] ?? '', /apt-get install clang llvm/);
  assert.match(formatDoctorReport(r), /clang\s+not found/);
});

test('libbpf missing: exit 4', async () => {
  const r = await buildDoctorReport(
    { kernelRelease: REL, arch: 'x86_64' },
    good({ libbpf: async () => ({ ok: false, error: 'libbpf headers not found', hint: 'apt-get install libbpf-dev' }) }),
  );
  assert.equal(exitCodeOfVerdict(r.verdict.status), 4);
  assert.ok(r.nextSteps.includes('apt-get install libbpf-dev'));
});

test('no kernel headers and no BTF: exit 3 with the headers package and the BTF route', async () => {
  const r = await buildDoctorReport(
    { kernelRelease: REL, arch: 'x86_64' },
    good({
      sources: async () => [missing('override', 'kernel-tree'), missing('modules', 'kernel-tree'), missing('kheaders', 'kernel-tree'), missing('btf', 'vmlinux')],
      btf: async () => ({ path: '/sys/kernel/btf/vmlinux', present: false }),
    }),
  );
  assert.equal(exitCodeOfVerdict(r.verdict.status), 3);
  assert.equal(r.verdict.status, 'headers');
  assert.ok(r.nextSteps.some((s) => s.includes(`apt-get install linux-headers-${REL}`)));
  assert.ok(r.nextSteps.some((s) => s.includes('CONFIG_DEBUG_INFO_BTF')));
  assert.ok(!r.nextSteps.some((s) => s.startsWith('compile:')));
});

test('BTF only: exit 0, CO-RE only', async () => {
  const r = await buildDoctorReport(
    { kernelRelease: REL, arch: 'x86_64' },
    good({ sources: async () => [missing('override', 'kernel-tree'), missing('modules', 'kernel-tree'), missing('kheaders', 'kernel-tree'), found('btf', 'vmlinux')] }),
  );
  assert.equal(exitCodeOfVerdict(r.verdict.status), 0);
  assert.match(r.verdict.summary, /^CO-RE only/);
  assert.equal(r.verdict.kernelHeaders, false);
});

test('mismatched LLVM majors, unsafe cache and no bpf(): reported with next steps', async () => {
  const t = tools(14);
  const mixed: ToolchainReport = { ...t, tools: t.tools.map((x) => (x.name === 'llvm-strip' ? { ...x, major: 15, version: '15.0.7' } : x)), agree: false, majors: [14, 15] };
  const r = await buildDoctorReport(
    { kernelRelease: REL, arch: 'x86_64' },
    good({
      toolchain: async () => mixed,
      cache: async () => ({ path: '/x', origin: 'option', exists: true, ok: false, error: 'refusing to use the cache: /x is world-writable', hint: 'chmod 700 /x' }),
      bpf: async () => ({ permitted: false, root: false, bpftool: 'bpftool v7.1.0', reason: 'not running as root' }),
    }),
  );
  assert.equal(exitCodeOfVerdict(r.verdict.status), 0);
  assert.ok(r.nextSteps.some((s) => s.includes('use one LLVM version')));
  assert.ok(r.nextSteps.includes('chmod 700 /x'));
  assert.ok(r.nextSteps.some((s) => s.includes('run as root')));
  const text = formatDoctorReport(r);
  assert.match(text, /one LLVM major: no \(14, 15\)/);
  assert.match(text, /UNSAFE: refusing to use the cache/);
});

test('network: mirrors and proxies shown without credentials; a mirror not yet fetched → a fetch step; a bad proxy → a fix step', async () => {
  const noTree = good({ sources: async () => [missing('modules', 'kernel-tree'), missing('fetch', 'kernel-tree'), found('btf', 'vmlinux')] });
  const env = { BPF_COMPILE_MIRROR: 'https://ci:tok3n@mirror.example/kh', https_proxy: 'http://bob:pw@proxy.example:3128', NO_PROXY: '.example' };
  const r = await buildDoctorReport({ kernelRelease: REL, arch: 'x86_64', env }, noTree);
  assert.deepEqual(r.network, { mirrors: ['https://***@mirror.example/kh'], offline: false, httpsProxy: 'http://***@proxy.example:3128 (https_proxy)', noProxy: '.example' });
  assert.ok(
    r.nextSteps.some((s) => s.includes(`bpf-compile fetch --kernel-release ${REL}`)),
    r.nextSteps.join('\n'),
  );
  const text = formatDoctorReport(r);
  assert.match(text, /^mirrors: https:\/\/\*\*\*@mirror\.example\/kh$/m);
  assert.match(text, /^ {2}proxy: https:\/\/ via http:\/\/\*\*\*@proxy\.example:3128 \(https_proxy\), http:\/\/ direct; NO_PROXY: \.example$/m);
  assert.doesNotMatch(text + JSON.stringify(r), /tok3n|bob:pw/);
  // offline: no fetch step; no mirror: none
  const off = await buildDoctorReport({ kernelRelease: REL, arch: 'x86_64', env: { ...env, BPF_COMPILE_OFFLINE: '1' } }, noTree);
  assert.ok(!off.nextSteps.some((s) => s.includes('bpf-compile fetch')));
  const none = await buildDoctorReport({ kernelRelease: REL, arch: 'x86_64', env: {} }, noTree);
  assert.deepEqual(none.network, { mirrors: [], offline: false });
  assert.match(formatDoctorReport(none), /^mirrors: none/m);
  const bad = await buildDoctorReport({ kernelRelease: REL, arch: 'x86_64', env: { HTTP_PROXY: 'socks5://p:1080' } }, noTree);
  assert.match(bad.network.error ?? '', /socks5/);
  assert.ok(bad.nextSteps.some((s) => s.startsWith('fix the proxy setting')));
});

test('the doctor command registers doctor with --json and the target options', async () => {
  const out: string[] = [];
  const program = new Command('bpf-compile').exitOverride();
  registerDoctor(program, cliContext(program, { stdout: (s) => out.push(s), stderr: () => undefined }));
  assert.ok(program.commands.some((c) => c.name() === 'doctor'));
  const help = program.commands.find((c) => c.name() === 'doctor')?.helpInformation() ?? '';
  assert.match(help, /--json/);
  assert.match(help, /--kernel-release/);
});
