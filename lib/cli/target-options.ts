/**
 * The options every command that targets a kernel takes (`--kernel-release`, `--arch`, `--root`, `--mirror`, …) and
 * their mapping to `resolveHeaders()` options.
 */
import { Option, type Command } from 'commander';
import { knownArchNames } from '../arch.js';
import type { LoadModulePolicy } from '../kmod/load.js';
import type { ResolveOptions } from '../resolve.js';
import { sourceNames } from '../sources/index.js';

/** Options every command that targets a kernel takes. */
export interface TargetFlags {
  mirror?: string[];
  offline?: boolean;
  sha256?: string;
  btfSha256?: string;
  kheaders?: string;
  btf?: string;
  btfModule?: string[];
  loadModule?: LoadModulePolicy;
  cacheDir?: string;
  kernelRelease?: string;
  arch?: string;
  root?: string;
  strict?: boolean;
  kernelSource?: string;
  kernelBuild?: string;
  aptRepo?: string[];
  rpmRepo?: string[];
  btfhub?: string;
  sources?: string;
}

/** The options every command that targets a kernel takes (headers, cflags, compile, vmlinux, fetch, build, doctor, pack). */
export function addTargetOptions(cmd: Command): Command {
  return cmd
    .option('--kernel-release <release>', 'target kernel release (default: the running kernel, uname -r)')
    .option('--arch <arch>', `target arch, uname -m or SRCARCH name (default: this machine): ${knownArchNames().join(', ')}`)
    .option('--root <dir>', 'look up /lib/modules, /sys, /proc, /usr/include under DIR (default: /)')
    .option('--kernel-source <dir>', 'use this kernel source tree (beats BPF_KERNEL_SOURCE, BCC_KERNEL_SOURCE)')
    .option('--kernel-build <dir>', 'use this kernel build tree (default: the source tree)')
    .option('--strict', 'fail when the headers are for another release than the target')
    .option('--kheaders <file>', 'use this kernel headers archive (kheaders.tar.xz) or kheaders.ko module file')
    .addOption(
      new Option('--load-module <policy>', 'load the kheaders module for the running kernel when needed (auto: only as root)').choices(['auto', 'never', 'always']).default('auto'),
    )
    .option('--cache-dir <dir>', 'cache directory (default: $BPF_COMPILE_CACHE_DIR, /var/cache/bpf-compile for root, else ~/.cache/bpf-compile)')
    .option('--btf <file>', 'BTF for a generated vmlinux.h: raw BTF, an ELF with .BTF, or a btfhub .btf.tar.xz (default: /sys/kernel/btf/vmlinux)')
    .option('--btfhub <dir>', 'a local btfhub-archive checkout: BTF for the target from <dir>/<ID>/<VERSION_ID>/<arch>/<release>.btf.tar.xz (default: $BPF_COMPILE_BTFHUB)')
    .option('--btf-module <name>', "add a module's BTF (/sys/kernel/btf/<name>, or a file) to the generated vmlinux.h; repeatable", collect, [])
    .option('--mirror <url>', 'an HTTP mirror of header archives and BTF (base URL with index.json, or a URL template); repeatable (default: $BPF_COMPILE_MIRROR)', collect, [])
    .option('--offline', 'never use the network: only cached downloads (also BPF_COMPILE_OFFLINE=1)')
    .option('--sha256 <hex>', 'pin the sha256 of the headers archive downloaded from a mirror (needed for a plain-http mirror on another host)')
    .option('--btf-sha256 <hex>', 'pin the sha256 of the BTF file downloaded from a mirror')
    .option('--sources <names>', `only try these header sources, in the standard order, comma-separated (default: all): ${sourceNames().join(', ')}`)
    .option('--apt-repo <line>', 'also search this apt repository for headers packages: "[signed-by=KEYRING] URI SUITE COMPONENT…" (sources.list form); repeatable', collect, [])
    .option(
      '--rpm-repo <repo>',
      'also search this rpm-md repository for kernel-devel packages: a base URL, or "baseurl=URL,gpgkey=file:///KEY[,repo_gpgcheck=1,mirrorlist=…,sslclientcert=…]"; repeatable',
      collect,
      [],
    );
}

/** commander reducer for repeatable options. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Target flags → `resolveHeaders()` options. */
export function resolveOptionsOf(f: TargetFlags, onProgress?: ResolveOptions['onProgress']): ResolveOptions {
  return {
    kheaders: f.kheaders,
    loadModule: f.loadModule,
    cacheDir: f.cacheDir,
    btf: f.btf,
    ...(f.btfhub === undefined ? {} : { btfhub: f.btfhub }),
    btfModules: f.btfModule ?? [],
    ...(f.mirror === undefined || f.mirror.length === 0 ? {} : { mirrors: f.mirror }),
    ...(f.offline === true ? { offline: true } : {}),
    ...(f.sha256 === undefined ? {} : { pinnedSha256: f.sha256 }),
    ...(f.btfSha256 === undefined ? {} : { pinnedBtfSha256: f.btfSha256 }),
    onProgress,
    kernelRelease: f.kernelRelease,
    arch: f.arch,
    root: f.root,
    strict: f.strict ?? false,
    kernelSource: f.kernelSource,
    kernelBuild: f.kernelBuild,
    ...(f.aptRepo === undefined || f.aptRepo.length === 0 ? {} : { aptRepositories: f.aptRepo }),
    ...(f.rpmRepo === undefined || f.rpmRepo.length === 0 ? {} : { rpmRepositories: f.rpmRepo }),
    ...(f.sources === undefined
      ? {}
      : {
          sources: f.sources
            .split(',')
            .map((n) => n.trim())
            .filter(Boolean),
        }),
  };
}
