import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lookupArch } from '../../lib/arch.js';
import { BpfCompileError, ErrorCode } from '../../lib/errors.js';
import { fetchError, fetchFailureReason, redactCredentials } from '../../lib/fetch/errors.js';
import { isFatalFetchError } from '../../lib/fetch/index.js';
import {
  btfhubUrl,
  expandTemplate,
  fallbackUrl,
  fileUrl,
  indexUrl,
  isTemplate,
  mirrorList,
  offlineFromEnv,
  parseSha256Sidecar,
  selectIndexEntry,
  sidecarUrl,
  templateKind,
} from '../../lib/fetch/mirrors.js';
import { checkUrl, isLoopbackUrl, nextRedirect } from '../../lib/fetch/redirect.js';
import { trustedMetadataUrl } from '../../lib/fetch/resolve.js';
import { parseMirrorIndex } from '../../lib/mirror/index-format.js';
import { fetchSource } from '../../lib/sources/fetch.js';
import type { SourceContext } from '../../lib/sources/types.js';

const x86 = lookupArch('x86_64');
const arm64 = lookupArch('aarch64');
const SHA = 'a'.repeat(64);

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof BpfCompileError);
    assert.equal(err.code, ErrorCode.INPUT_UNREADABLE);
    assert.ok(err.hint !== undefined && err.hint !== '');
    return fetchFailureReason(err);
  }
  return undefined;
}

describe('mirror list and offline switch', () => {
  test('option wins over BPF_COMPILE_MIRROR; both split on whitespace', () => {
    assert.deepEqual(mirrorList(undefined, { BPF_COMPILE_MIRROR: ' https://a/x  https://b/ ' }), ['https://a/x', 'https://b/']);
    assert.deepEqual(mirrorList(['https://o/'], { BPF_COMPILE_MIRROR: 'https://a/' }), ['https://o/']);
    assert.deepEqual(mirrorList([], { BPF_COMPILE_MIRROR: 'https://a/' }), ['https://a/']);
    assert.deepEqual(mirrorList(undefined, {}), []);
    assert.deepEqual(mirrorList(undefined, { BPF_COMPILE_MIRROR: '   ' }), []);
  });
  test('BPF_COMPILE_OFFLINE', () => {
    for (const v of ['1', 'true', 'YES', 'on']) assert.equal(offlineFromEnv({ BPF_COMPILE_OFFLINE: v }), true, v);
    for (const v of [undefined, '', '0', 'no']) assert.equal(offlineFromEnv({ BPF_COMPILE_OFFLINE: v }), false, String(v));
  });
});

describe('URLs of a base mirror', () => {
  test('index, files, fallback, sidecar', () => {
    assert.equal(indexUrl('https://m.example/kh///'), 'https://m.example/kh/index.json');
    assert.equal(fileUrl('https://m.example/kh/', 'x86/kheaders-6.1+.tar.xz'), 'https://m.example/kh/x86/kheaders-6.1%2B.tar.xz');
    assert.equal(fallbackUrl('https://m.example/kh', '6.1.0-13-amd64', x86), 'https://m.example/kh/kheaders-6.1.0-13-amd64-x86.tar.xz');
    assert.equal(sidecarUrl('https://m/a.tar.xz'), 'https://m/a.tar.xz.sha256');
  });
});

describe('templates', () => {
  const os = { id: 'debian', idLike: [], versionId: '12' };
  test('every placeholder expands, values are URL-encoded', () => {
    assert.equal(isTemplate('https://m/{release}/x'), true);
    assert.equal(isTemplate('https://m/kh/'), false);
    const r = expandTemplate('https://m/{distro}/{distro_version}/{machine}/{arch}/{release}.tar.xz', { release: '6.1.0+x', arch: arm64, os });
    assert.deepEqual(r, { url: 'https://m/debian/12/aarch64/arm64/6.1.0%2Bx.tar.xz' });
  });
  test('a template needing a distro without os-release is skipped with a reason', () => {
    const r = expandTemplate('https://m/{distro}/{release}', { release: '6.1', arch: x86, os: undefined });
    assert.ok('skip' in r && /\{distro\}.*os-release/.test(r.skip));
    const v = expandTemplate('https://m/{distro_version}', { release: '6.1', arch: x86, os: { id: 'arch', idLike: [], versionId: undefined } });
    assert.ok('skip' in v);
    assert.deepEqual(expandTemplate('https://m/{release}', { release: '6.1', arch: x86, os: undefined }), { url: 'https://m/6.1' });
  });
  test('an unknown placeholder is skipped with a reason', () => {
    const r = expandTemplate('https://m/{flavour}/{release}', { release: '6.1', arch: x86, os });
    assert.ok('skip' in r && r.skip.includes('unknown placeholder {flavour}'));
  });
});

describe('index selection', () => {
  const index = parseMirrorIndex(
    JSON.stringify({
      version: 1,
      entries: [
        { kind: 'kheaders', release: '6.1.0-13-amd64', arch: 'x86', file: 'a.tar.xz', sha256: SHA, size: 1 },
        { kind: 'btf', release: '6.1.0-13-amd64', arch: 'x86', file: 'a.btf', sha256: 'b'.repeat(64), size: 1 },
        { kind: 'kheaders', release: '6.1.0-13-arm64', arch: 'arm64', file: 'b.tar.xz', sha256: 'c'.repeat(64), size: 1 },
      ],
    }),
  );
  test('by kind, release and SRCARCH', () => {
    assert.equal(selectIndexEntry(index, 'kheaders', '6.1.0-13-amd64', x86)?.file, 'a.tar.xz');
    assert.equal(selectIndexEntry(index, 'btf', '6.1.0-13-amd64', x86)?.file, 'a.btf');
    assert.equal(selectIndexEntry(index, 'kheaders', '6.1.0-13-arm64', arm64)?.file, 'b.tar.xz');
    assert.equal(selectIndexEntry(index, 'kheaders', '6.1.0-13-amd64', arm64), undefined);
    assert.equal(selectIndexEntry(index, 'kheaders', '6.1.0-14-amd64', x86), undefined);
  });
});

describe('sidecar parsing', () => {
  test('first word, 64 hex digits, lowercased', () => {
    assert.equal(parseSha256Sidecar(`${SHA}  kheaders.tar.xz\n`), SHA);
    assert.equal(parseSha256Sidecar(`  ${SHA.toUpperCase()}\n`), SHA);
    assert.equal(parseSha256Sidecar(SHA), SHA);
    assert.equal(parseSha256Sidecar(''), undefined);
    assert.equal(parseSha256Sidecar('abc kheaders.tar.xz'), undefined);
    assert.equal(parseSha256Sidecar(`${SHA}0`), undefined);
    assert.equal(parseSha256Sidecar(`<html>${SHA}`), undefined);
  });
});

describe('URL and redirect policy', () => {
  test('checkUrl: http(s) only, plain http only when allowed, credentials only over https or loopback', () => {
    assert.equal(checkUrl('https://m/x', false).href, 'https://m/x');
    assert.equal(checkUrl('http://m/x', true).href, 'http://m/x');
    assert.equal(
      reasonOf(() => checkUrl('http://m/x', false)),
      'insecure',
    );
    assert.equal(
      reasonOf(() => checkUrl('file:///etc/passwd', true)),
      'insecure',
    );
    assert.equal(
      reasonOf(() => checkUrl('ftp://m/x', true)),
      'insecure',
    );
    assert.equal(
      reasonOf(() => checkUrl('not a url', true)),
      'insecure',
    );
    assert.equal(checkUrl('https://u:p@m/x', true).username, 'u');
    assert.equal(checkUrl('http://u:p@127.0.0.1:8/x', true).password, 'p');
    assert.equal(
      reasonOf(() => checkUrl('http://u:p@m/x', true)),
      'insecure',
    );
  });
  test('nextRedirect resolves relative locations', () => {
    assert.equal(nextRedirect(new URL('https://m/a/b'), '../c').href, 'https://m/c');
    assert.equal(nextRedirect(new URL('http://m/a'), 'https://cdn/a').href, 'https://cdn/a');
    assert.equal(nextRedirect(new URL('https://m/a'), 'https://cdn/a').href, 'https://cdn/a');
  });
  test('nextRedirect refuses a downgrade, other schemes, a missing Location and loops', () => {
    assert.equal(
      reasonOf(() => nextRedirect(new URL('https://m/a'), 'http://m/a')),
      'redirect',
    );
    assert.equal(
      reasonOf(() => nextRedirect(new URL('https://m/a'), 'file:///etc/shadow')),
      'redirect',
    );
    assert.equal(
      reasonOf(() => nextRedirect(new URL('http://m/a'), 'data:text/plain,x')),
      'redirect',
    );
    assert.equal(
      reasonOf(() => nextRedirect(new URL('https://m/a'), null)),
      'redirect',
    );
    assert.equal(
      reasonOf(() => nextRedirect(new URL('https://m/a'), '/b', new Set(['https://m/b']))),
      'redirect',
    );
  });
  test('metadata trust: https and loopback only', () => {
    assert.equal(trustedMetadataUrl(new URL('https://m/')), true);
    assert.equal(trustedMetadataUrl(new URL('http://127.0.0.1:8080/')), true);
    assert.equal(trustedMetadataUrl(new URL('http://localhost/')), true);
    assert.equal(trustedMetadataUrl(new URL('http://[::1]/')), true);
    assert.equal(trustedMetadataUrl(new URL('http://m.example/')), false);
    assert.equal(trustedMetadataUrl(new URL('http://10.0.0.1/')), false);
    assert.equal(isLoopbackUrl(new URL('http://127.1.2.3/')), true);
  });
});

describe('fatal or next mirror', () => {
  test('integrity and hostile failures are fatal; availability ones are not', () => {
    for (const r of ['checksum', 'insecure', 'redirect', 'too-large'] as const) assert.equal(isFatalFetchError(fetchError(r, 'x')), true, r);
    for (const r of ['http-status', 'timeout', 'truncated', 'network'] as const) assert.equal(isFatalFetchError(fetchError(r, 'x')), false, r);
    assert.equal(isFatalFetchError(new BpfCompileError(ErrorCode.ARCHIVE_UNSAFE, 'x')), true);
    assert.equal(isFatalFetchError(new BpfCompileError(ErrorCode.INPUT_UNREADABLE, 'malformed mirror index.json: x')), false);
    assert.equal(isFatalFetchError(new Error('bug')), true);
  });
  test('fetchError carries reason, url, status and a hint', () => {
    const e = fetchError('http-status', 'x', { url: 'https://m/a', status: 503 });
    assert.deepEqual(e.details, { reason: 'http-status', url: 'https://m/a', status: 503 });
    assert.ok(e.hint !== undefined);
  });
});

describe('fetch source without a mirror', () => {
  test('not applicable, with the reason the brief asks for', async () => {
    const ctx = {
      target: { release: '6.1.0-13-amd64', arch: x86, root: '/nonexistent' },
      env: {},
      kernelSource: undefined,
      kernelBuild: undefined,
      kheadersFile: undefined,
      loadModule: 'never',
      cacheDir: '/nonexistent/cache',
      onProgress: undefined,
      btfFile: undefined,
      btfModules: [],
    } satisfies SourceContext;
    const r = await fetchSource.find(ctx);
    assert.equal(r.found, false);
    assert.ok(!r.found && r.reason === 'no mirror configured (BPF_COMPILE_MIRROR or --mirror)' && r.fatal !== true);
  });
});

describe('BTF mirrors', () => {
  test('templateKind: a path ending in .btf or .btf.tar.xz serves BTF (query ignored), anything else kheaders', () => {
    assert.equal(templateKind('https://m/{release}.btf'), 'btf');
    assert.equal(templateKind('https://m/{distro}/{distro_version}/{machine}/{release}.btf.tar.xz?sig=1'), 'btf');
    assert.equal(templateKind('https://m/{release}.tar.xz'), 'kheaders');
    assert.equal(templateKind('https://m/{release}.btf/x.tar.xz'), 'kheaders');
  });
  test('btfhubUrl: <base>/<distro>/<version>/<machine>/<release>.btf.tar.xz; a skip without os-release', () => {
    const os = { id: 'ubuntu', idLike: ['debian'], versionId: '20.04' };
    assert.deepEqual(btfhubUrl('https://m/archive/', { release: '5.4.0-1010-aws', arch: x86, os }), { url: 'https://m/archive/ubuntu/20.04/x86_64/5.4.0-1010-aws.btf.tar.xz' });
    const r = btfhubUrl('https://m', { release: '5.4', arch: x86, os: undefined });
    assert.ok('skip' in r && /distro/.test(r.skip));
  });
});

test('redactCredentials hides user:password@ of every URL in a text; fetchError applies it', () => {
  assert.equal(redactCredentials('a https://u:p@m/x and http://tok@h:1/y; ftp://n/z'), 'a https://***@m/x and http://***@h:1/y; ftp://n/z');
  const e = fetchError('network', 'cannot download https://u:s3cret@m/x', { url: 'https://u:s3cret@m/x' });
  assert.doesNotMatch(`${e.message} ${JSON.stringify(e.details)}`, /s3cret/);
});
