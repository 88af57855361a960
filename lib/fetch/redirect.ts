/** URL policy of downloads: allowed schemes, redirects, plain-http rules. Pure functions (unit-tested directly). */
import { fetchError } from './errors.js';

/** True for `http:` and `https:` URLs. */
export function isHttpUrl(u: URL): boolean {
  return u.protocol === 'http:' || u.protocol === 'https:';
}

/** True when the URL's host is the loopback interface (`127.0.0.0/8`, `::1`, `localhost`). */
export function isLoopbackUrl(u: URL): boolean {
  const h = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/**
 * Parse a URL given by the user or a mirror and check its scheme. `user:password@` is allowed over https and loopback
 * (sent as Basic auth by `download`), never over plain http to another host.
 * @throws BpfCompileError (`INPUT_UNREADABLE`, reason `insecure`) for anything but http(s), http when not allowed, or
 *   credentials over remote plain http.
 */
export function checkUrl(raw: string, allowInsecureHttp: boolean): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch (err) {
    throw fetchError('insecure', `not a valid URL: ${raw}`, { url: raw, cause: err, hint: 'give an absolute http(s):// URL' });
  }
  if (!isHttpUrl(u)) throw fetchError('insecure', `refusing ${u.protocol} URL ${raw}: only http(s) is fetched`, { url: raw });
  if (u.protocol === 'http:' && !allowInsecureHttp) throw fetchError('insecure', `refusing plain http:// URL ${raw} without a verified checksum`, { url: raw });
  if ((u.username !== '' || u.password !== '') && u.protocol === 'http:' && !isLoopbackUrl(u)) {
    throw fetchError('insecure', `refusing to send the credentials of ${u.protocol}//***@${u.host}${u.pathname} in clear text over plain http`, {
      url: `${u.protocol}//${u.host}${u.pathname}`,
      hint: 'use an https:// mirror for URLs with user:password@',
    });
  }
  return u;
}

/**
 * Validate one redirect hop: resolve `location` against `from`, refuse non-http(s) targets, an https→http downgrade
 * and (through `seen`) loops. Returns the absolute next URL.
 *
 * @throws BpfCompileError (`INPUT_UNREADABLE`, reason `redirect`).
 */
export function nextRedirect(from: URL, location: string | null, seen: ReadonlySet<string> = new Set()): URL {
  if (location === null || location === '') throw fetchError('redirect', `redirect without a Location from ${from.href}`, { url: from.href });
  let to: URL;
  try {
    to = new URL(location, from);
  } catch (err) {
    throw fetchError('redirect', `bad redirect Location ${JSON.stringify(location)} from ${from.href}`, { url: from.href, cause: err });
  }
  if (!isHttpUrl(to)) throw fetchError('redirect', `refusing redirect from ${from.href} to a ${to.protocol} URL`, { url: from.href, details: { location: to.href } });
  if (from.protocol === 'https:' && to.protocol === 'http:') {
    throw fetchError('redirect', `refusing redirect from https to plain http: ${from.href} → ${to.href}`, { url: from.href, details: { location: to.href } });
  }
  if (seen.has(to.href)) throw fetchError('redirect', `redirect loop at ${to.href}`, { url: from.href, details: { location: to.href } });
  return to;
}
