/**
 * The `kheaders` source: the kernel's own headers archive (an explicit file, sysfs/procfs, the module file, or the
 * module loaded on demand), extracted safely into the cache.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { extractArchiveToCache } from '../archive/cache.js';
import { BpfCompileError, errnoCode } from '../errors.js';
import { underRoot } from '../system/root.js';
import { isFile } from './tree.js';
import type { HeaderSource, SourceContext, SourceResult } from './types.js';

/** Where kernels expose the CONFIG_IKHEADERS archive: sysfs since 5.2, `/proc` on vendor backports of the first patch. */
export const KHEADERS_ARCHIVE_PATHS: readonly string[] = ['/sys/kernel/kheaders.tar.xz', '/proc/kheaders.tar.xz'];

/** Extract an archive (a path or its bytes) into the cache and describe the tree. */
async function fromArchive(ctx: SourceContext, archive: string | Uint8Array, label: string): Promise<SourceResult> {
  const result = await extractArchiveToCache(archive, {
    cache: { cacheDir: ctx.cacheDir, env: ctx.env },
    source: label,
    ...(ctx.onProgress === undefined ? {} : { onProgress: (p) => ctx.onProgress?.({ source: 'kheaders', what: `extracting ${label}`, done: p.bytesRead, total: p.totalBytes }) }),
  });
  const detail = `${label} → ${result.dir} (sha256 ${result.sha256.slice(0, 12)}…, ${result.fromCache ? 'cached' : 'extracted'})`;
  return { found: true, kind: 'kernel-tree', tree: { sourceDir: result.dir, buildDir: result.dir }, detail };
}

/** An explicit `--kheaders FILE`: the archive itself or a `kheaders.ko[.xz|.gz]`, told apart by content. */
async function fromExplicitFile(ctx: SourceContext, file: string): Promise<SourceResult> {
  const abs = path.resolve(file);
  let head: Uint8Array;
  try {
    const fh = await fs.open(abs, 'r');
    try {
      const buf = Buffer.alloc(64 * 1024);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      head = buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (err) {
    return { found: false, fatal: true, reason: `--kheaders ${file}: ${errnoCode(err) ?? String(err)}`, hint: 'check the path of the archive or module' };
  }
  const { readKheadersFromModuleFile, sniffKheadersFile } = await import('../kmod/kheaders-module.js');
  const kind = await sniffKheadersFile(head).catch(() => 'module' as const);
  if (kind === 'archive') return fromArchive(ctx, abs, abs);
  const archive = await readKheadersFromModuleFile(abs);
  return fromArchive(ctx, archive, `${abs} (module)`);
}

/**
 * The kernel's own headers archive (`CONFIG_IKHEADERS`), extracted safely into the content-addressed cache:
 *
 * 1. an explicit file (option `kheaders` / `--kheaders FILE`): the archive, or a `kheaders.ko` module;
 * 2. `/sys/kernel/kheaders.tar.xz`, then `/proc/kheaders.tar.xz` (under `--root`);
 * 3. the `kheaders` module file of the target release in `/lib/modules/<release>/` (via `modules.dep` or
 *    `kernel/kernel/kheaders.ko*`): the archive is read out of the ELF without loading the module — this works in
 *    containers without CAP_SYS_MODULE, for non-root users and for other targets' modules;
 * 4. for the running kernel, when the policy allows (`loadModule`, `auto` = only as root): `modprobe kheaders`, read the
 *    sysfs archive, and unload the module again if this process loaded it.
 */
export const kheadersSource: HeaderSource = {
  name: 'kheaders',
  description: 'the in-kernel archive (CONFIG_IKHEADERS): /sys/kernel/kheaders.tar.xz, /proc, kheaders.ko, or --kheaders FILE',
  kind: 'kernel-tree',
  async find(ctx: SourceContext): Promise<SourceResult> {
    try {
      if (ctx.kheadersFile !== undefined) return await fromExplicitFile(ctx, ctx.kheadersFile);
      for (const p of KHEADERS_ARCHIVE_PATHS) {
        const file = underRoot(ctx.target.root, p);
        if (isFile(file)) return await fromArchive(ctx, file, file);
      }
      const reasons = [`no ${KHEADERS_ARCHIVE_PATHS.join(' or ')}`];
      // the module machinery is loaded only when no archive file is there
      const [{ findKheadersModule }, { readKheadersFromModuleFile }, { withKheadersModuleLoaded }] = await Promise.all([
        import('../kmod/find.js'),
        import('../kmod/kheaders-module.js'),
        import('../kmod/load.js'),
      ]);
      const mod = await findKheadersModule(ctx.target.root, ctx.target.release);
      if ('path' in mod) {
        try {
          return await fromArchive(ctx, await readKheadersFromModuleFile(mod.path), `${mod.path} (module, not loaded)`);
        } catch (err) {
          if (!(err instanceof BpfCompileError)) throw err;
          reasons.push(`${mod.path}: ${err.message}`);
        }
      } else {
        reasons.push(mod.reason);
      }
      const sysfs = underRoot(ctx.target.root, KHEADERS_ARCHIVE_PATHS[0] as string);
      const loaded = await withKheadersModuleLoaded({ policy: ctx.loadModule, root: ctx.target.root, release: ctx.target.release, env: ctx.env }, () =>
        fromArchive(ctx, sysfs, `${sysfs} (module loaded)`),
      );
      if ('reason' in loaded) {
        reasons.push(`not loading the kheaders module: ${loaded.reason}`);
        return {
          found: false,
          reason: reasons.join('; '),
          hint: 'a kernel built with CONFIG_IKHEADERS=y/m provides its own headers; or pass --kheaders FILE (an archive or kheaders.ko copied from the target)',
        };
      }
      if (!loaded.result.found) return loaded.result;
      const notes = loaded.unloadError === undefined ? [] : [`could not unload the kheaders module again: ${loaded.unloadError}`];
      return { ...loaded.result, detail: `${loaded.result.detail}${loaded.loaded ? ', module loaded and unloaded' : ''}`, notes };
    } catch (err) {
      // An archive that is hostile, corrupt or cannot be cached is an error of this source, not a reason to try the next.
      if (err instanceof BpfCompileError) {
        return { found: false, fatal: true, reason: err.message, hint: err.hint, error: err };
      }
      throw err;
    }
  },
};
