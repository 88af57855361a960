/**
 * The fetch source over real HTTPS (a loopback `node:https` mirror with the test certificate in
 * `test/fixtures/tls/`), driven through the CLI so the trust store is the process's own: the certificate is trusted
 * only via `NODE_EXTRA_CA_CERTS`, exactly as a user with a private CA would set it.
 *
 * - an https mirror (index.json + archive) → fetch works, and the index is trusted without a pin;
 * - an https → http redirect of the archive is refused (typed, exit 5), nothing is published;
 * - without the CA the TLS handshake fails: a typed `tls` error naming the mirror and NODE_EXTRA_CA_CERTS, not retried.
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
import { formatMirrorIndex } from '../../lib/mirror/index-format.js';
import { buildKheadersFixture, kheadersFixtureSkipReason } from '../helpers/kheaders-fixture.js';
import { startMirrorServer, type MirrorServer } from '../helpers/mirror-server.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(repo, 'dist/bin/bpf-compile.cjs');
const tlsDir = path.join(repo, 'test/fixtures/tls');
const skip = kheadersFixtureSkipReason();
if (skip !== undefined) console.log(`# skipping HTTPS fetch tests: ${skip}`);
const arch = hostArch();

let tmp: string;
let https: MirrorServer;
let plain: MirrorServer;
let release = '';
let archiveName = '';
let n = 0;
const freshCache = (): string => path.join(tmp, `cache-${++n}`);

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run the CLI asynchronously (this process serves the mirrors), with or without the test CA trusted. */
function run(args: readonly string[], trustCa: boolean): Promise<Run> {
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmp };
  if (trustCa) env['NODE_EXTRA_CA_CERTS'] = path.join(tlsDir, 'cert.pem');
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, env }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

const fetchArgs = (mirror: string, cacheDir: string): string[] => [
  'fetch',
  '--kernel-release',
  release,
  '--root',
  path.join(tmp, 'root'),
  '--mirror',
  mirror,
  '--cache-dir',
  cacheDir,
  '--json',
];

const published = (cacheDir: string): string[] =>
  fs.existsSync(cacheDir)
    ? listEntries({ cacheDir })
        .filter((e) => e.namespace === 'downloads' || e.namespace === 'kheaders')
        .map((e) => `${e.namespace}/${e.key}`)
    : [];

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-https-'));
  const www = path.join(tmp, 'www');
  fs.mkdirSync(path.join(www, 'idx'), { recursive: true });
  fs.mkdirSync(path.join(tmp, 'root'), { recursive: true });
  const tls = { key: fs.readFileSync(path.join(tlsDir, 'key.pem')), cert: fs.readFileSync(path.join(tlsDir, 'cert.pem')) };
  https = await startMirrorServer(www, { tls });
  plain = await startMirrorServer(www);
  if (skip !== undefined) return;
  const fx = buildKheadersFixture();
  release = fx.release;
  const bytes = fs.readFileSync(fx.archive);
  archiveName = `kheaders-${release}-${arch.srcarch}.tar.xz`;
  fs.copyFileSync(fx.archive, path.join(www, 'idx', archiveName));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  fs.writeFileSync(
    path.join(www, 'idx/index.json'),
    formatMirrorIndex({ version: 1, entries: [{ kind: 'kheaders', release, arch: arch.srcarch, file: archiveName, sha256, size: bytes.byteLength }] }),
  );
});
after(async () => {
  await https.close();
  await plain.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  https.reset();
  plain.reset();
});

describe('fetch over HTTPS', { skip }, () => {
  test('an https mirror with index.json → downloaded, extracted, resolved', async () => {
    const cacheDir = freshCache();
    const r = await run(fetchArgs(`${https.url}/idx`, cacheDir), true);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { source: string; release: string; detail: string };
    assert.equal(j.source, 'fetch');
    assert.match(j.detail, new RegExp(`^${https.url}/idx/${archiveName} .*downloaded`));
    assert.equal(https.hits('/idx/index.json'), 1);
    assert.equal(https.hits(`/idx/${archiveName}`), 1);
    assert.equal(published(cacheDir).length, 2);
  });

  test('an https → http redirect of the archive is refused; nothing published, the http side never asked', async () => {
    const cacheDir = freshCache();
    https.fault(`/idx/${archiveName}`, { kind: 'redirect', location: `${plain.url}/idx/${archiveName}` });
    const r = await run(fetchArgs(`${https.url}/idx`, cacheDir), true);
    assert.equal(r.status, 5, r.stderr);
    assert.match(r.stderr, /https.*http|downgrade/i);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(plain.log.length, 0);
    assert.deepEqual(published(cacheDir), []);
  });

  test('an untrusted certificate → a typed tls error naming the mirror, not retried (exit 3: no headers), nothing published', async () => {
    const cacheDir = freshCache();
    const r = await run(fetchArgs(`${https.url}/idx`, cacheDir), false);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`${https.url.replace(/\./g, '\\.')}/idx.*TLS certificate check failed.*self-signed`, 'i'));
    assert.match(r.stderr, /NODE_EXTRA_CA_CERTS/);
    assert.doesNotMatch(r.stderr, /attempts/, 'a certificate failure is not retried');
    assert.equal(https.hits('/idx/index.json'), 0, 'the TLS handshake failed before any request');
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(published(cacheDir), []);
  });
});
