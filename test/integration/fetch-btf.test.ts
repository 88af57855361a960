/**
 * BTF from a mirror feeding the btf source (CO-RE `vmlinux.h` for a kernel whose BTF this host does not have), and
 * pinned sha256s: index.json entries written by `pack`, BTF templates (`….btf`), the btfhub-archive layout of a base
 * mirror without an index, kind mismatch of templates, warm/offline runs without requests, pin mismatches (typed,
 * fatal, nothing published), and the CLI (`vmlinux --mirror`, `fetch --kind vmlinux`, `--sha256` validation).
 *
 * The BTF served is a small handcrafted one (`struct mirror_only_struct`), so a header generated from it cannot be
 * confused with one from the live `/sys/kernel/btf/vmlinux`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, describe, test } from 'node:test';
import { hostArch } from '../../lib/arch.js';
import { listEntries } from '../../lib/cache/index.js';
import { isBpfCompileError } from '../../lib/errors.js';
import { fetchFailureReason } from '../../lib/fetch/errors.js';
import { packBtf } from '../../lib/pack/btf.js';
import { updateMirrorIndex, writeSha256Sidecar } from '../../lib/pack/index-file.js';
import { resolveHeaders, type ResolveOptions } from '../../lib/resolve.js';
import { readOsRelease } from '../../lib/system/os-release.js';
import { BtfBuilder } from '../helpers/btf-builder.js';
import { startMirrorServer, type MirrorServer } from '../helpers/mirror-server.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(repo, 'dist/bin/bpf-compile.cjs');
const arch = hostArch();
/** A release that is not the running kernel's: the live BTF does not describe it. */
const RELEASE = '6.1.0-99-mirrortest';
const LIVE = '/sys/kernel/btf/vmlinux';

let tmp: string;
let srv: MirrorServer;
let rawSha: string;
let tarSha: string;
let n = 0;
const freshCache = (): string => path.join(tmp, `cache-${++n}`);

/** A small BTF: `struct mirror_only_struct { int mirror_field; }`. */
function mirrorBtf(): Uint8Array {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  b.struct('mirror_only_struct', 4, [{ name: 'mirror_field', type: int, bitOffset: 0 }]);
  return b.build();
}

const opts = (cacheDir: string, extra: Partial<Omit<ResolveOptions, 'kind'>> = {}): ResolveOptions & { kind: 'vmlinux' } => ({
  kind: 'vmlinux',
  kernelRelease: RELEASE,
  root: '/',
  cacheDir,
  env: {},
  loadModule: 'never',
  mirrors: [`${srv.url}/idx`],
  ...extra,
});

function downloads(cacheDir: string): string[] {
  return listEntries({ cacheDir })
    .filter((e) => e.namespace === 'downloads' || e.namespace === 'vmlinux-h')
    .map((e) => `${e.namespace}/${e.key}`);
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-fetch-btf-'));
  const www = path.join(tmp, 'www');
  const blob = path.join(tmp, `${RELEASE}.btf`);
  fs.writeFileSync(blob, mirrorBtf());
  // a base mirror with index.json, as `pack --btf FILE --btf-format tar.xz` writes it
  const idx = path.join(www, 'idx');
  fs.mkdirSync(idx, { recursive: true });
  const packed = await packBtf({ btfFile: blob, release: RELEASE, outFile: path.join(idx, `${RELEASE}.btf.tar.xz`) });
  tarSha = packed.sha256;
  await updateMirrorIndex(idx, { kind: 'btf', release: RELEASE, arch: arch.srcarch, file: path.basename(packed.file), sha256: packed.sha256, size: packed.size });
  // a raw .btf behind a template, with a sidecar
  const raw = path.join(www, 'tpl', arch.machine, `${RELEASE}.btf`);
  fs.mkdirSync(path.dirname(raw), { recursive: true });
  fs.copyFileSync(blob, raw);
  rawSha = createHash('sha256').update(fs.readFileSync(raw)).digest('hex');
  await writeSha256Sidecar(raw, rawSha);
  // a btfhub-archive-like tree (no index, no sidecars): <distro>/<version>/<machine>/<release>.btf.tar.xz
  const os1 = await readOsRelease('/');
  const hub = path.join(www, 'hub', os1?.id ?? 'unknown', os1?.versionId ?? 'unknown', arch.machine);
  fs.mkdirSync(hub, { recursive: true });
  fs.copyFileSync(packed.file, path.join(hub, `${RELEASE}.btf.tar.xz`));
  srv = await startMirrorServer(www);
});
after(async () => {
  await srv.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => srv.reset());

describe('BTF from a mirror', () => {
  test("index.json → download → vmlinux.h of the mirror's BTF; warm and offline make no request", async () => {
    const cacheDir = freshCache();
    const h = await resolveHeaders(opts(cacheDir));
    assert.equal(h.source, 'btf');
    assert.match(h.detail, new RegExp(`${RELEASE}\\.btf\\.tar\\.xz .*downloaded`));
    assert.deepEqual(h.warnings, [], 'BTF of the target release: no mismatch warning');
    const header = fs.readFileSync(h.header, 'utf8');
    assert.match(header, /struct mirror_only_struct \{\n\tint mirror_field;\n\};/);
    assert.equal(srv.hits(`/idx/${RELEASE}.btf.tar.xz`), 1);

    srv.reset();
    const warm = await resolveHeaders(opts(cacheDir));
    assert.equal(warm.header, h.header);
    assert.match(warm.detail, /cached download/);
    assert.deepEqual(srv.log, [], 'warm: no request');

    const offline = await resolveHeaders(opts(cacheDir, { offline: true }));
    assert.equal(offline.header, h.header);
    assert.deepEqual(srv.log, [], 'offline: no request');
  });

  test('a BTF template (….btf) with a sidecar; a kheaders template is skipped for BTF', async () => {
    const cacheDir = freshCache();
    const h = await resolveHeaders(opts(cacheDir, { mirrors: [`${srv.url}/elsewhere/{release}.tar.xz`, `${srv.url}/tpl/{machine}/{release}.btf`] }));
    assert.match(fs.readFileSync(h.header, 'utf8'), /struct mirror_only_struct/);
    assert.match(h.detail, new RegExp(`sha256 ${rawSha.slice(0, 12)}`));
    assert.equal(srv.hits('/elsewhere/' + `${RELEASE}.tar.xz`), 0, 'the kheaders template is not asked for BTF');
  });

  const noLive = fs.existsSync(LIVE) ? undefined : `${LIVE} not present (kernel without CONFIG_DEBUG_INFO_BTF?)`;
  if (noLive !== undefined) console.log(`# skipping the live-BTF cases: ${noLive}`);

  test('btfhub layout under a base mirror without index.json: needs a pinned sha256 (no sidecar there)', { skip: noLive }, async () => {
    const hub = { mirrors: [`${srv.url}/hub`] };
    // no pin: no checksum → the live BTF of the running kernel, with a mismatch warning naming why
    const unpinned = await resolveHeaders(opts(freshCache(), hub));
    assert.equal(unpinned.btf, LIVE);
    assert.ok(
      unpinned.warnings.some((w) => w.includes(RELEASE)),
      unpinned.warnings.join('\n'),
    );
    // strict: the mismatch is an error
    await assert.rejects(resolveHeaders(opts(freshCache(), { ...hub, strict: true })), (e) => isBpfCompileError(e, 'HEADERS_VERSION_MISMATCH'));
    // pinned: downloaded from the btfhub path
    srv.reset();
    const pinned = await resolveHeaders(opts(freshCache(), { ...hub, pinnedBtfSha256: tarSha.toUpperCase() }));
    assert.match(fs.readFileSync(pinned.header, 'utf8'), /struct mirror_only_struct/);
    assert.ok(
      srv.log.some((p) => p.endsWith(`/${arch.machine}/${RELEASE}.btf.tar.xz`)),
      srv.log.join(' '),
    );
    assert.deepEqual(pinned.warnings, []);
  });

  test('a pin that disagrees with index.json → checksum error, fatal, nothing downloaded', async () => {
    const cacheDir = freshCache();
    await assert.rejects(
      resolveHeaders(opts(cacheDir, { pinnedBtfSha256: 'a'.repeat(64) })),
      (e) => isBpfCompileError(e, 'INPUT_UNREADABLE') && fetchFailureReason(e) === 'checksum',
    );
    assert.deepEqual(downloads(cacheDir), []);
    assert.equal(srv.hits(`/idx/${RELEASE}.btf.tar.xz`), 0);
  });

  test('a pin that the served bytes do not have → checksum error, nothing published', async () => {
    const cacheDir = freshCache();
    const tpl = { mirrors: [`${srv.url}/tpl/{machine}/{release}.btf`], pinnedBtfSha256: tarSha };
    await assert.rejects(resolveHeaders(opts(cacheDir, tpl)), (e) => fetchFailureReason(e) === 'checksum');
    assert.deepEqual(downloads(cacheDir), []);
  });

  test('a malformed pin is a usage error before any request', async () => {
    await assert.rejects(resolveHeaders(opts(freshCache(), { pinnedBtfSha256: 'abc' })), (e) => isBpfCompileError(e, 'USAGE'));
    await assert.rejects(resolveHeaders(opts(freshCache(), { pinnedSha256: 'z'.repeat(64) })), (e) => isBpfCompileError(e, 'USAGE'));
    assert.deepEqual(srv.log, []);
  });

  test('when the live BTF describes the target, no mirror is asked', { skip: noLive }, async () => {
    const h = await resolveHeaders(opts(freshCache(), { kernelRelease: os.release() }));
    assert.equal(h.btf, LIVE);
    assert.deepEqual(srv.log, []);
  });
});

describe('CLI', () => {
  /** Run the CLI asynchronously (a sync spawn would block this process's mirror server). */
  const run = (args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmp } }, (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ status: code, stdout, stderr });
      });
    });

  test('bpf-compile vmlinux --kernel-release R --mirror URL -o FILE', async () => {
    const out = path.join(tmp, 'vmlinux.h');
    const r = await run(['vmlinux', '--kernel-release', RELEASE, '--mirror', `${srv.url}/idx`, '--cache-dir', freshCache(), '-o', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(fs.readFileSync(out, 'utf8'), /struct mirror_only_struct/);
  });

  test('bpf-compile fetch --kind vmlinux --json, then offline', async () => {
    const cacheDir = freshCache();
    const r = await run(['fetch', '--kind', 'vmlinux', '--kernel-release', RELEASE, '--mirror', `${srv.url}/idx`, '--cache-dir', cacheDir, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { kind: string; source: string; header: string; release: string };
    assert.equal(j.kind, 'vmlinux');
    assert.equal(j.source, 'btf');
    assert.equal(j.release, RELEASE);
    srv.reset();
    const again = await run(['vmlinux', '--kernel-release', RELEASE, '--mirror', `${srv.url}/idx`, '--cache-dir', cacheDir, '--offline']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /struct mirror_only_struct/);
    assert.deepEqual(srv.log, []);
  });

  test('--sha256 / --btf-sha256 with a bad value → usage error (exit 2), no stack trace', async () => {
    for (const flag of ['--sha256', '--btf-sha256']) {
      const r = await run(['fetch', '--kernel-release', RELEASE, '--mirror', `${srv.url}/idx`, '--cache-dir', freshCache(), flag, 'nothex']);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /pinned sha256 of the .*must be 64 hex digits/);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});
