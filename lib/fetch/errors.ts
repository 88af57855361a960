/**
 * Typed errors of the `fetch` machinery. No new error codes: every failure is `INPUT_UNREADABLE` with a machine-readable
 * `details.reason` (and `details.url` / `details.status` where known) and a hint.
 */
import { BpfCompileError, ErrorCode, errorDetails, type FetchFailureReason } from '../errors.js';

export type { FetchFailureReason } from '../errors.js';

/** Reasons that mean "the mirror or the network is hostile or broken in a way retrying elsewhere must not hide". */
export const FATAL_FETCH_REASONS: ReadonlySet<FetchFailureReason> = new Set(['checksum', 'insecure', 'redirect', 'too-large', 'signature', 'expired']);

const HINTS: Record<FetchFailureReason, string> = {
  'http-status': 'check the mirror URL and that it serves this release and arch (index.json or kheaders-<release>-<arch>.tar.xz)',
  checksum: 'the file does not match its published sha256: the mirror is corrupt or tampered with; fix the mirror or pin the right sha256',
  timeout: 'the mirror did not answer in time; check the network or try another mirror (BPF_COMPILE_MIRROR takes several)',
  'too-large': 'the file is larger than allowed; check the mirror serves a kernel-headers archive',
  redirect: 'the mirror redirects too often, in a loop, to a non-http(s) URL or from https to http; fix the mirror URL',
  insecure: 'use an https:// mirror, or pin the archive sha256 when the mirror is plain http://',
  truncated: 'the connection dropped before the whole file arrived; retry later',
  network: 'check the network and the mirror host; behind a proxy, set HTTPS_PROXY/HTTP_PROXY (NO_PROXY lists hosts to reach directly)',
  signature: 'the repository metadata is not signed by a key this source trusts: it was tampered with, or its keyring is missing (check Signed-By and etc/apt/trusted.gpg.d/)',
  expired:
    'the repository\'s Release is past its Valid-Until: the mirror is stale or replayed; use a fresh mirror (for an archive snapshot set Acquire::Check-Valid-Until "false")',
  tls: "the mirror's TLS certificate is not trusted (self-signed, a private CA, expired, or another host name): fix the certificate, or trust the CA with NODE_EXTRA_CA_CERTS=/path/to/ca.pem",
};

/** Extra fields of a fetch error. */
export interface FetchErrorInfo {
  readonly url?: string;
  readonly status?: number;
  readonly hint?: string;
  readonly cause?: unknown;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Replace the `user:password@` of every URL in `text` by `***@` (mirror URLs may carry credentials). */
export function redactCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1***@');
}

/** Build the typed error for a fetch failure. URLs in the message, hint and `details.url` are shown without credentials. */
export function fetchError(reason: FetchFailureReason, message: string, info: FetchErrorInfo = {}): BpfCompileError {
  return new BpfCompileError(ErrorCode.INPUT_UNREADABLE, redactCredentials(message), {
    hint: redactCredentials(info.hint ?? HINTS[reason]),
    ...(info.cause === undefined ? {} : { cause: info.cause }),
    details: {
      ...info.details,
      reason,
      ...(info.url === undefined ? {} : { url: redactCredentials(info.url) }),
      ...(info.status === undefined ? {} : { status: info.status }),
    },
  });
}

/** The `details.reason` of a fetch error, or undefined for any other error. */
export function fetchFailureReason(err: unknown): FetchFailureReason | undefined {
  const r = errorDetails(err, ErrorCode.INPUT_UNREADABLE)?.reason;
  return typeof r === 'string' && r in HINTS ? r : undefined;
}

/** True when a download failed because the file is not there (HTTP 404 or 410). */
export function isNotFound(err: unknown): boolean {
  const status = fetchHttpStatus(err);
  return status === 404 || status === 410;
}

/**
 * Thrown from a cache entry's build when offline (`--offline`, `BPF_COMPILE_OFFLINE`) and the entry is missing: it may
 * not be fetched. Callers turn it into a "never downloaded" reason; it never reaches the user.
 */
export class OfflineMiss extends Error {}

/** The HTTP status of a failed download (`http-status`), or undefined. */
export function fetchHttpStatus(err: unknown): number | undefined {
  return fetchFailureReason(err) === 'http-status' ? errorDetails(err, ErrorCode.INPUT_UNREADABLE)?.status : undefined;
}
