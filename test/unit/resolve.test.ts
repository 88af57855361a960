import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BpfCompileError, ErrorCode } from '../../lib/errors.js';
import { resolveHeaders } from '../../lib/resolve.js';
import { cleanEnv, makeDebianRoot, makeFakeTree, tempDir, writeOsRelease } from '../helpers/fake-kernel.js';

const REL = '6.1.0-99-amd64';
let tmp: { dir: string; cleanup: () => Promise<void> };
let n = 0;
/** A fresh fake root per test. */
async function newRoot(): Promise<string> {
  const root = path.join(tmp.dir, `root${n++}`);
  await fs.mkdir(root, { recursive: true });
  return root;
}
const base = { kernelRelease: REL, arch: 'x86_64', env: cleanEnv(), kind: 'kernel-tree' as const };

function rejectsWith(code: string, check?: (e: BpfCompileError) => void) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof BpfCompileError, `not a BpfCompileError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    check?.(err);
    return true;
  };
}

before(async () => {
  tmp = await tempDir();
});
after(async () => tmp.cleanup());

describe('modules source', () => {
  test('Debian split: build holds generated headers, source the rest', async () => {
    const root = await newRoot();
    const { build, source } = await makeDebianRoot(root, REL);
    const h = await resolveHeaders({ ...base, root });
    assert.equal(h.source, 'modules');
    assert.equal(h.sourceDir, await fs.realpath(source));
    assert.equal(h.buildDir, await fs.realpath(build));
    assert.equal(h.utsRelease, REL);
    assert.equal(h.linuxVersionCode, 0x060100);
    assert.equal(h.version, '6.1.0');
    assert.deepEqual(h.warnings, []);
    assert.equal(h.kconfigHeader, path.join(h.sourceDir, 'include/linux/kconfig.h'));
    assert.deepEqual(h.includeDirs, [
      `${h.sourceDir}/arch/x86/include`,
      `${h.buildDir}/arch/x86/include/generated`,
      `${h.sourceDir}/include`,
      `${h.buildDir}/include`,
      `${h.sourceDir}/arch/x86/include/uapi`,
      `${h.buildDir}/arch/x86/include/generated/uapi`,
      `${h.sourceDir}/include/uapi`,
      `${h.buildDir}/include/generated/uapi`,
    ]);
    assert.deepEqual(
      h.tried.map((t) => t.what),
      ['override', 'modules'],
    );
  });

  test('a single complete tree as build only serves as both', async () => {
    const root = await newRoot();
    await makeFakeTree(path.join(root, 'usr/src/full'), { release: REL });
    await fs.mkdir(path.join(root, 'lib/modules', REL), { recursive: true });
    await fs.symlink('/usr/src/full', path.join(root, 'lib/modules', REL, 'build'));
    const h = await resolveHeaders({ ...base, root });
    assert.equal(h.sourceDir, h.buildDir);
    assert.equal(new Set(h.includeDirs).size, h.includeDirs.length, 'no duplicate include dirs');
    assert.equal(h.includeDirs.length, 7, 'include/ of source and build is one dir');
  });

  test('a single complete tree as source only serves as both', async () => {
    const root = await newRoot();
    await makeFakeTree(path.join(root, 'lib/modules', REL, 'source'), { release: REL });
    const h = await resolveHeaders({ ...base, root });
    assert.equal(h.sourceDir, h.buildDir);
    assert.equal(h.utsRelease, REL);
  });

  test('only the build half (no kconfig.h anywhere) is rejected', async () => {
    const root = await newRoot();
    await makeFakeTree(path.join(root, 'lib/modules', REL, 'build'), { source: false, release: REL });
    await assert.rejects(
      resolveHeaders({ ...base, root }),
      rejectsWith(ErrorCode.HEADERS_NOT_FOUND, (e) => {
        assert.match(e.tried.find((t) => t.what === 'modules')?.outcome ?? '', /include\/linux\/kconfig\.h/);
      }),
    );
  });

  test('an empty leftover dir (only include/uapi) must not win', async () => {
    const root = await newRoot();
    await fs.mkdir(path.join(root, 'lib/modules', REL, 'build/include/uapi'), { recursive: true });
    await assert.rejects(
      resolveHeaders({ ...base, root }),
      rejectsWith(ErrorCode.HEADERS_NOT_FOUND, (e) => {
        assert.match(e.tried.find((t) => t.what === 'modules')?.outcome ?? '', /kconfig\.h or include\/generated\/autoconf\.h/);
      }),
    );
  });

  test('dangling symlinks are reported as such', async () => {
    const root = await newRoot();
    const mod = path.join(root, 'lib/modules', REL);
    await fs.mkdir(mod, { recursive: true });
    await fs.symlink('/nonexistent/headers', path.join(mod, 'build'));
    await assert.rejects(
      resolveHeaders({ ...base, root }),
      rejectsWith(ErrorCode.HEADERS_NOT_FOUND, (e) => {
        assert.match(e.tried[1]?.outcome ?? '', /build is a dangling symlink/);
        assert.match(e.tried[1]?.outcome ?? '', /source does not exist/);
      }),
    );
  });

  test('symlink loops are reported, not followed forever', async () => {
    const root = await newRoot();
    const mod = path.join(root, 'lib/modules', REL);
    await fs.mkdir(mod, { recursive: true });
    await fs.symlink(`/lib/modules/${REL}/source`, path.join(mod, 'build'));
    await fs.symlink(`/lib/modules/${REL}/build`, path.join(mod, 'source'));
    await assert.rejects(
      resolveHeaders({ ...base, root }),
      rejectsWith(ErrorCode.HEADERS_NOT_FOUND, (e) => {
        assert.match(e.tried[1]?.outcome ?? '', /symlink loop/);
      }),
    );
  });

  test('a tree without the target arch is rejected (cross target)', async () => {
    const root = await newRoot();
    await makeDebianRoot(root, REL);
    await assert.rejects(
      resolveHeaders({ ...base, root, arch: 'aarch64' }),
      rejectsWith(ErrorCode.HEADERS_NOT_FOUND, (e) => {
        assert.match(e.tried[1]?.outcome ?? '', /no headers for arch arm64/);
      }),
    );
  });
});

describe('version check', () => {
  test('mismatching UTS_RELEASE is a warning by default', async () => {
    const root = await newRoot();
    const other = '6.1.0-98-amd64';
    const tree = await makeFakeTree(path.join(root, 'tree'), { release: other });
    const h = await resolveHeaders({ ...base, root, kernelSource: tree });
    assert.equal(h.utsRelease, other);
    assert.equal(h.warnings.length, 1);
    assert.match(h.warnings[0] ?? '', /headers are for 6\.1\.0-98-amd64, target kernel is 6\.1\.0-99-amd64/);
  });

  test('mismatching UTS_RELEASE is an error with strict', async () => {
    const root = await newRoot();
    const tree = await makeFakeTree(path.join(root, 'tree'), { release: 'other' });
    await assert.rejects(
      resolveHeaders({ ...base, root, kernelSource: tree, strict: true }),
      rejectsWith(ErrorCode.HEADERS_VERSION_MISMATCH, (e) => {
        assert.match(e.hint ?? '', /--kernel-release other/);
      }),
    );
  });

  test('a tree without utsrelease.h warns (and fails under strict)', async () => {
    const root = await newRoot();
    const tree = await makeFakeTree(path.join(root, 'tree'));
    const h = await resolveHeaders({ ...base, root, kernelSource: tree });
    assert.equal(h.utsRelease, undefined);
    assert.match(h.warnings[0] ?? '', /cannot read UTS_RELEASE/);
    await assert.rejects(resolveHeaders({ ...base, root, kernelSource: tree, strict: true }), rejectsWith(ErrorCode.HEADERS_VERSION_MISMATCH));
  });
});

describe('override source and its precedence', () => {
  async function trees(root: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const name of ['opt', 'bpf', 'bcc', 'bpftrace', 'modules']) {
      out[name] = await fs.realpath(await makeFakeTree(path.join(root, name), { release: REL }));
    }
    await fs.mkdir(path.join(root, 'lib/modules', REL), { recursive: true });
    await fs.symlink('/modules', path.join(root, 'lib/modules', REL, 'build'));
    return out;
  }
  const allEnv = (t: Record<string, string>) =>
    cleanEnv({ BPF_KERNEL_SOURCE: t['bpf'] as string, BCC_KERNEL_SOURCE: t['bcc'] as string, BPFTRACE_KERNEL_SOURCE: t['bpftrace'] as string });

  test('options beat every environment variable', async () => {
    const root = await newRoot();
    const t = await trees(root);
    const h = await resolveHeaders({ ...base, root, env: allEnv(t), kernelSource: t['opt'] });
    assert.equal(h.sourceDir, t['opt']);
    assert.match(h.detail, /options/);
  });

  test('BPF_KERNEL_SOURCE beats BCC_KERNEL_SOURCE, which beats BPFTRACE_KERNEL_SOURCE, which beats /lib/modules', async () => {
    const root = await newRoot();
    const t = await trees(root);
    assert.equal((await resolveHeaders({ ...base, root, env: allEnv(t) })).sourceDir, t['bpf']);
    assert.equal(
      (await resolveHeaders({ ...base, root, env: cleanEnv({ BCC_KERNEL_SOURCE: t['bcc'] as string, BPFTRACE_KERNEL_SOURCE: t['bpftrace'] as string }) })).sourceDir,
      t['bcc'],
    );
    assert.equal((await resolveHeaders({ ...base, root, env: cleanEnv({ BPFTRACE_KERNEL_SOURCE: t['bpftrace'] as string }) })).sourceDir, t['bpftrace']);
    const h = await resolveHeaders({ ...base, root });
    assert.equal(h.source, 'modules');
    assert.equal(h.sourceDir, t['modules']);
  });

  test('BPF_KERNEL_SOURCE + BPF_KERNEL_BUILD form a split pair', async () => {
    const root = await newRoot();
    const src = await fs.realpath(await makeFakeTree(path.join(root, 's'), { build: false }));
    const bld = await fs.realpath(await makeFakeTree(path.join(root, 'b'), { source: false, release: REL }));
    const h = await resolveHeaders({ ...base, root, env: cleanEnv({ BPF_KERNEL_SOURCE: src, BPF_KERNEL_BUILD: bld }) });
    assert.equal(h.sourceDir, src);
    assert.equal(h.buildDir, bld);
    assert.equal(h.utsRelease, REL);
  });

  test('an empty variable counts as unset', async () => {
    const root = await newRoot();
    await makeDebianRoot(root, REL);
    const h = await resolveHeaders({ ...base, root, env: cleanEnv({ BPF_KERNEL_SOURCE: '' }) });
    assert.equal(h.source, 'modules');
  });

  test('a broken explicit override stops resolution instead of silently using other headers', async () => {
    const root = await newRoot();
    await makeDebianRoot(root, REL);
    await assert.rejects(
      resolveHeaders({ ...base, root, env: cleanEnv({ BCC_KERNEL_SOURCE: path.join(root, 'missing') }) }),
      rejectsWith(ErrorCode.HEADERS_NOT_FOUND, (e) => {
        assert.equal(e.tried.length, 1);
        assert.match(e.message, /BCC_KERNEL_SOURCE/);
        assert.match(e.hint ?? '', /BCC_KERNEL_SOURCE/);
      }),
    );
  });
});

describe('nothing found', () => {
  test('HEADERS_NOT_FOUND lists every source and names the distro package', async () => {
    const root = await newRoot();
    await writeOsRelease(root, 'debian');
    await assert.rejects(
      resolveHeaders({ ...base, root }),
      rejectsWith(ErrorCode.HEADERS_NOT_FOUND, (e) => {
        assert.deepEqual(
          e.tried.map((t) => t.what),
          ['override', 'modules', 'kheaders', 'cached', 'fetch', 'distro'],
        );
        assert.equal(e.tried[0]?.outcome, 'not set');
        assert.match(e.hint ?? '', /apt-get install linux-headers-6\.1\.0-99-amd64/);
      }),
    );
  });

  test('the hint follows the distro (Fedora) and degrades without os-release', async () => {
    const root = await newRoot();
    await writeOsRelease(root, 'fedora', '40');
    await assert.rejects(
      resolveHeaders({ ...base, root }),
      rejectsWith(ErrorCode.HEADERS_NOT_FOUND, (e) => assert.match(e.hint ?? '', /dnf install kernel-devel-/)),
    );
    const bare = await newRoot();
    await assert.rejects(
      resolveHeaders({ ...base, root: bare }),
      rejectsWith(ErrorCode.HEADERS_NOT_FOUND, (e) => assert.match(e.hint ?? '', /kernel headers package/)),
    );
  });

  test('unknown source names and unknown arches are usage errors', async () => {
    await assert.rejects(resolveHeaders({ ...base, sources: ['nope'] }), rejectsWith(ErrorCode.USAGE));
    await assert.rejects(resolveHeaders({ ...base, arch: 'pdp11' }), rejectsWith(ErrorCode.UNKNOWN_ARCH));
  });
});
