import path from 'node:path';

/**
 * Map an absolute system path (`/lib/modules`, `/sys/kernel/btf/vmlinux`, …) under a
 * root directory. Every system path bpf-compile reads goes through here, so tests and
 * users (`--root DIR`) can point the whole tool at a fake or mounted tree.
 *
 * @param root - The root directory; `/` for the live system.
 * @param systemPath - An absolute path as seen on the target system.
 */
export function underRoot(root: string, systemPath: string): string {
  if (!path.isAbsolute(systemPath)) throw new TypeError(`underRoot: not an absolute path: ${systemPath}`);
  if (root === '/' || root === '') return path.normalize(systemPath);
  return path.join(path.resolve(root), systemPath);
}
