/**
 * `bpf-compile btfgen OBJECT… --btf FILE|DIR… -o DIR`: tailored BTF per kernel for CO-RE objects (`lib/btfgen/`).
 */
import type { Command } from 'commander';
import type { BtfgenResult, KernelFailure, KernelReport, UnresolvedRelo } from '../../btfgen/index.js';
import { BpfCompileError, ErrorCode } from '../../errors.js';
import type { CliContext } from '../context.js';
import { collect } from '../target-options.js';

/** One unresolved relocation, as printed. */
export function unresolvedLine(u: UnresolvedRelo): string {
  const what = u.outcome === 'zero' ? 'evaluates to 0 on this kernel' : 'not satisfiable: the instruction is poisoned (loading fails if it is reachable)';
  return `  ${u.object}: ${u.section} relo #${u.index} (insn ${u.insn}) ${u.kind} ${u.access}: ${what}`;
}

/** The lines printed for one kernel. */
export function kernelLines(r: KernelReport | KernelFailure): string[] {
  if (!r.ok) return [`${r.kernel}: FAILED: ${r.error.message}`];
  const head = `${r.output}  ${r.types} of ${r.kernelTypes} types, ${r.bytes} bytes${r.unresolved.length > 0 ? `, ${r.unresolved.length} relocation(s) unresolved` : ''}${r.upToDate ? ' (up to date)' : ''}`;
  return [head, ...r.unresolved.map(unresolvedLine)];
}

/** The result as JSON (errors as their `toJSON`). */
export function resultJson(r: BtfgenResult): unknown {
  return { ...r, kernels: r.kernels.map((k) => (k.ok ? k : { ok: false, kernel: k.kernel, error: k.error.toJSON() })) };
}

/** The `onKernel` callback of both `btfgen` and `build --btfgen`: failures to stderr, the rest (unless quiet) to stdout. */
export function printKernel(ctx: CliContext, json: boolean): (r: KernelReport | KernelFailure) => void {
  return (r) => {
    if (json) return;
    if (!r.ok) ctx.io.stderr(`${kernelLines(r).join('\n')}\n`);
    else if (!ctx.quiet()) ctx.io.stdout(`${kernelLines(r).join('\n')}\n`);
  };
}

/** Throw when some kernel failed (exit 5), after everything was printed. */
export function failIfAny(r: BtfgenResult): void {
  const failed = r.kernels.filter((k): k is KernelFailure => !k.ok);
  if (failed.length === 0) return;
  const first = failed[0]!.error;
  throw new BpfCompileError(
    failed.length === 1 ? first.code : ErrorCode.CORE_RELOCATION,
    `no tailored BTF for ${failed.length} of ${r.kernels.length} kernel(s): ${first.message}`,
    {
      ...(first.hint === undefined ? {} : { hint: first.hint }),
      details: { failed: failed.map((f) => f.kernel) },
    },
  );
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('btfgen')
    .description(
      "write tailored BTF for CO-RE objects: per kernel, only the types their relocations use (bpftool gen min_core_btf for many kernels at once), for libbpf's btf_custom_path on kernels without /sys/kernel/btf/vmlinux",
    )
    .argument('<objects...>', 'BPF objects (.bpf.o) built with CO-RE')
    .option(
      '--btf <path>',
      "kernel BTF: a raw .btf, a vmlinux with .BTF, a btfhub .btf.tar.xz, or a directory of them (a btfhub-archive checkout); repeatable (default: the running kernel's)",
      collect,
      [],
    )
    .requiredOption('-o, --out-dir <dir>', "where the tailored files go: <release>.btf, mirroring a directory input's layout")
    .option('--force', 'tailor every kernel again, even when its file is up to date (same kernel BTF, objects and bpf-compile version)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nRelocations a kernel cannot satisfy are listed per object (existence checks that are 0 there, or poisoned instructions).\nExit status 5 when a kernel got no file (its BTF unreadable, or a relocation ambiguous there, as libbpf would refuse it).\nExample:\n  bpf-compile btfgen build/*.bpf.o --btf btfhub-archive/ubuntu/20.04 -o src/btf',
    )
    .action(async (objects: string[], flags: { btf: string[]; outDir: string; force?: boolean; json?: boolean }) => {
      const { btfgen } = await import('../../btfgen/index.js');
      const quiet = ctx.quiet();
      const result = await btfgen({
        objects,
        btf: flags.btf,
        outDir: flags.outDir,
        force: flags.force === true,
        onKernel: printKernel(ctx, flags.json === true),
      });
      if (flags.json === true) ctx.io.stdout(`${JSON.stringify(resultJson(result), null, 2)}\n`);
      else if (!quiet) {
        const ok = result.kernels.filter((k) => k.ok).length;
        const same = result.kernels.filter((k) => k.ok && k.upToDate).length;
        const relos = result.objects.reduce((n, o) => n + o.relocations, 0);
        ctx.io.stdout(
          `tailored BTF for ${ok} of ${result.kernels.length} kernel(s) in ${flags.outDir}${same > 0 ? ` (${same} up to date)` : ''} (${result.objects.length} object(s), ${relos} CO-RE relocation(s))\n`,
        );
      }
      failIfAny(result);
    });
}
