import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { readClangFacts, writeClangFacts } from '../../lib/compile/toolchain-cache.js';
import { tempDir } from '../helpers/fake-kernel.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir();
});
after(async () => tmp.cleanup());

const facts = { major: 14, version: '14.0.6', resourceDir: '/r', systemIncludeDirs: ['/r/include', '/usr/include'] };

test('clang facts are remembered while the binary is unchanged, and forgotten when it changes', async () => {
  const cache = { cacheDir: path.join(tmp.dir, 'cache') };
  const clang = path.join(tmp.dir, 'clang');
  await fs.writeFile(clang, '#!/bin/sh\n', { mode: 0o755 });
  assert.equal(readClangFacts(cache, clang), undefined);
  writeClangFacts(cache, clang, facts);
  assert.deepEqual(readClangFacts(cache, clang), facts);
  await fs.writeFile(clang, '#!/bin/sh\n# upgraded\n', { mode: 0o755 });
  assert.equal(readClangFacts(cache, clang), undefined, 'a changed binary is probed again');
});

test('an unusable cache is ignored, never an error', () => {
  const cache = { cacheDir: '/proc/self/no-such-dir-for-a-cache' };
  writeClangFacts(cache, '/bin/sh', facts);
  assert.equal(readClangFacts(cache, '/bin/sh'), undefined);
});
