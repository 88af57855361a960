/**
 * Typed errors. Every error bpf-compile raises on purpose is a {@link BpfCompileError}
 * with a stable {@link ErrorCode}, a one-line message, what was tried, and a hint the
 * user can act on. The CLI prints these without a stack trace.
 */

/** Stable error codes. Callers may switch on these; they never change meaning. */
export const ErrorCode = {
  /** Bad command-line or option input. */
  USAGE: 'USAGE',
  /** The requested architecture is not in the arch table. */
  UNKNOWN_ARCH: 'UNKNOWN_ARCH',
  /** No header source produced usable headers. */
  HEADERS_NOT_FOUND: 'HEADERS_NOT_FOUND',
  /** Headers were found but their UTS_RELEASE differs from the target release (strict mode). */
  HEADERS_VERSION_MISMATCH: 'HEADERS_VERSION_MISMATCH',
  /** A required tool (clang, opt, llc, …) is missing or unusable. */
  TOOLCHAIN_MISSING: 'TOOLCHAIN_MISSING',
  /** clang, opt and llc are of different LLVM majors, or clang is too old. */
  TOOLCHAIN_MISMATCH: 'TOOLCHAIN_MISMATCH',
  /** libbpf headers (bpf/bpf_helpers.h) were not found. */
  LIBBPF_NOT_FOUND: 'LIBBPF_NOT_FOUND',
  /** The compiler rejected the program. Diagnostics were passed through. */
  COMPILE_FAILED: 'COMPILE_FAILED',
  /** An input file (source, archive, BTF) could not be read, or a download failed (`details.reason`). */
  INPUT_UNREADABLE: 'INPUT_UNREADABLE',
  /** An output file (an object, vmlinux.h, a mirror archive) could not be written. */
  OUTPUT_UNWRITABLE: 'OUTPUT_UNWRITABLE',
  /** An archive broke the extraction policy (path escape, link, device, bomb, …). */
  ARCHIVE_UNSAFE: 'ARCHIVE_UNSAFE',
  /** An archive is truncated, corrupt, empty or not an xz/tar archive. */
  ARCHIVE_CORRUPT: 'ARCHIVE_CORRUPT',
  /** An archive exceeded the size or entry-count caps. */
  ARCHIVE_TOO_LARGE: 'ARCHIVE_TOO_LARGE',
  /** The cache directory or an entry in it is not safe to use (owner, mode, symlink). */
  CACHE_UNSAFE: 'CACHE_UNSAFE',
  /** The cache lock could not be taken or was lost. */
  CACHE_LOCKED: 'CACHE_LOCKED',
  /** A BTF blob is malformed. */
  BTF_INVALID: 'BTF_INVALID',
  /** A kernel module file could not be read or parsed. */
  MODULE_INVALID: 'MODULE_INVALID',
  /** A CO-RE relocation of a BPF object is malformed, or resolves ambiguously against a kernel's BTF (libbpf would refuse the load). */
  CORE_RELOCATION: 'CORE_RELOCATION',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One thing that was attempted before the error, with its outcome. */
export interface TriedStep {
  /** What was tried (a source name, a path, a tool). */
  readonly what: string;
  /** Why it did not give a result. */
  readonly outcome: string;
  /** True when the step does not apply because nothing configures it (an override nobody set): data, not prose. */
  readonly notConfigured?: boolean;
}

/** Construction options of {@link BpfCompileError}. */
export interface BpfCompileErrorOptions {
  /** What the user can do about it. */
  readonly hint?: string;
  /** Everything attempted before giving up, in order. */
  readonly tried?: readonly TriedStep[];
  /** Underlying error, kept for `--debug`. */
  readonly cause?: unknown;
  /** Extra machine-readable details (paths, offsets, versions). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The one error class of bpf-compile. Test `err.code`, not the message. */
export class BpfCompileError extends Error {
  override readonly name = 'BpfCompileError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly tried: readonly TriedStep[];
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: BpfCompileErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.tried = options.tried ?? [];
    this.details = options.details ?? {};
  }

  /** A plain object for `--json` output. */
  toJSON(): { code: ErrorCode; message: string; hint?: string; tried: readonly TriedStep[]; details: Readonly<Record<string, unknown>> } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      tried: this.tried,
      details: this.details,
    };
  }
}

/** Why a download or a mirror/repository lookup failed (`details.reason` of `INPUT_UNREADABLE`). */
export type FetchFailureReason = 'http-status' | 'checksum' | 'timeout' | 'too-large' | 'redirect' | 'insecure' | 'truncated' | 'network' | 'tls' | 'signature' | 'expired';

/**
 * The machine-readable `details` each error code carries (every field optional: an error raised by a module that
 * knows less says less). Read them with {@link errorDetails} instead of casting `err.details`.
 */
export interface ErrorDetailsMap {
  USAGE: { readonly [k: string]: unknown };
  UNKNOWN_ARCH: { readonly [k: string]: unknown };
  HEADERS_NOT_FOUND: { readonly release?: string; readonly arch?: string };
  HEADERS_VERSION_MISMATCH: { readonly headers?: string; readonly target?: string; readonly buildDir?: string };
  TOOLCHAIN_MISSING: { readonly tool?: string };
  TOOLCHAIN_MISMATCH: { readonly majors?: readonly number[] };
  LIBBPF_NOT_FOUND: { readonly searched?: readonly string[] };
  /** The compilers' stderr, verbatim, and which objects failed (build). */
  COMPILE_FAILED: { readonly diagnostics?: string; readonly failed?: readonly string[] };
  /** Downloads: `reason` (see {@link FetchFailureReason}), the URL, the HTTP status, attempts, the proxy. Files: `path`. */
  INPUT_UNREADABLE: {
    readonly reason?: FetchFailureReason;
    readonly url?: string;
    readonly status?: number;
    readonly attempts?: number;
    readonly proxy?: string;
    readonly proxyVariable?: string;
    readonly proxyStatus?: number;
    readonly path?: string;
    readonly keyIds?: readonly string[];
    readonly allowed?: readonly string[];
  };
  OUTPUT_UNWRITABLE: { readonly path?: string };
  ARCHIVE_UNSAFE: { readonly entry?: string; readonly reason?: string };
  ARCHIVE_CORRUPT: { readonly offset?: number; readonly expected?: string; readonly actual?: string };
  ARCHIVE_TOO_LARGE: { readonly limit?: string };
  CACHE_UNSAFE: { readonly path?: string; readonly root?: string; readonly problem?: string; readonly errno?: string };
  CACHE_LOCKED: { readonly path?: string };
  BTF_INVALID: { readonly offset?: number; readonly kind?: number };
  MODULE_INVALID: { readonly path?: string };
  CORE_RELOCATION: { readonly object?: string; readonly kernel?: string; readonly section?: string; readonly index?: number };
}

/** The details of `err` as its code defines them, when `err` is a {@link BpfCompileError} of `code`; else undefined. */
export function errorDetails<C extends ErrorCode>(err: unknown, code: C): ErrorDetailsMap[C] | undefined {
  return err instanceof BpfCompileError && err.code === code ? (err.details as ErrorDetailsMap[C]) : undefined;
}

/** True when `err` is a {@link BpfCompileError}, optionally with the given code. */
export function isBpfCompileError(err: unknown, code?: ErrorCode): err is BpfCompileError {
  return err instanceof BpfCompileError && (code === undefined || err.code === code);
}

/** The `code` of a Node system error (`ENOENT`, …), or undefined. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
