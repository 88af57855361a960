/**
 * The BPF ISA (`-mcpu`) a target kernel accepts: v3 from 5.1, v2 from 4.14, else v1.
 */
import { parseKernelVersion, type KernelVersion } from '../target.js';

/** BPF ISA versions, with the oldest kernel whose verifier accepts each (newest first). */
export const BPF_CPUS: ReadonlyArray<{ readonly cpu: string; readonly since: KernelVersion }> = [
  { cpu: 'v3', since: { major: 5, minor: 1, patch: 0 } },
  { cpu: 'v2', since: { major: 4, minor: 14, patch: 0 } },
  { cpu: 'v1', since: { major: 0, minor: 0, patch: 0 } },
];

function atLeast(v: KernelVersion, min: KernelVersion): boolean {
  return v.major !== min.major ? v.major > min.major : v.minor !== min.minor ? v.minor > min.minor : v.patch >= min.patch;
}

/**
 * The `-mcpu` used when none is given: the newest BPF ISA the target kernel accepts (`v3` from 5.1, `v2` from 4.14,
 * else `v1`); `v3` when the release has no readable version. Always passed explicitly, since LLVM's own default moved.
 */
export function defaultCpu(release: string): string {
  const v = parseKernelVersion(release);
  if (v === undefined) return 'v3';
  return (BPF_CPUS.find((c) => atLeast(v, c.since)) ?? BPF_CPUS[BPF_CPUS.length - 1])!.cpu;
}
