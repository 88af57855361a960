/**
 * The CO-RE examples (`examples/core_*.bpf.c`): live BTF → cached vmlinux.h → clang (bpfel, -mcpu=v3) →
 * `bpftool prog loadall` (the verifier judges them) when this process may load BPF programs.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { SYSFS_VMLINUX } from '../../lib/btf/index.js';
import { vmlinuxHeaderFromCache } from '../../lib/btf/cache.js';
import { bpfLoadPermitted, coreClangArgs, loadAll } from '../helpers/bpf.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const EXAMPLES = ['core_kprobe', 'core_exec', 'core_kfunc'] as const;

function skipReason(): string | false {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.arch !== 'x64') return `the examples are compiled with -D__TARGET_ARCH_x86; this is ${process.arch}`;
  if (!fs.existsSync(SYSFS_VMLINUX)) return `${SYSFS_VMLINUX} is missing (kernel without CONFIG_DEBUG_INFO_BTF)`;
  if (!fs.existsSync('/usr/include/bpf/bpf_helpers.h')) return 'libbpf headers (/usr/include/bpf) are not installed';
  return false;
}

const skip = skipReason();
let tmp: string;
let headerDir: string;
let header: string;
let load: { ok: true } | { ok: false; reason: string };

describe('CO-RE examples', { skip }, () => {
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-core-'));
    const h = await vmlinuxHeaderFromCache({ cache: { cacheDir: path.join(tmp, 'cache') } });
    headerDir = h.dir;
    header = fs.readFileSync(h.header, 'utf8');
    load = await bpfLoadPermitted();
    if (!load.ok) console.log(`CO-RE examples will not be loaded: ${load.reason}`);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const name of EXAMPLES) {
    it(`${name}.bpf.c compiles against the cached vmlinux.h and loads`, async (t) => {
      const src = path.join(ROOT, 'examples', `${name}.bpf.c`);
      const obj = path.join(tmp, `${name}.bpf.o`);
      const cc = await execa('clang', coreClangArgs(headerDir, src, obj), { reject: false, all: true });
      if (cc.exitCode === undefined) return t.skip(`clang did not run: ${cc.message}`);
      assert.equal(cc.exitCode, 0, String(cc.all));
      assert.equal(String(cc.all).trim(), '', 'no compiler warnings');
      assert.ok(fs.statSync(obj).size > 0);

      if (name === 'core_kfunc' && !/\bbpf_task_acquire\(struct task_struct \*\w*\) __weak __ksym;/.test(header)) {
        return t.skip('this kernel has no bpf_task_acquire kfunc');
      }
      if (!load.ok) return t.skip(`not loaded: ${load.reason}`);
      const loaded = await loadAll(obj);
      try {
        assert.equal(loaded.programs.length, 1, `programs: ${loaded.programs.join(', ')}`);
      } finally {
        await loaded.cleanup();
      }
    });
  }
});
