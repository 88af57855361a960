/**
 * `download()` through HTTP proxies, all on loopback: an origin on 127.0.0.1 and a tiny proxy that tunnels CONNECT
 * (and forwards absolute-form requests, which undici 6 never sends: it tunnels plain http too). The proxy maps the fake
 * host `mirror.bpfc.test` to the origin, so a download from that name can only succeed through the proxy.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { after, before, beforeEach, describe, test } from 'node:test';
import { BpfCompileError } from '../../lib/errors.js';
import { download, type DownloadOptions } from '../../lib/fetch/download.js';
import { fetchFailureReason } from '../../lib/fetch/errors.js';
import { fetchHeaders } from '../../lib/fetch/index.js';
import { bypassesProxy, proxyAgentCount } from '../../lib/fetch/proxy.js';
import { hostArch } from '../../lib/arch.js';
import { bundleCli } from '../../scripts/bundle-cli.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FAKE_HOST = 'mirror.bpfc.test';
const body = randomBytes(64 * 1024);
const sha = createHash('sha256').update(body).digest('hex');

/** The origin: /file, /redir → /file, /loop-a ↔ /loop-b, /to-loopback → http://127.0.0.1:<port>/file. */
interface Origin {
  readonly port: number;
  readonly log: string[];
  close(): Promise<void>;
}

function originHandler(log: string[], port: () => number): http.RequestListener {
  return (req, res) => {
    const p = req.url ?? '/';
    log.push(p);
    const redirect = (location: string): void => {
      res.writeHead(302, { location, 'content-length': '0' });
      res.end();
    };
    if (p === '/file') {
      res.writeHead(200, { 'content-length': String(body.byteLength), 'content-type': 'application/octet-stream' });
      res.end(body);
    } else if (p === '/redir') redirect('/file');
    else if (p === '/loop-a') redirect('/loop-b');
    else if (p === '/loop-b') redirect('/loop-a');
    else if (p === '/to-loopback') redirect(`http://127.0.0.1:${port()}/file`);
    else if (p.startsWith('/btf/') && p.endsWith('.btf')) {
      res.writeHead(200, { 'content-length': String(body.byteLength), 'content-type': 'application/octet-stream' });
      res.end(body);
    } else {
      res.writeHead(404, { 'content-length': '0' });
      res.end();
    }
  };
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Track a server's sockets (tunnels included: closeAllConnections does not see them). */
function tracker(server: net.Server): { drop(): Promise<void>; close(): Promise<void> } {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const drop = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    // let the clients see the close before the next request
    await new Promise((resolve) => setTimeout(resolve, 20));
  };
  return {
    drop,
    async close() {
      await drop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function startOrigin(): Promise<Origin> {
  const log: string[] = [];
  let port = 0;
  const server = http.createServer(originHandler(log, () => port));
  const { close } = tracker(server);
  port = await listen(server);
  return { port, log, close };
}

type ProxyMode = 'tunnel' | '407' | '502' | 'hang';

/** The loopback proxy. */
interface LoopProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** CONNECT targets seen, in order, with their Proxy-Authorization header. */
  readonly connects: { target: string; auth: string | undefined }[];
  /** Absolute-form request targets seen (`GET http://…`). */
  readonly forwards: string[];
  mode: ProxyMode;
  /** When set, a CONNECT without exactly this Proxy-Authorization gets 407. */
  requireAuth: string | undefined;
  /** Forget what was seen, back to tunnelling, and drop every connection (undici reuses kept-alive tunnels). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Where the proxy sends a host: the fake mirror name and 127.0.0.1 go to loopback; anything else is refused. */
function mapHost(host: string): string | undefined {
  return host === FAKE_HOST || host === '127.0.0.1' ? '127.0.0.1' : undefined;
}

async function startProxy(): Promise<LoopProxy> {
  const server = http.createServer();
  const sockets = tracker(server);
  const state: LoopProxy = {
    url: '',
    port: 0,
    connects: [],
    forwards: [],
    mode: 'tunnel',
    requireAuth: undefined,
    async reset() {
      state.connects.length = 0;
      state.forwards.length = 0;
      state.mode = 'tunnel';
      state.requireAuth = undefined;
      await sockets.drop();
    },
    close: sockets.close,
  };
  server.on('connect', (req: http.IncomingMessage, sock: net.Socket, head: Buffer) => {
    const target = req.url ?? '';
    const auth = req.headers['proxy-authorization'];
    state.connects.push({ target, auth });
    sock.on('error', () => undefined);
    if (state.mode === 'hang') return;
    if (state.mode === '407' || (state.requireAuth !== undefined && auth !== state.requireAuth)) {
      sock.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const m = /^(.+):(\d+)$/.exec(target);
    const host = m?.[1] === undefined ? undefined : mapHost(m[1]);
    if (state.mode === '502' || host === undefined || m?.[2] === undefined) {
      sock.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const up = net.connect(Number(m[2]), host, () => {
      sock.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.byteLength > 0) up.write(head);
      up.pipe(sock);
      sock.pipe(up);
    });
    up.on('error', () => sock.destroy());
    sock.on('close', () => up.destroy());
  });
  // absolute-form forwarding (`GET http://host:port/path`), for a client that does not tunnel plain http
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    state.forwards.push(req.url ?? '');
    let u: URL;
    try {
      u = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end();
      return;
    }
    const host = mapHost(u.hostname);
    if (host === undefined) {
      res.writeHead(502).end();
      return;
    }
    const up = http.request({ host, port: u.port, path: `${u.pathname}${u.search}`, method: req.method, headers: req.headers }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      ures.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  const port = await listen(server);
  return Object.assign(state, { url: `http://127.0.0.1:${port}`, port });
}

/** A loopback port nobody listens on. */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

let tmp: string;
let origin: Origin;
let proxy: LoopProxy;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-proxy-'));
  origin = await startOrigin();
  proxy = await startProxy();
});
after(async () => {
  await proxy.close();
  await origin.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(async () => {
  await proxy.reset();
  origin.log.length = 0;
});

const dest = (): string => path.join(tmp, 'out');
const opts = (env: Record<string, string>, extra: Partial<DownloadOptions> = {}): DownloadOptions => ({
  dest: dest(),
  maxBytes: 1 << 20,
  allowInsecureHttp: true,
  retryBaseMs: 10,
  retries: 0,
  idleTimeoutMs: 2000,
  connectTimeoutMs: 3000,
  env,
  ...extra,
});
const fakeUrl = (p: string): string => `http://${FAKE_HOST}:${origin.port}${p}`;
const loopUrl = (p: string): string => `http://127.0.0.1:${origin.port}${p}`;

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

/** Everything an error could print: message, hint, details, the inspected cause chain. */
function printable(e: BpfCompileError): string {
  return [e.message, e.hint ?? '', JSON.stringify(e.details), inspect(e, { depth: 10 })].join('\n');
}

/** Count calls of the global fetch while `fn` runs. */
async function countGlobalFetch<T>(fn: () => Promise<T>): Promise<{ result: T; calls: number }> {
  const real = globalThis.fetch;
  let calls = 0;
  globalThis.fetch = ((input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    calls++;
    return real(input, init);
  }) as typeof fetch;
  try {
    return { result: await fn(), calls };
  } finally {
    globalThis.fetch = real;
  }
}

describe('download through a proxy', () => {
  test('HTTP_PROXY: a host only the proxy can resolve downloads, sha256 matches, the proxy saw a CONNECT (no absolute-form GET)', async () => {
    const { result: r, calls } = await countGlobalFetch(() => download(fakeUrl('/file'), opts({ HTTP_PROXY: proxy.url }, { expectedSha256: sha })));
    assert.equal(r.sha256, sha);
    assert.equal(r.bytes, body.byteLength);
    assert.deepEqual(fs.readFileSync(dest()), body);
    assert.deepEqual(
      proxy.connects.map((c) => c.target),
      [`${FAKE_HOST}:${origin.port}`],
    );
    assert.deepEqual(proxy.forwards, [], 'undici 6 tunnels plain http through CONNECT');
    assert.deepEqual(origin.log, ['/file']);
    assert.equal(calls, 0, "undici's fetch, not the global one");
    fs.rmSync(dest());
  });

  test('loopback is proxied too unless NO_PROXY says otherwise (no implicit localhost exemption)', async () => {
    await download(loopUrl('/file'), opts({ HTTP_PROXY: proxy.url }));
    assert.deepEqual(
      proxy.connects.map((c) => c.target),
      [`127.0.0.1:${origin.port}`],
    );
    fs.rmSync(dest());
  });

  test('NO_PROXY=127.0.0.1 bypasses the proxy for http://127.0.0.1 (the proxy sees nothing)', async () => {
    const r = await download(loopUrl('/file'), opts({ HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }, { expectedSha256: sha }));
    assert.equal(r.sha256, sha);
    assert.deepEqual(proxy.connects, []);
    assert.deepEqual(origin.log, ['/file']);
    fs.rmSync(dest());
  });

  test('NO_PROXY forms route exactly as proxyFor/bypassesProxy predict', async () => {
    const port = origin.port;
    const cases: readonly string[] = [
      '127.0.0.1',
      `127.0.0.1:${port}`,
      '127.0.0.1:1',
      'example.com, 127.0.0.1',
      '.0.0.1',
      '*.0.0.1',
      '0.0.1',
      '*',
      'localhost',
      `localhost:${port}`,
      'foo 127.0.0.1',
    ];
    for (const noProxy of cases) {
      await proxy.reset();
      await download(loopUrl('/file'), opts({ http_proxy: proxy.url, no_proxy: noProxy }));
      const expectBypass = bypassesProxy(new URL(loopUrl('/file')), noProxy);
      assert.equal(proxy.connects.length === 0, expectBypass, `no_proxy=${JSON.stringify(noProxy)}: bypass ${expectBypass}`);
      fs.rmSync(dest());
    }
  });

  test('NO_PROXY sends a host direct: a direct failure says NO_PROXY sent it there (no DNS: loopback only)', async () => {
    const port = await deadPort();
    const e = await failure(download(`http://127.0.0.1:${port}/file`, opts({ HTTP_PROXY: proxy.url, NO_PROXY: 'example.com,127.0.0.1' })));
    assert.equal(fetchFailureReason(e), 'network', printable(e));
    assert.deepEqual(proxy.connects, []);
    assert.match(e.hint ?? '', /127\.0\.0\.1 matches NO_PROXY, so this request went direct, not through http:\/\/127\.0\.0\.1:\d+/);
  });

  test('lowercase wins; an empty variable counts as unset', async () => {
    const dead = `http://127.0.0.1:${await deadPort()}`;
    await download(fakeUrl('/file'), opts({ http_proxy: proxy.url, HTTP_PROXY: dead }));
    fs.rmSync(dest());
    await proxy.reset();
    await download(fakeUrl('/file'), opts({ http_proxy: '', HTTP_PROXY: proxy.url }));
    fs.rmSync(dest());
    assert.equal(proxy.connects.length, 1);
  });

  test('HTTPS_PROXY alone does not proxy an http:// URL', async () => {
    const dead = `http://127.0.0.1:${await deadPort()}`;
    await download(loopUrl('/file'), opts({ HTTPS_PROXY: dead }, { expectedSha256: sha }));
    fs.rmSync(dest());
  });

  test('a proxy URL without a scheme means http://, with credentials sent as Proxy-Authorization', async () => {
    proxy.requireAuth = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
    await download(fakeUrl('/file'), opts({ HTTP_PROXY: `alice:s3cret@127.0.0.1:${proxy.port}` }, { expectedSha256: sha }));
    assert.equal(proxy.connects.length, 1);
    assert.equal(proxy.connects[0]?.auth, proxy.requireAuth);
    fs.rmSync(dest());
  });

  test('one agent per distinct proxy triple', async () => {
    const env = { HTTP_PROXY: proxy.url, NO_PROXY: 'agent-count.invalid' };
    await download(fakeUrl('/file'), opts(env));
    const n = proxyAgentCount();
    await download(fakeUrl('/file'), opts({ ...env }));
    await download(fakeUrl('/file'), opts({ ...env, UNRELATED_VAR: 'x' }));
    assert.equal(proxyAgentCount(), n);
    await download(fakeUrl('/file'), opts({ ...env, NO_PROXY: 'other.invalid' }));
    assert.equal(proxyAgentCount(), n + 1);
    fs.rmSync(dest());
  });

  test('without proxy variables the global fetch is used and the proxy sees nothing', async () => {
    const { result: r, calls } = await countGlobalFetch(() => download(loopUrl('/file'), opts({ NO_PROXY: '*' }, { expectedSha256: sha })));
    assert.equal(r.sha256, sha);
    assert.equal(calls, 1);
    assert.deepEqual(proxy.connects, []);
    fs.rmSync(dest());
  });

  test('redirects through the proxy are followed manually and counted', async () => {
    const r = await download(fakeUrl('/redir'), opts({ HTTP_PROXY: proxy.url }, { expectedSha256: sha }));
    assert.equal(r.url, fakeUrl('/file'));
    assert.deepEqual(origin.log, ['/redir', '/file']);
    assert.ok(proxy.connects.length >= 1 && proxy.connects.every((c) => c.target === `${FAKE_HOST}:${origin.port}`));
    fs.rmSync(dest());

    const e = await failure(download(fakeUrl('/redir'), opts({ HTTP_PROXY: proxy.url }, { maxRedirects: 0 })));
    assert.equal(fetchFailureReason(e), 'redirect');
    const loop = await failure(download(fakeUrl('/loop-a'), opts({ HTTP_PROXY: proxy.url })));
    assert.equal(fetchFailureReason(loop), 'redirect');
  });

  test('each redirect hop is routed on its own: a hop to a NO_PROXY host goes direct', async () => {
    const r = await download(fakeUrl('/to-loopback'), opts({ HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }, { expectedSha256: sha }));
    assert.equal(r.url, loopUrl('/file'));
    assert.deepEqual(origin.log, ['/to-loopback', '/file']);
    assert.deepEqual(
      proxy.connects.map((c) => c.target),
      [`${FAKE_HOST}:${origin.port}`],
    );
    fs.rmSync(dest());
  });
});

describe('proxy failures', () => {
  test('proxy down → network, names the proxy with credentials redacted, retried per `retries`', async () => {
    const port = await deadPort();
    const t0 = Date.now();
    const e = await failure(download(fakeUrl('/file'), opts({ HTTP_PROXY: `http://alice:s3cret@127.0.0.1:${port}` }, { retries: 1 })));
    assert.equal(fetchFailureReason(e), 'network');
    assert.equal(e.details['attempts'], 2);
    assert.equal(e.details['proxy'], `http://***@127.0.0.1:${port}`);
    assert.equal(e.details['proxyVariable'], 'HTTP_PROXY');
    assert.match(e.message, new RegExp(`through the proxy http://\\*\\*\\*@127\\.0\\.0\\.1:${port} \\(from HTTP_PROXY\\): connect ECONNREFUSED`));
    assert.match(e.hint ?? '', /NO_PROXY/);
    assert.match(e.hint ?? '', new RegExp(`add ${FAKE_HOST.replace(/\./g, '\\.')} to NO_PROXY`));
    assert.doesNotMatch(printable(e), /s3cret|alice/);
    assert.doesNotMatch(e.hint ?? '', /not supported/);
    assert.ok(Date.now() - t0 < 5000);
  });

  test('proxy answers CONNECT with 407 → network naming the proxy, proxyStatus 407, not retried', async () => {
    proxy.mode = '407';
    const e = await failure(
      download(fakeUrl('/file'), opts({ https_proxy: `http://bob:hunter2@127.0.0.1:${proxy.port}`, HTTP_PROXY: `http://bob:hunter2@127.0.0.1:${proxy.port}` }, { retries: 3 })),
    );
    assert.equal(fetchFailureReason(e), 'network');
    assert.equal(e.details['proxyStatus'], 407);
    assert.equal(proxy.connects.length, 1, 'a 407 is not retried');
    assert.match(e.message, /HTTP 407 \(Proxy Authentication Required\)/);
    assert.match(e.message, new RegExp(`http://\\*\\*\\*@127\\.0\\.0\\.1:${proxy.port}`));
    assert.match(e.hint ?? '', /credentials.*NO_PROXY/);
    assert.doesNotMatch(printable(e), /hunter2|bob/);
  });

  test('wrong credentials → 407 (the proxy got Basic auth from the URL)', async () => {
    proxy.requireAuth = `Basic ${Buffer.from('alice:right').toString('base64')}`;
    const e = await failure(download(fakeUrl('/file'), opts({ HTTP_PROXY: `http://alice:wrong@127.0.0.1:${proxy.port}` })));
    assert.equal(e.details['proxyStatus'], 407);
    assert.equal(proxy.connects[0]?.auth, `Basic ${Buffer.from('alice:wrong').toString('base64')}`);
  });

  test('proxy answers CONNECT with 502 → network, retried per `retries`', async () => {
    proxy.mode = '502';
    const e = await failure(download(fakeUrl('/file'), opts({ HTTP_PROXY: proxy.url }, { retries: 1 })));
    assert.equal(fetchFailureReason(e), 'network');
    assert.equal(e.details['proxyStatus'], 502);
    assert.equal(e.details['attempts'], 2);
    assert.equal(proxy.connects.length, 2);
    assert.match(
      e.message,
      new RegExp(`the proxy ${proxy.url.replace(/\./g, '\\.')} \\(from HTTP_PROXY\\) answered CONNECT ${FAKE_HOST.replace(/\./g, '\\.')}:${origin.port} with HTTP 502`),
    );
  });

  test('proxy never answers the CONNECT → timeout naming the proxy', async () => {
    proxy.mode = 'hang';
    const t0 = Date.now();
    const e = await failure(download(fakeUrl('/file'), opts({ HTTP_PROXY: proxy.url }, { connectTimeoutMs: 300 })));
    assert.equal(fetchFailureReason(e), 'timeout');
    assert.equal(e.details['proxy'], proxy.url);
    assert.match(e.hint ?? '', /NO_PROXY/);
    assert.ok(Date.now() - t0 < 3000);
  });

  test('an unsupported or malformed proxy URL → typed error before any request, credentials redacted', async () => {
    const socks = await failure(download(fakeUrl('/file'), opts({ HTTPS_PROXY: 'socks5://carol:pw123@127.0.0.1:1080' })));
    assert.equal(fetchFailureReason(socks), 'network');
    assert.equal(socks.details['invalidProxy'], true);
    assert.match(socks.message, /HTTPS_PROXY: socks5:\/\/\*\*\*@127\.0\.0\.1:1080 \(socks5:\/\/ proxies are not supported\)/);
    const bad = await failure(download(fakeUrl('/file'), opts({ http_proxy: 'http://carol:pw123@[bad' })));
    assert.equal(bad.details['invalidProxy'], true);
    for (const e of [socks, bad]) assert.doesNotMatch(printable(e), /pw123|carol/);
    assert.deepEqual(origin.log, []);
  });
});

/** A CLI-like script: one download, prints a JSON line, and must exit on its own. */
const childScript = `
import { createRequire } from 'node:module';
import { download } from ${JSON.stringify(path.join(repo, 'lib/fetch/download.ts'))};
/* no top-level await: bundled like the CLI, into CommonJS */
void (async () => {
  const [url, dest, envJson] = process.argv.slice(2);
  const r = await download(url, { dest, maxBytes: 1 << 20, allowInsecureHttp: true, env: JSON.parse(envJson), retries: 0, connectTimeoutMs: 5000 });
  const undici = Object.keys(createRequire(import.meta.url).cache).some((k) => /[\\\\/]node_modules[\\\\/]undici[\\\\/]/.test(k));
  await new Promise((resolve) => setImmediate(resolve));
  const active = process.getActiveResourcesInfo().filter((a) => a !== 'PipeWrap' && a !== 'TTYWrap'); // not our stdio
  process.stdout.write(JSON.stringify({ sha256: r.sha256, undici, active }) + '\\n');
})();
`;

interface ChildRun {
  readonly code: number | null;
  /** The script's line: `active` lists what still holds the event loop (ref'd handles and timers, stdio pipes left out). */
  readonly out: { sha256: string; undici: boolean; active: string[] } | undefined;
  readonly stderr: string;
  /** ms from the result line to the process exit. */
  readonly exitLagMs: number;
}

function childScriptFile(): string {
  const script = path.join(tmp, 'child.mts');
  fs.writeFileSync(script, childScript);
  return script;
}

/** Run the script (through tsx) or a bundle of it (plain node). */
async function runChild(url: string, env: Record<string, string>, extraProcessEnv: Record<string, string> = {}, bundled?: string): Promise<ChildRun> {
  const head = bundled === undefined ? ['--import', 'tsx', childScriptFile()] : [bundled];
  const child = spawn(process.execPath, [...head, url, path.join(tmp, 'child-out'), JSON.stringify(env)], {
    cwd: repo,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? tmp, ...extraProcessEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let lineAt = 0;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (lineAt === 0 && stdout.includes('\n')) lineAt = Date.now();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(killer);
  const exitLagMs = lineAt === 0 ? Number.NaN : Date.now() - lineAt;
  const line = stdout.split('\n')[0] ?? '';
  return { code, out: line === '' ? undefined : (JSON.parse(line) as { sha256: string; undici: boolean; active: string[] }), stderr, exitLagMs };
}

describe('a CLI-like process', () => {
  test('without proxy variables: never loads undici, exits', async () => {
    const r = await runChild(loopUrl('/file'), {});
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out?.sha256, sha);
    assert.equal(r.out?.undici, false);
    assert.deepEqual(r.out?.active, []);
  });

  test('through a proxy: loads undici, exits promptly (the agent keeps nothing alive), no experimental warning', async () => {
    const r = await runChild(fakeUrl('/file'), { HTTP_PROXY: proxy.url });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out?.sha256, sha);
    assert.equal(r.out?.undici, true);
    assert.ok(r.exitLagMs < 1500, `exited ${r.exitLagMs} ms after the download (undici's keep-alive is 4 s)`);
    assert.deepEqual(r.out?.active, [], "no ref'd socket or timer left");
    assert.doesNotMatch(r.stderr, /experimental|UNDICI-EHPA/);
    assert.equal(proxy.connects.length, 1);
  });

  const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  test('https:// through HTTPS_PROXY (CONNECT + TLS to the origin), exits promptly', { skip: openssl.status === 0 ? false : 'openssl not found' }, async () => {
    const key = path.join(tmp, 'key.pem');
    const cert = path.join(tmp, 'cert.pem');
    const gen = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${FAKE_HOST}`, '-addext', `subjectAltName=DNS:${FAKE_HOST}`],
      { encoding: 'utf8' },
    );
    assert.equal(gen.status, 0, gen.stderr);
    const log: string[] = [];
    const server = https.createServer(
      { key: fs.readFileSync(key), cert: fs.readFileSync(cert) },
      originHandler(log, () => origin.port),
    );
    const { close } = tracker(server);
    const port = await listen(server);
    try {
      const r = await runChild(`https://${FAKE_HOST}:${port}/redir`, { HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }, { NODE_EXTRA_CA_CERTS: cert });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.out?.sha256, sha);
      assert.deepEqual(log, ['/redir', '/file']);
      assert.ok(proxy.connects.length >= 1 && proxy.connects.every((c) => c.target === `${FAKE_HOST}:${port}`));
      assert.ok(r.exitLagMs < 1500, `exited ${r.exitLagMs} ms after the download`);
      assert.deepEqual(r.out?.active, []);
    } finally {
      await close();
    }
  });

  test('bundled like the CLI (scripts/bundle-cli.mjs): undici is its own chunk, works through the proxy, exits', async () => {
    const outdir = path.join(tmp, 'bundle');
    const entry = await bundleCli({ entry: childScriptFile(), outDir: outdir });
    const chunks = fs.readdirSync(path.join(outdir, 'chunks'));
    const undiciChunk = chunks.find((c) => c.startsWith('undici-'));
    assert.ok(undiciChunk !== undefined, chunks.join(' '));
    const marker = /EnvHttpProxyAgent is experimental/;
    assert.match(fs.readFileSync(path.join(outdir, 'chunks', undiciChunk), 'utf8'), marker);
    assert.doesNotMatch(fs.readFileSync(entry, 'utf8'), marker, 'undici is not in the entry chunk');
    const direct = await runChild(loopUrl('/file'), {}, {}, entry);
    assert.equal(direct.code, 0, direct.stderr);
    assert.equal(direct.out?.sha256, sha);
    assert.equal(proxy.connects.length, 0);
    const proxied = await runChild(fakeUrl('/redir'), { HTTP_PROXY: proxy.url }, {}, entry);
    assert.equal(proxied.code, 0, proxied.stderr);
    assert.equal(proxied.out?.sha256, sha);
    assert.ok(proxy.connects.length >= 1 && proxy.connects.every((c) => c.target === `${FAKE_HOST}:${origin.port}`));
    assert.deepEqual(proxied.out?.active, []);
    assert.ok(proxied.exitLagMs < 1500, `exited ${proxied.exitLagMs} ms after the download`);
    assert.equal(proxied.stderr, '');
  });
});

describe('fetchHeaders through a proxy', () => {
  test('a plain-http mirror on another host: refused without a pinned sha256 (no request), fetched through the proxy with one', async () => {
    const cacheDir = path.join(tmp, 'cache-pinned');
    const common = {
      target: { release: '6.1.0-proxytest', arch: hostArch(), root: tmp },
      mirrors: [`http://${FAKE_HOST}:${origin.port}/btf/{release}.btf`],
      cacheDir,
      env: { HTTP_PROXY: proxy.url },
      kind: 'btf' as const,
      download: { retries: 0, connectTimeoutMs: 3000, idleTimeoutMs: 2000 },
    };
    const refused = await fetchHeaders(common).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal(fetchFailureReason(refused), 'insecure', String(refused));
    assert.equal(proxy.connects.length, 0, 'nothing was requested');
    const r = await fetchHeaders({ ...common, sha256: sha });
    assert.ok(r.found && r.kind === 'btf', r.found ? '' : r.reasons.join('; '));
    assert.equal(r.sha256, sha);
    assert.deepEqual(fs.readFileSync(r.file), body);
    assert.ok(
      proxy.connects.some((c) => c.target === `${FAKE_HOST}:${origin.port}`),
      JSON.stringify(proxy.connects),
    );
    assert.deepEqual(origin.log, ['/btf/6.1.0-proxytest.btf'], 'no sidecar or index asked: the pin is the trust anchor');
  });
});
