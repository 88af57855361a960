/**
 * Human-readable CLI output: resolved headers, `--env` lines for BCC/bpftrace, errors with what was tried and a hint.
 */
import { BpfCompileError } from '../errors.js';
import type { ResolvedHeaders, ResolvedKernelTree } from '../resolve.js';

const SAFE = /^[A-Za-z0-9_\-+=:,./@%]+$/;

/** Quote one word for a POSIX shell (and so for `$(shell …)` in Makefiles). */
export function shellQuote(word: string): string {
  if (word !== '' && SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Human-readable report of resolved headers (`bpf-compile headers`). */
export function formatHeaders(h: ResolvedHeaders): string {
  const a = h.arch;
  const head = [`source:        ${h.source} (${h.detail})`, `arch:          ${a.machine} (SRCARCH ${a.srcarch}, __TARGET_ARCH_${a.targetArch}, ${a.bpfTarget})`];
  const body =
    h.kind === 'kernel-tree'
      ? [
          `release:       ${h.release} (headers: ${h.utsRelease ?? 'unknown'}${h.version === undefined ? '' : `, version ${h.version}`})`,
          `source dir:    ${h.sourceDir}`,
          `build dir:     ${h.buildDir}`,
          `kconfig:       ${h.kconfigHeader}`,
          'include dirs:',
          ...h.includeDirs.map((d) => `  ${d}`),
        ]
      : [
          `release:       ${h.release}`,
          `vmlinux.h:     ${h.header} (CO-RE: compile with --mode core, or #include "vmlinux.h")`,
          `from BTF:      ${[h.btf, ...h.modules].join(', ')}`,
          `include dir:   ${h.includeDir}`,
        ];
  return [...head, ...body, 'tried:', ...formatTried(h.tried), ...h.warnings.map((w) => `warning: ${w}`)].join('\n');
}

function formatTried(tried: BpfCompileError['tried']): string[] {
  const width = Math.max(0, ...tried.map((t) => t.what.length));
  return tried.map((t) => `  ${t.what.padEnd(width)}  ${t.outcome}`);
}

/** An error for a person: one line, then the hint and what was tried. No stack unless `debug`. */
export function formatError(err: BpfCompileError, debug: boolean): string {
  const lines = [`bpf-compile: error: ${err.message}`];
  if (err.tried.length > 0) lines.push('tried:', ...formatTried(err.tried));
  if (err.hint !== undefined && err.hint !== '') lines.push(`hint: ${err.hint}`);
  if (debug) {
    lines.push(`code: ${err.code}`);
    if (err.stack !== undefined) lines.push(err.stack);
    if (err.cause !== undefined) lines.push(`cause: ${err.cause instanceof Error ? (err.cause.stack ?? err.cause.message) : String(err.cause)}`);
  }
  return lines.join('\n');
}

/**
 * `KEY=value` lines (values shell-quoted) that point BCC and bpftrace at these headers:
 * `eval "$(bpf-compile headers --env)"`, or `env $(bpf-compile headers --env) tool …` for simple paths.
 */
export function formatEnv(h: ResolvedKernelTree): string {
  return [`BCC_KERNEL_SOURCE=${shellQuote(h.sourceDir)}`, `BPFTRACE_KERNEL_SOURCE=${shellQuote(h.sourceDir)}`, `BPFTRACE_KERNEL_BUILD=${shellQuote(h.buildDir)}`].join('\n') + '\n';
}
