import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isBpfCompileError, ErrorCode } from '../../lib/errors.js';
import { dumpCHeader, generateVmlinuxHeader, loadBtfFile, type Btf } from '../../lib/btf/index.js';
import { BtfBuilder, compileC, findClang } from '../helpers/btf-builder.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';

let cached: { btf: Btf; header: string } | undefined;
async function live(): Promise<{ btf: Btf; header: string }> {
  if (cached === undefined) {
    const btf = await loadBtfFile(VMLINUX);
    cached = { btf, header: dumpCHeader(btf) };
  }
  return cached;
}

function skipReason(needs: { clang?: boolean; bpftool?: boolean; root?: boolean } = {}): string | undefined {
  if (!existsSync(VMLINUX)) return `${VMLINUX} not present (kernel without CONFIG_DEBUG_INFO_BTF?)`;
  if (needs.clang === true && findClang() === undefined) return 'clang not installed';
  if (needs.bpftool === true && spawnSync('bpftool', ['version']).status !== 0) return 'bpftool not installed';
  if (needs.root === true && process.getuid?.() !== 0) return 'needs root to load BPF programs';
  return undefined;
}

function skip(t: { skip: (m: string) => void }, reason: string): void {
  console.log(`# skipped: ${reason}`);
  t.skip(reason);
}

/** Top-level named definitions in a C header: `struct X {`, `union X {`, `enum X {`, `typedef … X;`. */
function definedNames(header: string): Set<string> {
  const names = new Set<string>();
  for (const line of header.split('\n')) {
    let m = /^(struct|union|enum) (\w+) \{/.exec(line);
    if (m !== null) {
      names.add(`${m[1]} ${m[2]}`);
      continue;
    }
    if (line.startsWith('typedef ')) {
      m = /\(\*\s*(\w+)\)\s*\(/.exec(line) ?? /(\w+)(\[\d+\])*;$/.exec(line);
      if (m !== null) names.add(`typedef ${m[1]}`);
    }
  }
  return names;
}

test('live vmlinux: the generated header compiles with clang -g -O2 -target bpf and bpf_helpers.h', async (t) => {
  const why = skipReason({ clang: true });
  if (why !== undefined) return skip(t, why);
  const header = await generateVmlinuxHeader();
  assert.equal(header, (await live()).header, 'generateVmlinuxHeader() reads the same sysfs BTF');
  const r = compileC(
    findClang()!,
    '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_core_read.h>\n#include <bpf/bpf_tracing.h>\n' +
      'char LICENSE[] SEC("license") = "GPL";\nSEC("tp/syscalls/sys_enter_getpid") int h(void *ctx) { struct task_struct *t = (void *)bpf_get_current_task(); return BPF_CORE_READ(t, real_parent, tgid) > 0; }\n',
    { 'vmlinux.h': header },
    ['-g', '-O2'],
  );
  assert.ok(r.ok, r.stderr.slice(0, 4000));
});

test('live vmlinux: same named structs, unions, enums and typedefs as bpftool, and byte-identical modulo documented differences', async (t) => {
  const why = skipReason({ bpftool: true });
  if (why !== undefined) return skip(t, why);
  const r = spawnSync('bpftool', ['btf', 'dump', 'file', VMLINUX, 'format', 'c'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, r.stderr);
  const theirs = r.stdout;
  const { btf } = await live();
  const ours = dumpCHeader(btf, { kfuncs: false });
  const a = definedNames(ours);
  const b = definedNames(theirs);
  assert.ok(b.size > 10_000, `suspiciously few names from bpftool: ${b.size}`);
  assert.deepEqual(
    [...a].filter((n) => !b.has(n)),
    [],
    'names only we define',
  );
  assert.deepEqual(
    [...b].filter((n) => !a.has(n)),
    [],
    'names only bpftool defines',
  );
  const version = spawnSync('bpftool', ['version'], { encoding: 'utf8' }).stdout;
  const m = /v(\d+)\.(\d+)/.exec(version);
  // bpftool ≥ 7.5 sorts its output; older ones dump in id order like we do
  if (m !== null && (Number(m[1]) < 7 || (Number(m[1]) === 7 && Number(m[2]) < 5))) {
    // documented difference: newer libbpf (and we) size 1-byte / 8-byte enums with mode(byte)/mode(word)
    const normalized = ours.replaceAll(' __attribute__((mode(byte)))', '').replaceAll(' __attribute__((mode(word)))', '');
    assert.ok(normalized === theirs, 'output differs from bpftool beyond the enum mode attributes');
  } else {
    t.diagnostic(`bpftool ${m?.[0] ?? '?'} sorts its output; compared names only`);
  }
});

test('live vmlinux: member offsets of sample structs agree with the BTF (clang _Static_assert)', async (t) => {
  const why = skipReason({ clang: true });
  if (why !== undefined) return skip(t, why);
  const { btf, header } = await live();
  const sample = ['task_struct', 'sk_buff', 'file', 'inode', 'mm_struct', 'sock', 'net_device', 'cred', 'super_block', 'dentry', 'bpf_prog', 'page', 'iphdr', 'tcp_sock'];
  const lines: string[] = [];
  for (const name of sample) {
    const s = btf.findByName(name, 'struct');
    if (s === undefined || s.kind !== 'struct') continue;
    lines.push(`_Static_assert(sizeof(struct ${name}) == ${s.size}, "sizeof ${name}");`);
    for (const m of btf.walkMembers(s.id, { recurse: true })) {
      if (m.bitfieldSize !== 0 || m.name === '') continue;
      lines.push(`_Static_assert(__builtin_offsetof(struct ${name}, ${m.path}) == ${m.byteOffset}, "${name}.${m.path}");`);
    }
  }
  assert.ok(lines.length > 500, `only ${lines.length} assertions`);
  const r = compileC(findClang()!, `#include "vmlinux.h"\n${lines.join('\n')}\n`, { 'vmlinux.h': header }, ['-g', '-O2']);
  assert.ok(r.ok, r.stderr.slice(0, 4000));
});

test('live vmlinux: a CO-RE program using BPF_CORE_READ compiles and loads (bpftool prog loadall)', async (t) => {
  const why = skipReason({ clang: true, bpftool: true, root: true });
  if (why !== undefined) return skip(t, why);
  if (!existsSync('/sys/fs/bpf')) return skip(t, '/sys/fs/bpf (bpffs) not mounted');
  const { header } = await live();
  const dir = mkdtempSync(path.join(tmpdir(), 'btf-core-'));
  const pin = `/sys/fs/bpf/bpf-compile-btf-test-${process.pid}-${Date.now()}`;
  try {
    const obj = path.join(dir, 'core.bpf.o');
    const src = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
char LICENSE[] SEC("license") = "GPL";
SEC("tp/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	int ppid = BPF_CORE_READ(task, real_parent, tgid);
	unsigned long flags = BPF_CORE_READ(task, mm, def_flags);
	bpf_printk("ppid=%d flags=%lu", ppid, flags);
	return 0;
}
`;
    const r = compileC(findClang()!, src, { 'vmlinux.h': header }, ['-g', '-O2'], obj);
    assert.ok(r.ok, r.stderr.slice(0, 4000));
    const load = spawnSync('bpftool', ['prog', 'loadall', obj, pin], { encoding: 'utf8' });
    assert.equal(load.status, 0, `bpftool prog loadall failed:\n${load.stderr}`);
    const show = spawnSync('bpftool', ['prog', 'show', 'pinned', path.join(pin, 'on_getpid')], { encoding: 'utf8' });
    assert.equal(show.status, 0, show.stderr);
    assert.match(show.stdout, /tracepoint/);
  } finally {
    rmSync(pin, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});

test('generateVmlinuxHeader: --root tree with module BTF appended as split BTF; bad names and missing modules are errors', async () => {
  const base = new BtfBuilder();
  const i32 = base.int('int', 4, { signed: true });
  const skb = base.struct('sk_buff', 4, [{ name: 'len', type: i32, bitOffset: 0 }]);
  const mod = new BtfBuilder(base);
  mod.struct('nf_conn', 16, [
    { name: 'skb', type: mod.ptr(skb), bitOffset: 0 },
    { name: 'mark', type: i32, bitOffset: 64 },
  ]);
  const root = mkdtempSync(path.join(tmpdir(), 'btf-root-'));
  try {
    const dir = path.join(root, 'sys/kernel/btf');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'vmlinux'), base.build());
    writeFileSync(path.join(dir, 'nf_conntrack'), mod.build());
    const h = await generateVmlinuxHeader({ root, modules: ['nf_conntrack'] });
    assert.ok(h.indexOf('struct sk_buff {') < h.indexOf('struct nf_conn {'));
    assert.ok(h.includes('struct nf_conn {\n\tstruct sk_buff *skb;\n\tint mark;\n};'));
    const noMod = await generateVmlinuxHeader({ root });
    assert.ok(!noMod.includes('nf_conn'));
    await assert.rejects(generateVmlinuxHeader({ root, modules: ['../../etc/passwd'] }), (e: unknown) => isBpfCompileError(e, ErrorCode.USAGE));
    await assert.rejects(generateVmlinuxHeader({ root, modules: ['absent'] }), (e: unknown) => isBpfCompileError(e, ErrorCode.INPUT_UNREADABLE));
    await assert.rejects(generateVmlinuxHeader({ root: path.join(root, 'nope') }), (e: unknown) => isBpfCompileError(e, ErrorCode.INPUT_UNREADABLE));
    // bytes instead of a path
    assert.equal(await generateVmlinuxHeader({ btf: base.build() }), dumpCHeader(await loadBtfFile(path.join(dir, 'vmlinux'))));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
