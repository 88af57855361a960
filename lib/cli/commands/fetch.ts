/** `bpf-compile fetch`: warm the cache with the target's headers (mirrors, else distro repositories) or its BTF. */
import { Option, type Command } from 'commander';
import { resolveHeaders, type ResolveOptions } from '../../resolve.js';
import type { HeaderKind } from '../../sources/index.js';
import type { CliContext } from '../context.js';
import { formatHeaders } from '../format.js';
import { addTargetOptions, resolveOptionsOf, type TargetFlags } from '../target-options.js';

export function register(program: Command, ctx: CliContext): void {
  addTargetOptions(
    program
      .command('fetch')
      .description(
        "download the target kernel's headers (from the mirrors, else the distribution's own repositories) or, with --kind vmlinux, its BTF, into the cache (image builds, CI); offline afterwards",
      )
      .addOption(
        new Option('--kind <kind>', "kernel-tree: the headers archive, extracted; vmlinux: vmlinux.h from BTF (the live BTF when it describes the target, else the mirror's)")
          .choices(['kernel-tree', 'vmlinux'])
          .default('kernel-tree'),
      )
      .option('--json', 'print the result as JSON'),
  ).action(async (flags: TargetFlags & { json?: boolean; kind: HeaderKind }) => {
    const options = (onProgress: ResolveOptions['onProgress']): ResolveOptions => ({
      ...resolveOptionsOf(flags, onProgress),
      sources: flags.kind === 'vmlinux' ? ['btf'] : ['fetch', 'distro'],
      kind: flags.kind,
    });
    const h = await ctx.withProgress((onProgress) => resolveHeaders(options(onProgress)));
    ctx.warn(h.warnings);
    ctx.io.stdout(flags.json === true ? `${JSON.stringify(h, null, 2)}\n` : `${formatHeaders(h)}\n`);
  });
}
