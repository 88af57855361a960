/** extractArchiveToCache: cold, warm (no re-extraction), changed archive, sources, leases, prune. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { extractArchiveToCache } from '../../lib/archive/index.js';
import { archiveDigest, cachePath, clear, ensureEntry, listEntries, openCache, prune } from '../../lib/cache/index.js';
import { BpfCompileError } from '../../lib/errors.js';
import { buildSyntheticArchive, kheadersFixtureSkipReason } from '../helpers/kheaders-fixture.js';

const skip = kheadersFixtureSkipReason();
let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-warm-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('extractArchiveToCache', { skip }, () => {
  it('cold then warm; a rebuilt archive with the same release gets a new entry', async () => {
    const cacheDir = path.join(tmp, 'c1');
    const archive = path.join(tmp, 'kh.tar.xz');
    buildSyntheticArchive(archive, { release: '6.1.0-same' });
    const cold = await extractArchiveToCache(archive, { cache: { cacheDir } });
    assert.equal(cold.fromCache, false);
    assert.equal(cold.release, '6.1.0-same');
    assert.ok(fs.existsSync(path.join(cold.dir, 'include/linux/kconfig.h')));
    assert.equal(cold.manifest.sha256, cold.sha256);

    const c = openCache({ cacheDir });
    assert.equal(archiveDigest(c, archive).fromIndex, true, 'warm path uses the stat index');
    const warm = await extractArchiveToCache(archive, { cache: { cacheDir } });
    assert.equal(warm.fromCache, true);
    assert.equal(warm.dir, cold.dir);

    // Same release string, different content (a rebuilt kernel): must not reuse the old tree.
    fs.rmSync(archive);
    buildSyntheticArchive(archive, {
      release: '6.1.0-same',
      entries: [
        { type: 'file', name: 'include/generated/utsrelease.h', content: '#define UTS_RELEASE "6.1.0-same"\n' },
        { type: 'file', name: 'include/linux/kconfig.h', content: '/* rebuilt */\n#define REBUILT 1\n' },
      ],
    });
    const rebuilt = await extractArchiveToCache(archive, { cache: { cacheDir } });
    assert.equal(rebuilt.fromCache, false);
    assert.notEqual(rebuilt.sha256, cold.sha256);
    assert.match(fs.readFileSync(path.join(rebuilt.dir, 'include/linux/kconfig.h'), 'utf8'), /REBUILT/);
    assert.equal(listEntries({ cacheDir }).length, 2);
  });

  it('a stream with a trusted sha256 is extracted as it arrives: published only when the bytes match', async () => {
    const cacheDir = path.join(tmp, 'c-trusted');
    const archive = buildSyntheticArchive(path.join(tmp, 'kh-trusted.tar.xz'), { release: '6.6.0-trusted' });
    const bytes = fs.readFileSync(archive);
    const sha = createHash('sha256').update(bytes).digest('hex');
    // wrong content for the sha256 given: ARCHIVE_CORRUPT, nothing cached, no temp dir, no spool file
    const other = fs.readFileSync(buildSyntheticArchive(path.join(tmp, 'kh-other.tar.xz'), { release: '6.6.0-other' }));
    await assert.rejects(extractArchiveToCache(Readable.from([other]), { cache: { cacheDir }, sha256: sha }), (e: unknown) => {
      assert.ok(e instanceof BpfCompileError && e.code === 'ARCHIVE_CORRUPT' && /expected sha256/.test(e.message), String(e));
      return true;
    });
    assert.deepEqual(listEntries({ cacheDir }), []);
    assert.deepEqual(
      fs.readdirSync(path.join(cacheDir, 'kheaders')).filter((x) => !x.startsWith('.lease')),
      [],
    );
    assert.deepEqual(
      fs.readdirSync(cacheDir).filter((x) => x.startsWith('.spool')),
      [],
    );
    // the right bytes (upper-case hex accepted): extracted, keyed by that sha256
    const ok = await extractArchiveToCache(Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), { cache: { cacheDir }, sha256: sha.toUpperCase() });
    assert.equal(ok.fromCache, false);
    assert.equal(ok.sha256, sha);
    assert.equal(ok.release, '6.6.0-trusted');
    // the entry exists: the stream is not read, only destroyed
    let read = false;
    const unread = new Readable({
      read(): void {
        read = true;
        this.push(null);
      },
    });
    const warm = await extractArchiveToCache(unread, { cache: { cacheDir }, sha256: sha });
    assert.equal(warm.fromCache, true);
    assert.equal(warm.dir, ok.dir);
    assert.equal(read, false);
    assert.equal(unread.destroyed, true);
  });

  it('accepts a buffer and a stream (spooled privately, removed after)', async () => {
    const cacheDir = path.join(tmp, 'c2');
    const archive = buildSyntheticArchive(path.join(tmp, 'kh2.tar.xz'), { release: '5.15.0-buf' });
    const bytes = fs.readFileSync(archive);
    const a = await extractArchiveToCache(bytes, { cache: { cacheDir }, source: 'kheaders.ko' });
    assert.equal(a.fromCache, false);
    assert.equal(a.manifest.source, 'kheaders.ko');
    const b = await extractArchiveToCache(Readable.from([bytes]), { cache: { cacheDir } });
    assert.equal(b.fromCache, true);
    assert.equal(b.dir, a.dir);
    assert.deepEqual(
      fs.readdirSync(cacheDir).filter((n) => n.startsWith('.spool')),
      [],
    );
  });

  it('leases protect from prune; list/prune/clear return plain objects', async () => {
    const cacheDir = path.join(tmp, 'c3');
    const mk = (key: string, lease = false) =>
      ensureEntry({ cacheDir }, { namespace: 'test', key, lease, build: async (d) => (fs.writeFileSync(`${d}/x`, key), { files: 1, bytes: 1000 }) });
    const a = await mk('a', true);
    await mk('b');
    await mk('c');
    const old = new Date(Date.now() - 3_600_000);
    fs.utimesSync(path.join(cacheDir, 'test', 'b'), old, old);
    const list = listEntries({ cacheDir });
    assert.equal(list.length, 3);
    assert.deepEqual(JSON.parse(JSON.stringify(list)), list);
    assert.equal(list.find((e) => e.key === 'a')?.inUse, true);

    const byAge = await prune({ cacheDir }, { olderThan: 60_000 });
    assert.deepEqual(
      byAge.removed.map((e) => e.key),
      ['b'],
    );
    const bySize = await prune({ cacheDir }, { maxBytes: 0 });
    assert.deepEqual(
      bySize.removed.map((e) => e.key),
      ['c'],
    );
    assert.deepEqual(
      listEntries({ cacheDir }).map((e) => e.key),
      ['a'],
      'leased entry kept',
    );
    a.lease?.release();
    const cleared = await clear({ cacheDir });
    assert.deepEqual(
      cleared.removed.map((e) => e.key),
      ['a'],
    );
    assert.deepEqual(listEntries({ cacheDir }), []);
    assert.equal(cachePath({ cacheDir }).path, path.resolve(cacheDir));
  });
});
