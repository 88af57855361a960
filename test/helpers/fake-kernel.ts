import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A temporary directory removed by `cleanup()`. */
export async function tempDir(prefix = 'bpfc-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

async function write(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text);
}

/** What to put in a fake kernel tree. */
export interface FakeTreeSpec {
  /** Write the source part (`include/linux/kconfig.h`, `arch/<a>/include`). Default true. */
  source?: boolean;
  /** Write the build part (`include/generated/*`). Default true. */
  build?: boolean;
  /** UTS_RELEASE to write; undefined writes no utsrelease.h. */
  release?: string;
  /** LINUX_VERSION_CODE. Default 0x060100. */
  versionCode?: number;
  /** SRCARCH dirs to create. Default ['x86']. */
  arches?: string[];
}

/** Write a minimal kernel header tree (or one half of a split pair) into `dir`. */
export async function makeFakeTree(dir: string, spec: FakeTreeSpec = {}): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  if (spec.source ?? true) {
    await write(path.join(dir, 'include/linux/kconfig.h'), '#define __LINUX_KCONFIG_H\n');
    for (const a of spec.arches ?? ['x86']) await write(path.join(dir, `arch/${a}/include/asm/fake.h`), '\n');
  }
  if (spec.build ?? true) {
    await write(path.join(dir, 'include/generated/autoconf.h'), '#define CONFIG_BPF 1\n');
    if (spec.release !== undefined) await write(path.join(dir, 'include/generated/utsrelease.h'), `#define UTS_RELEASE "${spec.release}"\n`);
    await write(
      path.join(dir, 'include/generated/uapi/linux/version.h'),
      `#define LINUX_VERSION_CODE ${spec.versionCode ?? 0x060100}\n#define KERNEL_VERSION(a,b,c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))\n`,
    );
  }
  return dir;
}

/**
 * A fake root with `/lib/modules/<release>/{build,source}` as Debian lays them out: `build` → `usr/src/…-amd64`
 * (generated headers), `source` → `usr/src/…-common` (the rest), both as symlinks.
 */
export async function makeDebianRoot(root: string, release: string): Promise<{ build: string; source: string }> {
  const build = await makeFakeTree(path.join(root, `usr/src/linux-headers-${release}`), { source: false, release });
  const source = await makeFakeTree(path.join(root, `usr/src/linux-headers-${release}-common`), { build: false });
  const mod = path.join(root, 'lib/modules', release);
  await fs.mkdir(mod, { recursive: true });
  // absolute links, as the Debian packages ship them: resolved against the root, never the host
  await fs.symlink(`/usr/src/linux-headers-${release}`, path.join(mod, 'build'));
  await fs.symlink(`/usr/src/linux-headers-${release}-common`, path.join(mod, 'source'));
  return { build, source };
}

/** Write `/etc/os-release` under a fake root. */
export async function writeOsRelease(root: string, id: string, versionId = '12'): Promise<void> {
  await write(path.join(root, 'etc/os-release'), `ID=${id}\nVERSION_ID="${versionId}"\n`);
}

/** An environment with none of the header override variables. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  return { PATH: process.env['PATH'], ...extra };
}
