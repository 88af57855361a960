/** vmlinuxHeaderFromCache (key, cold/warm, defaults under a root) and extractBtfFromArchive (btfhub `.btf.tar.xz`). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { extractBtfFromArchive } from '../../lib/btf/btf-archive.js';
import { vmlinuxHeaderFromCache, vmlinuxHeaderKey, VMLINUX_H_NAMESPACE } from '../../lib/btf/cache.js';
import { archiveDigest, ensureEntry, listEntries, openCache } from '../../lib/cache/index.js';
import { isBpfCompileError } from '../../lib/errors.js';
import { BtfBuilder, wrapInElf } from '../helpers/btf-builder.js';
import { rawTar, xz, type RawEntry } from '../helpers/hostile-archives.js';

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-btfcache-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A fresh, private cache directory. */
function cacheDir(): string {
  return path.join(tmp, `cache-${++n}`);
}

/** A small vmlinux-like BTF: `struct task_struct { int pid; <extra> }` and one kfunc. */
function baseBuilder(extraField?: string): BtfBuilder {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  b.struct('task_struct', extraField === undefined ? 4 : 8, [
    { name: 'pid', type: int, bitOffset: 0 },
    ...(extraField === undefined ? [] : [{ name: extraField, type: int, bitOffset: 32 }]),
  ]);
  const proto = b.funcProto(int, [{ name: 'x', type: int }]);
  const fn = b.func('bpf_test_kfunc', proto);
  b.declTag('bpf_kfunc', fn);
  return b;
}

/** A module BTF split on top of `base`. */
function moduleBlob(base: BtfBuilder, structName = 'nf_conn'): Uint8Array {
  const m = new BtfBuilder(base);
  m.struct(structName, 4, [{ name: 'status', type: 1, bitOffset: 0 }]);
  return m.build();
}

function write(file: string, data: Uint8Array | string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // write-then-rename: a new inode, as a rebuilt or re-downloaded file would have
  const t = `${file}.new`;
  fs.writeFileSync(t, data);
  fs.renameSync(t, file);
  return file;
}

function sha(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isBpfCompileError(err), `expected a BpfCompileError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe('vmlinuxHeaderKey', () => {
  const a = { kind: 'raw' as const, sha256: 'a'.repeat(64) };
  const b = { kind: 'raw' as const, sha256: 'b'.repeat(64) };
  const m1 = { kind: 'raw' as const, sha256: '1'.repeat(64) };
  const m2 = { kind: 'raw' as const, sha256: '2'.repeat(64) };
  const k = vmlinuxHeaderKey({ btf: a, modules: [] });

  it('is versioned and fits the cache key syntax', () => {
    assert.match(k, /^h1-[0-9a-f]{64}$/);
    assert.equal(vmlinuxHeaderKey({ btf: a, modules: [] }), k, 'deterministic');
  });
  it('changes with the BTF bytes, an added module, module order, and options', () => {
    const keys = [
      k,
      vmlinuxHeaderKey({ btf: b, modules: [] }),
      vmlinuxHeaderKey({ btf: a, modules: [m1] }),
      vmlinuxHeaderKey({ btf: a, modules: [m1, m2] }),
      vmlinuxHeaderKey({ btf: a, modules: [m2, m1] }),
      vmlinuxHeaderKey({ btf: a, modules: [], kfuncs: false }),
      vmlinuxHeaderKey({ btf: { kind: 'archive', sha256: a.sha256 }, modules: [] }),
    ];
    assert.equal(new Set(keys).size, keys.length);
  });
  it('treats kfuncs: undefined as the default (true)', () => {
    assert.equal(vmlinuxHeaderKey({ btf: a, modules: [], kfuncs: true }), k);
  });
});

describe('vmlinuxHeaderFromCache', () => {
  it('cold generates, warm returns the same entry from the cache (stat index, no re-hash)', async () => {
    const cache = { cacheDir: cacheDir() };
    const file = write(path.join(tmp, 'k1', 'vmlinux'), baseBuilder().build());
    const cold = await vmlinuxHeaderFromCache({ btf: file, cache });
    assert.equal(cold.fromCache, false);
    assert.equal(cold.header, path.join(cold.dir, 'vmlinux.h'));
    const text = fs.readFileSync(cold.header, 'utf8');
    assert.match(text, /struct task_struct \{\n\tint pid;\n\};/);
    assert.match(text, /extern int bpf_test_kfunc\(int x\) __weak __ksym;/);
    assert.equal(cold.sha256, sha(text));

    assert.equal(archiveDigest(openCache(cache), file).fromIndex, true, 'the digest is indexed');
    const warm = await vmlinuxHeaderFromCache({ btf: file, cache });
    assert.deepEqual(warm, { ...cold, fromCache: true });
    assert.equal(listEntries(cache).filter((e) => e.namespace === VMLINUX_H_NAMESPACE).length, 1);
  });

  it('archiveDigest keeps the bytes it hashed when asked (a cold build parses them, not a second read), never from the index', () => {
    const cache = openCache({ cacheDir: cacheDir() });
    const bytes = baseBuilder().build();
    const file = write(path.join(tmp, 'kd', 'vmlinux'), bytes);
    const cold = archiveDigest(cache, file, { keepBytesUpTo: 1 << 20 });
    assert.equal(cold.fromIndex, false);
    assert.equal(cold.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.deepEqual(cold.bytes, Buffer.from(bytes), 'exactly the bytes hashed');
    const warm = archiveDigest(cache, file, { keepBytesUpTo: 1 << 20 });
    assert.deepEqual([warm.fromIndex, warm.bytes], [true, undefined], 'an indexed digest reads nothing');
    const other = write(path.join(tmp, 'kd', 'vmlinux-2'), baseBuilder('tgid').build());
    const big = archiveDigest(cache, other, { keepBytesUpTo: 16 });
    assert.deepEqual([big.fromIndex, big.bytes], [false, undefined], 'larger than the limit: hashed in chunks, nothing kept');
  });

  it('a changed BTF file (same path) gets a new key and a new header', async () => {
    const cache = { cacheDir: cacheDir() };
    const file = write(path.join(tmp, 'k2', 'vmlinux'), baseBuilder().build());
    const first = await vmlinuxHeaderFromCache({ btf: file, cache });
    write(file, baseBuilder('tgid').build());
    const second = await vmlinuxHeaderFromCache({ btf: file, cache });
    assert.equal(second.fromCache, false);
    assert.notEqual(second.key, first.key);
    assert.notEqual(second.dir, first.dir);
    assert.match(fs.readFileSync(second.header, 'utf8'), /\tint tgid;/);
    assert.doesNotMatch(fs.readFileSync(first.header, 'utf8'), /tgid/, 'the old entry is untouched');
  });

  it('adding a module, or changing kfuncs, changes the key', async () => {
    const cache = { cacheDir: cacheDir() };
    const base = baseBuilder();
    const file = write(path.join(tmp, 'k3', 'vmlinux'), base.build());
    const mod = write(path.join(tmp, 'k3', 'nf_conntrack.btf'), moduleBlob(base));
    const plain = await vmlinuxHeaderFromCache({ btf: file, cache });
    const withMod = await vmlinuxHeaderFromCache({ btf: file, modules: [mod], cache });
    assert.equal(withMod.fromCache, false);
    assert.notEqual(withMod.key, plain.key);
    assert.match(fs.readFileSync(withMod.header, 'utf8'), /struct nf_conn \{\n\tint status;\n\};/);
    const noK = await vmlinuxHeaderFromCache({ btf: file, cache, kfuncs: false });
    assert.equal(noK.fromCache, false);
    assert.notEqual(noK.key, plain.key);
    assert.doesNotMatch(fs.readFileSync(noK.header, 'utf8'), /__ksym/);
    assert.equal((await vmlinuxHeaderFromCache({ btf: file, modules: [mod], cache })).fromCache, true);
  });

  it('the warm path does not parse: a pre-seeded entry for garbage bytes is returned as is', async () => {
    const cache = { cacheDir: cacheDir() };
    const garbage = write(path.join(tmp, 'k4', 'garbage.btf'), 'this is not BTF at all');
    // cold: parsing garbage fails
    await rejectsCode(vmlinuxHeaderFromCache({ btf: garbage, cache }), 'BTF_INVALID');
    assert.equal(listEntries(cache).length, 0, 'nothing published');
    // seed the entry the key of these bytes points at; a warm call must not look at the bytes again
    const key = vmlinuxHeaderKey({ btf: { kind: 'raw', sha256: sha('this is not BTF at all') }, modules: [] });
    await ensureEntry(openCache(cache), {
      namespace: VMLINUX_H_NAMESPACE,
      key,
      build: async (dir) => {
        fs.writeFileSync(path.join(dir, 'vmlinux.h'), '/* seeded */\n');
        return { files: 1, bytes: 14 };
      },
    });
    const t0 = performance.now();
    const warm = await vmlinuxHeaderFromCache({ btf: garbage, cache });
    const ms = performance.now() - t0;
    assert.equal(warm.fromCache, true);
    assert.equal(warm.key, key);
    assert.equal(fs.readFileSync(warm.header, 'utf8'), '/* seeded */\n');
    assert.ok(ms < 200, `warm call took ${ms.toFixed(1)} ms`);
  });

  it('a valid file replaced by garbage (new inode) is re-hashed, not served from the old entry', async () => {
    const cache = { cacheDir: cacheDir() };
    const file = write(path.join(tmp, 'k5', 'vmlinux'), baseBuilder().build());
    assert.equal((await vmlinuxHeaderFromCache({ btf: file, cache })).fromCache, false);
    assert.equal((await vmlinuxHeaderFromCache({ btf: file, cache })).fromCache, true);
    write(file, Buffer.alloc(300, 0x5a));
    await rejectsCode(vmlinuxHeaderFromCache({ btf: file, cache }), 'BTF_INVALID');
  });

  it('defaults: <root>/sys/kernel/btf/vmlinux and module names under <root>', async () => {
    const cache = { cacheDir: cacheDir() };
    const root = path.join(tmp, 'root1');
    const base = baseBuilder();
    write(path.join(root, 'sys/kernel/btf/vmlinux'), base.build());
    write(path.join(root, 'sys/kernel/btf/nf_conntrack'), moduleBlob(base, 'nf_conntrack_tuple'));
    const r = await vmlinuxHeaderFromCache({ root, modules: ['nf_conntrack'], cache });
    assert.equal(r.fromCache, false);
    const text = fs.readFileSync(r.header, 'utf8');
    assert.match(text, /struct task_struct \{/);
    assert.match(text, /struct nf_conntrack_tuple \{/);
    await rejectsCode(vmlinuxHeaderFromCache({ root, modules: ['missing_mod'], cache }), 'INPUT_UNREADABLE');
    await rejectsCode(vmlinuxHeaderFromCache({ root, modules: ['..'], cache }), 'USAGE');
    await rejectsCode(vmlinuxHeaderFromCache({ root, modules: ['vmlinux'], cache }), 'USAGE');
    await rejectsCode(vmlinuxHeaderFromCache({ root: path.join(tmp, 'no-such-root'), cache }), 'INPUT_UNREADABLE');
    await rejectsCode(vmlinuxHeaderFromCache({ btf: root, cache }), 'INPUT_UNREADABLE');
  });

  it('accepts a btfhub .btf.tar.xz (raw or ELF BTF inside); the warm path does not extract', async () => {
    const cache = { cacheDir: cacheDir() };
    const archive = write(path.join(tmp, 'k6', '5.4.0-1010-aws.btf.tar.xz'), xz(rawTar([{ name: '5.4.0-1010-aws.btf', type: '0', content: Buffer.from(baseBuilder().build()) }])));
    const cold = await vmlinuxHeaderFromCache({ btf: archive, cache });
    assert.equal(cold.fromCache, false);
    assert.match(fs.readFileSync(cold.header, 'utf8'), /struct task_struct \{/);
    const manifest = listEntries(cache).find((e) => e.namespace === VMLINUX_H_NAMESPACE);
    assert.equal(manifest?.release, '5.4.0-1010-aws');
    assert.equal((await vmlinuxHeaderFromCache({ btf: archive, cache })).fromCache, true);

    const elf = wrapInElf({ '.BTF': baseBuilder('ppid').build() });
    const elfArchive = write(
      path.join(tmp, 'k6', '6.1.0-elf.btf.tar.xz'),
      xz(
        rawTar([
          { name: './', type: '5' },
          { name: './6.1.0-elf.btf', type: '0', content: Buffer.from(elf) },
        ]),
      ),
    );
    const r = await vmlinuxHeaderFromCache({ btf: elfArchive, cache });
    assert.match(fs.readFileSync(r.header, 'utf8'), /\tint ppid;/);
    // no extraction leftovers in the cache namespace
    const ns = path.join(cache.cacheDir, VMLINUX_H_NAMESPACE);
    assert.deepEqual(
      fs.readdirSync(ns).filter((f) => f.startsWith('.tmp-') || f.startsWith('.trash-')),
      [],
    );
  });

  it('a hostile archive publishes nothing and leaves nothing behind', async () => {
    const cache = { cacheDir: cacheDir() };
    const archive = write(
      path.join(tmp, 'k7', 'evil.btf.tar.xz'),
      xz(
        rawTar([
          { name: 'a.btf', type: '0', content: 'x' },
          { name: 'b.btf', type: '0', content: 'y' },
        ]),
      ),
    );
    await rejectsCode(vmlinuxHeaderFromCache({ btf: archive, cache }), 'ARCHIVE_UNSAFE');
    const ns = path.join(cache.cacheDir, VMLINUX_H_NAMESPACE);
    assert.deepEqual(
      fs.readdirSync(ns).filter((f) => !f.endsWith('.lock') && !f.endsWith('.owner')),
      [],
    );
  });
});

describe('extractBtfFromArchive', () => {
  const btf = Buffer.from(baseBuilder().build());

  it('extracts the one <release>.btf file (with or without a ./ root entry), from a path or bytes', async () => {
    const bytes = xz(rawTar([{ name: '5.15.0-91-generic.btf', type: '0', content: btf }]));
    const file = write(path.join(tmp, 'a1', '5.15.0-91-generic.btf.tar.xz'), bytes);
    for (const src of [file, bytes]) {
      const r = await extractBtfFromArchive(src, { tmpParent: tmp });
      assert.equal(r.name, '5.15.0-91-generic.btf');
      assert.equal(r.release, '5.15.0-91-generic');
      assert.deepEqual(Buffer.from(r.bytes), btf);
      assert.equal(r.archiveSha256, sha(bytes));
    }
    const withRoot = await extractBtfFromArchive(
      xz(
        rawTar([
          { name: './', type: '5' },
          { name: './x.btf', type: '0', content: btf },
        ]),
      ),
      { tmpParent: tmp },
    );
    assert.equal(withRoot.release, 'x');
    assert.deepEqual(
      fs.readdirSync(tmp).filter((f) => f.startsWith('bpfc-btf-')),
      [],
      'temp dirs removed',
    );
  });

  const cases: { name: string; entries: RawEntry[]; code: string }[] = [
    {
      name: 'two .btf files',
      code: 'ARCHIVE_UNSAFE',
      entries: [
        { name: 'a.btf', type: '0', content: btf },
        { name: 'b.btf', type: '0', content: btf },
      ],
    },
    {
      name: 'a .btf file and a symlink to it',
      code: 'ARCHIVE_UNSAFE',
      entries: [
        { name: 'a.btf', type: '0', content: btf },
        { name: 'b.btf', type: '2', linkname: 'a.btf' },
      ],
    },
    { name: 'a symlink only', code: 'ARCHIVE_UNSAFE', entries: [{ name: 'a.btf', type: '2', linkname: '/sys/kernel/btf/vmlinux' }] },
    { name: 'no .btf (another file name)', code: 'ARCHIVE_UNSAFE', entries: [{ name: 'README', type: '0', content: 'hello' }] },
    {
      name: 'the .btf inside a directory',
      code: 'ARCHIVE_UNSAFE',
      entries: [
        { name: 'd/', type: '5' },
        { name: 'd/a.btf', type: '0', content: btf },
      ],
    },
    {
      name: 'a hard link',
      code: 'ARCHIVE_UNSAFE',
      entries: [
        { name: 'a.btf', type: '0', content: btf },
        { name: 'b.btf', type: '1', linkname: 'a.btf' },
      ],
    },
    { name: 'a path escape', code: 'ARCHIVE_UNSAFE', entries: [{ name: '../../../../../../tmp/evil.btf', type: '0', content: btf }] },
    { name: 'a device', code: 'ARCHIVE_UNSAFE', entries: [{ name: 'a.btf', type: '3' }] },
    {
      name: 'only a directory',
      code: 'ARCHIVE_CORRUPT',
      entries: [
        { name: './', type: '5' },
        { name: 'd/', type: '5' },
      ],
    },
    { name: 'nothing', code: 'ARCHIVE_CORRUPT', entries: [] },
  ];
  for (const c of cases) {
    it(`refuses an archive with ${c.name} (${c.code})`, async () => {
      await rejectsCode(extractBtfFromArchive(xz(rawTar(c.entries)), { tmpParent: tmp }), c.code);
      assert.deepEqual(
        fs.readdirSync(tmp).filter((f) => f.startsWith('bpfc-btf-')),
        [],
        'temp dir removed',
      );
    });
  }

  it('refuses bytes that are not xz (ARCHIVE_CORRUPT) and a missing file (INPUT_UNREADABLE)', async () => {
    await rejectsCode(extractBtfFromArchive(btf, { tmpParent: tmp }), 'ARCHIVE_CORRUPT');
    await rejectsCode(extractBtfFromArchive(path.join(tmp, 'nope.btf.tar.xz'), { tmpParent: tmp }), 'INPUT_UNREADABLE');
  });
});
