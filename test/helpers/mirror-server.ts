/**
 * A throwaway HTTP mirror for tests: serves files from a directory on 127.0.0.1 (random port), with programmable
 * faults per path, and counts requests per path.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/** A fault served instead of (or before) the file. */
export type Fault =
  /** Answer this status (`times` times, then serve normally; default: always). */
  | { readonly kind: 'status'; readonly status: number; readonly times?: number }
  /** Announce the full Content-Length, send only `sendBytes`, then destroy the socket (`times` times; default: always). */
  | { readonly kind: 'truncate'; readonly sendBytes: number; readonly times?: number }
  /** Send `afterBytes`, then the rest once `resume` settles. */
  | { readonly kind: 'pause'; readonly afterBytes: number; readonly resume: Promise<void> }
  /** Send `afterBytes`, then stall (never finish) — the client's idle timeout must fire. */
  | { readonly kind: 'stall'; readonly afterBytes: number }
  /** Redirect (302) to this location (relative or absolute). */
  | { readonly kind: 'redirect'; readonly location: string }
  /** Serve the file chunked, without Content-Length (the streamed size cap must fire). */
  | { readonly kind: 'chunked' }
  /** Serve this body instead of the file (wrong sidecar, malformed index.json). */
  | { readonly kind: 'body'; readonly body: string | Uint8Array };

/** A running mirror. */
export interface MirrorServer {
  /** `http://127.0.0.1:<port>` or `https://…` (no trailing slash). */
  readonly url: string;
  /** Program a fault for a path (`/index.json`); replaces the previous one. */
  fault(urlPath: string, fault: Fault | undefined): void;
  /** Requests seen for a path (any method). */
  hits(urlPath: string): number;
  /** All request paths in order. */
  readonly log: readonly string[];
  /** The Authorization header of each request in {@link log} (undefined when none was sent). */
  readonly authorizations: readonly (string | undefined)[];
  /** Forget faults and counts. */
  reset(): void;
  close(): Promise<void>;
}

/** Options of {@link startMirrorServer}. */
export interface MirrorServerOptions {
  /** Serve HTTPS with this key and certificate (PEM) instead of plain HTTP. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer; readonly clientCa?: string | Buffer };
}

/** Start a mirror serving `dir`. */
export async function startMirrorServer(dir: string, options: MirrorServerOptions = {}): Promise<MirrorServer> {
  const faults = new Map<string, { fault: Fault; used: number }>();
  const counts = new Map<string, number>();
  const log: string[] = [];
  const authorizations: (string | undefined)[] = [];
  const sockets = new Set<import('node:net').Socket>();

  const handler: http.RequestListener = (req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    log.push(p);
    authorizations.push(req.headers.authorization);
    counts.set(p, (counts.get(p) ?? 0) + 1);
    const f = faults.get(p);
    const file = path.join(dir, decodeURIComponent(p));
    const readFile = (): Buffer | undefined => {
      if (!file.startsWith(dir + path.sep)) return undefined;
      try {
        return fs.readFileSync(file);
      } catch {
        return undefined;
      }
    };
    if (f !== undefined) {
      const fault = f.fault;
      switch (fault.kind) {
        case 'status':
          if (fault.times === undefined || f.used < fault.times) {
            f.used++;
            res.writeHead(fault.status, { 'content-type': 'text/plain' }).end(`fault ${fault.status}\n`);
            return;
          }
          break;
        case 'redirect':
          res.writeHead(302, { location: fault.location }).end();
          return;
        case 'body': {
          const body = typeof fault.body === 'string' ? Buffer.from(fault.body) : Buffer.from(fault.body);
          res.writeHead(200, { 'content-length': body.byteLength }).end(body);
          return;
        }
        case 'chunked': {
          const data = readFile() ?? Buffer.alloc(0);
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          for (let i = 0; i < data.byteLength; i += 16384) res.write(data.subarray(i, i + 16384));
          res.end();
          return;
        }
        case 'truncate': {
          if (fault.times !== undefined && f.used >= fault.times) break;
          f.used++;
          const data = readFile() ?? Buffer.alloc(0);
          res.writeHead(200, { 'content-length': data.byteLength });
          res.write(data.subarray(0, fault.sendBytes), () => setTimeout(() => res.destroy(), 20));
          return;
        }
        case 'pause': {
          const data = readFile() ?? Buffer.alloc(0);
          res.writeHead(200, { 'content-length': data.byteLength });
          res.write(data.subarray(0, fault.afterBytes));
          void fault.resume.then(() => res.end(data.subarray(fault.afterBytes)));
          return;
        }
        case 'stall': {
          const data = readFile() ?? Buffer.alloc(0);
          res.writeHead(200, { 'content-length': data.byteLength });
          res.write(data.subarray(0, fault.afterBytes));
          return; // never ends; closed by close()
        }
      }
    }
    const data = readFile();
    if (data === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-length': data.byteLength, 'content-type': 'application/octet-stream' }).end(data);
  };
  const server =
    options.tls === undefined
      ? http.createServer(handler)
      : https.createServer(
          {
            key: options.tls.key,
            cert: options.tls.cert,
            // client certificates (RHEL's entitlement): a client without one signed by this CA fails the handshake
            ...(options.tls.clientCa === undefined ? {} : { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true }),
          },
          handler,
        );
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    fault(urlPath, fault) {
      if (fault === undefined) faults.delete(urlPath);
      else faults.set(urlPath, { fault, used: 0 });
    },
    hits: (urlPath) => counts.get(urlPath) ?? 0,
    log,
    authorizations,
    reset() {
      faults.clear();
      counts.clear();
      log.length = 0;
      authorizations.length = 0;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
