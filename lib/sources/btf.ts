import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BpfCompileError } from '../errors.js';
import { underRoot } from '../system/root.js';
import type { HeaderSource, SourceContext, SourceResult } from './types.js';

/** Where the running kernel exposes its BTF (CONFIG_DEBUG_INFO_BTF, 5.4+). */
export const SYSFS_VMLINUX_BTF = '/sys/kernel/btf/vmlinux';

/**
 * A `vmlinux.h` generated from BTF, for CO-RE programs: an explicit BTF file (option `btf` / `--btf FILE`: raw BTF,
 * an ELF with `.BTF`, or a btfhub-archive `.btf.tar.xz`), else `/sys/kernel/btf/vmlinux` under `--root`, plus any
 * module BTFs asked for. The header is generated in TypeScript (no bpftool needed) and cached by content hash.
 */
export const btfSource: HeaderSource = {
  name: 'btf',
  kind: 'vmlinux',
  description: 'vmlinux.h generated from BTF: /sys/kernel/btf/vmlinux or --btf FILE (CO-RE programs)',
  async find(ctx: SourceContext): Promise<SourceResult> {
    const explicit = ctx.btfFile === undefined ? undefined : path.resolve(ctx.btfFile);
    const btf = explicit ?? underRoot(ctx.target.root, SYSFS_VMLINUX_BTF);
    if (explicit === undefined && !(await fs.stat(btf).then((s) => s.isFile(), () => false))) {
      return {
        found: false,
        reason: `no ${btf}`,
        hint: 'a kernel built with CONFIG_DEBUG_INFO_BTF=y exposes /sys/kernel/btf/vmlinux; or pass --btf FILE (e.g. from btfhub-archive)',
      };
    }
    try {
      const { vmlinuxHeaderFromCache } = await import('../btf/cache.js');
      const r = await vmlinuxHeaderFromCache({
        btf,
        modules: ctx.btfModules,
        root: ctx.target.root,
        cache: { cacheDir: ctx.cacheDir, env: ctx.env },
      });
      // The live BTF describes the running kernel; say so when the target is another one.
      const running = os.release();
      const releaseMismatch =
        explicit === undefined && path.resolve(ctx.target.root) === '/' && ctx.target.release !== running
          ? `${btf} describes the running kernel ${running}, target kernel is ${ctx.target.release}`
          : undefined;
      return {
        found: true,
        kind: 'vmlinux',
        vmlinux: { includeDir: r.dir, header: r.header, btf, modules: ctx.btfModules, sha256: r.sha256 },
        detail: `${btf}${ctx.btfModules.length > 0 ? ` + ${ctx.btfModules.join(', ')}` : ''} → ${r.header} (${r.fromCache ? 'cached' : 'generated'})`,
        ...(releaseMismatch === undefined ? {} : { releaseMismatch }),
      };
    } catch (err) {
      if (err instanceof BpfCompileError) return { found: false, fatal: true, reason: err.message, hint: err.hint, error: err };
      throw err;
    }
  },
};
