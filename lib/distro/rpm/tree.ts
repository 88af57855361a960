/** The headers tree inside an unpacked set of RPM packages: where the family's packages put it (`names.ts`). */
import type { ArchInfo } from '../../arch.js';
import { realDirUnderRoot, validateTreePair } from '../../sources/tree.js';
import type { KernelTree } from '../../sources/types.js';
import type { RpmKernel } from './names.js';

/** The tree of `kernel` under `dir` (an unpacked set, laid out like a root file system), first layout that holds one. */
export async function rpmTreeUnder(dir: string, kernel: RpmKernel, arch: ArchInfo): Promise<{ ok: true; tree: KernelTree } | { ok: false; reason: string }> {
  const reasons: string[] = [];
  for (const t of kernel.trees) {
    const build = realDirUnderRoot(dir, t.build);
    const source = realDirUnderRoot(dir, t.source);
    const present = [source, build].flatMap((s) => (s.ok ? [s.dir] : []));
    if (present.length === 0) {
      reasons.push(build.ok ? t.build : build.reason);
      continue;
    }
    const tree = await validateTreePair(present[0] as string, present[present.length - 1] as string, arch);
    if (tree.ok) return tree;
    reasons.push(tree.reason);
  }
  return { ok: false, reason: `no headers tree (${reasons.join('; ')})` };
}
