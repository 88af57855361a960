/** `download()` against a local faulty mirror: every fault → its typed error and no file left behind. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { BpfCompileError } from '../../lib/errors.js';
import { download, TEE_MAX_BUFFERED, type DownloadOptions } from '../../lib/fetch/download.js';
import { fetchFailureReason } from '../../lib/fetch/errors.js';
import { startMirrorServer, type MirrorServer } from '../helpers/mirror-server.js';

let tmp: string;
let srv: MirrorServer;
const body = randomBytes(256 * 1024);
const sha = createHash('sha256').update(body).digest('hex');

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-dl-'));
  fs.mkdirSync(path.join(tmp, 'www'));
  fs.writeFileSync(path.join(tmp, 'www/blob'), body);
  srv = await startMirrorServer(path.join(tmp, 'www'));
});
after(async () => {
  await srv.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => srv.reset());

const dest = (): string => path.join(tmp, 'out');
const opts = (extra: Partial<DownloadOptions> = {}): DownloadOptions => ({
  dest: dest(),
  maxBytes: 1 << 20,
  allowInsecureHttp: true,
  retryBaseMs: 10,
  retries: 2,
  idleTimeoutMs: 2000, // never hit by accident on a loaded machine; the stall cases set their own
  connectTimeoutMs: 2000,
  env: {},
  ...extra,
});

async function failure(p: Promise<unknown>): Promise<BpfCompileError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof BpfCompileError, String(err));
    assert.equal(fs.existsSync(dest()), false, 'the destination is removed');
    return err;
  }
  assert.fail('expected a failure');
}

describe('download', () => {
  test('streams, hashes, reports progress, writes 0600', async () => {
    let last = 0;
    const r = await download(`${srv.url}/blob`, opts({ expectedSha256: sha, onProgress: (p) => (last = p.done) }));
    assert.equal(r.sha256, sha);
    assert.equal(r.bytes, body.byteLength);
    assert.equal(last, body.byteLength);
    assert.deepEqual(fs.readFileSync(dest()), body);
    assert.equal(fs.statSync(dest()).mode & 0o777, 0o600);
    fs.rmSync(dest());
  });
  test('404 → http-status, no retry', async () => {
    const e = await failure(download(`${srv.url}/missing`, opts()));
    assert.equal(fetchFailureReason(e), 'http-status');
    assert.equal(e.details['status'], 404);
    assert.equal(srv.hits('/missing'), 1);
  });
  test('500 twice then success → retried, works', async () => {
    srv.fault('/blob', { kind: 'status', status: 500, times: 2 });
    const r = await download(`${srv.url}/blob`, opts({ expectedSha256: sha }));
    assert.equal(r.sha256, sha);
    assert.equal(srv.hits('/blob'), 3);
    fs.rmSync(dest());
  });
  test('503 forever → http-status after retries', async () => {
    srv.fault('/blob', { kind: 'status', status: 503 });
    const e = await failure(download(`${srv.url}/blob`, opts()));
    assert.equal(fetchFailureReason(e), 'http-status');
    assert.equal(e.details['status'], 503);
    assert.equal(srv.hits('/blob'), 3);
  });
  test('checksum mismatch → checksum', async () => {
    const e = await failure(download(`${srv.url}/blob`, opts({ expectedSha256: 'f'.repeat(64) })));
    assert.equal(fetchFailureReason(e), 'checksum');
    assert.equal(srv.hits('/blob'), 1);
  });
  test('truncated body → truncated (after retries)', async () => {
    srv.fault('/blob', { kind: 'truncate', sendBytes: 1000 });
    const e = await failure(download(`${srv.url}/blob`, opts({ retries: 1 })));
    assert.equal(fetchFailureReason(e), 'truncated');
    assert.equal(srv.hits('/blob'), 2);
  });
  test('an event loop blocked longer than the idle timeout (a synchronous consumer) is not taken for a stalled server', async () => {
    // The server sends 64 KiB, then the rest 10 ms after the client has all of them; the client blocks its loop for
    // 400 ms right there. When the loop runs again, both the server's send and the client's idle timer are due.
    let resume = (): void => {};
    srv.fault('/blob', { kind: 'pause', afterBytes: 64 * 1024, resume: new Promise<void>((r) => (resume = r)) });
    let blocked = false;
    const onProgress = (p: { done: number }): void => {
      if (blocked || p.done < 64 * 1024) return;
      blocked = true;
      setTimeout(resume, 10);
      const until = Date.now() + 400; // 4× the idle timeout, without yielding
      while (Date.now() < until) {
        // busy: what a long synchronous write burst on a slow disk does to the loop
      }
    };
    const r = await download(`${srv.url}/blob`, opts({ expectedSha256: sha, retries: 0, idleTimeoutMs: 100, onProgress }));
    assert.equal(r.sha256, sha);
    assert.equal(srv.hits('/blob'), 1);
    fs.rmSync(dest());
  });
  test('stall past the idle timeout → timeout', async () => {
    srv.fault('/blob', { kind: 'stall', afterBytes: 100 });
    const t0 = Date.now();
    const e = await failure(download(`${srv.url}/blob`, opts({ retries: 0, idleTimeoutMs: 200 })));
    assert.equal(fetchFailureReason(e), 'timeout');
    assert.ok(Date.now() - t0 < 5000);
  });
  test('redirect loop → redirect', async () => {
    srv.fault('/a', { kind: 'redirect', location: '/b' });
    srv.fault('/b', { kind: 'redirect', location: '/a' });
    const e = await failure(download(`${srv.url}/a`, opts()));
    assert.equal(fetchFailureReason(e), 'redirect');
  });
  test('too many redirects → redirect', async () => {
    for (let i = 0; i < 8; i++) srv.fault(`/r${i}`, { kind: 'redirect', location: `/r${i + 1}` });
    const e = await failure(download(`${srv.url}/r0`, opts({ maxRedirects: 5 })));
    assert.equal(fetchFailureReason(e), 'redirect');
    assert.equal(srv.hits('/r6'), 0);
  });
  test('a redirect is followed', async () => {
    srv.fault('/old', { kind: 'redirect', location: '/blob' });
    const r = await download(`${srv.url}/old`, opts({ expectedSha256: sha }));
    assert.equal(r.url, `${srv.url}/blob`);
    fs.rmSync(dest());
  });
  test('redirect to a non-http scheme → redirect', async () => {
    srv.fault('/evil', { kind: 'redirect', location: 'file:///etc/passwd' });
    const e = await failure(download(`${srv.url}/evil`, opts()));
    assert.equal(fetchFailureReason(e), 'redirect');
  });
  test('larger than maxBytes → too-large', async () => {
    const e = await failure(download(`${srv.url}/blob`, opts({ maxBytes: 1000 })));
    assert.equal(fetchFailureReason(e), 'too-large');
  });
  test('chunked body over maxBytes → too-large while streaming', async () => {
    srv.fault('/blob', { kind: 'chunked' });
    const e = await failure(download(`${srv.url}/blob`, opts({ maxBytes: 50_000 })));
    assert.equal(fetchFailureReason(e), 'too-large');
    assert.equal(srv.hits('/blob'), 1);
  });
  test('chunked body within limits → works, total unknown', async () => {
    srv.fault('/blob', { kind: 'chunked' });
    let total: number | undefined = -1;
    const r = await download(`${srv.url}/blob`, opts({ expectedSha256: sha, onProgress: (p) => (total = p.total) }));
    assert.equal(r.bytes, body.byteLength);
    assert.equal(total, undefined);
    fs.rmSync(dest());
  });
  test('a local write failure is reported as is, not retried as a network error', async () => {
    await assert.rejects(download(`${srv.url}/blob`, opts({ dest: path.join(tmp, 'no/such/dir/out') })), (e: unknown) => {
      assert.ok(!(e instanceof BpfCompileError));
      assert.equal((e as { code?: string }).code, 'ENOENT');
      return true;
    });
    assert.equal(srv.hits('/blob'), 1);
  });
  test('plain http refused unless allowed → insecure, no request', async () => {
    const e = await failure(download(`${srv.url}/blob`, opts({ allowInsecureHttp: false })));
    assert.equal(fetchFailureReason(e), 'insecure');
    assert.equal(srv.hits('/blob'), 0);
  });
  test('connection refused → network (retried); an http:// URL with only HTTPS_PROXY set goes direct and says so', async () => {
    const probe = await startMirrorServer(tmp);
    const dead = probe.url;
    await probe.close();
    const e = await failure(download(`${dead}/blob`, opts({ retries: 1, env: { HTTPS_PROXY: 'http://127.0.0.1:9' } })));
    assert.equal(fetchFailureReason(e), 'network');
    assert.equal(e.details['attempts'], 2);
    assert.match(e.hint ?? '', /HTTPS_PROXY is set, but it proxies only https:\/\/ URLs/);
  });
  test('credentials in the URL travel as Basic auth to that origin only, and never appear in errors', async () => {
    const withCreds = srv.url.replace('http://', 'http://mi%40rror:p%3Ass@');
    const r = await download(`${withCreds}/blob`, opts({ expectedSha256: sha }));
    assert.equal(r.url, `${srv.url}/blob`, 'the reported URL has no credentials');
    const basic = `Basic ${Buffer.from('mi@rror:p:ss').toString('base64')}`;
    assert.deepEqual(srv.authorizations, [basic]);
    // a same-origin redirect keeps them; a redirect to another origin drops them
    const other = await startMirrorServer(path.join(tmp, 'www'));
    try {
      srv.reset();
      srv.fault('/same', { kind: 'redirect', location: '/blob' });
      await download(`${withCreds}/same`, opts());
      assert.deepEqual(srv.authorizations, [basic, basic]);
      srv.reset();
      srv.fault('/away', { kind: 'redirect', location: `${other.url}/blob` });
      await download(`${withCreds}/away`, opts());
      assert.deepEqual(srv.authorizations, [basic]);
      assert.deepEqual(other.authorizations, [undefined]);
    } finally {
      await other.close();
    }
    const e = await failure(download(`${withCreds}/missing`, opts()));
    assert.equal(fetchFailureReason(e), 'http-status');
    assert.doesNotMatch(`${e.message} ${e.hint ?? ''} ${JSON.stringify(e.details)}`, /p%3Ass|p:ss|mi%40rror/);
  });
  test('an abort signal stops the download', async () => {
    srv.fault('/blob', { kind: 'stall', afterBytes: 10 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('stop')), 100);
    await assert.rejects(download(`${srv.url}/blob`, opts({ signal: ac.signal, idleTimeoutMs: 10_000 })));
    assert.equal(fs.existsSync(dest()), false);
  });
});

/** Everything a tee received, and how it ended: `end` (finished) or the error it was destroyed with. */
function collect(tee: PassThrough): Promise<{ bytes: Buffer; end: 'end' | Error }> {
  const chunks: Buffer[] = [];
  tee.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) => {
    tee.on('end', () => resolve({ bytes: Buffer.concat(chunks), end: 'end' }));
    tee.on('error', (err) => resolve({ bytes: Buffer.concat(chunks), end: err }));
  });
}

describe('download tee (the body fed to a consumer while it downloads)', () => {
  test('receives exactly the verified body and is ended after the checksum matched', async () => {
    const tee = new PassThrough();
    const got = collect(tee);
    await download(`${srv.url}/blob`, opts({ expectedSha256: sha, tee }));
    const r = await got;
    assert.equal(r.end, 'end');
    assert.deepEqual(r.bytes, body);
    fs.rmSync(dest());
  });
  test('a checksum mismatch destroys it with the typed error instead of ending it', async () => {
    const tee = new PassThrough();
    const got = collect(tee);
    await failure(download(`${srv.url}/blob`, opts({ expectedSha256: 'f'.repeat(64), tee })));
    const r = await got;
    assert.ok(r.end instanceof BpfCompileError);
    assert.equal(fetchFailureReason(r.end), 'checksum');
  });
  test('carries only the first attempt: truncated once, retried, the tee is destroyed and the file is whole', async () => {
    srv.fault('/blob', { kind: 'truncate', sendBytes: 1000, times: 1 });
    const tee = new PassThrough();
    const got = collect(tee);
    const d = await download(`${srv.url}/blob`, opts({ expectedSha256: sha, tee }));
    assert.equal(d.sha256, sha);
    assert.equal(srv.hits('/blob'), 2, 'retried once');
    const r = await got;
    assert.ok(r.end instanceof Error, 'destroyed, not ended');
    assert.ok(r.bytes.byteLength <= 1000, `at most the first attempt's bytes (${r.bytes.byteLength})`);
    assert.deepEqual(fs.readFileSync(dest()), body);
    fs.rmSync(dest());
  });
  test('a consumer that never reads does not hold the download up', async () => {
    const tee = new PassThrough({ highWaterMark: 1024 });
    const d = await download(`${srv.url}/blob`, opts({ expectedSha256: sha, tee, idleTimeoutMs: 300 }));
    assert.equal(d.bytes, body.byteLength);
    assert.ok(body.byteLength < TEE_MAX_BUFFERED);
    assert.equal(tee.destroyed, false, 'kept: within the buffer cap');
    tee.destroy();
    fs.rmSync(dest());
  });
  test('a tee given up on (destroyed by its consumer) is no longer written; the download goes on', async () => {
    const tee = new PassThrough();
    tee.destroy(new Error('consumer gave up'));
    const d = await download(`${srv.url}/blob`, opts({ expectedSha256: sha, tee }));
    assert.equal(d.sha256, sha);
    fs.rmSync(dest());
  });
});
