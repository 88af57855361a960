/** `bpf-compile headers`: find kernel headers for the target and say where they came from and what was tried. */
import { Option, type Command } from 'commander';
import { resolveHeaders } from '../../resolve.js';
import type { HeaderKind } from '../../sources/index.js';
import type { CliContext } from '../context.js';
import { formatEnv, formatHeaders } from '../format.js';
import { addTargetOptions, resolveOptionsOf, type TargetFlags } from '../target-options.js';

export function register(program: Command, ctx: CliContext): void {
  addTargetOptions(
    program
      .command('headers')
      .description('find kernel headers for the target kernel and show where they came from and what was tried')
      .option('--json', 'print the result as JSON')
      .option('--env', 'print BCC_KERNEL_SOURCE=… and BPFTRACE_KERNEL_SOURCE/BUILD=… lines, so BCC and bpftrace use these headers')
      .addOption(new Option('--kind <kind>', 'only accept a kernel tree or a generated vmlinux.h').choices(['kernel-tree', 'vmlinux'])),
  ).action(async (flags: TargetFlags & { json?: boolean; env?: boolean; kind?: HeaderKind }) => {
    if (flags.env === true) {
      const tree = await ctx.withProgress((onProgress) => resolveHeaders({ ...resolveOptionsOf(flags, onProgress), kind: 'kernel-tree' }));
      ctx.warn(tree.warnings);
      ctx.io.stdout(formatEnv(tree));
      return;
    }
    const headers = await ctx.withProgress((onProgress) => resolveHeaders({ ...resolveOptionsOf(flags, onProgress), ...(flags.kind === undefined ? {} : { kind: flags.kind }) }));
    if (flags.json === true) ctx.io.stdout(`${JSON.stringify(headers, null, 2)}\n`);
    else ctx.io.stdout(`${formatHeaders(headers)}\n`);
  });
}
