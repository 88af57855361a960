/**
 * The `distro` source: the distribution's headers packages from its own repositories (implementation in `lib/distro/`).
 */
import { APT_RELEASE_SHAPES, aptFamilyOf, RPM_RELEASE_SHAPES, rpmFamilyOf } from '../distro/releases.js';
import type { HeaderSource, SourceContext, SourceResult } from './types.js';

/**
 * Kernel headers from the distribution's own package repositories, as the target system's package manager is
 * configured (under `--root`: apt, dnf/yum, zypper), plus `--apt-repo` / `--rpm-repo` ones: the headers packages of the release for the target arch,
 * chosen by the kernel's identity when `/proc` gives it, verified by the repositories' OpenPGP signatures and the
 * signed hashes, unpacked once into the cache — nothing installed. Offline only cached indexes and package sets are
 * used. Integrity failures and hostile packages are fatal; a release the repositories do not hold is a reason.
 * The implementation (`lib/distro/`) loads on first use. See docs/distro.md.
 */
export const distroSource: HeaderSource = {
  name: 'distro',
  description: "the distribution's headers packages from its own repositories (apt; dnf/yum and zypper rpm-md), signature-verified, unpacked into the cache",
  kind: 'kernel-tree',
  async find(ctx: SourceContext): Promise<SourceResult> {
    // a custom kernel is in no distro repository: answered here, before any apt file is read or the lookup is loaded
    const named = (ctx.aptRepositories ?? []).length + (ctx.rpmRepositories ?? []).length;
    if (aptFamilyOf(ctx.target.release) === undefined && rpmFamilyOf(ctx.target.release) === undefined && named === 0) {
      const ex = [...APT_RELEASE_SHAPES, ...RPM_RELEASE_SHAPES].flatMap((s) => s.examples.slice(0, 1)).join(', ');
      return {
        found: false,
        reason: `${ctx.target.release} is not a distribution kernel release (those look like ${ex}): not searched for in the distribution's repositories`,
        hint: 'for a kernel built here, use its own tree (BPF_KERNEL_SOURCE) or `bpf-compile pack`; a repository that does carry it can be named with --apt-repo or --rpm-repo',
      };
    }
    return (await import('../distro/source.js')).findDistroHeaders(ctx);
  },
};
