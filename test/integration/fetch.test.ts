/**
 * The fetch source end to end against a local mirror serving a real kheaders archive (Debian headers, built like
 * gen_kheaders.sh): index.json, sidecar fallback, templates, faults (typed error + unchanged cache), warm and offline
 * runs (request counts), and 8 processes on one cold key (one download, one extraction).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, describe, test } from 'node:test';
import { hostArch } from '../../lib/arch.js';
import { listEntries } from '../../lib/cache/index.js';
import { BpfCompileError } from '../../lib/errors.js';
import { fetchHeaders, type FetchHeadersOptions, type FetchHeadersResult } from '../../lib/fetch/index.js';
import { fetchFailureReason } from '../../lib/fetch/errors.js';
import { formatMirrorIndex } from '../../lib/mirror/index-format.js';
import { resolveHeaders } from '../../lib/resolve.js';
import { fetchSource } from '../../lib/sources/fetch.js';
import type { SourceContext } from '../../lib/sources/types.js';
import type { Target } from '../../lib/target.js';
import { buildKheadersFixture, kheadersFixtureSkipReason, type KheadersFixture } from '../helpers/kheaders-fixture.js';
import { startMirrorServer, type MirrorServer } from '../helpers/mirror-server.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const skip = kheadersFixtureSkipReason();
const arch = hostArch();
let fx: KheadersFixture | undefined;
let tmp: string;
let srv: MirrorServer;
let sha: string;
let archiveName: string;
let target: Target;
let n = 0;

/** A fresh, private cache dir. */
const freshCache = (): string => path.join(tmp, `cache-${++n}`);

/** Published entries of the namespaces the fetch source writes. */
function published(cacheDir: string): string[] {
  return listEntries({ cacheDir })
    .filter((e) => e.namespace === 'kheaders' || e.namespace === 'downloads')
    .map((e) => `${e.namespace}/${e.key}`);
}

/** What else is left in the namespaces the fetch source writes (temp dirs of a failed build, stray locks): not entries, not leases. */
function leftovers(cacheDir: string): string[] {
  return ['downloads', 'kheaders'].flatMap((ns) => {
    const dir = path.join(cacheDir, ns);
    const stray = (x: string): boolean => !x.startsWith('.lease') && !/^(d1|x1)-[0-9a-f]{64}$/.test(x);
    return fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter(stray)
          .map((x) => `${ns}/${x}`)
      : [];
  });
}

const base = (cacheDir: string, extra: Partial<FetchHeadersOptions> = {}): FetchHeadersOptions => ({
  target,
  mirrors: [`${srv.url}/idx`],
  cacheDir,
  env: {},
  // an idle timeout that a loaded CI machine (the rpm suite builds packages beside it) never hits by accident; the
  // stall case below sets its own short one
  download: { retries: 1, retryBaseMs: 10, idleTimeoutMs: 3000, connectTimeoutMs: 3000 },
  ...extra,
});

function found(r: FetchHeadersResult): Extract<FetchHeadersResult, { kind: 'kheaders' }> {
  assert.equal(r.found, true, r.found ? '' : r.reasons.join('; '));
  assert.ok(r.found && r.kind === 'kheaders');
  return r;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-fetch-'));
  const www = path.join(tmp, 'www');
  fs.mkdirSync(path.join(www, 'idx/files'), { recursive: true });
  fs.mkdirSync(path.join(www, 'flat'), { recursive: true });
  fs.mkdirSync(path.join(www, 'tpl/debian/12'), { recursive: true });
  srv = await startMirrorServer(www);
  if (skip !== undefined) return;
  fx = buildKheadersFixture();
  const bytes = fs.readFileSync(fx.archive);
  sha = createHash('sha256').update(bytes).digest('hex');
  target = { release: fx.release, arch, root: path.join(tmp, 'root') };
  fs.mkdirSync(path.join(target.root, 'etc'), { recursive: true });
  // base mirror with an index
  archiveName = `files/kheaders-${fx.release}-${arch.srcarch}.tar.xz`;
  fs.copyFileSync(fx.archive, path.join(www, 'idx', archiveName));
  fs.writeFileSync(
    path.join(www, 'idx/index.json'),
    formatMirrorIndex({ version: 1, entries: [{ kind: 'kheaders', release: fx.release, arch: arch.srcarch, file: archiveName, sha256: sha, size: bytes.byteLength }] }),
  );
  // base mirror without an index: default name + sidecar
  const flat = path.join(www, 'flat', `kheaders-${fx.release}-${arch.srcarch}.tar.xz`);
  fs.copyFileSync(fx.archive, flat);
  fs.writeFileSync(`${flat}.sha256`, `${sha}  ${path.basename(flat)}\n`);
  // template mirror
  const tpl = path.join(www, 'tpl/debian/12', `${fx.release}.tar.xz`);
  fs.copyFileSync(fx.archive, tpl);
  fs.writeFileSync(`${tpl}.sha256`, `${sha}\n`);
});
after(async () => {
  await srv.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => srv.reset());

describe('fetchHeaders from a local mirror', { skip }, () => {
  test('index.json → download → extraction; then warm (no request) and offline (no request)', async () => {
    const cacheDir = freshCache();
    const r = found(await fetchHeaders(base(cacheDir)));
    assert.equal(r.sha256, sha);
    assert.equal(r.downloaded, true);
    assert.equal(r.extracted, true);
    assert.equal(r.release, fx?.release);
    assert.ok(fs.readFileSync(path.join(r.dir, 'include/generated/utsrelease.h'), 'utf8').includes(fx?.release ?? '?'));
    assert.equal(srv.hits('/idx/index.json'), 1);
    assert.equal(srv.hits(`/idx/${archiveName}`), 1);
    assert.deepEqual(published(cacheDir).sort(), [`downloads/d1-${sha}`, `kheaders/x1-${sha}`]);
    srv.reset();
    const warm = found(await fetchHeaders(base(cacheDir)));
    assert.equal(warm.downloaded, false);
    assert.equal(warm.extracted, false);
    assert.equal(warm.dir, r.dir);
    assert.equal(srv.log.length, 0, `warm run made requests: ${srv.log.join(' ')}`);
    const off = found(await fetchHeaders(base(cacheDir, { offline: true })));
    assert.equal(off.dir, r.dir);
    const offEnv = found(await fetchHeaders(base(cacheDir, { env: { BPF_COMPILE_OFFLINE: '1' } })));
    assert.equal(offEnv.dir, r.dir);
    assert.equal(srv.log.length, 0, `offline run made requests: ${srv.log.join(' ')}`);
  });

  test('offline with a cold cache → a reason, no request, nothing published', async () => {
    const cacheDir = freshCache();
    const r = await fetchHeaders(base(cacheDir, { offline: true }));
    assert.equal(r.found, false);
    assert.ok(!r.found && /offline/.test(r.reasons.join(' ')));
    assert.equal(srv.log.length, 0);
    assert.deepEqual(published(cacheDir), []);
  });

  test('offline resolves from the cached index.json when only the download is missing its memo', async () => {
    const cacheDir = freshCache();
    found(await fetchHeaders(base(cacheDir)));
    for (const f of fs.readdirSync(path.join(cacheDir, 'mirror-index'))) if (f.startsWith('a-')) fs.rmSync(path.join(cacheDir, 'mirror-index', f));
    srv.reset();
    found(await fetchHeaders(base(cacheDir, { offline: true })));
    assert.equal(srv.log.length, 0);
  });

  test('a base mirror without index.json: default name + sha256 sidecar', async () => {
    const cacheDir = freshCache();
    const r = found(await fetchHeaders(base(cacheDir, { mirrors: [`${srv.url}/flat/`] })));
    assert.equal(r.sha256, sha);
    assert.equal(srv.hits('/flat/index.json'), 1);
    assert.equal(srv.hits(`/flat/kheaders-${fx?.release}-${arch.srcarch}.tar.xz.sha256`), 1);
  });

  test('a pinned sha256 (resolveHeaders pinnedSha256): no sidecar needed; a wrong pin → checksum, nothing published', async () => {
    const cacheDir = freshCache();
    const common = { kind: 'kernel-tree' as const, kernelRelease: target.release, root: target.root, cacheDir, env: {}, loadModule: 'never' as const, sources: ['fetch'] };
    // a base mirror whose file has no sidecar: only the pin vouches for it
    fs.mkdirSync(path.join(tmp, 'www/nosidecar'), { recursive: true });
    fs.copyFileSync(path.join(tmp, 'www/idx', archiveName), path.join(tmp, 'www/nosidecar', `${target.release}.tar.xz`));
    const tpl = `${srv.url}/nosidecar/{release}.tar.xz`;
    const noPin = await resolveHeaders({ ...common, mirrors: [tpl] }).catch((e: unknown) => e);
    assert.ok(noPin instanceof BpfCompileError && noPin.code === 'HEADERS_NOT_FOUND' && noPin.tried.some((t) => /no checksum/.test(t.outcome)), String(noPin));
    const h = await resolveHeaders({ ...common, mirrors: [tpl], pinnedSha256: sha });
    assert.equal(h.source, 'fetch');
    assert.equal(srv.hits(`/nosidecar/${target.release}.tar.xz`), 1);
    const wrong = freshCache();
    await assert.rejects(resolveHeaders({ ...common, cacheDir: wrong, mirrors: [`${srv.url}/idx`], pinnedSha256: 'f'.repeat(64) }), (e) => fetchFailureReason(e) === 'checksum');
    assert.deepEqual(published(wrong), []);
  });

  test('a template mirror: skipped without os-release, used with it; mirrors tried in order', async () => {
    const cacheDir = freshCache();
    const tpl = `${srv.url}/tpl/{distro}/{distro_version}/{release}.tar.xz`;
    const miss = await fetchHeaders(base(cacheDir, { mirrors: [tpl] }));
    assert.ok(!miss.found && /\{distro\}/.test(miss.reasons.join(' ')));
    assert.equal(srv.log.length, 0);
    fs.writeFileSync(path.join(target.root, 'etc/os-release'), 'ID=debian\nVERSION_ID="12"\n');
    try {
      const r = found(await fetchHeaders(base(cacheDir, { mirrors: [`${srv.url}/nothing-here`, tpl] })));
      assert.equal(r.mirror, tpl);
      assert.equal(r.url, `${srv.url}/tpl/debian/12/${fx?.release}.tar.xz`);
    } finally {
      fs.rmSync(path.join(target.root, 'etc/os-release'));
    }
  });

  test('500 twice then success on the archive → works', async () => {
    const cacheDir = freshCache();
    srv.fault(`/idx/${archiveName}`, { kind: 'status', status: 500, times: 2 });
    found(await fetchHeaders(base(cacheDir, { download: { retries: 3, retryBaseMs: 10 } })));
    assert.equal(srv.hits(`/idx/${archiveName}`), 3);
  });

  test('the archive is extracted while it downloads: files appear before the body is complete', async () => {
    const cacheDir = freshCache();
    let resume = (): void => {};
    srv.fault(`/idx/${archiveName}`, { kind: 'pause', afterBytes: 3 * 1024 * 1024, resume: new Promise<void>((r) => (resume = r)) });
    const pending = fetchHeaders(base(cacheDir, { download: { retries: 0, idleTimeoutMs: 20_000 } }));
    // while the server holds back the last ~1 MB, the extraction's private temp dir already holds headers
    const kheaders = path.join(cacheDir, 'kheaders');
    let partial: string[] = [];
    for (let i = 0; i < 400 && partial.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
      const tmpDir = fs.existsSync(kheaders) ? fs.readdirSync(kheaders).find((x) => x.startsWith('.tmp-')) : undefined;
      const inc = tmpDir === undefined ? undefined : path.join(kheaders, tmpDir, 'data/include');
      partial = inc !== undefined && fs.existsSync(inc) ? fs.readdirSync(inc) : [];
    }
    assert.ok(partial.length > 0, 'headers were being written before the download finished');
    assert.deepEqual(published(cacheDir), [], 'nothing published before the download is verified');
    resume();
    const r = found(await pending);
    assert.equal(r.extracted, true);
    assert.equal(r.release, fx?.release);
    assert.ok(fs.existsSync(path.join(r.dir, 'include/linux/kconfig.h')));
    assert.deepEqual(published(cacheDir).sort(), [`downloads/d1-${sha}`, `kheaders/x1-${sha}`]);
    assert.deepEqual(leftovers(cacheDir), []);
  });

  test('truncated once then retried: the streamed extraction is dropped, the verified file is extracted, once', async () => {
    const cacheDir = freshCache();
    srv.fault(`/idx/${archiveName}`, { kind: 'truncate', sendBytes: 1024 * 1024, times: 1 });
    const r = found(await fetchHeaders(base(cacheDir, { download: { retries: 2, retryBaseMs: 10 } })));
    assert.equal(srv.hits(`/idx/${archiveName}`), 2);
    assert.equal(r.extracted, true);
    assert.equal(r.release, fx?.release);
    assert.ok(fs.existsSync(path.join(r.dir, 'include/generated/utsrelease.h')));
    assert.deepEqual(published(cacheDir).sort(), [`downloads/d1-${sha}`, `kheaders/x1-${sha}`]);
    assert.deepEqual(leftovers(cacheDir), [], 'no temp dir of the dropped extraction');
  });

  const faults: {
    name: string;
    setup: () => void;
    opts?: Partial<FetchHeadersOptions>;
    mirror?: string;
    /** Fatal faults throw; others answer found:false with the error. */
    fatal: boolean;
    reason: string | undefined;
    message?: RegExp;
  }[] = [
    { name: 'archive 404', setup: () => srv.fault(`/idx/${archiveName}`, { kind: 'status', status: 404 }), fatal: false, reason: 'http-status' },
    { name: 'archive 503 forever', setup: () => srv.fault(`/idx/${archiveName}`, { kind: 'status', status: 503 }), fatal: false, reason: 'http-status' },
    { name: 'truncated archive', setup: () => srv.fault(`/idx/${archiveName}`, { kind: 'truncate', sendBytes: 4096 }), fatal: false, reason: 'truncated' },
    {
      name: 'stalled archive',
      setup: () => srv.fault(`/idx/${archiveName}`, { kind: 'stall', afterBytes: 4096 }),
      opts: { download: { retries: 1, retryBaseMs: 10, idleTimeoutMs: 300, connectTimeoutMs: 3000 } },
      fatal: false,
      reason: 'timeout',
    },
    { name: 'redirect loop', setup: () => srv.fault(`/idx/${archiveName}`, { kind: 'redirect', location: `/idx/${archiveName}` }), fatal: true, reason: 'redirect' },
    { name: 'oversize', setup: () => undefined, opts: { download: { maxBytes: 10_000, retries: 0 } }, fatal: true, reason: 'too-large' },
    { name: 'tampered archive (index sha256 differs)', setup: () => srv.fault(`/idx/${archiveName}`, { kind: 'body', body: 'evil' }), fatal: true, reason: 'checksum' },
    {
      name: 'wrong sha256 sidecar',
      mirror: 'flat',
      setup: () => srv.fault(`/flat/kheaders-${fx?.release}-${arch.srcarch}.tar.xz.sha256`, { kind: 'body', body: `${'0'.repeat(64)}  x\n` }),
      fatal: true,
      reason: 'checksum',
    },
    {
      name: 'garbage sidecar',
      mirror: 'flat',
      setup: () => srv.fault(`/flat/kheaders-${fx?.release}-${arch.srcarch}.tar.xz.sha256`, { kind: 'body', body: '<html>oops</html>' }),
      fatal: true,
      reason: 'checksum',
    },
    {
      name: 'no sidecar, no index → refused (no checksum)',
      mirror: 'flat',
      setup: () => srv.fault(`/flat/kheaders-${fx?.release}-${arch.srcarch}.tar.xz.sha256`, { kind: 'status', status: 404 }),
      fatal: false,
      reason: 'http-status',
      message: /without one/,
    },
    {
      name: 'malformed index.json',
      setup: () => srv.fault('/idx/index.json', { kind: 'body', body: '{"version":1,"entries":[{"kind":"kheaders"' }),
      fatal: false,
      reason: undefined,
      message: /malformed mirror index/,
    },
    {
      name: 'hostile index.json (path escape)',
      setup: () =>
        srv.fault('/idx/index.json', {
          kind: 'body',
          body: JSON.stringify({
            version: 1,
            entries: [{ kind: 'kheaders', release: fx?.release, arch: arch.srcarch, file: '../../etc/passwd', sha256: 'a'.repeat(64), size: 1 }],
          }),
        }),
      fatal: false,
      reason: undefined,
      message: /unsafe file name/,
    },
  ];
  for (const f of faults) {
    test(`fault: ${f.name} → ${f.reason ?? 'INPUT_UNREADABLE'}${f.fatal ? ' (fatal)' : ''}, cache unchanged`, async () => {
      const cacheDir = freshCache();
      f.setup();
      const opts = base(cacheDir, { ...(f.mirror === undefined ? {} : { mirrors: [`${srv.url}/${f.mirror}`] }), ...f.opts });
      let err: BpfCompileError | undefined;
      if (f.fatal) {
        await assert.rejects(fetchHeaders(opts), (e: unknown) => {
          assert.ok(e instanceof BpfCompileError);
          err = e;
          return true;
        });
      } else {
        const r = await fetchHeaders(opts);
        assert.equal(r.found, false);
        if (!r.found) err = r.errors[0];
      }
      assert.ok(err !== undefined);
      assert.equal(err.code, 'INPUT_UNREADABLE');
      assert.equal(fetchFailureReason(err), f.reason);
      assert.ok((err.hint ?? '') !== '');
      if (f.message !== undefined) assert.match(err.message, f.message);
      assert.deepEqual(published(cacheDir), []);
      assert.deepEqual(leftovers(cacheDir), []);
    });
  }

  test('fetchSource.find with a hand-built context → a kernel tree; fatal on a tampered archive', async () => {
    const cacheDir = freshCache();
    const ctx = {
      target,
      env: { BPF_COMPILE_MIRROR: `${srv.url}/nope ${srv.url}/idx` },
      kernelSource: undefined,
      kernelBuild: undefined,
      kheadersFile: undefined,
      loadModule: 'never',
      cacheDir,
      onProgress: undefined,
      btfFile: undefined,
      btfModules: [],
    } satisfies SourceContext;
    const r = await fetchSource.find(ctx);
    assert.equal(r.found, true, r.found ? '' : r.reason);
    assert.ok(r.found && r.kind === 'kernel-tree');
    assert.ok(fs.existsSync(path.join(r.tree.buildDir, 'include/generated/utsrelease.h')));
    assert.match(r.detail, /downloaded/);
    const offCtx = { ...ctx, cacheDir: freshCache(), offline: true };
    const off = await fetchSource.find(offCtx);
    assert.ok(!off.found && /offline/.test(off.reason) && off.fatal !== true);
    srv.fault(`/idx/${archiveName}`, { kind: 'body', body: 'evil' });
    const bad = await fetchSource.find({ ...ctx, cacheDir: freshCache(), env: {}, mirrors: [`${srv.url}/idx`] } as SourceContext);
    assert.ok(!bad.found && bad.fatal === true && bad.error !== undefined && fetchFailureReason(bad.error) === 'checksum');
  });

  test('8 processes on one cold key → one archive GET, one extraction', async () => {
    const cacheDir = freshCache();
    const script = path.join(tmp, 'child.mts');
    fs.writeFileSync(
      script,
      `import { fetchHeaders } from ${JSON.stringify(`${repo}/lib/fetch/index.js`)};
const [cacheDir, mirror, release, startAt] = process.argv.slice(2);
const { hostArch } = await import(${JSON.stringify(`${repo}/lib/arch.js`)});
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
const r = await fetchHeaders({ target: { release, arch: hostArch(), root: '/nonexistent' }, mirrors: [mirror], cacheDir, env: {} });
if (!r.found || r.kind !== 'kheaders') { console.error(JSON.stringify(r)); process.exit(1); }
console.log(JSON.stringify({ dir: r.dir, downloaded: r.downloaded, extracted: r.extracted }));
`,
    );
    const startAt = Date.now() + 2500;
    const runs = Array.from(
      { length: 8 },
      () =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const c = spawn(process.execPath, ['--import', 'tsx', script, cacheDir, `${srv.url}/idx`, fx?.release ?? '', String(startAt)], {
            cwd: repo,
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let out = '';
          let err = '';
          c.stdout.on('data', (d: Buffer) => (out += d.toString()));
          c.stderr.on('data', (d: Buffer) => (err += d.toString()));
          c.on('close', (code) => resolve({ code, out, err }));
        }),
    );
    const results = await Promise.all(runs);
    for (const r of results) assert.equal(r.code, 0, r.err);
    const parsed = results.map((r) => JSON.parse(r.out.trim()) as { dir: string; downloaded: boolean; extracted: boolean });
    assert.equal(new Set(parsed.map((p) => p.dir)).size, 1);
    assert.equal(parsed.filter((p) => p.downloaded).length, 1);
    assert.equal(parsed.filter((p) => p.extracted).length, 1);
    assert.equal(srv.hits(`/idx/${archiveName}`), 1);
    assert.deepEqual(published(cacheDir).sort(), [`downloads/d1-${sha}`, `kheaders/x1-${sha}`]);
  });
});
