import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BpfCompileError, ErrorCode } from '../../lib/errors.js';
import { findToolchain, parseClangVerbose } from '../../lib/compile/toolchain.js';
import { tempDir } from '../helpers/fake-kernel.js';

const VERBOSE = (v: string) => `Debian clang version ${v}
Target: x86_64-pc-linux-gnu
 "/usr/lib/llvm-14/bin/clang" -cc1 -triple x86_64-pc-linux-gnu -E -resource-dir /fake/lib/clang/${v} -internal-isystem /fake/lib/clang/${v}/include
#include "..." search starts here:
#include <...> search starts here:
 /fake/lib/clang/${v}/include
 /usr/local/include
 /usr/include/x86_64-linux-gnu
 /usr/include
End of search list.
`;

let tmp: { dir: string; cleanup: () => Promise<void> };
let n = 0;
before(async () => {
  tmp = await tempDir();
});
after(async () => tmp.cleanup());

/** A PATH dir with fake tools: clang prints `-v` output of `clangVersion`; opt/llc print `LLVM version`. */
async function fakeBin(tools: Record<string, string>): Promise<string> {
  const dir = path.join(tmp.dir, `bin${n++}`);
  await fs.mkdir(dir);
  for (const [name, version] of Object.entries(tools)) {
    const body = name.includes('clang') ? `#!/bin/sh\ncat >&2 <<'EOF'\n${VERBOSE(version)}EOF\n` : `#!/bin/sh\necho "LLVM (http://llvm.org/):"\necho "  LLVM version ${version}"\n`;
    await fs.writeFile(path.join(dir, name), body, { mode: 0o755 });
  }
  return dir;
}

test('parseClangVerbose reads version, resource dir and the search list', () => {
  const f = parseClangVerbose(VERBOSE('14.0.6'));
  assert.deepEqual(f, {
    major: 14,
    version: '14.0.6',
    resourceDir: '/fake/lib/clang/14.0.6',
    systemIncludeDirs: ['/fake/lib/clang/14.0.6/include', '/usr/local/include', '/usr/include/x86_64-linux-gnu', '/usr/include'],
  });
  assert.equal(parseClangVerbose('gcc version 12'), undefined);
});

test('plain names of one major are used', async () => {
  const bin = await fakeBin({ clang: '16.0.6', opt: '16.0.6', llc: '16.0.6' });
  const t = await findToolchain({ llvmDirs: false, backend: true, env: { PATH: bin } });
  assert.equal(t.clang.major, 16);
  assert.equal(t.opt?.path, path.join(bin, 'opt'));
  assert.equal(t.llc?.major, 16);
  assert.equal(t.resourceDir, '/fake/lib/clang/16.0.6');
});

test('versioned names are found when plain ones are missing, newest first', async () => {
  const bin = await fakeBin({ 'clang-15': '15.0.7', 'clang-17': '17.0.1', 'opt-17': '17.0.1', 'llc-17': '17.0.1', 'llc-15': '15.0.7' });
  const t = await findToolchain({ llvmDirs: false, backend: true, env: { PATH: bin } });
  assert.equal(t.clang.path, path.join(bin, 'clang-17'));
  assert.equal(t.llc?.path, path.join(bin, 'llc-17'));
});

test('a plain llc of another major is skipped for the versioned one matching clang', async () => {
  const bin = await fakeBin({ clang: '16.0.6', opt: '14.0.6', llc: '14.0.6', 'opt-16': '16.0.6', 'llc-16': '16.0.6' });
  const t = await findToolchain({ llvmDirs: false, backend: true, env: { PATH: bin } });
  assert.equal(t.llc?.path, path.join(bin, 'llc-16'));
  assert.equal(t.opt?.path, path.join(bin, 'opt-16'));
});

test('mismatched majors with no match → TOOLCHAIN_MISMATCH naming both', async () => {
  const bin = await fakeBin({ clang: '16.0.6', opt: '16.0.6', llc: '14.0.6' });
  await assert.rejects(findToolchain({ llvmDirs: false, backend: true, env: { PATH: bin } }), (e: unknown) => {
    assert.ok(e instanceof BpfCompileError);
    assert.equal(e.code, ErrorCode.TOOLCHAIN_MISMATCH);
    assert.match(e.message, /LLVM 16/);
    assert.match(e.message, /LLVM 14/);
    return true;
  });
});

test('clang older than 10 is refused', async () => {
  const bin = await fakeBin({ clang: '9.0.1' });
  await assert.rejects(
    findToolchain({ llvmDirs: false, backend: false, env: { PATH: bin } }),
    (e: unknown) => e instanceof BpfCompileError && e.code === ErrorCode.TOOLCHAIN_MISMATCH && /too old/.test(e.message),
  );
});

test('no clang → TOOLCHAIN_MISSING saying what to install', async () => {
  const bin = await fakeBin({});
  await assert.rejects(findToolchain({ llvmDirs: false, backend: false, env: { PATH: bin } }), (e: unknown) => {
    assert.ok(e instanceof BpfCompileError);
    assert.equal(e.code, ErrorCode.TOOLCHAIN_MISSING);
    assert.match(e.hint ?? '', /apt-get install clang llvm/);
    return true;
  });
});

test('kernel mode without llc → TOOLCHAIN_MISSING; plain mode does not need it', async () => {
  const bin = await fakeBin({ clang: '14.0.6', opt: '14.0.6' });
  assert.equal((await findToolchain({ llvmDirs: false, backend: false, env: { PATH: bin } })).llc, undefined);
  await assert.rejects(
    findToolchain({ llvmDirs: false, backend: true, env: { PATH: bin } }),
    (e: unknown) => e instanceof BpfCompileError && e.code === ErrorCode.TOOLCHAIN_MISSING && /llc/.test(e.message),
  );
});

test('CLANG/OPT/LLC environment variables win', async () => {
  const bin = await fakeBin({ clang: '14.0.6', opt: '14.0.6', llc: '14.0.6' });
  const other = await fakeBin({ 'my-clang': '14.0.6', 'my-llc': '14.0.6' });
  const t = await findToolchain({ llvmDirs: false, backend: true, env: { PATH: bin, CLANG: path.join(other, 'my-clang'), LLC: path.join(other, 'my-llc') } });
  assert.equal(t.clang.path, path.join(other, 'my-clang'));
  assert.equal(t.llc?.path, path.join(other, 'my-llc'));
  assert.equal(t.opt?.path, path.join(bin, 'opt'));
});
