/**
 * Where libbpf's headers (`bpf/bpf_helpers.h`) are: an explicit dir, the environment, or the system's include dirs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { underRoot } from '../system/root.js';

/**
 * System dirs that may hold libbpf's `bpf/` headers, in search order: under `--root` first, then (when a root is
 * set) on this machine — the headers are arch-independent build-time files, often absent from a target image.
 */
export const LIBBPF_SEARCH_DIRS: readonly string[] = ['/usr/include', '/usr/local/include'];

/**
 * The directory to add to the include path so `#include <bpf/bpf_helpers.h>` works.
 * @param explicit - a dir that holds `bpf/bpf_helpers.h` (option `libbpfInclude`, env `BPF_COMPILE_LIBBPF_INCLUDE`)
 * @throws BpfCompileError `LIBBPF_NOT_FOUND` with what to install.
 */
export async function findLibbpfInclude(root: string, explicit: string | undefined): Promise<string> {
  const dirs = explicit !== undefined ? [path.resolve(explicit)] : [...new Set([...LIBBPF_SEARCH_DIRS.map((d) => underRoot(root, d)), ...LIBBPF_SEARCH_DIRS])];
  for (const dir of dirs) {
    try {
      fs.accessSync(path.join(dir, 'bpf', 'bpf_helpers.h'));
      return dir;
    } catch {
      // next
    }
  }
  throw new BpfCompileError(ErrorCode.LIBBPF_NOT_FOUND, `libbpf headers not found (bpf/bpf_helpers.h in ${dirs.join(', ')})`, {
    hint:
      explicit !== undefined
        ? `${explicit} must contain bpf/bpf_helpers.h`
        : 'install libbpf headers (Debian/Ubuntu: apt-get install libbpf-dev; Fedora: dnf install libbpf-devel), or pass --libbpf-include DIR',
    tried: dirs.map((d) => ({ what: path.join(d, 'bpf/bpf_helpers.h'), outcome: 'missing' })),
  });
}
