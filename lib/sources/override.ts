/**
 * The `override` source: trees named explicitly (options, `BPF_KERNEL_*`, `BCC_KERNEL_SOURCE`, `BPFTRACE_KERNEL_*`).
 */
import path from 'node:path';
import type { HeaderSource, SourceContext, SourceResult } from './types.js';
import { realDir, validateTreePair } from './tree.js';

/** One way of naming header trees explicitly, highest precedence first. */
interface OverrideSetting {
  readonly origin: string;
  readonly source: string | undefined;
  readonly build: string | undefined;
}

/**
 * Explicit trees in precedence order: the `kernelSource`/`kernelBuild` options, then `BPF_KERNEL_SOURCE`/
 * `BPF_KERNEL_BUILD`, then BCC's `BCC_KERNEL_SOURCE`, then bpftrace's `BPFTRACE_KERNEL_SOURCE`/`BPFTRACE_KERNEL_BUILD`.
 * The first setting with either dir set wins whole; a setting naming only one dir uses it as both.
 */
export function overrideSettings(ctx: SourceContext): OverrideSetting[] {
  const env = (name: string): string | undefined => {
    const v = ctx.env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  return [
    { origin: 'options kernelSource/kernelBuild', source: ctx.kernelSource, build: ctx.kernelBuild },
    { origin: 'BPF_KERNEL_SOURCE/BPF_KERNEL_BUILD', source: env('BPF_KERNEL_SOURCE'), build: env('BPF_KERNEL_BUILD') },
    { origin: 'BCC_KERNEL_SOURCE', source: env('BCC_KERNEL_SOURCE'), build: undefined },
    { origin: 'BPFTRACE_KERNEL_SOURCE/BPFTRACE_KERNEL_BUILD', source: env('BPFTRACE_KERNEL_SOURCE'), build: env('BPFTRACE_KERNEL_BUILD') },
  ];
}

/** Headers named by the user. A broken explicit setting stops resolution: silently using other headers would surprise. */
export const overrideSource: HeaderSource = {
  name: 'override',
  description: 'trees named by --kernel-source/--kernel-build or BPF_KERNEL_SOURCE, BPF_KERNEL_BUILD, BCC_KERNEL_SOURCE',
  kind: 'kernel-tree',
  async find(ctx: SourceContext): Promise<SourceResult> {
    const setting = overrideSettings(ctx).find((s) => s.source !== undefined || s.build !== undefined);
    if (setting === undefined) return { found: false, reason: 'not set', notConfigured: true };
    const named = [setting.source, setting.build].filter((d): d is string => d !== undefined).map((d) => path.resolve(d));
    const dirs: string[] = [];
    for (const dir of named) {
      const state = await realDir(dir);
      if (!state.ok) {
        return { found: false, fatal: true, reason: `${setting.origin}: ${state.reason}`, hint: `fix or unset ${setting.origin}` };
      }
      dirs.push(state.dir);
    }
    const [first, second] = [dirs[0] as string, dirs[1] ?? (dirs[0] as string)];
    const checked = await validateTreePair(first, second, ctx.target.arch);
    if (!checked.ok) {
      return { found: false, fatal: true, reason: `${setting.origin}: ${checked.reason}`, hint: `point ${setting.origin} at a configured kernel tree, or unset it` };
    }
    return { found: true, kind: 'kernel-tree', tree: checked.tree, detail: `from ${setting.origin}` };
  },
};
