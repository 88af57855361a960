/**
 * makeDirs: `mkdir -p` that terminates where Node 20's recursive mkdir loops forever (under /proc), and the usual cases.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openCache } from '../../lib/cache/safety.js';
import { ErrorCode, isBpfCompileError } from '../../lib/errors.js';
import { makeDirs } from '../../lib/system/dirs.js';

describe('makeDirs', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-dirs-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('creates missing parents with the mode, and accepts an existing directory', () => {
    const d = path.join(tmp, 'a/b/c');
    makeDirs(d, 0o700);
    assert.ok(fs.statSync(d).isDirectory());
    assert.equal(fs.statSync(path.join(tmp, 'a')).mode & 0o777, 0o700 & ~process.umask());
    makeDirs(d);
  });

  it('throws for a file in the way', () => {
    fs.writeFileSync(path.join(tmp, 'file'), '');
    assert.throws(
      () => makeDirs(path.join(tmp, 'file/sub')),
      (e: NodeJS.ErrnoException) => e.code === 'ENOTDIR',
    );
  });

  it('throws (instead of looping) under /proc', { skip: fs.existsSync('/proc/self') ? false : 'no /proc here', timeout: 30_000 }, () => {
    assert.throws(
      () => makeDirs('/proc/bpfc-no-such/dir'),
      (e: NodeJS.ErrnoException) => typeof e.code === 'string',
    );
  });

  it(
    'a cache directory that cannot be created is CACHE_UNSAFE with a hint, not a hang or a raw errno',
    { skip: fs.existsSync('/proc/self') ? false : 'no /proc here', timeout: 30_000 },
    () => {
      assert.throws(
        () => openCache({ cacheDir: '/proc/bpfc-no-such/cache' }),
        (e: unknown) => isBpfCompileError(e, ErrorCode.CACHE_UNSAFE) && /cannot create the cache directory/.test(e.message) && e.hint !== undefined,
      );
    },
  );
});
