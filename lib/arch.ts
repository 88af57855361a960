/**
 * The arch table: what bpf-compile knows about each target architecture (`uname -m` names, SRCARCH, `__TARGET_ARCH_*`,
 * BPF byte order, host triple, Debian arch), as data; everything else asks it.
 */
import os from 'node:os';
import { BpfCompileError, ErrorCode } from './errors.js';

/** BPF object byte order, as a clang target name. */
export type BpfTarget = 'bpfel' | 'bpfeb';

/** What bpf-compile knows about one target architecture. */
export interface ArchInfo {
  /** Canonical `uname -m` name of this row (`x86_64`, `aarch64`, …). */
  readonly machine: string;
  /** Further `uname -m` spellings that select this row. */
  readonly aliases: readonly string[];
  /** Kernel `SRCARCH`: the directory under `arch/` in a kernel tree. */
  readonly srcarch: string;
  /** Value for `-D__TARGET_ARCH_<x>` (libbpf's `bpf_tracing.h` reads it). */
  readonly targetArch: string;
  /** Byte order of the BPF objects for this arch. */
  readonly bpfTarget: BpfTarget;
  /** Host triple clang parses kernel headers with (kernel mode's front end). */
  readonly triple: string;
  /** True for the row a bare SRCARCH name (`--arch x86`) selects. */
  readonly srcarchDefault: boolean;
  /** Debian/Ubuntu architecture name (`dpkg --print-architecture`): selects `binary-<debArch>` in apt repositories. */
  readonly debArch: string;
  /** RPM architecture (`%{_arch}`, what `$basearch` expands to and what kernel-devel packages are built for). */
  readonly rpmArch: string;
}

/**
 * The arch table: every target bpf-compile can build for. Each `uname -m` name maps to
 * the kernel SRCARCH, the `__TARGET_ARCH_*` value and the BPF byte order. Everything
 * else asks this table; nothing branches on arch names elsewhere.
 */
export const ARCHES: readonly ArchInfo[] = [
  {
    machine: 'x86_64',
    aliases: ['amd64'],
    srcarch: 'x86',
    targetArch: 'x86',
    bpfTarget: 'bpfel',
    triple: 'x86_64-linux-gnu',
    srcarchDefault: true,
    debArch: 'amd64',
    rpmArch: 'x86_64',
  },
  {
    machine: 'i686',
    aliases: ['i386', 'i486', 'i586'],
    srcarch: 'x86',
    targetArch: 'x86',
    bpfTarget: 'bpfel',
    triple: 'i686-linux-gnu',
    srcarchDefault: false,
    debArch: 'i386',
    rpmArch: 'i686',
  },
  {
    machine: 'aarch64',
    aliases: ['arm64'],
    srcarch: 'arm64',
    targetArch: 'arm64',
    bpfTarget: 'bpfel',
    triple: 'aarch64-linux-gnu',
    srcarchDefault: true,
    debArch: 'arm64',
    rpmArch: 'aarch64',
  },
  {
    machine: 'armv7l',
    aliases: ['arm', 'armv5tel', 'armv5tejl', 'armv6l', 'armv7', 'armv8l', 'armhf', 'armel'],
    srcarch: 'arm',
    targetArch: 'arm',
    bpfTarget: 'bpfel',
    triple: 'armv7a-linux-gnueabihf',
    srcarchDefault: true,
    debArch: 'armhf',
    rpmArch: 'armv7hl',
  },
  { machine: 's390x', aliases: [], srcarch: 's390', targetArch: 's390', bpfTarget: 'bpfeb', triple: 's390x-linux-gnu', srcarchDefault: true, debArch: 's390x', rpmArch: 's390x' },
  {
    machine: 'ppc64le',
    aliases: ['powerpc64le'],
    srcarch: 'powerpc',
    targetArch: 'powerpc',
    bpfTarget: 'bpfel',
    triple: 'powerpc64le-linux-gnu',
    srcarchDefault: true,
    debArch: 'ppc64el',
    rpmArch: 'ppc64le',
  },
  {
    machine: 'ppc64',
    aliases: ['powerpc64'],
    srcarch: 'powerpc',
    targetArch: 'powerpc',
    bpfTarget: 'bpfeb',
    triple: 'powerpc64-linux-gnu',
    srcarchDefault: false,
    debArch: 'ppc64',
    rpmArch: 'ppc64',
  },
  {
    machine: 'riscv64',
    aliases: [],
    srcarch: 'riscv',
    targetArch: 'riscv',
    bpfTarget: 'bpfel',
    triple: 'riscv64-linux-gnu',
    srcarchDefault: true,
    debArch: 'riscv64',
    rpmArch: 'riscv64',
  },
  { machine: 'mips', aliases: [], srcarch: 'mips', targetArch: 'mips', bpfTarget: 'bpfeb', triple: 'mips-linux-gnu', srcarchDefault: true, debArch: 'mips', rpmArch: 'mips' },
  {
    machine: 'mipsel',
    aliases: [],
    srcarch: 'mips',
    targetArch: 'mips',
    bpfTarget: 'bpfel',
    triple: 'mipsel-linux-gnu',
    srcarchDefault: false,
    debArch: 'mipsel',
    rpmArch: 'mipsel',
  },
  {
    machine: 'mips64',
    aliases: [],
    srcarch: 'mips',
    targetArch: 'mips',
    bpfTarget: 'bpfeb',
    triple: 'mips64-linux-gnuabi64',
    srcarchDefault: false,
    debArch: 'mips64',
    rpmArch: 'mips64',
  },
  {
    machine: 'mips64el',
    aliases: [],
    srcarch: 'mips',
    targetArch: 'mips',
    bpfTarget: 'bpfel',
    triple: 'mips64el-linux-gnuabi64',
    srcarchDefault: false,
    debArch: 'mips64el',
    rpmArch: 'mips64el',
  },
  {
    machine: 'loongarch64',
    aliases: [],
    srcarch: 'loongarch',
    targetArch: 'loongarch',
    bpfTarget: 'bpfel',
    triple: 'loongarch64-linux-gnu',
    srcarchDefault: true,
    debArch: 'loong64',
    rpmArch: 'loongarch64',
  },
  {
    machine: 'sparc64',
    aliases: [],
    srcarch: 'sparc',
    targetArch: 'sparc',
    bpfTarget: 'bpfeb',
    triple: 'sparc64-linux-gnu',
    srcarchDefault: true,
    debArch: 'sparc64',
    rpmArch: 'sparc64',
  },
];

/** Node's `os.arch()` names, mapped to a `uname -m` name of the table. */
const NODE_ARCH_TO_MACHINE: Readonly<Record<string, string>> = {
  x64: 'x86_64',
  ia32: 'i686',
  arm64: 'aarch64',
  arm: 'armv7l',
  s390x: 's390x',
  ppc64: 'ppc64le',
  riscv64: 'riscv64',
  mips: 'mips',
  mipsel: 'mipsel',
  loong64: 'loongarch64',
};

/** Every name `--arch` accepts, sorted (for messages and `--help`). */
export function knownArchNames(): string[] {
  const names = new Set<string>();
  for (const row of ARCHES) {
    names.add(row.machine);
    for (const alias of row.aliases) names.add(alias);
    if (row.srcarchDefault) names.add(row.srcarch);
  }
  return [...names].sort();
}

/**
 * Look an arch up by `uname -m` name, alias or kernel SRCARCH name.
 * @throws BpfCompileError `UNKNOWN_ARCH` listing the known names.
 */
export function lookupArch(name: string): ArchInfo {
  const wanted = name.trim().toLowerCase();
  const row = ARCHES.find((a) => a.machine === wanted || a.aliases.includes(wanted)) ?? ARCHES.find((a) => a.srcarchDefault && a.srcarch === wanted);
  if (row === undefined) {
    throw new BpfCompileError(ErrorCode.UNKNOWN_ARCH, `unknown architecture '${name}'`, {
      hint: `use one of: ${knownArchNames().join(', ')}`,
    });
  }
  return row;
}

/** The arch of the machine bpf-compile runs on (`uname -m`, falling back to Node's `os.arch()`). */
export function hostArch(): ArchInfo {
  const machine = typeof os.machine === 'function' ? os.machine() : '';
  if (machine !== '') {
    try {
      return lookupArch(machine);
    } catch {
      // fall through to os.arch()
    }
  }
  return lookupArch(NODE_ARCH_TO_MACHINE[os.arch()] ?? os.arch());
}
