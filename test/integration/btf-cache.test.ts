/** vmlinuxHeaderFromCache on the running kernel's BTF: cold, warm (cheap), same bytes as generateVmlinuxHeader. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { generateVmlinuxHeader, SYSFS_VMLINUX } from '../../lib/btf/index.js';
import { vmlinuxHeaderFromCache } from '../../lib/btf/cache.js';
import { archiveDigest, openCache } from '../../lib/cache/index.js';

const skip = fs.existsSync(SYSFS_VMLINUX) ? false : `${SYSFS_VMLINUX} is missing (kernel without CONFIG_DEBUG_INFO_BTF)`;
let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-btfcache-live-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('live BTF: cold generates, warm is served from the cache without parsing or re-hashing', { skip }, async () => {
  const cache = { cacheDir: path.join(tmp, 'cache') };
  const t0 = performance.now();
  const cold = await vmlinuxHeaderFromCache({ cache });
  const coldMs = performance.now() - t0;
  assert.equal(cold.fromCache, false);
  const text = fs.readFileSync(cold.header, 'utf8');
  assert.match(text, /^#ifndef __VMLINUX_H__/);
  assert.match(text, /struct task_struct \{/);
  assert.equal(cold.sha256, createHash('sha256').update(text).digest('hex'));

  assert.equal(archiveDigest(openCache(cache), SYSFS_VMLINUX).fromIndex, true);
  const t1 = performance.now();
  const warm = await vmlinuxHeaderFromCache({ cache });
  const warmMs = performance.now() - t1;
  assert.deepEqual(warm, { ...cold, fromCache: true });
  console.log(`vmlinux.h cold ${coldMs.toFixed(0)} ms, warm ${warmMs.toFixed(1)} ms (${(text.length / 1e6).toFixed(1)} MB)`);
  assert.ok(warmMs < 100, `warm call took ${warmMs.toFixed(1)} ms`);
  assert.ok(warmMs * 5 < coldMs, `warm (${warmMs.toFixed(1)} ms) should be far cheaper than cold (${coldMs.toFixed(0)} ms)`);

  // the cached header is exactly what the generator writes
  assert.equal(text, await generateVmlinuxHeader({}));
  // and an explicit path to the same file is the same entry
  assert.equal((await vmlinuxHeaderFromCache({ btf: SYSFS_VMLINUX, cache })).key, cold.key);
});
