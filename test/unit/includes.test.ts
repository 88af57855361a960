import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { includeDirsFromFlags, scanIncludes, unresolvedIncludes } from '../../lib/compile/includes.js';
import { tempDir } from '../helpers/fake-kernel.js';

test('scanIncludes finds angle and quoted includes', () => {
  const text = '#include <linux/bpf.h>\n  #  include "vmlinux.h"\nint x; // #include <no.h>\n#include<bpf/bpf_helpers.h>\n';
  assert.deepEqual(scanIncludes(text), [
    { name: 'linux/bpf.h', angle: true },
    { name: 'vmlinux.h', angle: false },
    { name: 'bpf/bpf_helpers.h', angle: true },
  ]);
});

test('include dirs from clang flags', () => {
  assert.deepEqual(includeDirsFromFlags(['-I', '/a', '-I/b', '-DX', '-isystem', '/c', '-idirafter/d', '-iquote', '/e']), ['/a', '/b', '/c', '/d', '/e']);
});

test('unresolvedIncludes checks quoted includes next to the source first', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await fs.writeFile(path.join(dir, 'local.h'), '');
    await fs.mkdir(path.join(dir, 'inc/linux'), { recursive: true });
    await fs.writeFile(path.join(dir, 'inc/linux/bpf.h'), '');
    const src = path.join(dir, 'p.c');
    const missing = await unresolvedIncludes(src, '#include "local.h"\n#include <linux/bpf.h>\n#include <linux/sched.h>\n#include <local.h>\n', [path.join(dir, 'inc')]);
    assert.deepEqual(
      missing.map((m) => m.name),
      ['linux/sched.h', 'local.h'],
    );
  } finally {
    await cleanup();
  }
});
