/**
 * Hostile and corrupt archives: every policy rule raises its typed error, nothing is published,
 * no temp dir is left, nothing appears outside the extraction dir.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { extractArchive } from '../../lib/archive/index.js';
import { extractArchiveToCache } from '../../lib/archive/index.js';
import { listEntries } from '../../lib/cache/index.js';
import { isBpfCompileError } from '../../lib/errors.js';
import { hostileCases, rawTar, validPrefix, xz } from '../helpers/hostile-archives.js';

let tmp: string;
let sentinel: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-hostile-'));
  sentinel = path.join(tmp, 'SENTINEL');
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Everything under dir except the cache's own files. */
function leftovers(cacheDir: string): string[] {
  const ns = path.join(cacheDir, 'kheaders');
  if (!fs.existsSync(ns)) return [];
  return fs.readdirSync(ns).filter((n) => n.startsWith('.tmp-') || n.startsWith('.trash-'));
}

function outsideFiles(): string[] {
  return fs.readdirSync(tmp).filter((n) => n !== 'cache' && n !== 'dest-parent' && !n.endsWith('.tar.xz'));
}

describe('hostile archives (through the cache)', () => {
  // From <tmp>/cache/kheaders/.tmp-…/data, 20 levels of .. reach / for sure.
  const up = '../'.repeat(20);
  for (const c of hostileCases('/PLACEHOLDER', up)) {
    it(`${c.name} → ${c.code}`, async () => {
      const cases = hostileCases(sentinel, up);
      const hc = cases.find((x) => x.name === c.name);
      assert.ok(hc);
      const archive = path.join(tmp, `${c.name.replace(/\W+/g, '_')}.tar.xz`);
      fs.writeFileSync(archive, xz(rawTar(hc.entries)));
      const cacheDir = path.join(tmp, 'cache');
      await assert.rejects(extractArchiveToCache(archive, { cache: { cacheDir }, limits: hc.limits ?? {} }), (err: unknown) => {
        assert.ok(isBpfCompileError(err, hc.code), `expected ${hc.code}, got ${String(err)}`);
        return true;
      });
      assert.equal(fs.existsSync(sentinel), false, 'sentinel outside the tree was created');
      assert.deepEqual(listEntries({ cacheDir }), []);
      assert.deepEqual(leftovers(cacheDir), []);
      assert.deepEqual(outsideFiles(), []);
    });
  }
});

describe('corrupt inputs', () => {
  const good = (): Buffer => xz(rawTar(validPrefix()));
  const cases: Array<[string, () => Buffer]> = [
    ['truncated xz', () => good().subarray(0, Math.floor(good().length / 2))],
    [
      'xz with a flipped byte',
      () => {
        const b = Buffer.from(good());
        const i = Math.floor(b.length / 2);
        b[i] = (b[i] ?? 0) ^ 0xff;
        return b;
      },
    ],
    ['xz missing its last byte', () => good().subarray(0, good().length - 1)],
    ['not xz (plain tar)', () => rawTar(validPrefix())],
    ['not xz (gzip)', () => execFileSync('gzip', ['-c'], { input: rawTar(validPrefix()) })],
    ['empty file', () => Buffer.alloc(0)],
    ['xz of nothing', () => xz(Buffer.alloc(0))],
    ['xz of only end blocks', () => xz(Buffer.alloc(1024))],
    ['xz of a truncated tar', () => xz(rawTar(validPrefix()).subarray(0, 512 * 3 + 100))],
    ['xz of garbage', () => xz(Buffer.from('hello, this is not a tar archive at all'.repeat(40)))],
  ];
  for (const [name, make] of cases) {
    for (const decoder of ['xz', 'lzma-native'] as const) {
      it(`${name} (${decoder}) → ARCHIVE_CORRUPT`, async () => {
        const archive = path.join(tmp, `corrupt.tar.xz`);
        fs.writeFileSync(archive, make());
        const cacheDir = path.join(tmp, 'cache');
        await assert.rejects(extractArchiveToCache(archive, { cache: { cacheDir }, decoder }), (err: unknown) => {
          assert.ok(isBpfCompileError(err, 'ARCHIVE_CORRUPT'), `got ${String(err)}`);
          return true;
        });
        assert.deepEqual(listEntries({ cacheDir }), []);
        assert.deepEqual(leftovers(cacheDir), []);
      });
    }
  }
});

describe('extractArchive (standalone)', () => {
  it('leaves no dest and no temp dir on failure', async () => {
    const parent = path.join(tmp, 'dest-parent');
    fs.mkdirSync(parent, { recursive: true });
    const bad = xz(rawTar([...validPrefix(), { name: 'include/hard', type: '1', linkname: 'x' }]));
    await assert.rejects(extractArchive(bad, path.join(parent, 'out')), (e: unknown) => isBpfCompileError(e, 'ARCHIVE_UNSAFE'));
    assert.deepEqual(fs.readdirSync(parent), []);
  });
  it('extracts a buffer and a stream', async () => {
    const parent = path.join(tmp, 'dest-parent');
    fs.mkdirSync(parent, { recursive: true });
    const archive = xz(rawTar([...validPrefix('6.9.9'), { name: 'include/linux/a.h', type: '0', content: 'int a;\n', mode: 0o777 }]));
    const r1 = await extractArchive(archive, path.join(parent, 'buf'));
    assert.equal(r1.release, '6.9.9');
    const { Readable } = await import('node:stream');
    const r2 = await extractArchive(Readable.from([archive.subarray(0, 10), archive.subarray(10)]), path.join(parent, 'stream'));
    assert.equal(r2.sha256, r1.sha256);
    const st = fs.statSync(path.join(parent, 'stream/include/linux/a.h'));
    assert.equal(st.mode & 0o777, 0o644, 'archive modes are not trusted');
    assert.equal(fs.statSync(path.join(parent, 'stream/include')).mode & 0o777, 0o755);
    fs.rmSync(parent, { recursive: true, force: true });
  });
});
