import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Command } from 'commander';
import { register as registerDoctor } from '../../lib/cli/commands/doctor.js';
import { cliContext } from '../../lib/cli/context.js';
import { EXIT_BY_ERROR } from '../../lib/cli/exit-codes.js';
import { isBpfCompileError } from '../../lib/errors.js';
import type { DoctorReport } from '../../lib/doctor/index.js';
import { sourceNames } from '../../lib/sources/index.js';
import { findDebianHeaderTrees } from '../helpers/kheaders-fixture.js';

/** The release of the installed Debian headers package (whatever its ABI number), or a placeholder that skips. */
const DEBIAN_REL = findDebianHeaderTrees()?.release ?? 'no-debian-headers-installed';
let cacheDir: string;
before(async () => {
  cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bpfc-doctor-'));
});
after(async () => fs.rm(cacheDir, { recursive: true, force: true }));

/** Run `bpf-compile doctor …` as main() would: the exit code and stdout. */
async function doctor(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command('bpf-compile').exitOverride();
  registerDoctor(program, cliContext(program, { stdout: (s) => out.push(s), stderr: (s) => err.push(s) }));
  try {
    await program.parseAsync(['node', 'bpf-compile', 'doctor', '--cache-dir', cacheDir, ...args]);
    return { code: 0, stdout: out.join(''), stderr: err.join('') };
  } catch (e) {
    if (!isBpfCompileError(e)) throw e;
    return { code: EXIT_BY_ERROR[e.code], stdout: out.join(''), stderr: e.message };
  }
}

const haveDebianHeaders = await fs.access(`/lib/modules/${DEBIAN_REL}/build`).then(
  () => true,
  () => false,
);
const haveBtf = await fs.access('/sys/kernel/btf/vmlinux').then(
  () => true,
  () => false,
);
const runningHasHeaders = await fs.access(`/lib/modules/${os.release()}/build`).then(
  () => true,
  () => false,
);

test(`--kernel-release ${DEBIAN_REL}: modules found, exit 0`, { skip: haveDebianHeaders ? false : `no /lib/modules/${DEBIAN_REL}/build` }, async () => {
  const r = await doctor(['--kernel-release', DEBIAN_REL]);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, new RegExp(`target: ${DEBIAN_REL.replace(/\./g, '\\.')} \\(x86_64\\)`));
  assert.match(r.stdout, new RegExp(`modules\\s+found: /lib/modules/${DEBIAN_REL.replace(/\./g, '\\.')}`));
  assert.match(r.stdout, /clang\s+\/\S+clang\S*\s+\d+\.\d+\.\d+/);
  assert.match(r.stdout, /libbpf headers: ok/);
  assert.match(r.stdout, /kernel-headers programs: yes/);
});

test(
  'default target (running kernel without headers, with BTF): exit 0, CO-RE only',
  { skip: !haveBtf || runningHasHeaders ? 'needs a running kernel with BTF and without headers' : false },
  async () => {
    const r = await doctor([]);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /the running kernel/);
    assert.match(r.stdout, /modules\s+no: /);
    assert.match(r.stdout, /btf\s+found: \/sys\/kernel\/btf\/vmlinux/);
    assert.match(r.stdout, /BTF: present/);
    assert.match(r.stdout, /verdict: CO-RE only/);
    assert.match(r.stdout, /install the kernel headers for/);
  },
);

test('--json: the report shape', async () => {
  const r = await doctor(['--json', '--kernel-release', DEBIAN_REL]);
  const j = JSON.parse(r.stdout) as DoctorReport & { exitCode: number };
  assert.equal(j.exitCode, r.code);
  assert.equal(j.target.release, DEBIAN_REL);
  assert.deepEqual(
    j.toolchain.tools.map((t) => t.name),
    ['clang', 'opt', 'llc', 'llvm-strip'],
  );
  assert.equal(typeof j.toolchain.agree, 'boolean');
  assert.equal(typeof j.libbpf.ok, 'boolean');
  assert.deepEqual(
    j.sources.map((s) => s.name),
    sourceNames(),
    'every header source, in priority order',
  );
  for (const s of j.sources) assert.ok(s.found ? typeof s.detail === 'string' : typeof s.reason === 'string', s.name);
  assert.equal(j.btf.path, '/sys/kernel/btf/vmlinux');
  assert.equal(j.cache.path, cacheDir);
  assert.equal(j.cache.origin, 'option');
  assert.equal(j.cache.ok, true);
  assert.equal(typeof j.bpf.permitted, 'boolean');
  assert.equal(j.bpf.root, process.getuid?.() === 0);
  assert.ok(['ok', 'toolchain', 'headers'].includes(j.verdict.status));
  assert.ok(Array.isArray(j.nextSteps) && j.nextSteps.length > 0);
});

test('an unsafe cache dir is reported, not fatal', async () => {
  const bad = path.join(cacheDir, 'world');
  await fs.mkdir(bad);
  await fs.chmod(bad, 0o777);
  const r = await doctor(['--json', '--cache-dir', bad, '--kernel-release', DEBIAN_REL]);
  const j = JSON.parse(r.stdout) as DoctorReport;
  assert.equal(j.cache.ok, false);
  assert.match(j.cache.error ?? '', /refusing to use the cache/);
});

test('a root without headers or BTF: exit 3', async () => {
  const root = path.join(cacheDir, 'empty-root');
  await fs.mkdir(root);
  const r = await doctor(['--root', root, '--kernel-release', '6.1.0-1-amd64']);
  assert.equal(r.code, 3, r.stdout);
  assert.match(r.stdout, /no kernel headers and no BTF/);
});
