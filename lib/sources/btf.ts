/**
 * The `btf` source: a `vmlinux.h` generated from BTF (an explicit file, the live sysfs BTF, a vmlinux where libbpf
 * looks, a local btfhub-archive checkout, or a mirror's) for CO-RE.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { toCache } from '../cache/entry.js';
import { readOsRelease } from '../system/os-release.js';
import { underRoot } from '../system/root.js';
import { fetchOptionsOf } from './fetch.js';
import type { HeaderSource, SourceContext, SourceResult } from './types.js';

/** Where the running kernel exposes its BTF (CONFIG_DEBUG_INFO_BTF, 5.4+). */
export const SYSFS_VMLINUX_BTF = '/sys/kernel/btf/vmlinux';

/** A BTF input found for the target, before the header is generated. */
interface BtfInput {
  readonly file: string;
  /** Where it came from, for `detail` (defaults to the file). */
  readonly label: string;
  /** Set when the BTF describes another kernel than the target. */
  readonly releaseMismatch?: string;
}

/** Why no BTF was found: reasons per place looked, and a hint. */
interface BtfMiss {
  readonly reasons: readonly string[];
  readonly hint: string;
}

const NO_BTF_HINT =
  'a kernel built with CONFIG_DEBUG_INFO_BTF=y exposes /sys/kernel/btf/vmlinux; without it, install its vmlinux with BTF or its debuginfo (e.g. /usr/lib/debug/boot/vmlinux-<release>, with pahole), point --btfhub at a btfhub-archive checkout, pass --btf FILE, or a --mirror serving BTF (bpf-compile pack --running-btf)';

/** BTF from the mirrors for the target release (kind `btf`), or why not. Integrity failures throw. */
async function fromMirrors(ctx: SourceContext): Promise<BtfInput | BtfMiss> {
  const { fetchHeaders, mirrorList, redactCredentials } = await import('../fetch/index.js');
  if (mirrorList(ctx.mirrors, ctx.env).length === 0) return { reasons: ['no mirror configured for BTF'], hint: NO_BTF_HINT };
  const r = await fetchHeaders(fetchOptionsOf(ctx, 'btf', 'btf'));
  if (!r.found) return { reasons: r.reasons.map((x) => `BTF mirror: ${x}`), hint: r.errors[0]?.hint ?? NO_BTF_HINT };
  return { file: r.file, label: `${redactCredentials(r.url)} (sha256 ${r.sha256.slice(0, 12)}…, ${r.downloaded ? 'downloaded' : 'cached download'})` };
}

/**
 * Pick the BTF for the target: an explicit file; else the live `/sys/kernel/btf/vmlinux` when it describes the target
 * (same release, or a `--root` image); else BTF for the target release from the mirrors; else the live BTF of another
 * release, flagged as a mismatch (a warning, an error under strict).
 */
async function findBtf(ctx: SourceContext): Promise<BtfInput | BtfMiss> {
  if (ctx.btfFile !== undefined) {
    const file = path.resolve(ctx.btfFile);
    return { file, label: file };
  }
  const live = underRoot(ctx.target.root, SYSFS_VMLINUX_BTF);
  const liveExists = await fs.stat(live).then(
    (s) => s.isFile(),
    () => false,
  );
  // The live BTF describes the running kernel (or, under --root, the image's own kernel).
  const running = os.release();
  const describesTarget = path.resolve(ctx.target.root) !== '/' || ctx.target.release === running;
  if (liveExists && describesTarget) return { file: live, label: live };
  const reasons: string[] = [`no ${live}${liveExists ? ' of the target kernel' : ''}`];
  let hint: string | undefined;
  // where libbpf looks: vmlinux files with .BTF (or only DWARF, encoded by pahole), under the root
  const locate = await import('../btf/locate.js');
  const cands = locate.vmlinuxCandidates(ctx.target.root, ctx.target.release);
  for (const c of cands) {
    if (c.state === 'missing') continue;
    if (c.state === 'neither' || c.state === 'unreadable') {
      reasons.push(`${c.path}: ${c.state === 'neither' ? 'neither .BTF nor DWARF' : (c.reason ?? 'unreadable')}`);
      continue;
    }
    try {
      const raw = await locate.btfOfVmlinux(underRoot(ctx.target.root, c.path), c.state, toCache({ cacheDir: ctx.cacheDir, env: ctx.env }));
      return { file: raw, label: `${c.path} (${c.state === 'btf' ? 'its .BTF section' : 'BTF encoded from its DWARF by pahole'})` };
    } catch (err) {
      if (!(err instanceof BpfCompileError) || err.code !== ErrorCode.TOOLCHAIN_MISSING) throw err;
      reasons.push(err.message);
      hint = err.hint;
    }
  }
  if (!cands.some((c) => c.state !== 'missing')) reasons.push(`no vmlinux with BTF or DWARF for ${ctx.target.release} (${locate.VMLINUX_BTF_PATHS.length} places libbpf looks)`);
  // a local btfhub-archive checkout
  const hub = ctx.btfhub ?? (ctx.env['BPF_COMPILE_BTFHUB'] === undefined || ctx.env['BPF_COMPILE_BTFHUB'] === '' ? undefined : ctx.env['BPF_COMPILE_BTFHUB']);
  if (hub !== undefined) {
    const os = await readOsRelease(ctx.target.root);
    const found = locate.btfhubFile(path.resolve(hub), { id: os?.id, versionId: os?.versionId }, ctx.target.arch.machine, ctx.target.release);
    if ('file' in found) return { file: found.file, label: `${found.file} (btfhub-archive)` };
    reasons.push(found.reason);
  }
  const mirrored = await fromMirrors(ctx);
  if ('file' in mirrored) return mirrored;
  if (liveExists) {
    return { file: live, label: live, releaseMismatch: `${live} describes the running kernel ${running}, target kernel is ${ctx.target.release}` };
  }
  return { reasons: [...reasons, ...mirrored.reasons], hint: hint ?? mirrored.hint };
}

/**
 * A `vmlinux.h` generated from BTF, for CO-RE programs: an explicit BTF file (option `btf` / `--btf FILE`: raw BTF,
 * an ELF with `.BTF`, or a btfhub-archive `.btf.tar.xz`), else `/sys/kernel/btf/vmlinux` under `--root` when it
 * describes the target kernel, else the target release's BTF from the mirrors (sha256-verified, cached), else the
 * running kernel's BTF with a release-mismatch warning; plus any module BTFs asked for. The header is generated in
 * TypeScript (no bpftool needed) and cached by content hash.
 */
export const btfSource: HeaderSource = {
  name: 'btf',
  kind: 'vmlinux',
  description:
    'vmlinux.h generated from BTF: /sys/kernel/btf/vmlinux, --btf FILE, a vmlinux where libbpf looks (.BTF, or DWARF via pahole), --btfhub DIR, or BTF from a mirror (CO-RE programs)',
  async find(ctx: SourceContext): Promise<SourceResult> {
    try {
      const btf = await findBtf(ctx);
      if (!('file' in btf)) return { found: false, reason: btf.reasons.join('; '), hint: btf.hint };
      const { vmlinuxHeaderFromCache } = await import('../btf/cache.js');
      const r = await vmlinuxHeaderFromCache({
        btf: btf.file,
        modules: ctx.btfModules,
        root: ctx.target.root,
        cache: { cacheDir: ctx.cacheDir, env: ctx.env },
      });
      return {
        found: true,
        kind: 'vmlinux',
        vmlinux: { includeDir: r.dir, header: r.header, btf: btf.file, modules: ctx.btfModules, sha256: r.sha256 },
        detail: `${btf.label}${ctx.btfModules.length > 0 ? ` + ${ctx.btfModules.join(', ')}` : ''} → ${r.header} (${r.fromCache ? 'cached' : 'generated'})`,
        ...(btf.releaseMismatch === undefined ? {} : { releaseMismatch: btf.releaseMismatch }),
      };
    } catch (err) {
      if (err instanceof BpfCompileError) return { found: false, fatal: true, reason: err.message, hint: err.hint, error: err };
      throw err;
    }
  },
};
