/**
 * The CLI's exit codes: one per kind of failure, a total map from every error code, and the doctor verdict's code.
 */
import { ErrorCode } from '../errors.js';

/** Process exit codes of the `bpf-compile` CLI. Stable: scripts may test them. */
export const EXIT = {
  OK: 0,
  /** The compiler rejected the program (diagnostics were printed). */
  COMPILE_FAILED: 1,
  /** Bad command line or option value. */
  USAGE: 2,
  /** No usable kernel headers (or a release mismatch under --strict). */
  HEADERS_NOT_FOUND: 3,
  /** clang/opt/llc or libbpf headers missing or mismatched. */
  TOOLCHAIN: 4,
  /** Any other reported failure (unreadable input, unsafe cache, corrupt archive, …). */
  OTHER: 5,
  /** A bug: an error bpf-compile did not expect. */
  INTERNAL: 70,
} as const;

/** Which exit code each error code leads to. */
export const EXIT_BY_ERROR: Readonly<Record<ErrorCode, number>> = {
  USAGE: EXIT.USAGE,
  UNKNOWN_ARCH: EXIT.USAGE,
  HEADERS_NOT_FOUND: EXIT.HEADERS_NOT_FOUND,
  HEADERS_VERSION_MISMATCH: EXIT.HEADERS_NOT_FOUND,
  TOOLCHAIN_MISSING: EXIT.TOOLCHAIN,
  TOOLCHAIN_MISMATCH: EXIT.TOOLCHAIN,
  LIBBPF_NOT_FOUND: EXIT.TOOLCHAIN,
  COMPILE_FAILED: EXIT.COMPILE_FAILED,
  INPUT_UNREADABLE: EXIT.OTHER,
  OUTPUT_UNWRITABLE: EXIT.OTHER,
  ARCHIVE_UNSAFE: EXIT.OTHER,
  ARCHIVE_CORRUPT: EXIT.OTHER,
  ARCHIVE_TOO_LARGE: EXIT.OTHER,
  CACHE_UNSAFE: EXIT.OTHER,
  CACHE_LOCKED: EXIT.OTHER,
  BTF_INVALID: EXIT.OTHER,
  MODULE_INVALID: EXIT.OTHER,
  CORE_RELOCATION: EXIT.OTHER,
};

/** The exit-code section of `--help`. */
export const EXIT_HELP = `Exit codes:
  0   success
  1   compile failed (compiler diagnostics printed above)
  2   usage error (bad option, unknown arch)
  3   kernel headers not found (or release mismatch with --strict)
  4   toolchain missing or mismatched (clang/opt/llc, libbpf headers)
  5   other reported error (unreadable input, …)
  70  internal error (a bug: please report it with --debug output)`;

/** The exit code of a doctor verdict: 0 (compiling can work), 4 (toolchain), 3 (no headers and no BTF). */
export function exitCodeOfVerdict(status: 'ok' | 'toolchain' | 'headers'): number {
  return status === 'ok' ? EXIT.OK : status === 'toolchain' ? EXIT.TOOLCHAIN : EXIT.HEADERS_NOT_FOUND;
}
