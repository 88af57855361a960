/** Proxy settings from an environment: precedence, validation, redaction, NO_PROXY matching (undici's rules). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BpfCompileError } from '../../lib/errors.js';
import { fetchFailureReason } from '../../lib/fetch/errors.js';
import { bypassesProxy, noProxyEntryFor, proxyConfigFromEnv, proxyFor, redactProxyUrl } from '../../lib/fetch/proxy.js';

describe('redactProxyUrl', () => {
  test('credentials become ***, the rest stays', () => {
    assert.equal(redactProxyUrl('http://alice:s3cret@proxy.corp:3128'), 'http://***@proxy.corp:3128');
    assert.equal(redactProxyUrl('http://alice@proxy.corp:3128/'), 'http://***@proxy.corp:3128');
    assert.equal(redactProxyUrl('https://proxy.corp'), 'https://proxy.corp');
    assert.equal(redactProxyUrl('proxy.corp:8080'), 'http://proxy.corp:8080');
    assert.equal(redactProxyUrl('u:p%40ss@proxy.corp:1'), 'http://***@proxy.corp:1');
  });
  test('an unparsable URL is still redacted', () => {
    assert.equal(redactProxyUrl('http://alice:pw@[bad'), 'http://***@[bad');
    assert.equal(redactProxyUrl('alice:p@w@[bad'), '***@[bad');
    assert.equal(redactProxyUrl('http://[bad'), 'http://[bad');
  });
});

describe('proxyConfigFromEnv', () => {
  test('no proxy variable (NO_PROXY alone included) → undefined', () => {
    assert.equal(proxyConfigFromEnv({}), undefined);
    assert.equal(proxyConfigFromEnv({ NO_PROXY: '*', HTTP_PROXY: '', https_proxy: '  ' }), undefined);
  });
  test('lowercase wins over uppercase; empty counts as unset', () => {
    const c = proxyConfigFromEnv({ http_proxy: 'http://low:1', HTTP_PROXY: 'http://up:2', https_proxy: '', HTTPS_PROXY: 'http://ups:3', no_proxy: 'a', NO_PROXY: 'b' });
    assert.equal(c?.http?.url, 'http://low:1/');
    assert.equal(c?.http?.variable, 'http_proxy');
    assert.equal(c?.https?.variable, 'HTTPS_PROXY');
    assert.equal(c?.noProxy, 'a');
    assert.equal(c?.noProxyVariable, 'no_proxy');
  });
  test('no scheme → http://', () => {
    assert.equal(proxyConfigFromEnv({ HTTPS_PROXY: 'proxy.corp:3128' })?.https?.url, 'http://proxy.corp:3128/');
  });
  test('socks and garbage → typed network error, redacted, before any request', () => {
    for (const value of ['socks5://u:pw@h:1080', 'http://u:pw@[bad', 'http://']) {
      assert.throws(
        () => proxyConfigFromEnv({ HTTP_PROXY: value }),
        (e: unknown) => {
          assert.ok(e instanceof BpfCompileError);
          assert.equal(fetchFailureReason(e), 'network');
          assert.equal(e.details['invalidProxy'], true);
          assert.doesNotMatch(`${e.message} ${e.hint ?? ''} ${JSON.stringify(e.details)}`, /pw/);
          return true;
        },
        value,
      );
    }
  });
});

describe('proxyFor / bypassesProxy (undici EnvHttpProxyAgent rules)', () => {
  const cfg = proxyConfigFromEnv({ HTTP_PROXY: 'http://hp:1', HTTPS_PROXY: 'http://sp:2' });
  const httpOnly = proxyConfigFromEnv({ HTTP_PROXY: 'http://hp:1' });
  const httpsOnly = proxyConfigFromEnv({ HTTPS_PROXY: 'http://sp:2' });
  test('scheme picks the proxy; https falls back to the HTTP proxy, http never uses the HTTPS one', () => {
    assert.ok(cfg !== undefined && httpOnly !== undefined && httpsOnly !== undefined);
    assert.equal(proxyFor(new URL('http://m.example/x'), cfg)?.variable, 'HTTP_PROXY');
    assert.equal(proxyFor(new URL('https://m.example/x'), cfg)?.variable, 'HTTPS_PROXY');
    assert.equal(proxyFor(new URL('https://m.example/x'), httpOnly)?.variable, 'HTTP_PROXY');
    assert.equal(proxyFor(new URL('http://m.example/x'), httpsOnly), undefined);
  });
  const table: readonly [string, string, boolean][] = [
    ['http://m.example/', '', false],
    ['http://m.example/', 'm.example', true],
    ['http://M.Example/', 'm.EXAMPLE', true],
    ['http://a.m.example/', 'm.example', false], // a bare name is an exact match only
    ['http://a.m.example/', '.m.example', true],
    ['http://a.m.example/', '*.m.example', true],
    ['http://m.example/', '.m.example', false],
    ['http://m.example/', 'x.test,  m.example', true],
    ['http://m.example/', 'x.test m.example', true],
    ['http://m.example/', 'm.example:80', true],
    ['http://m.example:8080/', 'm.example:80', false],
    ['https://m.example/', 'm.example:443', true],
    ['http://m.example/', '*', true],
    ['http://m.example/', 'x.test,*', true],
    ['http://127.0.0.1:9/', 'localhost', false], // no implicit loopback, no resolution
    ['http://[::1]:9/', '[::1]', true],
    ['http://10.1.2.3/', '10.0.0.0/8', false], // no CIDR
  ];
  for (const [url, noProxy, bypass] of table) {
    test(`${url} with NO_PROXY=${JSON.stringify(noProxy)} → ${bypass ? 'direct' : 'proxied'}`, () => {
      assert.equal(bypassesProxy(new URL(url), noProxy), bypass);
    });
  }
  test('noProxyEntryFor is the bare host', () => {
    assert.equal(noProxyEntryFor(new URL('http://Mirror.Example:8080/x')), 'mirror.example');
    assert.equal(noProxyEntryFor(new URL('http://[::1]:8080/x')), '[::1]');
  });
});
