/** `bpf-compile vmlinux`: write vmlinux.h generated from BTF. */
import type { Command } from 'commander';
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeAtomically } from '../../system/atomic-file.js';
import { BpfCompileError, ErrorCode } from '../../errors.js';
import { resolveHeaders } from '../../resolve.js';
import type { CliContext } from '../context.js';
import { addTargetOptions, collect, resolveOptionsOf, type TargetFlags } from '../target-options.js';

export function register(program: Command, ctx: CliContext): void {
  addTargetOptions(
    program
      .command('vmlinux')
      .description("write vmlinux.h generated from BTF (the running kernel's, --btf FILE, or the target release's from a --mirror) for CO-RE programs; no bpftool needed")
      .option('-o, --output <file>', 'write here (atomically) instead of stdout')
      .option('--module <name>', "same as --btf-module: add this module's BTF; repeatable", collect, []),
  ).action(async (flags: TargetFlags & { output?: string; module?: string[] }) => {
    const withModules = { ...flags, btfModule: [...(flags.btfModule ?? []), ...(flags.module ?? [])] };
    const h = await ctx.withProgress((onProgress) => resolveHeaders({ ...resolveOptionsOf(withModules, onProgress), kind: 'vmlinux' }));
    ctx.warn(h.warnings);
    if (flags.output === undefined) {
      ctx.io.stdout(await fs.readFile(h.header, 'utf8'));
      return;
    }
    const out = path.resolve(flags.output);
    try {
      await writeAtomically(out, (tmp) => fs.copyFile(h.header, tmp));
    } catch (err) {
      throw new BpfCompileError(ErrorCode.OUTPUT_UNWRITABLE, `cannot write ${flags.output}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
        details: { path: out },
      });
    }
  });
}
